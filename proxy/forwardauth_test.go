package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// faRoutes are the routes of the forward-auth tests: their Target is never
// contacted (the front proxy forwards to the application itself).
func faRoutes() []proxy.Route {
	return []proxy.Route{
		{Name: "site", PathPrefix: "/", Rules: authz.Rules{SkipAuth: []string{"/public/*"}}},
		{Name: "admin", PathPrefix: "/admin", Rules: authz.Rules{AllowedGroups: []string{"admins"}}},
		{Name: "ro", PathPrefix: "/ro", Rules: authz.Rules{Methods: []string{"GET", "HEAD"}}},
		{Name: "open", PathPrefix: "/open", Auth: proxy.AuthPublic},
	}
}

// send makes a request with the given headers (pairs) and returns the
// response with its body read.
func (e *env) send(c *http.Client, method, rawURL string, hdr ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

// traefik returns the headers Traefik's ForwardAuth sends for the original
// request method + uri on the gateway's own host.
func (e *env) traefik(method, uri string, more ...string) []string {
	u, _ := url.Parse(e.gwURL)
	return append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri, "X-Forwarded-Host", u.Host, "X-Forwarded-Proto", "http"}, more...)
}

var (
	htmlAccept = []string{"Accept", "text/html,application/xhtml+xml"}
	apiAccept  = []string{"Accept", "application/json"}
)

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestForwardAuthNginx(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback})
	nginx := e.gwURL + "/oauth2/auth?redirect=false"
	c := e.browser()
	t.Run("UnauthenticatedBrowserGets401", func(t *testing.T) {
		resp := e.send(c, "GET", nginx, cat(e.traefik("GET", "/app?x=1&y=2"), htmlAccept)...)
		// The Location is for nginx's "error_page 401 =302 $location".
		want := e.gwURL + "/oauth2/start?rd=" + url.QueryEscape(e.gwURL+"/app?x=1&y=2")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != want || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%d %v, want Location %s", resp.StatusCode, resp.Header, want)
		}
	})
	e.loginAs(c, "/app", "alice")
	t.Run("SessionGets202WithIdentity", func(t *testing.T) {
		spoof := []string{"X-Forwarded-User", "mallory", "X-Auth-Request-User", "mallory", "X_Auth_Request_Groups", "root"}
		resp := e.send(c, "GET", nginx, cat(e.traefik("GET", "/app/page?x=1"), htmlAccept, spoof)...)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%d: %s", resp.StatusCode, bodyOf(resp))
		}
		for k, v := range map[string]string{
			"X-Auth-Request-User": "user-alice", "X-Auth-Request-Email": "alice@example.com",
			"X-Auth-Request-Preferred-Username": "alice", "X-Auth-Request-Groups": "admins,staff",
			"X-Forwarded-User": "user-alice", "X-Forwarded-Email": "alice@example.com", "X-Forwarded-Groups": "admins,staff",
			"Cache-Control": "no-store",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if resp.Header.Get("X-Auth-Request-Access-Token") != "" {
			t.Errorf("the access token is sent without pass_access_token")
		}
	})
	t.Run("PublicAndSkipAuthGet202WithoutIdentity", func(t *testing.T) {
		anon := e.browser()
		for _, uri := range []string{"/open/x", "/public/x"} {
			resp := e.send(anon, "GET", nginx, cat(e.traefik("GET", uri), htmlAccept)...)
			if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Auth-Request-User") != "" {
				t.Errorf("%s: %d %v", uri, resp.StatusCode, resp.Header)
			}
		}
	})
	if e.upstream.count() != 1 { // the login's landing page only
		t.Errorf("forward-auth contacted the upstream")
	}
}

func TestForwardAuthRulesAndMethods(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback, logger: logs.logger()})
	alice, bob := e.browser(), e.browser()
	e.loginAs(alice, "/", "alice")
	e.loginAs(bob, "/", "bob")
	for _, tc := range []struct {
		name   string
		c      *http.Client
		method string
		uri    string
		want   int
	}{
		{"AdminAsAlice", alice, "GET", "/admin/x", 202},
		{"AdminAsBob", bob, "GET", "/admin/x", 403},
		{"ReadOnlyGet", bob, "GET", "/ro/x", 202},
		{"ReadOnlyDelete", bob, "DELETE", "/ro/x", 403},
		{"MalformedMethod", bob, "G(ET", "/ro/x", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.send(tc.c, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik(tc.method, tc.uri), apiAccept)...)
			if resp.StatusCode != tc.want {
				t.Errorf("%d, want %d: %s", resp.StatusCode, tc.want, bodyOf(resp))
			}
		})
	}
	if n := len(logs.events("access_denied")); n != 2 {
		t.Errorf("%d access_denied lines, want 2", n)
	}
	for _, d := range logs.events("access_denied") {
		if d["sub"] == "user-bob" && d["route"] == "ro" && d["rule"] != "methods" {
			t.Errorf("audit line %v", d)
		}
	}
}

