package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

const (
	mobileClientID = "e2e-mobile-app"
	mobileScheme   = "com.example.app"
	mobileRedirect = mobileScheme + ":/oauth2redirect"
)

// mobileClient is the native app's public client at the OP.
var mobileClient = harness.OPClient{
	ID: mobileClientID, AuthMethod: "none", ApplicationType: "native", RedirectURIs: []string{mobileRedirect},
}

// restAppConfig turns the REST flow API on for the native app.
const restAppConfig = `
[rest_api]
enabled = true

[[rest_api.application]]
name = "app"
redirect_uris = ["` + mobileRedirect + `"]
client_id = "` + mobileClientID + `"
`

// appLogin is the system browser: it opens authURL, signs alice in at the
// OP with password and returns the redirect to the app's private-use
// scheme that the OP sends it to (the URL the "OS" hands to the app).
func (w *world) appLogin(t *testing.T, authURL, screenshot, password string) string {
	t.Helper()
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, screenshot)
	redirects := tab.InterceptScheme(t, mobileScheme)
	tab.Navigate(t, authURL)
	tab.OPLogin(t, "alice", password)
	select {
	case redirect := <-redirects:
		return redirect
	case <-time.After(15 * time.Second):
		t.Fatalf("the OP never redirected to %s; the tab is at %s", mobileRedirect, tab.URL(t))
		return ""
	}
}

// nativeApp is a scripted mobile app: a plain HTTP client that keeps its
// credentials itself (no cookies) and talks JSON to the REST flow API.
type nativeApp struct {
	t *testing.T
	c *http.Client
}

// apiDoc is a document of the REST flow API.
type apiDoc struct {
	Meta struct {
		NextAuthStep string `json:"nextAuthStep"`
	} `json:"meta"`
	Data *struct {
		Attributes struct {
			NextAuthStep string `json:"nextAuthStep"`
			OAuth2Client struct {
				AuthorizationRequestURL string `json:"authorizationRequestUrl"`
				RedirectURI             string `json:"redirectUri"`
			} `json:"oauth2Client"`
			Subject       string `json:"subject"`
			User          string `json:"user"`
			Email         string `json:"email"`
			EndSessionURL string `json:"endSessionUrl"`
		} `json:"attributes"`
	} `json:"data"`
	Errors []struct {
		Code string `json:"code"`
	} `json:"errors"`
	Links struct {
		Start string `json:"start"`
	} `json:"links"`
}

