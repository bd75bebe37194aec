package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// spellingRoutes: "/" is public, "/admin" needs the admins group, "/app"
// needs a session (so that bob, not an admin, can sign in).
func spellingRoutes(caseSensitive bool) []proxy.Route {
	return []proxy.Route{
		{Name: "site", PathPrefix: "/", Auth: proxy.AuthPublic, CaseSensitivePaths: caseSensitive},
		{Name: "admin", PathPrefix: "/admin", Rules: authz.Rules{AllowedGroups: []string{"admins"}}, CaseSensitivePaths: caseSensitive},
		{Name: "app", PathPrefix: "/app", CaseSensitivePaths: caseSensitive},
	}
}

// TestPathSpellingsOfAProtectedRoute is the regression test of finding 2
// of the security audit: with "/" public and "/admin" for admins only, the
// spellings that upstreams ignoring case, trailing dots or spaces (Express,
// ASP.NET, IIS) read as /admin reached the upstream anonymously and as a
// non-member. They are now refused (400) or judged by /admin's rules.
func TestPathSpellingsOfAProtectedRoute(t *testing.T) {
	e := newEnv(t, envOptions{routes: spellingRoutes(false)})
	anon, bob := e.browser(), e.browser()
	e.loginAs(bob, "/app", "bob")
	for _, raw := range []string{
		"/ADMIN/x", "/Admin/x", "/aDmIn", "/admin./x", "/admin%2e/x", "/admin%2E/x", "/admin%20/x",
		"/admin.%20/x", "/ADMIN%2e/x", "/admin/../ADMIN/x", "/x/..%2fADMIN/x", "/admin;x/y", "/admin%3b/x",
		"/admin%00/x", "/admin%3f/x", "/admin%23/x", "/admin%ff/x",
	} {
		for _, c := range []struct {
			name   string
			client *http.Client
		}{{"anonymous", anon}, {"bob", bob}} {
			before := e.upstream.count()
			resp := e.send(c.client, "GET", e.gwURL+raw, apiAccept...)
			if e.upstream.count() != before {
				t.Errorf("%s %s: reached the upstream (%d)", c.name, raw, resp.StatusCode)
			}
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized &&
				resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTemporaryRedirect {
				t.Errorf("%s %s: %d, want a refusal", c.name, raw, resp.StatusCode)
			}
		}
	}
	// The spellings that stay on one route still work.
	for _, raw := range []string{"/", "/public/app.css", "/Administrator", "/files/v1.2/x", "/x/.well-known/y"} {
		before := e.upstream.count()
		if resp := e.send(anon, "GET", e.gwURL+raw, apiAccept...); resp.StatusCode != http.StatusOK || e.upstream.count() != before+1 {
			t.Errorf("GET %s: %d, want 200 from the upstream", raw, resp.StatusCode)
		}
	}
}

// TestCaseSensitivePaths: for an application that tells "/ADMIN" from
// "/admin", case_sensitive_paths sends "/ADMIN/x" to the route it falls
// under literally, and still refuses trailing dots and spaces.
func TestCaseSensitivePaths(t *testing.T) {
	e := newEnv(t, envOptions{routes: spellingRoutes(true)})
	anon := e.browser()
	before := e.upstream.count()
	if resp := e.send(anon, "GET", e.gwURL+"/ADMIN/x", apiAccept...); resp.StatusCode != http.StatusOK || e.upstream.count() != before+1 {
		t.Errorf("GET /ADMIN/x: %d, want 200 (a public path of a case-sensitive application)", resp.StatusCode)
	}
	for _, raw := range []string{"/admin./x", "/admin%20/x", "/admin/x"} {
		before := e.upstream.count()
		resp := e.send(anon, "GET", e.gwURL+raw, apiAccept...)
		if e.upstream.count() != before || (resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized) {
			t.Errorf("GET %s: %d, upstream reached %v; want a refusal", raw, resp.StatusCode, e.upstream.count() != before)
		}
	}
}

