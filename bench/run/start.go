package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
)

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
		// The cookie store: the session sealed in the request's cookies,
		// opened on every request the local cache does not serve.
		{"cookie", "gateway, cookie store", "cookie", "", "5s", ""},
		{"cookie-nocache", "gateway, cookie store, no cache", "cookie", "", "0s", ""},
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
	cs, err := b.browser.loginAll(ctx, t.url)
	if err != nil {
		return fmt.Errorf("%s: login: %w\n%s", t.name, err, t.proc.logTail())
	}
	t.cookies = cs
	resp, err := b.browser.get(ctx, t.url+"/", cs...)
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
