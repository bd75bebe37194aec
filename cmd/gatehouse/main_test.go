package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

func runCmd(t *testing.T, ctx context.Context, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gatehouse.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenkey(t *testing.T) {
	out, _, err := runCmd(t, t.Context(), nil, "genkey")
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil || len(b) != 32 {
		t.Errorf("genkey printed %q: %d bytes, %v", out, len(b), err)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	if out, _, err := runCmd(t, t.Context(), nil, "version"); err != nil || !strings.HasPrefix(out, "gatehouse ") {
		t.Errorf("version: %q, %v", out, err)
	}
	if _, errOut, err := runCmd(t, t.Context(), nil, "frobnicate"); err == nil || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %q, %v", errOut, err)
	}
}

func TestCheckConfig(t *testing.T) {
	t.Run("Example", func(t *testing.T) {
		out, errOut, err := runCmd(t, t.Context(), nil, "check-config", "-config", "../../config.example.toml")
		if err != nil || !strings.Contains(out, "configuration is valid") {
			t.Errorf("config.example.toml: %v\n%s", err, errOut)
		}
	})
	// A bad file is refused, and stderr names what is wrong: a syntax-level
	// problem (a bad duration, an unknown table) first, then, once the file
	// decodes, every invalid value by its key path.
	const base = `
[server]
public_url = "http://app.example.com"
[provider]
issuer = "ftp://as.example.com"
client_id = "x"
`
	for _, tc := range []struct {
		name, extra string
		named       []string
	}{
		{"BadDuration", "[session]\nstore = \"memory\"\nlifetime = \"soon\"\n[sesion]\n", []string{"lifetime"}},
		{"UnknownTable", "[session]\nstore = \"memory\"\n[sesion]\n", []string{"sesion"}},
		{"EveryInvalidValue", "", []string{"server.public_url", "provider.issuer", "provider.client_secret", "session.cookie_secret", "upstream[0].url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, base+tc.extra+"[[upstream]]\nurl = \"not a url\"\n")
			_, errOut, err := runCmd(t, t.Context(), nil, "check-config", "-config", p)
			if err == nil {
				t.Fatal("a bad config was accepted")
			}
			for _, want := range tc.named {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr does not name %q:\n%s", want, errOut)
				}
			}
		})
	}
	// The cookie store without Redis is valid, and check-config says
	// which logout features it loses; with Redis it says nothing.
	t.Run("CookieStoreWarning", func(t *testing.T) {
		const cookieBase = `
[server]
public_url = "http://127.0.0.1:4180"
[provider]
issuer = "http://127.0.0.1:9000"
client_id = "x"
client_secret = "s"
[session]
store = "cookie"
cookie_secret = ["MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU="]
`
		const upstream = "[[upstream]]\nurl = \"http://127.0.0.1:8080\"\n"
		out, errOut, err := runCmd(t, t.Context(), nil, "check-config", "-config", writeFile(t, cookieBase+upstream))
		if err != nil || !strings.Contains(out, "configuration is valid") || !strings.Contains(errOut, "warning: session.store = \"cookie\" without [session.redis]") {
			t.Errorf("cookie store without Redis: %v\nstdout %s\nstderr %s", err, out, errOut)
		}
		_, errOut, err = runCmd(t, t.Context(), nil, "check-config", "-config", writeFile(t, cookieBase+"[session.redis]\nurl = \"redis://127.0.0.1:6379/0\"\n"+upstream))
		if err != nil || strings.Contains(errOut, "warning") {
			t.Errorf("cookie store with Redis: %v\n%s", err, errOut)
		}
	})
	t.Run("SecretsNeverPrinted", func(t *testing.T) {
		p := writeFile(t, `
[server]
public_url = "http://127.0.0.1:4180"
[provider]
issuer = "http://127.0.0.1:9000"
client_id = "x"
client_secret = "TOP-SECRET-VALUE"
[session]
cookie_secret = "bad"
[[upstream]]
url = "http://127.0.0.1:8080"
`)
		_, errOut, err := runCmd(t, t.Context(), nil, "check-config", "-config", p)
		if err == nil || strings.Contains(errOut, "TOP-SECRET-VALUE") || strings.Contains(errOut, `"bad"`) {
			t.Errorf("err %v, stderr:\n%s", err, errOut)
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const testSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func serveConfig(gwAddr, issuer, upstream, extraSession string) string {
	return fmt.Sprintf(`
[server]
listen = %q
public_url = "http://%s"
shutdown_timeout = "10s"
[provider]
issuer = %q
client_id = "gh"
client_secret = "gh-secret-0123456789"
[session]
cookie_secret = %q
%s
[[upstream]]
url = %q
`, gwAddr, gwAddr, issuer, testSecret, extraSession, upstream)
}

// TestServeGracefulShutdown: a request in flight when the signal arrives
// completes; readiness turns unready first; run returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	}))
	defer up.Close()
	gwAddr := freeAddr(t)
	as := startAS(t, gwAddr)
	p := writeFile(t, serveConfig(gwAddr, as.URL, up.URL, `[[upstream]]
path_prefix = "/slow"
auth = "public"
url = "`+up.URL+`"`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve", "-config", p}, func(string) string { return "" }, io.Discard, &stderr)
	}()
	waitReady(t, "http://"+gwAddr)

	var wg sync.WaitGroup
	var status int
	var body string
	wg.Go(func() {
		resp, err := http.Get("http://" + gwAddr + "/slow")
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, body = resp.StatusCode, string(b)
	})
	<-entered
	cancel() // what SIGTERM does through signal.NotifyContext
	// While draining, new connections are refused; the in-flight request goes on.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if status != http.StatusOK || body != "done" {
		t.Errorf("in-flight request: %d %q, want 200 done", status, body)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown log:\n%s", stderr.String())
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 10s", base)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSessionsRevoke(t *testing.T) {
	redistest.Require(t)
	rds := redistest.Start(t)
	p := writeFile(t, serveConfig("127.0.0.1:4180", "http://127.0.0.1:9000", "http://127.0.0.1:8080",
		"store = \"redis\"\n[session.redis]\nurl = \""+rds.URL+"\""))
	st, err := redisstore.New(redisstore.Options{URL: rds.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, _ := base64.StdEncoding.DecodeString(testSecret)
	m, err := session.NewManager(session.Options{Store: st, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for _, sub := range []string{"alice", "alice", "bob"} {
		tk, err := m.Create(t.Context(), &session.Session{Issuer: "http://127.0.0.1:9000", Subject: sub})
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	out, errOut, err := runCmd(t, t.Context(), nil, "sessions", "revoke", "-config", p, "-sub", "alice")
	if err != nil || !strings.Contains(out, "ended 2 session(s)") {
		t.Fatalf("revoke: %q %q %v", out, errOut, err)
	}
	for i, want := range []bool{false, false, true} {
		_, err := m.Load(t.Context(), tickets[i])
		if (err == nil) != want {
			t.Errorf("session %d alive=%v, want %v", i, err == nil, want)
		}
	}
	if _, errOut, err := runCmd(t, t.Context(), nil, "sessions", "revoke", "-config", p); err == nil || !strings.Contains(errOut, "exactly one of -sub or -sid") {
		t.Errorf("revoke without -sub: %q %v", errOut, err)
	}
}

// TestSessionsRevokeCookieStore: with the cookie store, `sessions revoke`
// records the revocation in Redis, where every gateway checks it; without
// Redis it says plainly that it cannot reach the sessions.
func TestSessionsRevokeCookieStore(t *testing.T) {
	redistest.Require(t)
	rds := redistest.Start(t)
	p := writeFile(t, serveConfig("127.0.0.1:4180", "http://127.0.0.1:9000", "http://127.0.0.1:8080",
		"store = \"cookie\"\n[session.redis]\nurl = \""+rds.URL+"\""))
	st, err := redisstore.New(redisstore.Options{URL: rds.URL, KeyPrefix: "gatehouse:"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, _ := base64.StdEncoding.DecodeString(testSecret)
	m, err := session.NewManager(session.Options{Store: st, Secret: secret, CookieStore: true, CacheMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for _, sub := range []string{"alice", "bob"} {
		tk, err := m.Create(t.Context(), &session.Session{Issuer: "http://127.0.0.1:9000", Subject: sub})
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, tk)
	}
	out, errOut, err := runCmd(t, t.Context(), nil, "sessions", "revoke", "-config", p, "-sub", "alice")
	if err != nil || !strings.Contains(out, "revoked every cookie session") {
		t.Fatalf("revoke: %q %q %v", out, errOut, err)
	}
	for i, want := range []bool{false, true} {
		_, err := m.Load(t.Context(), tickets[i])
		if (err == nil) != want {
			t.Errorf("session %d alive=%v, want %v", i, err == nil, want)
		}
	}
	noRedis := writeFile(t, serveConfig("127.0.0.1:4180", "http://127.0.0.1:9000", "http://127.0.0.1:8080", "store = \"cookie\""))
	if _, errOut, err := runCmd(t, t.Context(), nil, "sessions", "revoke", "-config", noRedis, "-sub", "alice"); err == nil || !strings.Contains(errOut, "without [session.redis]") {
		t.Errorf("revoke without Redis: %q %v", errOut, err)
	}
}