// hostRoutes: admin.example.com is for admins only; every other host is
// public, except /app, which needs a session.
func hostRoutes() []proxy.Route {
	return []proxy.Route{
		{Name: "admin", Host: "admin.example.com", PathPrefix: "/", Rules: authz.Rules{AllowedGroups: []string{"admins"}}},
		{Name: "www", PathPrefix: "/", Auth: proxy.AuthPublic},
		{Name: "app", PathPrefix: "/app"},
	}
}

// TestForwardAuthHostSpellings is the regression test of finding 1: the
// host a trusted proxy names in X-Forwarded-Host (nginx's $http_host
// keeps a trailing dot, letter case and the port) is read canonically, so
// the admin host's rules apply to every spelling of it.
func TestForwardAuthHostSpellings(t *testing.T) {
	e := newEnv(t, envOptions{routes: hostRoutes(), trusted: loopback})
	anon, bob := e.browser(), e.browser()
	e.loginAs(bob, "/app", "bob")
	nginx := e.gwURL + "/oauth2/auth?redirect=false"
	for _, host := range []string{"admin.example.com", "admin.example.com.", "ADMIN.example.com.:443", "Admin.Example.Com:0443", "admin.example.com:"} {
		hdr := []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/x", "X-Forwarded-Host", host, "X-Forwarded-Proto", "https"}
		if resp := e.send(anon, "GET", nginx, cat(hdr, apiAccept)...); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous, X-Forwarded-Host %q: %d, want 401", host, resp.StatusCode)
		}
		if resp := e.send(bob, "GET", nginx, cat(hdr, apiAccept)...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("bob, X-Forwarded-Host %q: %d, want 403", host, resp.StatusCode)
		}
	}
	// A host that is no host name is refused, with 403 (nginx's
	// auth_request turns any status but 2xx, 401 and 403 into a 500).
	for _, host := range []string{"admin.example.com..", "admin..example.com", "admin.example.com:x", "admin.example.com/x"} {
		hdr := []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/x", "X-Forwarded-Host", host}
		if resp := e.send(anon, "GET", nginx, cat(hdr, apiAccept)...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("X-Forwarded-Host %q: %d, want 403", host, resp.StatusCode)
		}
	}
	// ingress-nginx: X-Original-URL names host and path; where
	// X-Forwarded-Host names another host, the request is refused.
	orig := []string{"X-Original-Url", "https://ADMIN.example.com./x", "X-Original-Method", "GET"}
	if resp := e.send(anon, "GET", nginx, cat(orig, apiAccept)...); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("X-Original-URL of the admin host: %d, want 401", resp.StatusCode)
	}
	if resp := e.send(anon, "GET", nginx, cat(orig, []string{"X-Forwarded-Host", "www.example.com"}, apiAccept)...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("X-Original-URL and X-Forwarded-Host disagree: %d, want 403", resp.StatusCode)
	}
	if resp := e.send(anon, "GET", nginx, "X-Original-Url", "https://www.example.com/x", "Accept", "application/json"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("X-Original-URL of a public host: %d, want 202", resp.StatusCode)
	}
}

// TestHostSpellingsWhenProxying: the gateway itself routes every spelling
// of the admin host, and an absolute-form request line (whose host wins
// over the Host header, RFC 9112 §3.2.2), to the admin host's rules.
func TestHostSpellingsWhenProxying(t *testing.T) {
	e := newEnv(t, envOptions{routes: hostRoutes()})
	for _, tc := range []struct {
		name, requestLine, host string
		want                    int
	}{
		{"TrailingDot", "GET /x HTTP/1.1", "admin.example.com.", 401},
		{"CaseAndPort", "GET /x HTTP/1.1", "ADMIN.example.com.:443", 401},
		{"AbsoluteForm", "GET http://admin.example.com/x HTTP/1.1", "www.example.com", 401},
		{"AbsoluteFormTrailingDot", "GET http://ADMIN.example.com./x HTTP/1.1", "www.example.com", 401},
		{"TwoTrailingDots", "GET /x HTTP/1.1", "admin.example.com..", 400},
		{"Public", "GET /x HTTP/1.1", "www.example.com", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.upstream.count()
			resp, _ := e.rawExchange(t, tc.requestLine+"\r\nHost: "+tc.host+"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
			if resp.StatusCode != tc.want {
				t.Errorf("%s with Host %s: %d, want %d", tc.requestLine, tc.host, resp.StatusCode, tc.want)
			}
			if reached := e.upstream.count() != before; reached != (tc.want == 200) {
				t.Errorf("upstream reached: %v", reached)
			}
		})
	}
	// The upstream sees the canonical host as X-Forwarded-Host.
	before := e.upstream.count()
	e.rawExchange(t, "GET /x HTTP/1.1\r\nHost: WWW.Example.com.:8080\r\nConnection: close\r\n\r\n")
	if e.upstream.count() != before+1 {
		t.Fatal("the public request did not reach the upstream")
	}
	if got := e.upstream.last().Header.Get("X-Forwarded-Host"); got != "www.example.com:8080" {
		t.Errorf("X-Forwarded-Host = %q, want the canonical www.example.com:8080", got)
	}
}

