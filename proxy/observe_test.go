package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// lines returns the access log's JSON lines.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line is not JSON: %v: %q", err, line)
		}
		out = append(out, rec)
	}
	return out
}

// waitLines waits until the access log holds n lines (a line is written
// when its request ends, which for an aborted stream is after the client
// saw it end).
func (b *logBuffer) waitLines(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := b.lines(t)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%d access log lines, want %d:\n%s", len(got), n, b.buf.String())
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// streamingUpstream serves the kinds of traffic whose requests the access
// log used to miss or misreport: an event stream that never ends, a
// WebSocket (a raw upgrade that echoes), a large body for slow readers.
func streamingUpstream(t *testing.T) *url.URL {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/stream/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/stream/ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		buf := make([]byte, 64)
		for {
			n, err := brw.Read(buf)
			if err != nil {
				return
			}
			conn.Write(buf[:n])
		}
	})
	mux.HandleFunc("/stream/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(make([]byte, 4<<20))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// panicTransport panics for /panic/*: a bug inside the gateway's request
// handling.
type panicTransport struct{ rt http.RoundTripper }

func (p panicTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/panic/") {
		panic("test: a bug")
	}
	return p.rt.RoundTrip(r)
}

// rawRequest sends a request on a connection of its own and returns it
// with a reader positioned at the response.
func rawRequest(t *testing.T, base, req string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// TestAccessLogAndMetricsMissNothing sends a mix of requests, among them
// those that end badly (an event stream the client closes, a WebSocket, a
// slow reader, a panic), and checks that each has exactly one access log
// line with the status it got, and that the request metrics count the same
// requests.
func TestAccessLogAndMetricsMissNothing(t *testing.T) {
	logs := &logBuffer{}
	m := metrics.New()
	up := streamingUpstream(t)
	e := newEnv(t, envOptions{
		accessLog: accesslog.New(logs, true),
		observer:  m,
		wrapUp:    func(rt http.RoundTripper) http.RoundTripper { return panicTransport{rt} },
		users:     ruleUsers(),
		routes: []proxy.Route{
			{Name: "app", PathPrefix: "/"},
			{Name: "admins", PathPrefix: "/admins", Rules: authz.Rules{AllowedGroups: []string{"admins"}}},
			{Name: "stream", PathPrefix: "/stream", Target: up, Auth: proxy.AuthPublic},
			{Name: "panic", PathPrefix: "/panic", Auth: proxy.AuthPublic},
		},
	})
	gwHost := strings.TrimPrefix(e.gwURL, "http://")
	count := 0 // requests sent to the gateway

	// A login: /oauth2/start (via the gate's redirect), the callback, the page.
	c := e.browser()
	if resp := e.loginAs(c, "/page", "bob"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	count = len(logs.lines(t))
	if count < 2 {
		t.Fatalf("a login logged %d lines", count)
	}
	// Allowed, denied (403), unauthenticated (401), not found.
	if resp := e.get(c, e.gwURL+"/doc?secret=x"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /doc: %d", resp.StatusCode)
	}
	if resp := e.get(c, e.gwURL+"/admins/x"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET /admins/x: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/anon", nil)
	req.Header.Set("Accept", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous GET /anon: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp := e.get(c, e.gwURL+"/oauth2/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /oauth2/nothing: %d", resp.StatusCode)
	}
	count += 4

	// A panic: 500, the connection stays usable.
	if resp := e.get(c, e.gwURL+"/panic/now"); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /panic/now: %d", resp.StatusCode)
	}
	count++

	// An event stream the client closes after the first event.
	conn, br := rawRequest(t, e.gwURL, "GET /stream/events HTTP/1.1\r\nHost: "+gwHost+"\r\nAccept: text/event-stream\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %v %v", resp, err)
	}
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first event: %q %v", line, err)
	}
	if got := gauge(t, m, "gatehouse_open_streams", "sse"); got != 1 {
		t.Errorf("open sse streams while one is open: %v", got)
	}
	conn.Close()
	count++

	// A WebSocket: 101, relayed both ways, logged when it closes.
	conn, br = rawRequest(t, e.gwURL, "GET /stream/ws HTTP/1.1\r\nHost: "+gwHost+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if got := gauge(t, m, "gatehouse_open_streams", "websocket"); got != 1 {
		t.Errorf("open websockets while one is open: %v", got)
	}
	io.WriteString(conn, "hello")
	echo := make([]byte, 5)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "hello" {
		t.Fatalf("echo: %q %v", echo, err)
	}
	conn.Close()
	count++

	// A slow reader of a large body, and one that leaves half-way.
	conn, br = rawRequest(t, e.gwURL, "GET /stream/big HTTP/1.1\r\nHost: "+gwHost+"\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("big: %v %v", resp, err)
	}
	buf := make([]byte, 32<<10)
	total := 0
	for {
		n, err := resp.Body.Read(buf)
		total += n
		if err != nil {
			break
		}
		time.Sleep(time.Millisecond) // slow, not a timing assertion
	}
	if total != 4<<20 {
		t.Fatalf("slow reader got %d bytes", total)
	}
	conn.Close()
	count++
	conn, br = rawRequest(t, e.gwURL, "GET /stream/big HTTP/1.1\r\nHost: "+gwHost+"\r\n\r\n")
	if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("big: %v %v", resp, err)
	}
	io.ReadFull(resp.Body, buf)
	conn.Close()
	count++

	lines := logs.waitLines(t, count)
	byPath := map[string][]map[string]any{}
	for _, l := range lines {
		byPath[l["path"].(string)] = append(byPath[l["path"].(string)], l)
		if strings.Contains(fmt.Sprint(l), "secret=x") {
			t.Errorf("a query string in the log: %v", l)
		}
	}
	one := func(path string) map[string]any {
		t.Helper()
		if len(byPath[path]) == 0 {
			t.Fatalf("no line for %s", path)
		}
		return byPath[path][len(byPath[path])-1]
	}
	check := func(path string, want map[string]any) {
		t.Helper()
		l := one(path)
		for k, v := range want {
			if fmt.Sprint(l[k]) != fmt.Sprint(v) {
				t.Errorf("%s: %s = %v, want %v (line %v)", path, k, l[k], v, l)
			}
		}
	}
	check("/doc", map[string]any{"status": 200, "route": "app", "sub": "user-bob", "outcome": "allowed", "upstream": e.upURL.Host})
	check("/admins/x", map[string]any{"status": 403, "route": "admins", "sub": "user-bob", "outcome": "denied", "upstream": ""})
	check("/oauth2/callback", map[string]any{"status": 302, "route": "oauth2_callback", "sub": "user-bob", "outcome": "login"})
	check("/anon", map[string]any{"status": 401, "route": "app", "sub": "", "outcome": "unauthenticated"})
	check("/oauth2/nothing", map[string]any{"status": 404, "route": "oauth2_other"})
	check("/panic/now", map[string]any{"status": 500, "route": "panic"})
	check("/stream/events", map[string]any{"status": 499, "route": "stream", "outcome": "public"})
	check("/stream/ws", map[string]any{"status": 101, "route": "stream"})
	if ws := one("/stream/ws"); ws["bytes"].(float64) < float64(len("HTTP/1.1 101 Switching Protocols\r\n")+5) {
		t.Errorf("websocket bytes: %v", ws["bytes"])
	}
	big := byPath["/stream/big"]
	if len(big) != 2 || big[0]["status"].(float64) != 200 || big[0]["bytes"].(float64) != 4<<20 || big[1]["status"].(float64) != 499 {
		t.Errorf("big body lines: %v", big)
	}
	for _, l := range lines {
		if l["client_ip"] != "127.0.0.1" || l["host"] != gwHost || l["request_id"] == "" {
			t.Errorf("line without client IP, host or request ID: %v", l)
		}
		if d, ok := l["duration"].(float64); !ok || d < 0 || d > 60 {
			t.Errorf("duration is not seconds: %v", l["duration"])
		}
	}

	// The metrics count the same requests, by route, method and status class.
	want := map[string]int{}
	for _, l := range lines {
		want[l["route"].(string)+" "+l["method"].(string)+" "+statusClass(int(l["status"].(float64)))]++
	}
	got := map[string]int{}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_http_request_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range s.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			got[labels["route"]+" "+labels["method"]+" "+labels["code"]] += int(s.GetHistogram().GetSampleCount())
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics and access log disagree:\nmetrics %v\nlog     %v", got, want)
	}
	for _, kind := range []string{"sse", "websocket"} {
		if v := gauge(t, m, "gatehouse_open_streams", kind); v != 0 {
			t.Errorf("open %s streams after all closed: %v", kind, v)
		}
	}
	if v := gauge(t, m, "gatehouse_http_requests_in_flight", ""); v != 0 {
		t.Errorf("requests in flight after all ended: %v", v)
	}
}

