//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the runner's flags.
type options struct {
	rounds       int
	duration     time.Duration
	warmup       time.Duration
	conns        int
	singleRounds int
	singleFor    time.Duration
	sessions     int
	workers      int
	loginRounds  int
	loginFor     time.Duration
	out          string
	serverTOML   string
	commandLine  string
	cookieSecret string
	clientSecret string
}

// target is one endpoint under load: the bare proxy or a gateway.
type target struct {
	key, name string
	url       string
	proc      *proc
	redis     bool // the gateway uses Redis: count its CPU and commands too
	cookie    *http.Cookie
	samples   []sample // under load: options.conns connections
	single    []sample // one connection: latency without queueing
	peakRSS   float64
}

// sample is one wrk run of one target.
type sample struct {
	round    int
	load     loadResult
	cpu10k   float64 // CPU seconds of the target's process per 10,000 requests
	redis10k float64 // the same for redis-server
	total10k float64 // the same for everything serving the request: wrk, upstream, proxy, redis-server
	redisCmd float64 // Redis commands per request
}

// bench is everything the runner started.
type bench struct {
	opts    options
	dir     string
	stderr  io.Writer
	procs   []*proc
	servers []*http.Server
	load    *loadgen
	browser *browser
	rdb     *redis.Client
	redis   *proc
	up      *proc
	as      *devop.Server
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	serveUp := fs.String("serve-upstream", "", "internal: serve the benchmark upstream on this address")
	fs.IntVar(&o.rounds, "rounds", 10, "measurement rounds; each measures every target once, in an order of its own")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "load duration per target and round")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unrecorded load per target before the rounds")
	fs.IntVar(&o.conns, "conns", 50, "concurrent connections of the load generator")
	fs.IntVar(&o.singleRounds, "single-rounds", 3, "rounds of the one-connection latency measurement")
	fs.DurationVar(&o.singleFor, "single-duration", 2*time.Second, "duration of one one-connection measurement")
	fs.IntVar(&o.sessions, "sessions", 10_000, "distinct sessions for the memory check (0: skip)")
	fs.IntVar(&o.workers, "login-workers", 8, "concurrent logins")
	fs.IntVar(&o.loginRounds, "login-rounds", 3, "rounds of the login measurement")
	fs.DurationVar(&o.loginFor, "login-duration", 2*time.Second, "duration of one login measurement")
	fs.StringVar(&o.out, "out", "docs/performance.md", "report file (\"\" to only print)")
	fs.StringVar(&o.serverTOML, "server-toml", "", "extra keys for the gateways' [server] table, e.g. 'access_log = false'")
	hold := fs.Bool("hold", false, "start everything, print the targets and session cookies, and wait for Ctrl-C (to profile by hand)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serveUp != "" {
		return serveUpstream(ctx, *serveUp, stdout)
	}
	if _, err := os.Stat(filepath.Join("bench", "go.mod")); err != nil {
		return errors.New("run from the repository root (make bench)")
	}
	o.commandLine = strings.Join(append([]string{"bin/gatehouse-bench"}, args...), " ")
	o.cookieSecret, o.clientSecret = randomSecret(), randomSecret()

	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{opts: o, dir: dir, stderr: stderr, browser: newBrowser()}
	defer b.close()
	started := time.Now()
	rep := &report{opts: o, machine: describeMachine(), loadBefore: loadAverage()}
	if b.load, err = newLoadgen(dir); err != nil {
		return err
	}
	b.logf("building gatehouse and bareproxy")
	if err := b.build(ctx); err != nil {
		return err
	}
	targets, err := b.start(ctx)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if err := b.check(ctx, t); err != nil {
			return err
		}
	}
	if *hold {
		for _, t := range targets {
			c := ""
			if t.cookie != nil {
				c = t.cookie.Name + "=" + t.cookie.Value
			}
			fmt.Fprintf(stdout, "%-32s %s pid %d cookie %q\n", t.name, t.url, t.proc.pid(), c)
		}
		<-ctx.Done()
		return nil
	}
	if err := b.measureRequests(ctx, targets); err != nil {
		return err
	}
	rep.targets = targets
	gwMem, gwRedis := targets[1], targets[3]
	if o.sessions > 0 { // before the login measurement, so that the gateways hold only these sessions
		for _, t := range []*target{gwRedis, gwMem} {
			m, err := b.manySessions(ctx, t, o.sessions)
			if err != nil {
				return err
			}
			rep.manySessions = append(rep.manySessions, m)
		}
	}
	if rep.logins, err = b.measureLogins(ctx, []*target{gwMem, gwRedis}); err != nil {
		return err
	}
	if rep.size, err = b.sessionSize(ctx, rep.logins[1].cookies, "gh-cache:"); err != nil {
		return err
	}
	rep.loadAfter = loadAverage()
	rep.elapsed = time.Since(started)
	text := rep.markdown()
	fmt.Fprintln(stdout, text)
	if o.out != "" {
		if err := writeReport(o.out, text); err != nil {
			return err
		}
		b.logf("wrote %s", o.out)
	}
	return nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

