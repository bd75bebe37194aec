package e2e

// The parts the front-proxy tests (Caddy, nginx, ingress-nginx, oauth2-proxy's
// nginx set-up, the spellings corpus) share: the OP and gateway set-up, the
// plain HTTP client, the browser logins and the assertions on what the
// application received.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// Gateway settings for a front proxy on 127.0.0.1 that serves every
// *.gatehouse.localhost host: the gateway trusts the proxy's forwarded
// headers, returns to any of those hosts after a login, and its cookie is
// sent to all of them.
const (
	subdomainsServerExtra  = "trusted_proxies = [\"127.0.0.1\"]\nallowed_redirect_domains = [\".gatehouse.localhost:*\"]"
	subdomainsSessionExtra = `cookie_domain = "gatehouse.localhost"`
)

// startFrontProxyOP starts the OpenID Provider with users and the
// gateway's client, whose callback is at public (the front proxy's URL).
func startFrontProxyOP(t *testing.T, public string, users ...harness.OPUser) *harness.OP {
	t.Helper()
	return harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{{ID: gwClientID, Secret: gwClientSecret, RedirectURIs: []string{public + "/oauth2/callback"}}},
		Users:   users,
	})
}

// subdomainsWorld is the OpenID Provider (with alice and bob), the
// application and the gateway behind a front proxy at public, which
// serves every *.gatehouse.localhost host.
type subdomainsWorld struct {
	public string
	op     *harness.OP
	app    *upstream
	gw     *gateway
}

// startSubdomainsWorld starts the OP, the application and, at gwPort, the
// gateway with the routes of the spellings corpus and the settings for a
// front proxy at www.gatehouse.localhost:frontPort that serves every
// *.gatehouse.localhost host.
func startSubdomainsWorld(t *testing.T, frontPort, gwPort int) subdomainsWorld {
	t.Helper()
	w := subdomainsWorld{public: fmt.Sprintf("http://www.gatehouse.localhost:%d", frontPort)}
	w.op = startFrontProxyOP(t, w.public, alice, bob)
	w.app = startUpstream(t)
	w.gw = startGateway(t, gwConfig{
		Port: gwPort, PublicURL: w.public, Issuer: w.op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL:  w.app.URL,
		ServerExtra:  subdomainsServerExtra,
		SessionExtra: subdomainsSessionExtra,
		Extra:        spellingRoutes(w.app.URL),
	})
	return w
}

// loopbackClient returns an HTTP client that does not follow redirects and
// connects to 127.0.0.1:port whatever the host name (Go's resolver does not
// resolve *.localhost names as browsers do).
func loopbackClient(port int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		}},
	}
}

// getDiscarding sends GET rawURL with the header name/value pairs hdr
// through client and returns the answer, its body read and closed.
func getDiscarding(t *testing.T, client *http.Client, rawURL string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// assertRefused fails if send's answer (to the request what names) is a
// 200 or the application was reached while send ran.
func assertRefused(t *testing.T, app *upstream, what string, send func() *http.Response) {
	t.Helper()
	n := app.count()
	resp := send()
	if resp.StatusCode == http.StatusOK || app.count() != n {
		t.Errorf("%s: %d; the application was reached: %v", what, resp.StatusCode, app.count() != n)
	}
}

// assertAliceLandsOn signs alice in at the OP (the browser in tab is on
// its way there from deep) and fails unless the browser lands on deep and
// the application greets alice and echoes deep's path and query.
func assertAliceLandsOn(t *testing.T, tab *harness.Tab, deep string) {
	t.Helper()
	u, err := url.Parse(deep)
	if err != nil {
		t.Fatal(err)
	}
	tab.OPLogin(t, "alice", "any-password")
	tab.WaitURLPrefix(t, deep)
	if got := tab.URL(t); got != deep {
		t.Errorf("landed on %q, want the deep link %q", got, deep)
	}
	if text := tab.Text(t); !contains(text, "Hello alice@example.com", u.RequestURI()) {
		t.Errorf("page text %q", text)
	}
}

// signIn sends the browser in tab to start, signs user in at the OP and
// waits until the browser is back at start.
func signIn(t *testing.T, tab *harness.Tab, start, user string) {
	t.Helper()
	tab.Navigate(t, start)
	tab.OPLogin(t, user, "x")
	tab.WaitURLPrefix(t, start)
}

// assertSees fails unless the page in tab, at each of urls, says want.
func assertSees(t *testing.T, tab *harness.Tab, who, want string, urls ...string) {
	t.Helper()
	for _, u := range urls {
		tab.Navigate(t, u)
		if text := tab.Text(t); !strings.Contains(text, want) {
			t.Errorf("%s at %s sees %q", who, u, text)
		}
	}
}

// assertDenied fails unless the page in tab, at each of urls, says want
// (the refusal, described by page) and the application is not reached.
func assertDenied(t *testing.T, app *upstream, tab *harness.Tab, who, want, page string, urls ...string) {
	t.Helper()
	for _, u := range urls {
		n := app.count()
		tab.Navigate(t, u)
		if text := tab.Text(t); !strings.Contains(text, want) {
			t.Errorf("%s at %s sees %q, want %s", who, u, text, page)
		}
		if app.count() != n {
			t.Errorf("the application was reached by %s at %s", who, u)
		}
	}
}

// assertHeaders fails unless h has each of want's values ("": none).
func assertHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("application %s = %q, want %q", k, h.Get(k), v)
		}
	}
}