func TestForwardAuthTraefikRedirectsBrowsers(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback})
	c := e.browser()
	resp := e.send(c, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/deep/link?x=1"), htmlAccept)...)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.asURL) {
		t.Fatalf("%d %q, want a redirect to the AS", resp.StatusCode, loc)
	}
	cb := e.loginAtAS(c, loc, "alice", "login")
	resp = e.get(c, cb)
	if got := resp.Header.Get("Location"); got != e.gwURL+"/deep/link?x=1" {
		t.Errorf("after login: redirected to %q, want the original URL", got)
	}
	resp = e.send(c, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/deep/link?x=1"), htmlAccept)...)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("after login: %d", resp.StatusCode)
	}

	anon := e.browser()
	t.Run("APIClientGets401", func(t *testing.T) {
		resp := e.send(anon, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/deep"), apiAccept)...)
		var body map[string]any
		if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(bodyOf(resp)), &body) != nil {
			t.Errorf("%d %s", resp.StatusCode, bodyOf(resp))
		}
	})
	t.Run("PostIsNoNavigation", func(t *testing.T) {
		resp := e.send(anon, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("POST", "/deep"), htmlAccept)...)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("ForeignHostNotAReturnURL", func(t *testing.T) {
		resp := e.send(anon, "GET", e.gwURL+"/oauth2/auth",
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/x", "X-Forwarded-Host", "evil.example", "Accept", "text/html")
		// Another host than public_url's: the login starts on public_url's
		// host, where the callback can see the flow's browser binding.
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.gwURL+"/oauth2/start?") {
			t.Fatalf("%d %q, want a redirect to the gateway's /oauth2/start", resp.StatusCode, loc)
		}
		resp = e.get(anon, loc)
		cb := e.loginAtAS(anon, resp.Header.Get("Location"), "alice", "login")
		if got := e.get(anon, cb).Header.Get("Location"); got != "/" {
			t.Errorf("returned to %q, want \"/\" (evil.example is not an allowed redirect domain)", got)
		}
	})
}

func TestForwardAuthEnvoy(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback})
	alice, bob, anon, newcomer := e.browser(), e.browser(), e.browser(), e.browser()
	e.loginAs(alice, "/", "alice")
	e.loginAs(bob, "/", "bob")
	for _, tc := range []struct {
		name   string
		c      *http.Client
		method string
		path   string
		hdr    []string
		want   int
	}{
		{"AllowedIs200", alice, "GET", "/admin/x?y=1", apiAccept, 200},
		{"DeniedIs403", bob, "GET", "/admin/x", apiAccept, 403},
		{"OriginalMethod", bob, "PUT", "/ro/x", apiAccept, 403},
		{"SkipAuth", anon, "GET", "/public/x", apiAccept, 200},
		{"UnauthenticatedAPI", anon, "GET", "/x", apiAccept, 401},
		{"UnauthenticatedBrowser", newcomer, "GET", "/x", htmlAccept, 302},
		{"DotDotIsCleaned", anon, "GET", "/public/../admin/x", apiAccept, 401},
		{"EncodedDotDotAcrossRoutes", anon, "GET", "/public/%2e%2e/admin/x", apiAccept, 403},
		{"SemicolonAcrossRoutes", anon, "GET", "/public/..;/admin/x", apiAccept, 403},
		{"DoubleSlash", anon, "GET", "//public/x", apiAccept, 200},
		{"QueryIsNotPath", anon, "GET", "/x?/public/y", apiAccept, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.send(tc.c, tc.method, e.gwURL+"/oauth2/auth"+tc.path, tc.hdr...)
			if resp.StatusCode != tc.want {
				t.Errorf("%d, want %d: %s", resp.StatusCode, tc.want, bodyOf(resp))
			}
			if tc.want == 200 && tc.c == alice && resp.Header.Get("X-Forwarded-User") != "user-alice" {
				t.Errorf("headers %v", resp.Header)
			}
			if tc.want == 302 {
				cb := e.loginAtAS(tc.c, resp.Header.Get("Location"), "bob", "login")
				if got := e.get(tc.c, cb).Header.Get("Location"); got != e.gwURL+tc.path {
					t.Errorf("returned to %q", got)
				}
			}
		})
	}
}