// TestForwardAuthTokensOnlyForTrustedCallers is the regression test of
// finding 3: the AS's access token is in a forward-auth answer only for a
// trusted proxy, never for a caller that merely holds the session cookie,
// and Envoy's path form is refused to untrusted callers.
func TestForwardAuthTokensOnlyForTrustedCallers(t *testing.T) {
	routes := []proxy.Route{{Name: "app", PathPrefix: "/", PassAccessToken: true, PassAuthorization: true}}
	tokenHeaders := []string{"X-Forwarded-Access-Token", "X-Auth-Request-Access-Token", "Authorization"}
	for _, tc := range []struct {
		name    string
		trusted bool
	}{{"Untrusted", false}, {"Trusted", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := envOptions{routes: routes}
			if tc.trusted {
				o.trusted = loopback
			}
			e := newEnv(t, o)
			c := e.browser()
			e.loginAs(c, "/", "alice")
			resp := e.send(c, "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/x"), apiAccept)...)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("forward-auth: %d, want 202", resp.StatusCode)
			}
			if resp.Header.Get("X-Forwarded-User") == "" {
				t.Error("no identity headers")
			}
			for _, h := range tokenHeaders {
				if got := resp.Header.Get(h) != ""; got != tc.trusted {
					t.Errorf("%s present = %v, want %v", h, got, tc.trusted)
				}
			}
			envoy := e.send(c, "GET", e.gwURL+"/oauth2/auth/x", apiAccept...)
			want := http.StatusOK
			if !tc.trusted {
				want = http.StatusForbidden
			}
			if envoy.StatusCode != want {
				t.Errorf("Envoy path form: %d, want %d", envoy.StatusCode, want)
			}
			for _, h := range tokenHeaders {
				if got := envoy.Header.Get(h) != ""; got && !tc.trusted {
					t.Errorf("Envoy path form: %s handed to an untrusted caller", h)
				}
			}
		})
	}
}

// TestForwardAuthFailsClosedWithoutURI: a trusted proxy that names no
// original URI gets 403 for a host whose rules depend on the path, and a
// decision for a host whose one route takes every path.
func TestForwardAuthFailsClosedWithoutURI(t *testing.T) {
	logs := &logBuffer{}
	routes := append(faRoutes(), proxy.Route{Name: "solo", Host: "solo.example.com", PathPrefix: "/"})
	e := newEnv(t, envOptions{routes: routes, trusted: loopback, logger: logs.logger()})
	c := e.browser()
	e.loginAs(c, "/app", "bob")
	u, _ := url.Parse(e.gwURL)
	resp := e.send(c, "GET", e.gwURL+"/oauth2/auth", "X-Forwarded-Host", u.Host, "X-Forwarded-Method", "GET", "Accept", "application/json")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(bodyOf(resp), "forward_auth_no_uri") {
		t.Errorf("no URI, path-specific rules: %d %s, want 403 forward_auth_no_uri", resp.StatusCode, bodyOf(resp))
	}
	if len(logs.events("access_denied")) == 0 {
		t.Error("the denial was not logged")
	}
	resp = e.send(c, "GET", e.gwURL+"/oauth2/auth", "X-Forwarded-Host", "solo.example.com", "Accept", "application/json")
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("no URI, one route for every path: %d, want 202", resp.StatusCode)
	}
}