func (b *bench) close() {
	for _, s := range b.servers {
		s.Close()
	}
	if b.rdb != nil {
		b.rdb.Close()
	}
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].stop()
	}
}

// build compiles the gatehouse command (in the product module, as released:
// without a workspace) and the bare proxy (in the bench module) into the
// work directory.
func (b *bench) build(ctx context.Context) error {
	for _, pkg := range []struct{ module, path string }{{".", "./cmd/gatehouse"}, {"bench", "./bareproxy"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(b.dir, filepath.Base(pkg.path)), pkg.path)
		cmd.Dir = pkg.module
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg.path, err, out)
		}
	}
	return nil
}

func (b *bench) startProc(name, bin string, args []string, env ...string) (*proc, error) {
	p, err := startProc(name, b.dir, bin, args, env)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	return p, nil
}

func addrOf(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// start starts the upstream, the bare proxy, redis-server, the development
// AS and the gateways, logs in once at each gateway and returns the targets.
func (b *bench) start(ctx context.Context) ([]*target, error) {
	gateways := []struct {
		key, name, store, prefix, cache, server string
	}{
		{"memory", "gateway, memory store", "memory", "", "5s", ""},
		{"memory-nocache", "gateway, memory store, no cache", "memory", "", "0s", ""},
		{"redis", "gateway, Redis store", "redis", "gh-cache:", "5s", ""},
		{"redis-nocache", "gateway, Redis store, no cache", "redis", "gh-nocache:", "0s", ""},
		// What the access log (server.access_log, on by default) costs.
		{"memory-nolog", "gateway, memory store, no access log", "memory", "", "5s", "access_log = false"},
		// What tuning the garbage collector (server.gc_min_heap_mib, on
		// by default) saves: this one runs with Go's default, as the bare
		// proxy does.
		{"memory-gogc", "gateway, memory store, Go's default GC", "memory", "", "5s", "gc_min_heap_mib = 0"},
	}
	ports := make([]int, 4+len(gateways))
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	upAddr, bareAddr, redisAddr, asAddr := addrOf(ports[0]), addrOf(ports[1]), addrOf(ports[2]), addrOf(ports[3])
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if b.up, err = b.startProc("upstream", self, []string{"-serve-upstream", upAddr}); err != nil {
		return nil, err
	}
	bare, err := b.startProc("bareproxy", filepath.Join(b.dir, "bareproxy"), []string{"-listen", bareAddr, "-upstream", "http://" + upAddr})
	if err != nil {
		return nil, err
	}
	if err := b.startRedis(ctx, redisAddr); err != nil {
		return nil, err
	}

	issuer := "http://" + asAddr
	var clients []devop.Client
	for i, g := range gateways {
		clients = append(clients, devop.Client{
			ID: g.key, Secret: b.opts.clientSecret,
			RedirectURIs: []string{"http://" + addrOf(ports[4+i]) + "/oauth2/callback"},
		})
	}
	if err := b.startAS(asAddr, issuer, clients); err != nil {
		return nil, err
	}

	targets := []*target{{key: "bare", name: "bare reverse proxy", url: "http://" + bareAddr, proc: bare}}
	for i, g := range gateways {
		listen := addrOf(ports[4+i])
		cfg := fmt.Sprintf(`[server]
listen = %q
public_url = "http://%s"
%s

[provider]
issuer = %q
client_id = %q
scopes = ["openid", "email", "profile", "groups", "offline_access"]

[session]
store = %q
cache_max_age = %q

# The bench logs in its 10,000 users from one address, which stands for
# many clients: the per-address cap on pending logins would refuse them.
[limits]
flows_per_client = 1000000

[[upstream]]
name = "bench"
path_prefix = "/"
url = "http://%s"
`, listen, listen, g.server+"\n"+b.opts.serverTOML, issuer, g.key, g.store, g.cache, upAddr)
		if g.store == "redis" {
			cfg += fmt.Sprintf("\n[session.redis]\nurl = \"redis://%s/0\"\nkey_prefix = %q\n", redisAddr, g.prefix)
		}
		path := filepath.Join(b.dir, g.key+".toml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		p, err := b.startProc("gateway-"+g.key, filepath.Join(b.dir, "gatehouse"), []string{"serve", "-config", path},
			"GATEHOUSE_CLIENT_SECRET="+b.opts.clientSecret, "GATEHOUSE_COOKIE_SECRET="+b.opts.cookieSecret)
		if err != nil {
			return nil, err
		}
		targets = append(targets, &target{key: g.key, name: g.name, url: "http://" + listen, proc: p, redis: g.store == "redis"})
	}

	for _, t := range targets {
		path := "/readyz"
		if t.key == "bare" {
			path = "/"
		}
		err := waitFor(ctx, t.name, 30*time.Second, func() error {
			select {
			case <-t.proc.exited:
				return errGaveUp
			default:
			}
			resp, err := b.browser.get(ctx, t.url+path)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, t.proc.logTail())
		}
	}
	return targets, nil
}

func (b *bench) startRedis(ctx context.Context, addr string) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin = "/usr/bin/redis-server"
		if _, err := os.Stat(bin); err != nil {
			return errors.New("redis-server not found: install the Debian package redis-server, or run make bench as root")
		}
	}
	_, port, _ := net.SplitHostPort(addr)
	b.redis, err = b.startProc("redis", bin, []string{
		"--port", port, "--bind", "127.0.0.1", "--dir", b.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
	})
	if err != nil {
		return err
	}
	b.rdb = redis.NewClient(&redis.Options{Addr: addr})
	return waitFor(ctx, "redis-server", 10*time.Second, func() error { return b.rdb.Ping(ctx).Err() })
}