// do sends a request with the bearer credential and an optional JSON body
// and decodes the answer; a non-JSON answer (the upstream's page) is
// returned as text.
func (a *nativeApp) do(method, url, bearer string, body any) (*http.Response, *apiDoc, string) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var d apiDoc
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &d); err != nil {
			a.t.Fatalf("%s %s: %d, bad JSON: %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp, &d, string(raw)
}

func TestE2ERestNativeAppLogin(t *testing.T) {
	forEachProvider(t, testRestNativeAppLogin)
}

func testRestNativeAppLogin(t *testing.T, provider string) {
	const ttl = 4 * time.Second
	w := newWorld(t, worldOptions{provider: provider, accessTTL: ttl, extra: []harness.OPClient{mobileClient}})
	gw := w.gateway(t, gwConfig{Extra: restAppConfig})
	app := &nativeApp{t: t, c: &http.Client{Timeout: 15 * time.Second}}

	// 1-2. The protected API refuses the app and says where to start.
	resp, d, _ := app.do(http.MethodGet, gw.URL+"/api/orders", "", nil)
	if resp.StatusCode != http.StatusUnauthorized || d.Meta.NextAuthStep != "AUTHENTICATION_REQUIRED" || d.Links.Start == "" {
		t.Fatalf("protected API without a session: %d %+v", resp.StatusCode, d)
	}
	if w.up.count() != 0 {
		t.Fatalf("the upstream was reached without a session")
	}

	// 3. The app starts the flow and gets the authorization request.
	resp, d, raw := app.do(http.MethodPost, d.Links.Start, "", nil)
	handle := resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || handle == "" || d.Data == nil || d.Data.Attributes.NextAuthStep != "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED" {
		t.Fatalf("start: %d %s", resp.StatusCode, raw)
	}
	authURL := d.Data.Attributes.OAuth2Client.AuthorizationRequestURL
	if !strings.HasPrefix(authURL, w.issuer) || d.Data.Attributes.OAuth2Client.RedirectURI != mobileRedirect {
		t.Fatalf("authorization request %s", raw)
	}

	// 4. The system browser logs in at the OP, which redirects to the app's
	// private-use scheme: the "OS" hands that URL to the app.
	redirect := w.appLogin(t, authURL, "rest-native-app", "any-password")
	if !strings.HasPrefix(redirect, mobileRedirect+"?") || !strings.Contains(redirect, "code=") {
		t.Fatalf("the app received %q", redirect)
	}

	// 5-6. The app posts the redirect back and gets its session token.
	resp, d, raw = app.do(http.MethodPost, gw.URL+"/auth/rest/public/authentication/oauth2-client/authorization-response/", handle, map[string]string{"url": redirect})
	token := resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || token == "" || token == handle || d.Data.Attributes.Subject != "alice-sub" {
		t.Fatalf("authorization response: %d %s", resp.StatusCode, raw)
	}
	// Replaying the redirect fails: the handle is spent.
	if resp, d, _ := app.do(http.MethodPost, gw.URL+"/auth/rest/public/authentication/oauth2-client/authorization-response/", handle, map[string]string{"url": redirect}); resp.StatusCode != http.StatusGone {
		t.Errorf("replay: %d %+v", resp.StatusCode, d)
	}

	// The app calls the protected API with its session token; the upstream
	// sees the identity, not the token.
	resp, _, body := app.do(http.MethodGet, gw.URL+"/api/orders?page=1", token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hello alice@example.com") {
		t.Fatalf("protected API with the session token: %d %s", resp.StatusCode, body)
	}
	assertHeaders(t, w.up.last(t), map[string]string{
		"X-Forwarded-User": "alice-sub", "X-Forwarded-Email": "alice@example.com",
		"X-Forwarded-Groups": "admins,staff", "X-Test-Request-URI": "/api/orders?page=1", "Authorization": "",
	})

	// The access token (issued to the app's public client) expires: the
	// gateway refreshes it with that client, transparently.
	before := w.events(t)["grant.refresh_token"]
	time.Sleep(ttl + 500*time.Millisecond)
	if resp, _, body := app.do(http.MethodGet, gw.URL+"/api/after-expiry", token, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the access token expired: %d %s", resp.StatusCode, body)
	}
	if got := w.events(t)["grant.refresh_token"] - before; got != 1 {
		t.Errorf("the OP saw %d refresh grants, want 1", got)
	}
	resp, d, raw = app.do(http.MethodGet, gw.URL+"/auth/rest/protected/session/", token, nil)
	if resp.StatusCode != http.StatusOK || d.Data.Attributes.User != "alice-sub" || d.Data.Attributes.Email != "alice@example.com" {
		t.Errorf("session: %d %s", resp.StatusCode, raw)
	}

	// Logout ends the session and revokes the refresh token at the OP.
	revoked := w.events(t)["revocation"]
	resp, d, raw = app.do(http.MethodPost, gw.URL+"/auth/rest/public/authentication/logout/", token, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(d.Data.Attributes.EndSessionURL, w.issuer) {
		t.Errorf("logout: %d %s", resp.StatusCode, raw)
	}
	if got := w.events(t)["revocation"] - revoked; got != 1 {
		t.Errorf("the OP saw %d revocations, want 1", got)
	}
	w.checkRevoked(t)
	n := w.up.count()
	if resp, d, _ := app.do(http.MethodGet, gw.URL+"/api/orders", token, nil); resp.StatusCode != http.StatusUnauthorized || d.Meta.NextAuthStep != "AUTHENTICATION_REQUIRED" {
		t.Errorf("after logout: %d %+v", resp.StatusCode, d)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after logout")
	}
}
