package chaostest

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
)

const (
	clientID     = "chaos"
	clientSecret = "chaos-client-secret-0123456789abcdef"
	cookieSecret = "Y2hhb3MtdGVzdC1jb29raWUtc2VjcmV0LTAxMjM0NTY="
	keyPrefix    = "gatehouse:"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// gatehouseBinary builds ./cmd/gatehouse once per test process.
func gatehouseBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-chaostest-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "gatehouse")
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is needed to build the gateway: %w", err)
			return
		}
		args := []string{"build", "-o", builtBin}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goBin, append(args, "github.com/gatehouse-dev/gatehouse/cmd/gatehouse")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/gatehouse: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// stack is one gateway with everything it depends on.
type stack struct {
	t        testing.TB
	redis    *redistest.Server
	redisPID int           // found once, by signalRedis
	rdb      *redis.Client // straight to redis-server, not through storeNet
	storeNet *faultProxy   // the gateway's path to Redis
	asNet    *faultProxy   // the gateway's path to the AS
	as       *devop.Server
	upstream *misbehavingUpstream
	gw       *gatehouse
	hc       *http.Client
}

// stackOptions are the knobs the suites turn.
type stackOptions struct {
	accessTokenTTL  time.Duration // at the AS (default 1h)
	refreshBefore   string        // session.refresh_before (default "60s")
	upstreamTimeout string        // the /hang route's timeout (default "1s")
}

func startStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	if o.accessTokenTTL == 0 {
		o.accessTokenTTL = time.Hour
	}
	if o.refreshBefore == "" {
		o.refreshBefore = "60s"
	}
	if o.upstreamTimeout == "" {
		o.upstreamTimeout = "1s"
	}
	bin := gatehouseBinary(t)
	s := &stack{t: t, redis: redistest.Start(t)}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.redis.Addr, MaxRetries: -1})
	t.Cleanup(func() { s.rdb.Close() })
	s.storeNet = startFaultProxy(t, s.redis.Addr)

	asLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.asNet = startFaultProxy(t, asLn.Addr().String())
	gwAddr := freeAddr(t)
	s.as, err = devop.New(devop.Options{
		Issuer: "http://" + s.asNet.Addr,
		Clients: []devop.Client{{
			ID: clientID, Secret: clientSecret,
			RedirectURIs: []string{"http://" + gwAddr + "/oauth2/callback"},
		}},
		AutoApproveUser:     "alice",
		AccessTokenTTL:      o.accessTokenTTL,
		IDTokenTTL:          time.Hour,
		RotateRefreshTokens: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	asSrv := &http.Server{Handler: s.as, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = asSrv.Serve(asLn) }()
	t.Cleanup(func() { asSrv.Close() })

	s.upstream = startUpstream(t)
	cfg := fmt.Sprintf(`[server]
listen = %[1]q
public_url = "http://%[1]s"
metrics_listen = %[2]q
pprof = true
shutdown_timeout = "10s"

[provider]
issuer = "http://%[3]s"
client_id = %[4]q
scopes = ["openid", "email", "profile", "groups", "offline_access"]
timeout = "2s"

[session]
store = "redis"
# Every request reads the store: what a store fault does shows at once.
cache_max_age = "0s"
refresh_before = %[5]q

[session.redis]
url = "redis://%[6]s/0"
key_prefix = %[7]q

# The suites' one client address stands for many users.
[limits]
flows_per_client = 1000000

[rest_api]
enabled = true

[[rest_api.application]]
name = "app"
redirect_uris = ["com.example.app:/oauth2redirect"]

[[upstream]]
name = "app"
path_prefix = "/"
url = "http://%[8]s"

[[upstream]]
name = "public"
path_prefix = "/public"
url = "http://%[8]s"
auth = "public"

[[upstream]]
name = "refused"
path_prefix = "/refused"
url = "http://%[9]s"

[[upstream]]
name = "hang"
path_prefix = "/hang"
url = "http://%[8]s"
timeout = %[10]q
`, gwAddr, freeAddr(t), s.asNet.Addr, clientID, o.refreshBefore, s.storeNet.Addr, keyPrefix,
		s.upstream.addr, closedAddr(t), o.upstreamTimeout)
	s.gw = newGatehouse(t, bin, cfg, gwAddr)
	s.hc = newClient()
	s.gw.start()
	return s
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// closedAddr is an address where nothing listens: connections are refused.
func closedAddr(t testing.TB) string { return freeAddr(t) }

func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		Timeout:   15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// gatehouse is the gateway process.
type gatehouse struct {
	t       testing.TB
	bin     string
	cfgPath string
	logPath string
	addr    string
	URL     string
	metrics string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newGatehouse(t testing.TB, bin, cfg, addr string) *gatehouse {
	t.Helper()
	dir := t.TempDir()
	g := &gatehouse{t: t, bin: bin, cfgPath: filepath.Join(dir, "gatehouse.toml"), logPath: filepath.Join(dir, "gatehouse.log"),
		addr: addr, URL: "http://" + addr}
	for line := range strings.Lines(cfg) {
		if v, ok := strings.CutPrefix(line, "metrics_listen = "); ok {
			g.metrics = "http://" + strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.kill()
		if b, _ := os.ReadFile(g.logPath); bytes.Contains(b, []byte("WARNING: DATA RACE")) {
			i := bytes.Index(b, []byte("WARNING: DATA RACE"))
			t.Errorf("the gateway had a data race:\n%s", b[i:min(len(b), i+8000)])
		}
		if t.Failed() {
			t.Logf("gateway log (last lines):\n%s", g.logTail(40))
		}
	})
	return g
}

// start runs the gateway and waits until it is ready.
func (g *gatehouse) start() {
	g.t.Helper()
	g.mu.Lock()
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		g.mu.Unlock()
		g.t.Fatal(err)
	}
	cmd := exec.Command(g.bin, "serve", "-config", g.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "GATEHOUSE_CLIENT_SECRET="+clientSecret, "GATEHOUSE_COOKIE_SECRET="+cookieSecret)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		g.mu.Unlock()
		g.t.Fatal(err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	g.cmd, g.exited = cmd, exited
	g.mu.Unlock()
	err = waitUntil(context.Background(), 60*time.Second, func() error {
		select {
		case <-exited:
			return errGaveUp
		default:
		}
		return g.ready()
	})
	if err != nil {
		g.t.Fatalf("gateway did not become ready: %v\n%s", err, g.logTail(30))
	}
}

// ready returns nil once GET /readyz answers 200.
func (g *gatehouse) ready() error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(g.URL + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %d", resp.StatusCode)
	}
	return nil
}

// terminate sends SIGTERM and waits until the process has exited.
func (g *gatehouse) terminate() {
	g.mu.Lock()
	cmd, exited := g.cmd, g.exited
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		g.t.Errorf("gateway still running 30s after SIGTERM")
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (g *gatehouse) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil {
		_ = g.cmd.Process.Kill()
		<-g.exited
		g.cmd = nil
	}
}

// alive reports whether the process is still running.
func (g *gatehouse) alive() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return false
	}
	select {
	case <-g.exited:
		return false
	default:
		return true
	}
}

