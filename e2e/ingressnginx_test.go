package e2e

import (
	"crypto/sha1" // #nosec: ingress-nginx names its sign-in locations by SHA-1
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// ingressAuth is the external-auth annotations of one Ingress
// (nginx.ingress.kubernetes.io/...).
type ingressAuth struct {
	URL             string            // auth-url
	Signin          string            // auth-signin
	ResponseHeaders []string          // auth-response-headers
	ProxySetHeaders map[string]string // auth-proxy-set-headers (the ConfigMap's data)
}

// ingressHTTP is the http-level part of ingress-nginx's nginx.conf that its
// locations use.
const ingressHTTP = `
  map $http_x_request_id $req_id {
    default $http_x_request_id;
    ""      $request_id;
  }
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }
`

// ingressLocation returns what ingress-nginx (rootfs/etc/nginx/template/
// nginx.tmpl and internal/ingress/controller/template/template.go, default
// settings) generates in a server block for an Ingress path of type Prefix
// with auth annotations a (nil: none), sending the request to backend.
// Left out: the Lua balancer (proxy_pass goes to backend directly),
// OpenTelemetry, ModSecurity, logging and buffer tuning. For "/x" the
// controller also writes "location = /x"; "location /x/" is enough here.
func ingressLocation(path string, a *ingressAuth, backend string) string {
	var b strings.Builder
	loc := path
	if path != "/" {
		loc = path + "/"
	}
	var authPath, signin string
	if a != nil {
		authPath = "/_external-auth-" + base64.RawURLEncoding.EncodeToString([]byte(path)) + "-Prefix"
		u, _ := url.Parse(a.URL)
		fmt.Fprintf(&b, `
    location = %s {
      internal;
      access_log off;
      set $proxy_upstream_name "default-app-80";
      proxy_intercept_errors      off;
      proxy_pass_request_body     off;
      proxy_set_header            Content-Length          "";
      proxy_set_header            X-Forwarded-Proto       "";
      proxy_set_header            X-Request-ID            $req_id;
      proxy_set_header            Host                    %s;
      proxy_set_header            X-Original-URL          $scheme://$http_host$request_uri;
      proxy_set_header            X-Original-Method       $request_method;
      proxy_set_header            X-Sent-From             "nginx-ingress-controller";
      proxy_set_header            X-Real-IP               $remote_addr;
      proxy_set_header            X-Forwarded-For        $remote_addr;
      proxy_set_header            X-Auth-Request-Redirect $request_uri;
      proxy_buffering                         off;
      proxy_buffer_size                       4k;
      proxy_buffers                           4 4k;
      proxy_request_buffering                 on;
      proxy_ssl_server_name       on;
      proxy_pass_request_headers  on;
      client_max_body_size        1m;
`, authPath, u.Host)
		var psh []string
		for k, v := range a.ProxySetHeaders {
			psh = append(psh, fmt.Sprintf("proxy_set_header %q %q;", k, v))
		}
		slices.Sort(psh)
		for _, l := range psh {
			fmt.Fprintf(&b, "      %s\n", l)
		}
		fmt.Fprintf(&b, `      proxy_http_version 1.1;
      set $target %q;
      proxy_pass $target;
    }
`, a.URL)
		if a.Signin != "" {
			h := sha1.New() // #nosec
			h.Write([]byte(path))
			h.Write([]byte(a.Signin))
			signin = "@" + hex.EncodeToString(h.Sum(nil))
			target := a.Signin
			su, _ := url.Parse(a.Signin)
			switch {
			case len(su.Query()) == 0:
				target += "?rd=$pass_access_scheme://$http_host$escaped_request_uri"
			case su.Query().Get("rd") == "":
				target += "&rd=$pass_access_scheme://$http_host$escaped_request_uri"
			}
			fmt.Fprintf(&b, `
    location %s {
      internal;
      add_header Set-Cookie $auth_cookie;
      return 302 %s;
    }
`, signin, target)
		}
	}
	fmt.Fprintf(&b, `
    location %s {
      set $namespace      "default";
      set $ingress_name   "app";
      set $service_name   "app";
      set $service_port   "80";
      set $location_path  %q;
      port_in_redirect off;
      set $balancer_ewma_score -1;
      set $proxy_upstream_name "default-app-80";
      set $proxy_host          $proxy_upstream_name;
      set $pass_access_scheme  $scheme;
      set $pass_server_port    $server_port;
      set $best_http_host      $http_host;
      set $pass_port           $pass_server_port;
      set $proxy_alternative_upstream_name "";
`, loc, path)
	if a != nil {
		fmt.Fprintf(&b, `      # this location requires authentication
      auth_request        %s;
      auth_request_set    $auth_cookie $upstream_http_set_cookie;
      add_header          Set-Cookie $auth_cookie;
`, authPath)
		for i, h := range a.ResponseHeaders {
			v := strings.ReplaceAll(strings.ToLower(h), "-", "_")
			fmt.Fprintf(&b, "      auth_request_set $authHeader%d $upstream_http_%s;\n      proxy_set_header '%s' $authHeader%d;\n", i, v, h, i)
		}
		if signin != "" {
			fmt.Fprintf(&b, "      set_escape_uri $escaped_request_uri $request_uri;\n      error_page 401 = %s;\n", signin)
		}
	}
	fmt.Fprintf(&b, `      client_max_body_size                    1m;
      proxy_set_header Host                   $best_http_host;
      proxy_set_header                        Upgrade           $http_upgrade;
      proxy_set_header                        Connection        $connection_upgrade;
      proxy_set_header X-Request-ID           $req_id;
      proxy_set_header X-Real-IP              $remote_addr;
      proxy_set_header X-Forwarded-For        $remote_addr;
      proxy_set_header X-Forwarded-Host       $best_http_host;
      proxy_set_header X-Forwarded-Port       $pass_port;
      proxy_set_header X-Forwarded-Proto      $pass_access_scheme;
      proxy_set_header X-Forwarded-Scheme     $pass_access_scheme;
      proxy_set_header X-Scheme               $pass_access_scheme;
      proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;
      proxy_set_header Proxy                  "";
      proxy_connect_timeout                   5s;
      proxy_send_timeout                      60s;
      proxy_read_timeout                      60s;
      proxy_buffering                         off;
      proxy_http_version                      1.1;
      proxy_pass %s;
      proxy_redirect                          off;
    }
`, backend)
	return b.String()
}

// ingressResponseHeaders is the auth-response-headers annotation of
// docs/integrations.md: every identity header the gateway answers with.
// Listing each makes ingress-nginx replace (or, when the answer lacks it,
// remove) the client's copy.
var ingressResponseHeaders = []string{
	"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups",
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-Groups",
}

// ingressProxySetHeaders is the auth-proxy-set-headers ConfigMap of
// docs/integrations.md: the host nginx chose the server by, beside
// X-Original-URL's host (the client's Host header), which must agree.
var ingressProxySetHeaders = map[string]string{"X-Forwarded-Host": "$host"}

// TestE2EIngressNginx runs the configuration ingress-nginx generates for
// an application Ingress with auth-url, auth-signin, auth-response-headers
// and auth-proxy-set-headers pointing at the gateway, plus an Ingress that
// routes /oauth2/ to it: a browser is sent to sign in and lands on the
// URL it asked for, host and path rules and the query rules of auth-url
// apply, and no spelling of the hostile-request corpus reaches the
// application where the canonical request may not.
func TestE2EIngressNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	nginxPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	w := startSubdomainsWorld(t, nginxPort, gwPort)
	public, app, gw := w.public, w.app, w.gw
	gwURL := fmt.Sprintf("http://127.0.0.1:%d", gwPort)
	auth := func(query string) *ingressAuth {
		return &ingressAuth{
			URL:             gwURL + "/oauth2/auth" + query,
			Signin:          public + "/oauth2/start",
			ResponseHeaders: ingressResponseHeaders,
			ProxySetHeaders: ingressProxySetHeaders,
		}
	}
	server := ingressLocation("/", auth(""), app.URL) +
		ingressLocation("/team", auth("?allowed_groups=admins"), app.URL) +
		ingressLocation("/oauth2", nil, gwURL) // the gateway's own Ingress, without auth
	harness.StartNginxWithModules(t, nginxPort, harness.SetMiscModules, ingressHTTP, server)

	client := loopbackClient(nginxPort)
	get := func(t *testing.T, rawURL string, hdr ...string) *http.Response {
		t.Helper()
		return getDiscarding(t, client, rawURL, append([]string{"Accept", "text/html"}, hdr...)...)
	}
	t.Run("UnauthenticatedGoesToSignIn", func(t *testing.T) {
		n := app.count()
		resp := get(t, public+"/reports/q3?view=full&tab=2")
		// As ingress-nginx writes it: $pass_access_scheme://$http_host
		// unescaped, then $escaped_request_uri.
		want := public + "/oauth2/start?rd=" + public + url.QueryEscape("/reports/q3?view=full&tab=2")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("%d %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if app.count() != n {
			t.Errorf("the application was reached without a session")
		}
	})
	// ingress-nginx's auth subrequest passes the client's own headers on
	// (proxy_pass_request_headers on); those the gateway would read must
	// agree with what nginx sets, or the answer is 403. Each tries to make
	// an admins-only request look like a public one.
	for _, tc := range []struct{ name, path, header, value string }{
		{"SpoofedForwardedUri", "/admin/x", "X-Forwarded-Uri", "/x"},
		{"SpoofedForwardedMethod", "/admin/x", "X-Forwarded-Method", "OPTIONS"},
		{"SpoofedForwardedHostIsReplaced", "admin:/x", "X-Forwarded-Host", "www.gatehouse.localhost"},
		{"SpoofedOriginalURLIsReplaced", "/admin/x", "X-Original-URL", "http://www.gatehouse.localhost/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := public + tc.path
			if p, ok := strings.CutPrefix(tc.path, "admin:"); ok {
				u = fmt.Sprintf("http://admin.gatehouse.localhost:%d%s", nginxPort, p)
			}
			assertRefused(t, app, tc.path+": "+tc.header, func() *http.Response { return get(t, u, tc.header, tc.value) })
		})
	}
	t.Run("Spellings", func(t *testing.T) {
		checkSpellings(t, app, strings.TrimPrefix(gw.URL, "http://"), fmt.Sprintf("127.0.0.1:%d", nginxPort), nginxPort)
	})

	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	screenshotOnFailure(t, tab, "ingress-nginx-final")
	tab.SetExtraHeaders(t, map[string]string{"X-Forwarded-User": "mallory", "X-Auth-Request-Groups": "root", "X-Forwarded-Email": "mallory@evil.example"})
	deep := public + "/reports/q3?view=full&tab=2"
	tab.Navigate(t, deep)
	assertAliceLandsOn(t, tab, deep)
	h := app.last(t)
	assertHeaders(t, h, map[string]string{
		"X-Auth-Request-User": "alice-sub", "X-Auth-Request-Email": "alice@example.com", "X-Auth-Request-Groups": "admins,staff",
		"X-Forwarded-User": "alice-sub", "X-Forwarded-Email": "alice@example.com",
	})
	assertNoSpoofedValuesOnly(t, h)

	// Host and path rules: alice is in admins.
	adminsOnly := []string{
		fmt.Sprintf("http://admin.gatehouse.localhost:%d/x", nginxPort), public + "/admin/panel", public + "/team/board",
	}
	assertSees(t, tab, "alice", "Hello alice@example.com", adminsOnly...)

	// Bob (staff) is refused the admins' host and path, and /team, whose
	// auth-url narrows the rules with ?allowed_groups=admins.
	bobTab := b.NewIsolatedTab(t)
	screenshotOnFailure(t, bobTab, "ingress-nginx-bob")
	signIn(t, bobTab, public+"/reports/q4", "bob")
	assertDenied(t, app, bobTab, "bob", "403", "nginx's 403 page", adminsOnly...)
	if !strings.Contains(gw.log(), "forward-auth query rules in use") {
		t.Errorf("the gateway did not log the query rules of /team's auth-url")
	}
}
