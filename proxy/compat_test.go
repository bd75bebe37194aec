package proxy_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// oauth2-proxy's endpoints and headers that Gatehouse also answers:
// /oauth2/sign_in, X-Auth-Request-Redirect, /ping and /ready, and the
// forward-auth query rules.

var (
	signInForm = regexp.MustCompile(`<form method="get" action="([^"]*)">`)
	signInRD   = regexp.MustCompile(`<input type="hidden" name="rd" value="([^"]*)">`)
)

// signInTarget fetches the sign-in page with the given headers and returns
// the URL its button goes to.
func (e *env) signInTarget(c *http.Client, path string, hdr ...string) string {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.gwURL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	page := bodyOf(resp)
	m := signInForm.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil || resp.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("GET %s: %d %v, no sign-in form:\n%s", path, resp.StatusCode, resp.Header, page)
	}
	target := html.UnescapeString(m[1])
	if rd := signInRD.FindStringSubmatch(page); rd != nil {
		target += "?" + url.Values{"rd": {html.UnescapeString(rd[1])}}.Encode()
	}
	return target
}

// returnsTo follows a login from the URL that starts it and returns where
// the callback sends the browser.
func (e *env) returnsTo(c *http.Client, start string, hdr ...string) string {
	e.t.Helper()
	resp := e.get(c, start, hdr...)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.asURL) {
		e.t.Fatalf("GET %s: %d %q, want a redirect to the AS", start, resp.StatusCode, resp.Header.Get("Location"))
	}
	cb := e.loginAtAS(c, resp.Header.Get("Location"), "alice", "login")
	return e.get(c, cb).Header.Get("Location")
}