func (g *gatehouse) logTail(n int) string {
	b, _ := os.ReadFile(g.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errGaveUp, returned by a check, ends waitUntil at once.
var errGaveUp = errors.New("gave up")

// waitUntil calls check every 20ms until it returns nil, returns errGaveUp
// or timeout passes; it returns how long that took.
func waitUntil(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if errors.Is(err, errGaveUp) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// get sends GET path to the gateway as a browser (Accept: text/html) with
// the cookies, reads the body and returns the response.
func (s *stack) get(ctx context.Context, path string, cookies ...*http.Cookie) (*http.Response, []byte, error) {
	return s.do(ctx, http.MethodGet, s.gw.URL+path, "text/html", cookies...)
}

func (s *stack) do(ctx context.Context, method, url, accept string, cookies ...*http.Cookie) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", accept)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// login runs a complete browser login (start, the AS approving at once,
// callback) and returns the session cookie.
func (s *stack) login(ctx context.Context) (*http.Cookie, error) {
	resp, _, err := s.get(ctx, "/oauth2/start?rd=%2F")
	if err != nil {
		return nil, err
	}
	binding := cookieNamed(resp, "gatehouse_csrf")
	if resp.StatusCode != http.StatusFound || binding == nil {
		return nil, fmt.Errorf("login start: status %d, binding cookie %v", resp.StatusCode, binding != nil)
	}
	resp, _, err = s.do(ctx, http.MethodGet, resp.Header.Get("Location"), "text/html")
	if err != nil {
		return nil, err
	}
	cb := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(cb, s.gw.URL+"/oauth2/callback") {
		return nil, fmt.Errorf("authorization: status %d, location %q", resp.StatusCode, cb)
	}
	resp, _, err = s.do(ctx, http.MethodGet, cb, "text/html", binding)
	if err != nil {
		return nil, err
	}
	ticket := cookieNamed(resp, "gatehouse")
	if resp.StatusCode != http.StatusFound || ticket == nil {
		return nil, fmt.Errorf("callback: status %d, session cookie %v", resp.StatusCode, ticket != nil)
	}
	return &http.Cookie{Name: ticket.Name, Value: ticket.Value}, nil
}

func (s *stack) mustLogin(t testing.TB) *http.Cookie {
	t.Helper()
	c, err := s.login(t.Context())
	if err != nil {
		t.Fatalf("login: %v\n%s", err, s.gw.logTail(20))
	}
	return c
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	return nil
}