// startAS serves the development authorization server from this process.
// It approves every login at once as alice, and its access tokens outlive
// the benchmark, so no refresh happens during the measurements.
func (b *bench) startAS(addr, issuer string, clients []devop.Client) error {
	as, err := devop.New(devop.Options{
		Issuer:          issuer,
		Clients:         clients,
		AutoApproveUser: "alice",
		AccessTokenTTL:  time.Hour,
		IDTokenTTL:      time.Hour,
	})
	if err != nil {
		return err
	}
	b.as = as
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: as, ReadHeaderTimeout: 10 * time.Second}
	b.servers = append(b.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// check logs in at a gateway and makes sure that an authenticated request
// reaches the upstream with the identity, and an anonymous one does not.
func (b *bench) check(ctx context.Context, t *target) error {
	if t.key == "bare" {
		return nil
	}
	c, err := b.browser.login(ctx, t.url)
	if err != nil {
		return fmt.Errorf("%s: login: %w\n%s", t.name, err, t.proc.logTail())
	}
	t.cookie = c
	resp, err := b.browser.get(ctx, t.url+"/", c)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Seen-User") != "user-alice" {
		return fmt.Errorf("%s: authenticated request: status %d, upstream saw user %q", t.name, resp.StatusCode, resp.Header.Get("X-Seen-User"))
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url+"/", nil)
	req.Header.Set("Accept", "application/json")
	resp, err = b.browser.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("%s: anonymous request: status %d, want 401", t.name, resp.StatusCode)
	}
	return nil
}