// assertAliceForwarded fails unless the application received alice's
// identity in the X-Forwarded-* headers and nothing a client spoofed nor
// the gateway's cookies.
func assertAliceForwarded(t *testing.T, h http.Header) {
	t.Helper()
	assertHeaders(t, h, map[string]string{
		"X-Forwarded-User": "alice-sub", "X-Forwarded-Email": "alice@example.com",
		"X-Forwarded-Groups": "admins,staff", "X-Forwarded-Preferred-Username": "alice",
	})
	assertNoSpoofedValues(t, h)
	if c := h.Get("Cookie"); strings.Contains(c, "gatehouse") {
		t.Errorf("the application received the gateway's cookies: %q", c)
	}
}

// assertNoSpoofedValues fails if a value a client injected reached the
// application, or a header of the X-Auth-Request family or an underscore
// spelling of an identity header.
func assertNoSpoofedValues(t *testing.T, h http.Header) {
	t.Helper()
	assertNoSpoofedValuesOnly(t, h)
	for _, k := range []string{"X-Auth-Request-User", "X_forwarded_groups"} {
		if _, ok := h[k]; ok {
			t.Errorf("the application received %s", k)
		}
	}
}

// assertNoSpoofedValuesOnly fails if a value a client injected reached the
// application (whose identity headers may come in both families).
func assertNoSpoofedValuesOnly(t *testing.T, h http.Header) {
	t.Helper()
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, "mallory") || v == "root" {
				t.Errorf("a spoofed header reached the application: %s: %s", k, v)
			}
		}
	}
}

// hostileRoutes is the routes of the hostile-request corpus
// (internal/canon/testdata/hostile-requests.txt), appended to the
// gateway's first upstream ("/", which it makes public): /admin and the
// host admin.gatehouse.localhost are for admins only.
func hostileRoutes(appURL string) string {
	return fmt.Sprintf(`auth = "public"

[[upstream]]
name = "admin"
path_prefix = "/admin"
url = %[1]q
allowed_groups = ["admins"]

[[upstream]]
name = "admin-host"
host = "admin.gatehouse.localhost"
url = %[1]q
allowed_groups = ["admins"]
`, appURL)
}

// spellingRoutes is hostileRoutes plus /reports and /team, which need a
// session.
func spellingRoutes(appURL string) string {
	return hostileRoutes(appURL) + fmt.Sprintf(`
[[upstream]]
name = "reports"
path_prefix = "/reports"
url = %[1]q

[[upstream]]
name = "team"
path_prefix = "/team"
url = %[1]q
`, appURL)
}

// spellingProbe sends the corpus's raw requests anonymously and tells
// whether each reached the application; it asks the gateway (at gwAddr)
// once per canonical request whether that may be reached anonymously.
type spellingProbe struct {
	t      *testing.T
	app    *upstream
	gwAddr string
	canon  map[string]bool // canonical "host path": may be reached
}

func newSpellingProbe(t *testing.T, app *upstream, gwAddr string) *spellingProbe {
	return &spellingProbe{t: t, app: app, gwAddr: gwAddr, canon: map[string]bool{}}
}

// send returns the status of one raw request to addr and whether it
// reached the application.
func (p *spellingProbe) send(addr, host, target string) (int, bool) {
	p.t.Helper()
	before := p.app.count()
	status := rawStatus(p.t, addr, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nConnection: close\r\n\r\n", target, host))
	return status, p.app.count() > before
}

// allowed returns s's canonical request and whether the gateway lets it
// reach the application anonymously.
func (p *spellingProbe) allowed(s spelling) (string, bool) {
	p.t.Helper()
	key := s.canonHost + " " + s.canonPath
	allowed, seen := p.canon[key]
	if !seen {
		_, allowed = p.send(p.gwAddr, s.canonHost, s.canonPath)
		p.canon[key] = allowed
	}
	return key, allowed
}

// checkSpellings sends every spelling of the corpus anonymously through a
// front proxy (at frontAddr, port frontPort) and asserts that none is
// answered with a 5xx, and none reaches the application when the
// canonical request it means may not be reached anonymously (as the
// gateway, at gwAddr, decides for the canonical request itself). At least
// one allowed request must pass, so that a front proxy refusing everything
// does not pass the test.
func checkSpellings(t *testing.T, app *upstream, gwAddr, frontAddr string, frontPort int) {
	t.Helper()
	p := newSpellingProbe(t, app, gwAddr)
	passed := 0
	for _, s := range readSpellings(t, frontPort) {
		key, allowed := p.allowed(s)
		status, reached := p.send(frontAddr, s.host, s.target)
		t.Logf("%-40s %-45s %d%s  canonical %s allowed=%v", s.host, s.target, status, reachedMark(reached), key, allowed)
		if status >= 500 {
			t.Errorf("Host %s, %s: %d", s.host, s.target, status)
		}
		if reached && !allowed {
			t.Errorf("Host %s, %s reached the application, but %s may not be reached anonymously", s.host, s.target, key)
		}
		if reached {
			passed++
		}
	}
	if passed == 0 {
		t.Errorf("no spelling reached the application: the front proxy refuses even what may pass")
	}
}
