// Package e2e proves Gatehouse against real parts: the built gatehouse
// binary, two certified OpenID Providers (oidc-provider on node and Ory
// Hydra; docs/providers.md), headless Chromium and real redis-server
// processes, all on 127.0.0.1.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// gatehouseBin and demoBin are the gatehouse and gatehouse-demo commands,
// built once by TestMain.
var gatehouseBin, demoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatehouseBin, demoBin = filepath.Join(dir, "gatehouse"), filepath.Join(dir, "gatehouse-demo")
	// Built in the product module, without a workspace: the binaries users
	// get, with the versions the product's go.mod selects (not e2e's).
	build := exec.Command("go", "build", "-race", "-o", dir+string(filepath.Separator), "./cmd/gatehouse", "./cmd/gatehouse-demo")
	build.Dir = ".."
	build.Env = append(os.Environ(), "GOWORK=off")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gwConfig is what varies between the gateways the scenarios start.
type gwConfig struct {
	Port          int    // default: a free port
	PublicURL     string // default: http://127.0.0.1:Port
	Issuer        string
	ClientID      string
	ClientSecret  string
	Store         string // "memory" (default), "redis" or "cookie"
	RedisURL      string // with "cookie": the revocation store (optional)
	UpstreamURL   string
	RefreshBefore string // default "1s"
	CookieSecret  string // default: a fixed test secret (replicas must share it)
	ProviderExtra string // more TOML in the [provider] table
	ServerExtra   string // more TOML in the [server] table
	SessionExtra  string // more TOML in the [session] table
	Extra         string // more TOML appended at the end
}

// gateway is a running gatehouse process.
type gateway struct {
	URL  string
	cfg  gwConfig
	path string
	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *lockedWriter
	done chan struct{}
}

// log returns what the gateway printed so far.
func (g *gateway) log() string { return g.logs.String() }

const testCookieSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes

func startGateway(t *testing.T, c gwConfig) *gateway {
	t.Helper()
	if c.Port == 0 {
		c.Port = harness.FreePort(t)
	}
	if c.PublicURL == "" {
		c.PublicURL = fmt.Sprintf("http://127.0.0.1:%d", c.Port)
	}
	if c.Store == "" {
		c.Store = "memory"
	}
	if c.RefreshBefore == "" {
		c.RefreshBefore = "1s"
	}
	if c.CookieSecret == "" {
		c.CookieSecret = testCookieSecret
	}
	toml := fmt.Sprintf(`
[server]
listen = "127.0.0.1:%d"
public_url = %q
log_level = "debug"
shutdown_timeout = "2s"
%s
[provider]
issuer = %q
client_id = %q
client_secret = %q
scopes = ["openid", "email", "profile", "groups", "offline_access"]
%s
[session]
store = %q
cookie_secret = %q
refresh_before = %q
%s
`, c.Port, c.PublicURL, c.ServerExtra, c.Issuer, c.ClientID, c.ClientSecret, c.ProviderExtra, c.Store, c.CookieSecret, c.RefreshBefore, c.SessionExtra)
	if c.Store == "redis" || (c.Store == "cookie" && c.RedisURL != "") {
		toml += fmt.Sprintf("\n[session.redis]\nurl = %q\n", c.RedisURL)
	}
	toml += fmt.Sprintf("\n[[upstream]]\nname = \"app\"\npath_prefix = \"/\"\nurl = %q\n", c.UpstreamURL)
	toml += c.Extra
	g := &gateway{URL: fmt.Sprintf("http://127.0.0.1:%d", c.Port), cfg: c, path: filepath.Join(t.TempDir(), "gatehouse.toml")}
	if err := os.WriteFile(g.path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start(t)
	t.Cleanup(func() {
		g.stop(t)
		if t.Failed() {
			t.Logf("gatehouse %s log:\n%s", g.URL, g.log())
		}
	})
	return g
}

func (g *gateway) start(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.logs == nil {
		g.logs = &lockedWriter{w: &bytes.Buffer{}}
	}
	cmd := exec.Command(gatehouseBin, "serve", "-config", g.path)
	lw := g.logs
	cmd.Stdout, cmd.Stderr = lw, lw
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse: %v", err)
	}
	g.cmd, g.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(g.done)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(g.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-g.done:
			t.Fatalf("gatehouse exited at start-up:\n%s", lw.String())
		case <-ctx.Done():
			t.Fatalf("gatehouse not ready after 20s:\n%s", lw.String())
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (g *gateway) stop(t *testing.T) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
		t.Errorf("gatehouse did not stop within 10s of SIGTERM")
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("gatehouse exited with status %d after SIGTERM", code)
	}
	g.cmd = nil
}

func (g *gateway) restart(t *testing.T) {
	t.Helper()
	g.stop(t)
	g.start(t)
}

type lockedWriter struct {
	mu sync.Mutex
	w  interface {
		io.Writer
		String() string
	}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// upstream records what the application behind the gateway received.
type upstream struct {
	URL string
	mu  sync.Mutex
	got []http.Header
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	port := harness.FreePort(t)
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/favicon.ico" { // browsers ask for it on their own, after the page
				http.NotFound(w, r)
				return
			}
			u.mu.Lock()
			h := r.Header.Clone()
			h.Set("X-Test-Request-URI", r.URL.RequestURI())
			u.got = append(u.got, h)
			u.mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><title>app</title><h1 id=app>Hello %s</h1><p id=uri>%s</p>",
				r.Header.Get("X-Forwarded-Email"), r.URL.RequestURI())
		})}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	u.URL = "http://" + srv.Addr
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return u
}

func (u *upstream) last(t *testing.T) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.got[len(u.got)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.got)
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
