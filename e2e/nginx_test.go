package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// nginxHTTP is the http-level part of docs/integrations.md's nginx set-up:
// the application never receives the gateway's cookies (the session ticket
// is a credential for the gateway, not for the application).
const nginxHTTP = `
  map $http_cookie $gatehouse_cookie_1 {
    "~^(?<pre>(?:.*;)?)\s*(?:__Host-|__Secure-)?gatehouse=[^;]*(?<post>.*)$" "$pre$post";
    default $http_cookie;
  }
  map $gatehouse_cookie_1 $cookie_without_gatehouse {
    "~^(?<pre>(?:.*;)?)\s*(?:__Host-)?gatehouse_csrf=[^;]*(?<post>.*)$" "$pre$post";
    default $gatehouse_cookie_1;
  }
`

// nginxServer is the server block of docs/integrations.md's nginx set-up:
// the application at /, protected by auth_request; the gateway's own
// endpoints at /oauth2/. Keep the two in step.
const nginxServer = `
    # The gateway's endpoints: login, callback, sign-out, userinfo.
    location /oauth2/ {
      proxy_pass http://127.0.0.1:%[1]d;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }

    # The subrequest: the original method, URI and host in the headers the
    # gateway trusts from this proxy (server.trusted_proxies). nginx sets
    # them, replacing any a client sent. $host, never $http_host: $host is
    # the name nginx chose this server block by (the request line's host
    # for an absolute-form request, without a trailing dot), $http_host is
    # whatever the client wrote in Host.
    location = /_gatehouse/auth {
      internal;
      proxy_pass http://127.0.0.1:%[1]d/oauth2/auth?redirect=false;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
    }

    location / {
      auth_request /_gatehouse/auth;
      # 401: the gateway's Location starts a login that returns here.
      auth_request_set $gatehouse_login $upstream_http_location;
      error_page 401 =302 $gatehouse_login;

      auth_request_set $gatehouse_user $upstream_http_x_auth_request_user;
      auth_request_set $gatehouse_email $upstream_http_x_auth_request_email;
      auth_request_set $gatehouse_username $upstream_http_x_auth_request_preferred_username;
      auth_request_set $gatehouse_groups $upstream_http_x_auth_request_groups;
      # Set from the gateway's answer, replacing whatever the client sent
      # (an empty value removes the header).
      proxy_set_header X-Forwarded-User $gatehouse_user;
      proxy_set_header X-Forwarded-Email $gatehouse_email;
      proxy_set_header X-Forwarded-Preferred-Username $gatehouse_username;
      proxy_set_header X-Forwarded-Groups $gatehouse_groups;
      proxy_set_header X-Forwarded-Access-Token "";
      proxy_set_header X-Auth-Request-User "";
      proxy_set_header X-Auth-Request-Email "";
      proxy_set_header X-Auth-Request-Preferred-Username "";
      proxy_set_header X-Auth-Request-Groups "";
      proxy_set_header X-Auth-Request-Access-Token "";
      proxy_set_header Cookie $cookie_without_gatehouse;
      proxy_pass %[2]s;
    }
`

var bob = harness.OPUser{Sub: "bob-sub", Email: "bob@example.com", Name: "Bob Example", PreferredUsername: "bob", Groups: []string{"staff"}}