// measureRequests loads every target in turn, round after round, in a
// different order each round (see shuffled).
func (b *bench) measureRequests(ctx context.Context, targets []*target) error {
	cookie := func(t *target) string {
		if t.cookie == nil {
			return "gatehouse=none" // the bare proxy forwards it like any cookie
		}
		return t.cookie.Name + "=" + t.cookie.Value
	}
	if b.opts.warmup > 0 {
		b.logf("warming up %d targets", len(targets))
		for _, t := range targets {
			if _, err := b.load.run(ctx, t.url+"/", cookie(t), b.opts.conns, b.opts.warmup); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	for round := range b.opts.rounds {
		b.logf("round %d of %d, %d connections (load average %s)", round+1, b.opts.rounds, b.opts.conns, loadAverage())
		for _, t := range shuffled(targets, round) {
			s, err := b.measureOnce(ctx, t, cookie(t), b.opts.conns, b.opts.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			s.round = round
			t.samples = append(t.samples, s)
		}
	}
	for round := range b.opts.singleRounds {
		b.logf("round %d of %d, 1 connection", round+1, b.opts.singleRounds)
		for _, t := range shuffled(targets, 1000+round) {
			s, err := b.measureOnce(ctx, t, cookie(t), 1, b.opts.singleFor)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			s.round = round
			t.single = append(t.single, s)
		}
	}
	for _, t := range targets {
		var err error
		if t.peakRSS, err = t.proc.memMB("VmHWM"); err != nil {
			return err
		}
	}
	return nil
}

// shuffled returns the targets in an order of its own for each round, the
// same on every run of the benchmark, so that no target always follows the
// same other one.
func shuffled(targets []*target, round int) []*target {
	out := slices.Clone(targets)
	rand.New(rand.NewPCG(uint64(round), 0x6761746568)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (b *bench) measureOnce(ctx context.Context, t *target, cookie string, conns int, d time.Duration) (sample, error) {
	cpu0, err := t.proc.cpuSeconds()
	if err != nil {
		return sample{}, err
	}
	up0, _ := b.up.cpuSeconds()
	rcpu0, _ := b.redis.cpuSeconds()
	cmds0, err := b.redisCommands(ctx)
	if err != nil {
		return sample{}, err
	}
	res, err := b.load.run(ctx, t.url+"/", cookie, conns, d)
	if err != nil {
		return sample{}, err
	}
	if res.errors > 0 {
		return sample{}, fmt.Errorf("%d of %d requests failed", res.errors, res.requests)
	}
	cpu1, err := t.proc.cpuSeconds()
	if err != nil {
		return sample{}, err
	}
	up1, _ := b.up.cpuSeconds()
	rcpu1, _ := b.redis.cpuSeconds()
	cmds1, err := b.redisCommands(ctx)
	if err != nil {
		return sample{}, err
	}
	per10k := 10_000 / float64(res.requests)
	s := sample{load: res, cpu10k: (cpu1 - cpu0) * per10k}
	if t.redis {
		s.redis10k = (rcpu1 - rcpu0) * per10k
		s.redisCmd = float64(cmds1-cmds0) / float64(res.requests)
	}
	s.total10k = s.cpu10k + s.redis10k + (up1-up0+res.wrkCPU)*per10k
	return s, nil
}

// redisCommands returns how many commands Redis has executed, not counting
// INFO (this runner's), PING (subscription health checks) and connection
// set-up (HELLO, CLIENT SETINFO, AUTH, SELECT: go-redis replaces the
// connections of requests that wrk abandoned at the end of a run).
func (b *bench) redisCommands(ctx context.Context) (int64, error) {
	info, err := b.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var n int64
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		cmd, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || setupCommand[cmd] {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		c, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO commandstats %q: %w", line, err)
		}
		n += c
	}
	return n, nil
}

var setupCommand = map[string]bool{"info": true, "ping": true, "hello": true, "auth": true, "select": true,
	"client|setinfo": true, "client|setname": true, "config|resetstat": true}

// loginResult is the login throughput of one gateway.
type loginResult struct {
	name      string
	perSecond []float64
	cookies   []*http.Cookie
}

// measureLogins runs complete logins (start, AS, callback, session) against
// each gateway for a while, alternating the gateways, and keeps the cookies.
func (b *bench) measureLogins(ctx context.Context, targets []*target) ([]*loginResult, error) {
	results := make([]*loginResult, len(targets))
	for i, t := range targets {
		results[i] = &loginResult{name: t.name}
	}
	for round := range b.opts.loginRounds {
		b.logf("logins, round %d of %d", round+1, b.opts.loginRounds)
		for i := range targets {
			j := (i + round) % len(targets)
			cookies, took, err := b.browser.loginMany(ctx, targets[j].url, b.opts.workers, 0, b.opts.loginFor)
			if err != nil {
				return nil, fmt.Errorf("%s: logins: %w\n%s", targets[j].name, err, targets[j].proc.logTail())
			}
			results[j].perSecond = append(results[j].perSecond, float64(len(cookies))/took.Seconds())
			results[j].cookies = append(results[j].cookies, cookies...)
		}
	}
	return results, nil
}

// manyResult is the memory check: a gateway's RSS after many distinct sessions.
type manyResult struct {
	name            string
	memoryStore     bool
	sessions        int
	rssBefore       float64
	rssAfter, peak  float64
	loginsPerSecond float64
}

// manySessions logs in n times at t, sends one request with each session,
// and reads the gateway's RSS.
func (b *bench) manySessions(ctx context.Context, t *target, n int) (*manyResult, error) {
	r := &manyResult{name: t.name, sessions: n, memoryStore: !t.redis}
	var err error
	if r.rssBefore, err = t.proc.memMB("VmRSS"); err != nil {
		return nil, err
	}
	b.logf("creating %d sessions at %s", n, t.name)
	cookies, took, err := b.browser.loginMany(ctx, t.url, b.opts.workers, n, time.Hour)
	if err != nil {
		return nil, fmt.Errorf("%s: logins: %w", t.name, err)
	}
	r.loginsPerSecond = float64(len(cookies)) / took.Seconds()
	b.logf("using each session once")
	if err := b.browser.touchAll(ctx, t.url, cookies, b.opts.workers); err != nil {
		return nil, err
	}
	if r.rssAfter, err = t.proc.memMB("VmRSS"); err != nil {
		return nil, err
	}
	if r.peak, err = t.proc.memMB("VmHWM"); err != nil {
		return nil, err
	}
	return r, nil
}

// serveUpstream is the benchmark's upstream: a small fixed body, and the
// identity it was sent echoed in a response header for the sanity check.
func serveUpstream(ctx context.Context, addr string, stdout io.Writer) error {
	body := []byte("hello from the benchmark upstream\n")
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr["Content-Type"] = []string{"text/plain; charset=utf-8"}
		hdr["Content-Length"] = []string{length}
		if u := r.Header["X-Forwarded-User"]; len(u) > 0 {
			hdr["X-Seen-User"] = u
		}
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(stdout, "upstream listening on", ln.Addr(), "GOMAXPROCS", runtime.GOMAXPROCS(0))
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