func statusClass(code int) string {
	if code == 499 {
		return "499"
	}
	return fmt.Sprintf("%dxx", code/100)
}

// TestAccessLogClientIPFromTrustedProxies: behind a trusted proxy the
// client is the last untrusted address of X-Forwarded-For; from anyone
// else, the peer.
func TestAccessLogClientIPFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.9"},
		{"untrusted", nil, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logBuffer{}
			e := newEnv(t, envOptions{accessLog: accesslog.New(logs, true), trusted: tc.trusted,
				routes: []proxy.Route{{Name: "site", PathPrefix: "/", Auth: proxy.AuthPublic}}})
			e.get(e.browser(), e.gwURL+"/x?q=1", "X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.1.2.3", "User-Agent", "probe/1.0")
			l := logs.waitLines(t, 1)[0]
			if l["client_ip"] != tc.want || l["user_agent"] != "probe/1.0" || l["path"] != "/x" || l["outcome"] != "public" {
				t.Errorf("line %v, want client_ip %s", l, tc.want)
			}
		})
	}
}

// gauge reads a gauge of m; label is the value of its one label, "" when
// it has none.
func gauge(t *testing.T, m *metrics.Metrics, name, label string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if label == "" || len(s.GetLabel()) == 1 && s.GetLabel()[0].GetValue() == label {
				return s.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// TestAccessLogOfTheRESTFlow: the REST flow API's calls are logged under
// the route "rest" (not the upstream's whose path they share), the call
// that creates the session names its user and the outcome "login", and a
// request with the session token names the user too.
func TestAccessLogOfTheRESTFlow(t *testing.T) {
	logs := &logBuffer{}
	m := metrics.New()
	e := newRESTEnv(t, envOptions{accessLog: accesslog.New(logs, true), observer: m})
	a := e.app()
	token := a.login("alice")
	a.call(http.MethodGet, "/auth/rest/protected/session/", token, "")
	lines := logs.waitLines(t, 3) // access, authorization-response, session
	var sawLogin, sawSession bool
	for _, l := range lines {
		if l["route"] != proxy.RouteREST {
			t.Errorf("REST call logged under route %v: %v", l["route"], l)
		}
		switch l["path"] {
		case restBase + "/oauth2-client/authorization-response/":
			sawLogin = l["sub"] == "user-alice" && l["outcome"] == "login" && l["status"] == float64(200)
		case "/auth/rest/protected/session/":
			sawSession = l["sub"] == "user-alice"
		}
	}
	if !sawLogin || !sawSession {
		t.Errorf("no line naming alice for the session's creation (%v) or use (%v):\n%v", sawLogin, sawSession, lines)
	}
}

// TestAccessLogNamesTheNewEndpoints: the endpoints the compat and identity
// assertion features added are logged and counted under names of their
// own (the JWK Set of the identity assertions was counted under whichever
// upstream route covers "/"), and metrics agree with the log.
func TestAccessLogNamesTheNewEndpoints(t *testing.T) {
	logs := &logBuffer{}
	m := metrics.New()
	e := newEnv(t, envOptions{
		accessLog: accesslog.New(logs, true), observer: m, healthAliases: true,
		assertionsFor: func(issuer string) *assertion.Signer { return testSigner(t, issuer) },
		routes:        []proxy.Route{{Name: "app", PathPrefix: "/", AssertionHeader: "X-Gatehouse-Assertion"}},
	})
	c := e.browser()
	for path, status := range map[string]int{"/oauth2/sign_in": 200, "/ping": 200, "/ready": 200, proxy.JWKSPath: 200,
		"/oauth2/auth?unknown_rule=1": 403} {
		if resp := e.get(c, e.gwURL+path); resp.StatusCode != status {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	lines := logs.waitLines(t, 5)
	route, outcome := map[string]string{}, map[string]string{}
	for _, l := range lines {
		route[l["path"].(string)] = fmt.Sprint(l["route"])
		outcome[l["path"].(string)] = fmt.Sprint(l["outcome"])
	}
	for path, want := range map[string]string{"/oauth2/sign_in": "oauth2_sign_in", "/ping": "ping", "/ready": "ready", proxy.JWKSPath: "jwks",
		"/oauth2/auth": "oauth2_auth"} {
		if route[path] != want {
			t.Errorf("%s logged under route %q, want %q", path, route[path], want)
		}
	}
	// A forward-auth query whose rules cannot be applied is refused (an
	// access_denied audit event): the line says so too.
	if outcome["/oauth2/auth"] != proxy.OutcomeDenied {
		t.Errorf("forward-auth query refusal logged with outcome %q, want denied", outcome["/oauth2/auth"])
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_http_request_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if lp.GetName() == "route" {
					got[lp.GetValue()] = true
				}
			}
		}
	}
	for _, r := range route {
		if !got[r] {
			t.Errorf("route %q of the log has no request metric (metrics: %v)", r, got)
		}
	}
}