// TestE2ENginx puts nginx in front of the application, with auth_request
// to the gateway: a browser logs in through nginx, the application sees
// the identity headers nginx copied from the gateway's answer, a client's
// spoofed identity headers never reach it, and the gateway's rules and path
// checks apply to the original request.
func TestE2ENginx(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	nginxPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", nginxPort)
	op := startFrontProxyOP(t, public, alice, bob)
	app := startUpstream(t)
	// The gateway does not proxy here: its upstreams only select rules (the
	// URL is the application's, never contacted through the gateway).
	startGateway(t, gwConfig{
		Port: gwPort, PublicURL: public, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL: app.URL,
		ServerExtra: `trusted_proxies = ["127.0.0.1"]`,
		Extra: fmt.Sprintf(`skip_auth = ["/public/*"]

[[upstream]]
name = "admin"
path_prefix = "/admin"
url = %q
allowed_groups = ["admins"]
`, app.URL),
	})
	ngx := harness.StartNginx(t, nginxPort, nginxHTTP, fmt.Sprintf(nginxServer, gwPort, app.URL))
	if ngx.URL != public {
		t.Fatalf("nginx at %s, want %s", ngx.URL, public)
	}

	// Plain HTTP clients first: no session.
	client := loopbackClient(nginxPort)
	get := func(t *testing.T, path string, hdr ...string) *http.Response {
		t.Helper()
		return getDiscarding(t, client, public+path, hdr...)
	}
	t.Run("UnauthenticatedGoesToLogin", func(t *testing.T) {
		n := app.count()
		resp := get(t, "/reports/q3?view=full&tab=2", "Accept", "text/html")
		want := public + "/oauth2/start?rd=" + url.QueryEscape(public+"/reports/q3?view=full&tab=2")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("%d %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if app.count() != n {
			t.Errorf("the application was reached without a session")
		}
	})
	t.Run("SkipAuthPath", func(t *testing.T) {
		n := app.count()
		resp := get(t, "/public/logo.png", "X-Forwarded-User", "mallory")
		if resp.StatusCode != http.StatusOK || app.count() != n+1 {
			t.Fatalf("%d", resp.StatusCode)
		}
		if h := app.last(t); h.Get("X-Forwarded-User") != "" {
			t.Errorf("a skip_auth request reached the application with X-Forwarded-User %q", h.Get("X-Forwarded-User"))
		}
	})
	for _, tc := range []struct{ name, path string }{
		{"SemicolonDotDot", "/public/..;/admin/x"},
		{"EncodedDotDot", "/public/%2e%2e/admin/x"},
		{"SpoofedForwardedUri", "/admin/x"}, // with X-Forwarded-Uri: /public/x, which nginx replaces
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRefused(t, app, "GET "+tc.path, func() *http.Response {
				return get(t, tc.path, "X-Forwarded-Uri", "/public/x", "X-Forwarded-Method", "GET")
			})
		})
	}

	// A browser logs in through nginx, sending spoofed identity headers.
	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	screenshotOnFailure(t, tab, "nginx-final")
	tab.SetExtraHeaders(t, map[string]string{
		"X-Forwarded-User": "mallory", "X-Forwarded-Email": "mallory@evil.example",
		"X-Auth-Request-User": "mallory", "X-Forwarded-Groups": "root", "X_Forwarded_Groups": "root",
	})
	deep := public + "/reports/q3?view=full&tab=2"
	tab.Navigate(t, deep)
	assertAliceLandsOn(t, tab, deep)
	assertAliceForwarded(t, app.last(t))

	tab.Navigate(t, public+"/admin/panel")
	if h := app.last(t); h.Get("X-Test-Request-URI") != "/admin/panel" || h.Get("X-Forwarded-User") != "alice-sub" {
		t.Errorf("alice at /admin/panel: the application saw %q as %q", h.Get("X-Test-Request-URI"), h.Get("X-Forwarded-User"))
	}

	// Bob, not in admins, is refused /admin by the gateway's rule (nginx answers 403).
	bobTab := b.NewIsolatedTab(t)
	screenshotOnFailure(t, bobTab, "nginx-bob")
	signIn(t, bobTab, public+"/home", "bob")
	assertDenied(t, app, bobTab, "bob", "403", "nginx's 403 page", public+"/admin/panel")
}

// TestE2ENginxSubdomains: one gateway, at auth.gatehouse.localhost, does
// forward-auth for another host, app.gatehouse.localhost (Chromium resolves
// every *.localhost name to the loopback address), with
// session.cookie_domain: the login on the gateway's host signs the user in
// on the application's host, and sign-out there ends it on both.
func TestE2ENginxSubdomains(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	nginxPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	public := fmt.Sprintf("http://auth.gatehouse.localhost:%d", nginxPort)
	appURL := fmt.Sprintf("http://app.gatehouse.localhost:%d", nginxPort)
	op := startFrontProxyOP(t, public, alice)
	app := startUpstream(t)
	startGateway(t, gwConfig{
		Port: gwPort, PublicURL: public, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL:  app.URL,
		ServerExtra:  subdomainsServerExtra,
		SessionExtra: subdomainsSessionExtra,
	})
	// One server block answers both host names.
	harness.StartNginx(t, nginxPort, nginxHTTP, fmt.Sprintf(nginxServer, gwPort, app.URL))

	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	screenshotOnFailure(t, tab, "nginx-subdomains-final")
	deep := appURL + "/reports/q3?view=full"
	tab.Navigate(t, deep)
	tab.OPLogin(t, "alice", "any-password")
	tab.WaitURLPrefix(t, deep)
	if text := tab.Text(t); !contains(text, "Hello alice@example.com", "/reports/q3?view=full") {
		t.Fatalf("page text %q", text)
	}
	if h := app.last(t); h.Get("X-Forwarded-User") != "alice-sub" {
		t.Errorf("the application on %s saw X-Forwarded-User %q", appURL, h.Get("X-Forwarded-User"))
	}

	// Signed in on the gateway's own host too: its userinfo endpoint answers.
	tab.Navigate(t, public+"/oauth2/userinfo")
	if text := tab.Text(t); !strings.Contains(text, "alice-sub") {
		t.Errorf("userinfo on %s: %q", public, text)
	}

	// Sign-out on the gateway's host removes the shared cookie: the
	// application's host sends the browser to log in again.
	tab.SignOut(t, public+"/oauth2/sign_out")
	if text := tab.Text(t); !strings.Contains(text, "signed out") {
		t.Errorf("sign-out page: %q", text)
	}
	n := app.count()
	tab.Navigate(t, appURL+"/reports/q4")
	if got := tab.URL(t); !strings.HasPrefix(got, op.Issuer) {
		t.Errorf("after sign-out the browser is at %q, want the OP", got)
	}
	if app.count() != n {
		t.Errorf("the application was reached after sign-out")
	}
}