func TestSignInPage(t *testing.T) {
	e := newEnv(t, envOptions{allowed: []string{".gatehouse.localhost:*"}})
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       string
	}{
		{"RD", "/oauth2/sign_in?rd=" + url.QueryEscape("/deep?x=1&y=2"), nil, "/deep?x=1&y=2"},
		// nginx: error_page 401 = /oauth2/sign_in, with
		// "proxy_set_header X-Auth-Request-Redirect $request_uri".
		{"Header", "/oauth2/sign_in", []string{"X-Auth-Request-Redirect", "/deep?x=1"}, "/deep?x=1"},
		{"RDBeforeHeader", "/oauth2/sign_in?rd=/a", []string{"X-Auth-Request-Redirect", "/b"}, "/a"},
		{"InvalidRDThenHeader", "/oauth2/sign_in?rd=" + url.QueryEscape("https://evil.example/"), []string{"X-Auth-Request-Redirect", "/b"}, "/b"},
		{"OpenRedirectHeader", "/oauth2/sign_in", []string{"X-Auth-Request-Redirect", "//evil.example/x"}, "/"},
		{"BackslashHeader", "/oauth2/sign_in", []string{"X-Auth-Request-Redirect", "/\\evil.example"}, "/"},
		{"ForeignHostHeader", "/oauth2/sign_in", []string{"X-Auth-Request-Redirect", "https://evil.example/x"}, "/"},
		{"Nothing", "/oauth2/sign_in", nil, "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.browser()
			target := e.signInTarget(c, tc.path, tc.hdr...)
			if !strings.HasPrefix(target, e.gwURL+"/oauth2/start") {
				t.Fatalf("the button goes to %q, want the gateway's /oauth2/start", target)
			}
			if got := e.returnsTo(c, target); got != tc.want {
				t.Errorf("the login returned to %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("OnAnApplicationHost", func(t *testing.T) {
		// Served at an application's URL on its own host (nginx's
		// error_page on app.gatehouse.localhost): the path is made
		// absolute on that host, which is an allowed redirect domain, and
		// the login starts on the gateway's host.
		c := e.browser()
		target := e.signInTarget(c, "/oauth2/sign_in", "Host", "app.gatehouse.localhost:8443", "X-Auth-Request-Redirect", "/deep?x=1")
		if got := e.returnsTo(c, target); got != "http://app.gatehouse.localhost:8443/deep?x=1" {
			t.Errorf("returned to %q", got)
		}
		target = e.signInTarget(c, "/oauth2/sign_in", "Host", "evil.example", "X-Auth-Request-Redirect", "/deep")
		if got := e.returnsTo(e.browser(), target); got != "/deep" {
			t.Errorf("a Host outside the allowed domains: returned to %q, want the path on the gateway's host", got)
		}
	})
	if e.upstream.count() != 0 {
		t.Errorf("the sign-in page reached the upstream")
	}
}

func TestStartReadsXAuthRequestRedirect(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name, path, header, want string
	}{
		{"Header", "/oauth2/start", "/reports/q3?x=1", "/reports/q3?x=1"},
		{"RDWins", "/oauth2/start?rd=/a", "/b", "/a"},
		{"InvalidHeader", "/oauth2/start", "https://evil.example/", "/"},
		{"EncodedSlashes", "/oauth2/start", "/%2f%2fevil.example", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.returnsTo(e.browser(), e.gwURL+tc.path, "X-Auth-Request-Redirect", tc.header); got != tc.want {
				t.Errorf("returned to %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHealthAliases(t *testing.T) {
	open := []proxy.Route{{Name: "app", PathPrefix: "/", Auth: proxy.AuthPublic}}
	t.Run("On", func(t *testing.T) {
		e := newEnv(t, envOptions{routes: open, healthAliases: true})
		for _, p := range []string{"/ping", "/ready"} {
			resp := e.get(e.browser(), e.gwURL+p)
			if resp.StatusCode != http.StatusOK || bodyOf(resp) != "ok\n" {
				t.Errorf("GET %s: %d %q", p, resp.StatusCode, bodyOf(resp))
			}
		}
		e.gw.Drain()
		if resp := e.get(e.browser(), e.gwURL+"/ready"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET /ready while draining: %d, want 503 as /readyz", resp.StatusCode)
		}
		for _, p := range []string{"/pingpong", "/ping/x", "/readyish"} {
			if resp := e.get(e.browser(), e.gwURL+p); resp.StatusCode != http.StatusOK || bodyOf(resp) == "ok\n" {
				t.Errorf("GET %s: %d %q, want the upstream", p, resp.StatusCode, bodyOf(resp))
			}
		}
		if n := e.upstream.count(); n != 3 {
			t.Errorf("the upstream saw %d requests, want 3 (not /ping, /ready)", n)
		}
	})
	t.Run("Off", func(t *testing.T) {
		e := newEnv(t, envOptions{routes: open})
		for _, p := range []string{"/ping", "/ready"} {
			e.get(e.browser(), e.gwURL+p)
		}
		if n := e.upstream.count(); n != 2 {
			t.Errorf("the upstream saw %d requests, want /ping and /ready", n)
		}
	})
}

func TestForwardAuthQueryRules(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback, logger: logs.logger()})
	alice, bob, anon := e.browser(), e.browser(), e.browser()
	e.loginAs(alice, "/", "alice") // groups admins, staff
	e.loginAs(bob, "/", "bob")     // group staff
	for _, tc := range []struct {
		name  string
		c     *http.Client
		query string
		uri   string
		want  int
	}{
		{"GroupAdmits", alice, "allowed_groups=admins", "/app", 202},
		{"GroupNarrows", bob, "allowed_groups=admins", "/app", 403},
		{"GroupList", bob, "allowed_groups=ops,staff", "/app", 202},
		{"GroupRepeated", bob, "allowed_groups=ops&allowed_groups=staff", "/app", 202},
		{"NeverWidens", bob, "allowed_groups=staff", "/admin/x", 403}, // the route wants admins
		{"MethodsStillApply", alice, "allowed_groups=admins", "/ro/x?m=DELETE", 403},
		{"Email", alice, "allowed_emails=bob@example.com", "/app", 403},
		{"EmailAdmits", bob, "allowed_emails=BOB@example.com", "/app", 202},
		{"EmailDomain", alice, "allowed_email_domains=example.com", "/app", 202},
		{"EmailDomainNarrows", alice, "allowed_email_domains=example.org", "/app", 403},
		{"EveryParameterMustAdmit", alice, "allowed_groups=admins&allowed_emails=bob@example.com", "/app", 403},
		{"WithRedirectFalse", alice, "redirect=false&allowed_groups=admins", "/app", 202},
		{"UnknownParameter", alice, "allowed_group=admins", "/app", 403},
		{"UnknownParameterAnonymous", anon, "allowed_roles=admins", "/app", 403},
		{"EmptyRule", alice, "allowed_groups=", "/app", 403},
		{"OnlyCommas", alice, "allowed_groups=,,", "/app", 403},
		{"SubdomainPattern", alice, "allowed_email_domains=*.example.com", "/app", 403},
		{"MalformedQuery", alice, "allowed_groups=%zz", "/app", 403},
		{"PublicRouteWithRules", anon, "allowed_groups=admins", "/open/x", 403},
		{"SkipAuthWithRules", alice, "allowed_groups=admins", "/public/x", 403},
		{"PublicRouteWithoutRules", anon, "redirect=false", "/open/x", 202},
		{"AnonymousGets401", anon, "allowed_groups=admins", "/app", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, uri := "GET", tc.uri
			if u, m, ok := strings.Cut(uri, "?m="); ok {
				uri, method = u, m
			}
			resp := e.send(tc.c, "GET", e.gwURL+"/oauth2/auth?"+tc.query, cat(e.traefik(method, uri), apiAccept)...)
			if resp.StatusCode != tc.want {
				t.Errorf("%d, want %d: %s", resp.StatusCode, tc.want, bodyOf(resp))
			}
		})
	}
	var inUse int
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "forward-auth query rules in use") && strings.Contains(line, "allowed_groups=admins") && !strings.Contains(line, "&") {
			inUse++
		}
	}
	if inUse != 1 {
		t.Errorf("%d info lines for the query allowed_groups=admins, want 1 (once per distinct query)", inUse)
	}
	var queryDenials int
	for _, d := range logs.events("access_denied") {
		if d["source"] == "forward_auth_query" || d["rule"] == "forward_auth_query" {
			queryDenials++
		}
	}
	if queryDenials < 10 {
		t.Errorf("%d access_denied lines for the query rules, want one per refusal", queryDenials)
	}
}

