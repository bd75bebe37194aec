package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestE2ERestFlowWithPAR: the REST flow API pushes the app's authorization
// request (RFC 9126) like the browser flow does (docs/fapi.md §5.3.2.2,
// docs/rest-flow-api.md): the OP requires PAR of the app's native client,
// the app gets only client_id and request_uri, and the login completes.
// The twin: the same registration with a gateway told not to push
// (par = "off") is refused by the OP, so the positive case really pushed.
func TestE2ERestFlowWithPAR(t *testing.T) {
	harness.Require(t, "node", "chromium")
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	for _, tc := range []struct {
		name   string
		pushed bool
	}{{"pushed", true}, {"par off refused", false}} {
		t.Run(tc.name, func(t *testing.T) {
			port := harness.FreePort(t)
			public := fmt.Sprintf("http://127.0.0.1:%d", port)
			op := harness.StartOP(t, harness.OPConfig{
				Clients: []harness.OPClient{
					{ID: gwClientID, Secret: gwClientSecret, RedirectURIs: []string{public + "/oauth2/callback"}},
					{ID: mobileClientID, AuthMethod: "none", ApplicationType: "native", RedirectURIs: []string{mobileRedirect}, RequirePAR: true},
				},
				Users: []harness.OPUser{alice},
				FAPI:  &harness.OPFAPI{}, // PAR (not required of every client), DPoP offered
			})
			up := startUpstream(t)
			par := "auto"
			if !tc.pushed {
				par = "off"
			}
			gw := startGateway(t, gwConfig{
				Port: port, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret, UpstreamURL: up.URL,
				ProviderExtra: fmt.Sprintf("par = %q\n", par),
				Extra: `
[rest_api]
enabled = true

[[rest_api.application]]
name = "app"
redirect_uris = ["` + mobileRedirect + `"]
client_id = "` + mobileClientID + `"
`})
			app := &nativeApp{t: t, c: &http.Client{Timeout: 15 * time.Second}}
			resp, d, raw := app.do(http.MethodPost, gw.URL+"/auth/rest/public/authentication/applications/app/access/", "", nil)
			handle := resp.Header.Get("Access-Token")
			if resp.StatusCode != http.StatusOK || handle == "" || d.Data == nil {
				t.Fatalf("start: %d %s", resp.StatusCode, raw)
			}
			authURL := d.Data.Attributes.OAuth2Client.AuthorizationRequestURL
			u, err := url.Parse(authURL)
			if err != nil || !strings.HasPrefix(authURL, op.Issuer) {
				t.Fatalf("authorization request URL %q: %v", authURL, err)
			}
			q := u.Query()
			if tc.pushed {
				if len(q) != 2 || q.Get("client_id") != mobileClientID || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
					t.Fatalf("the app's URL carries %v, want only client_id and request_uri", q)
				}
				if strings.Contains(raw, "code_challenge") || strings.Contains(raw, `"state"`) {
					t.Errorf("the answer shows parameters the gateway pushed: %s", raw)
				}
			} else if q.Get("code_challenge") == "" || q.Get("request_uri") != "" {
				t.Fatalf("with par = \"off\" the URL carries %v, want the parameters themselves", q)
			}

			tab := harness.StartBrowser(t).NewTab(t)
			screenshotOnFailure(t, tab, "rest-par-"+strings.ReplaceAll(tc.name, " ", "-"))
			redirects := tab.InterceptScheme(t, mobileScheme)
			tab.Navigate(t, authURL)
			if tc.pushed {
				tab.OPLogin(t, "alice", "x")
			}
			var redirect string
			select {
			case redirect = <-redirects:
			case <-time.After(15 * time.Second):
				t.Fatalf("the OP never redirected to the app; the tab is at %s: %q", tab.URL(t), tab.Text(t))
			}
			ev := op.Events(t)
			if !tc.pushed {
				if ev["par.required"] != 1 || ev["pushed_authorization_request.success"] != 0 || !strings.Contains(redirect, "error=") {
					t.Errorf("OP events %v, redirect %q: want the unpushed request refused", ev, redirect)
				}
				return
			}
			if ev["pushed_authorization_request.success"] != 1 || ev["par.required"] != 0 {
				t.Errorf("OP events %v: want one pushed request", ev)
			}
			resp, _, raw = app.do(http.MethodPost, gw.URL+"/auth/rest/public/authentication/oauth2-client/authorization-response/", handle, map[string]string{"url": redirect})
			token := resp.Header.Get("Access-Token")
			if resp.StatusCode != http.StatusOK || token == "" {
				t.Fatalf("authorization response: %d %s", resp.StatusCode, raw)
			}
			if resp, _, raw := app.do(http.MethodGet, gw.URL+"/api/orders", token, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("the API with the session token: %d %s", resp.StatusCode, raw)
			}
			if got := up.last(t).Get("X-Forwarded-User"); got != "alice-sub" {
				t.Errorf("upstream user %q", got)
			}
		})
	}
}
