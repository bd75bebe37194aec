package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// oauth2ProxyNginxServer is the nginx configuration of oauth2-proxy's
// documentation (auth_request, "error_page 401 = /oauth2/sign_in", the
// return URL in X-Auth-Request-Redirect), with only the address of the
// auth service changed to the gateway's, as in
// docs/migrating-from-oauth2-proxy.md.
const oauth2ProxyNginxServer = `
    location /oauth2/ {
      proxy_pass       http://127.0.0.1:%[1]d;
      proxy_set_header Host                    $host;
      proxy_set_header X-Real-IP               $remote_addr;
      proxy_set_header X-Auth-Request-Redirect $request_uri;
    }
    location = /oauth2/auth {
      proxy_pass       http://127.0.0.1:%[1]d;
      proxy_set_header Host             $host;
      proxy_set_header X-Real-IP        $remote_addr;
      proxy_set_header X-Forwarded-Uri  $request_uri;
      proxy_set_header Content-Length   "";
      proxy_pass_request_body           off;
    }
    location / {
      auth_request /oauth2/auth;
      error_page 401 = /oauth2/sign_in;

      auth_request_set $user   $upstream_http_x_auth_request_user;
      auth_request_set $email  $upstream_http_x_auth_request_email;
      proxy_set_header X-User  $user;
      proxy_set_header X-Email $email;
      proxy_set_header X-Forwarded-Email $email;

      auth_request_set $auth_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $auth_cookie;

      proxy_pass %[2]s;
    }
`

// TestE2ENginxOAuth2ProxySignIn: oauth2-proxy's documented nginx set-up
// works unchanged but for the auth service's address. A browser without a
// session gets the sign-in page at the URL it asked for (nginx's
// error_page serves /oauth2/sign_in there, the return URL comes in
// X-Auth-Request-Redirect), presses the button, signs in at the OP and
// lands on that URL.
func TestE2ENginxOAuth2ProxySignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	nginxPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", nginxPort)
	op := startFrontProxyOP(t, public, alice)
	app := startUpstream(t)
	startGateway(t, gwConfig{
		Port: gwPort, PublicURL: public, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL: app.URL,
		ServerExtra: `trusted_proxies = ["127.0.0.1"]`,
	})
	harness.StartNginx(t, nginxPort, "", fmt.Sprintf(oauth2ProxyNginxServer, gwPort, app.URL))

	deep := public + "/reports/q3?view=full&tab=2"
	resp, err := loopbackClient(nginxPort).Get(deep)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" || app.count() != 0 {
		t.Errorf("GET %s without a session: %d, Cache-Control %q, application reached: %v; want the sign-in page",
			deep, resp.StatusCode, resp.Header.Get("Cache-Control"), app.count() != 0)
	}

	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	screenshotOnFailure(t, tab, "nginx-oauth2-proxy-sign-in")
	tab.Navigate(t, deep)
	if got, text := tab.URL(t), tab.Text(t); got != deep || !strings.Contains(text, "Sign in") {
		t.Fatalf("at %q the page says %q, want the sign-in page at the deep link", got, text)
	}
	tab.Click(t, "#sign-in")
	assertAliceLandsOn(t, tab, deep)
	if h := app.last(t); h.Get("X-User") != "alice-sub" {
		t.Errorf("the application saw X-User %q", h.Get("X-User"))
	}
}