// The query's e-mail rules trust the AS as far as the route does: an
// unverified address passes them only on a route with AllowUnverifiedEmail.
func TestForwardAuthQueryRulesFollowUnverifiedEmail(t *testing.T) {
	routes := []proxy.Route{
		{Name: "strict", PathPrefix: "/"},
		{Name: "lax", PathPrefix: "/lenient", Rules: authz.Rules{AllowUnverifiedEmail: true}},
	}
	e := newEnv(t, envOptions{routes: routes, trusted: loopback, users: ruleUsers()})
	carol := e.browser() // carol@example.com, not verified
	e.loginAs(carol, "/", "carol")
	for uri, want := range map[string]int{"/x": 403, "/lenient/x": 202} {
		resp := e.send(carol, "GET", e.gwURL+"/oauth2/auth?allowed_email_domains=example.com", cat(e.traefik("GET", uri), apiAccept)...)
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", uri, resp.StatusCode, want)
		}
	}
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ingress-nginx sends X-Original-URL built from $http_host (with the port
// the client wrote) and, as docs/integrations.md recommends,
// X-Forwarded-Host $host (nginx's host, without a port): they agree when
// they name the same host; a port in X-Forwarded-Host must match too.
func TestForwardAuthOriginalURLWithForwardedHost(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback, allowed: []string{".gatehouse.localhost:*"}})
	anon := e.browser()
	for _, tc := range []struct {
		name, xfh string
		want      int
	}{
		{"HostWithoutPort", "app.gatehouse.localhost", 202},
		{"HostCaseAndDot", "APP.gatehouse.localhost.", 202},
		{"SamePort", "app.gatehouse.localhost:8443", 202},
		{"OtherPort", "app.gatehouse.localhost:9443", 403},
		{"OtherHost", "admin.gatehouse.localhost", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.send(anon, "GET", e.gwURL+"/oauth2/auth",
				"X-Original-URL", "http://app.gatehouse.localhost:8443/public/x", "X-Original-Method", "GET", "X-Forwarded-Host", tc.xfh)
			if resp.StatusCode != tc.want {
				t.Errorf("%d, want %d: %s", resp.StatusCode, tc.want, bodyOf(resp))
			}
		})
	}
	t.Run("LoginReturnsWithThePort", func(t *testing.T) {
		resp := e.send(anon, "GET", e.gwURL+"/oauth2/auth", "Accept", "text/html",
			"X-Original-URL", "http://app.gatehouse.localhost:8443/app?x=1", "X-Original-Method", "GET", "X-Forwarded-Host", "app.gatehouse.localhost")
		want := e.gwURL + "/oauth2/start?rd=" + url.QueryEscape("http://app.gatehouse.localhost:8443/app?x=1")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != want {
			t.Errorf("%d %q, want 401 with Location %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	})
}

// Envoy's path form carries the original request's query, never rules.
func TestForwardAuthEnvoyQueryIsNotRules(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback})
	resp := e.send(e.browser(), "GET", e.gwURL+"/oauth2/auth/public/x?allowed_group=oops&q=1", apiAccept...)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%d, want 200 (Envoy): %s", resp.StatusCode, bodyOf(resp))
	}
}

// An X-Original-URL without X-Forwarded-Host, where routes have host
// rules, is warned about once (ingress-nginx without auth-proxy-set-headers).
func TestForwardAuthWarnsOriginalURLWithoutForwardedHost(t *testing.T) {
	logs := &logBuffer{}
	routes := append(faRoutes(), proxy.Route{Name: "admin-host", Host: "admin.gatehouse.localhost", PathPrefix: "/"})
	e := newEnv(t, envOptions{routes: routes, trusted: loopback, logger: logs.logger()})
	for range 3 {
		e.send(e.browser(), "GET", e.gwURL+"/oauth2/auth", "X-Original-URL", "http://app.gatehouse.localhost/public/x", "X-Original-Method", "GET")
	}
	e.send(e.browser(), "GET", e.gwURL+"/oauth2/auth", "X-Original-URL", "http://app.gatehouse.localhost/public/x", "X-Forwarded-Host", "app.gatehouse.localhost")
	if n := len(logs.events("config_warning")); n != 1 {
		t.Errorf("%d config_warning lines, want 1", n)
	}
}