// TestForwardAuthURITricks sends crafted X-Forwarded-Uri values, without a
// session: only paths under the skip_auth pattern may pass.
func TestForwardAuthURITricks(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback})
	c := e.browser()
	for _, tc := range []struct {
		name, uri string
		want      int
	}{
		{"SkipAuth", "/public/x", 202},
		{"DotDot", "/public/../admin/x", 401},
		{"DotDotSameRoute", "/public/../private", 401},
		{"EncodedDotDot", "/public/%2e%2e/private", 401},
		{"EncodedDotDotAcrossRoutes", "/public/%2e%2e/admin/x", 403},
		{"DoubleEncodedDotDot", "/public/%252e%252e/private", 401},
		{"SemicolonDotDot", "/public/..;/private", 401},
		{"SemicolonAcrossRoutes", "/public/..;/admin/x", 403},
		{"Backslash", "/public/..%5cprivate", 401},
		{"DoubleSlash", "//public/x", 202},
		{"DoubleSlashDotDot", "/public//../../private", 401},
		{"QueryIsNotPath", "/private?/public/x", 401},
		{"QueryDotDotIgnored", "/public/x?/../../private", 202},
		{"EncodedQuestionMark", "/private%3f/public/x", 401},
		{"AbsoluteURI", "http://evil.example/public/x", 202},
		{"BadEscape", "/public/%zz", 403},
		{"NotAURI", "public x", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.send(c, "GET", e.gwURL+"/oauth2/auth?redirect=false", cat(e.traefik("GET", tc.uri), apiAccept)...)
			if resp.StatusCode != tc.want {
				t.Errorf("X-Forwarded-Uri %q: %d, want %d", tc.uri, resp.StatusCode, tc.want)
			}
		})
	}
}

// TestForwardAuthIgnoresUntrustedHeaders: without trusted proxies, the
// forwarded headers are ignored; the original path is then unknown, and
// since the host's rules depend on the path, the answer is 403 whoever
// asks (fail closed), never a decision for another path.
func TestForwardAuthIgnoresUntrustedHeaders(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{routes: faRoutes(), logger: logs.logger(),
		defaultRules: authz.Rules{AllowedEmailDomains: []string{"example.com"}}})
	anon, bob := e.browser(), e.browser()
	resp := e.send(anon, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/public/x"), htmlAccept)...)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("spoofed skip_auth path: %d, want 403", resp.StatusCode)
	}
	e.loginAs(bob, "/", "bob")
	resp = e.send(bob, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("DELETE", "/admin/x"), apiAccept)...)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob without a trusted original URI: %d, want 403", resp.StatusCode)
	}
	if n := len(logs.events("untrusted_forwarded_headers")); n != 1 {
		t.Errorf("%d warnings about untrusted forwarded headers, want exactly 1", n)
	}
}

func TestForwardAuthDefaultRulesForUnmatchedPaths(t *testing.T) {
	e := newEnv(t, envOptions{
		routes:       []proxy.Route{{Name: "app", PathPrefix: "/app"}},
		trusted:      loopback,
		users:        ruleUsers(),
		defaultRules: authz.Rules{AllowedGroups: []string{"admins"}},
	})
	alice, bob := e.browser(), e.browser()
	e.loginAs(alice, "/app", "alice")
	e.loginAs(bob, "/app", "bob")
	for _, tc := range []struct {
		c    *http.Client
		uri  string
		want int
	}{{alice, "/elsewhere", 202}, {bob, "/elsewhere", 403}, {bob, "/app/x", 202}} {
		if resp := e.send(tc.c, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", tc.uri), apiAccept)...); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.uri, resp.StatusCode, tc.want)
		}
	}
}

func TestForwardAuthRefreshesTheSession(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback, accessTTL: 30 * time.Second}) // within refresh_before: every request refreshes
	c := e.browser()
	e.loginAs(c, "/", "alice")
	before := e.as.Stats().Refreshes
	resp := e.send(c, "GET", e.gwURL+"/oauth2/auth?redirect=false", cat(e.traefik("GET", "/x"), htmlAccept)...)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%d", resp.StatusCode)
	}
	if e.as.Stats().Refreshes <= before {
		t.Errorf("the forward-auth request did not refresh the access token")
	}
}

func TestForwardAuthPassesAccessToken(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{{Name: "app", PathPrefix: "/", PassAccessToken: true, PassAuthorization: true}}, trusted: loopback})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	resp := e.send(c, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/x"), apiAccept)...)
	at := resp.Header.Get("X-Auth-Request-Access-Token")
	if resp.StatusCode != http.StatusAccepted || at == "" || resp.Header.Get("X-Forwarded-Access-Token") != at ||
		resp.Header.Get("Authorization") != "Bearer "+at {
		t.Errorf("%d %v", resp.StatusCode, resp.Header)
	}
}
