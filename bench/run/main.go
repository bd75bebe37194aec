//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
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
	redis     bool           // the gateway uses Redis: count its CPU and commands too
	cookies   []*http.Cookie // the session's (several with the cookie store's chunks)
	samples   []sample       // under load: options.conns connections
	single    []sample       // one connection: latency without queueing
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
			if t.cookies != nil {
				c = cookieHeader(t.cookies)
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
