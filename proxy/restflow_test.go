package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

const (
	appRedirect    = "com.example.app:/oauth2redirect"
	appLoopback    = "http://127.0.0.1:53117/callback" // registered at the AS with its port
	nativeClientID = "mobile-app"
	restBase       = "/auth/rest/public/authentication"
)

// newRESTEnv is an env whose AS knows the app's public native client and
// whose gateway serves the REST flow API for the route "app".
func newRESTEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	o.clients = append(o.clients, devop.Client{ID: nativeClientID, Public: true, RedirectURIs: []string{appRedirect, appLoopback}})
	if !o.rest.Enabled {
		o.rest = proxy.RESTOptions{Enabled: true, Applications: []proxy.RESTApplication{{
			Name: "app", RedirectURIs: []string{appRedirect, "http://127.0.0.1/callback"}, ClientID: nativeClientID,
		}}}
	}
	return newEnv(t, o)
}

// restDoc is a document of the REST flow API as an app decodes it.
type restDoc struct {
	Meta struct {
		Type, Timestamp, NextAuthStep string
	}
	Data *struct {
		Type, ID   string
		Attributes map[string]any
	}
	Errors []struct {
		ID     string
		Status int
		Code   string
		Detail string
	}
	Links map[string]string
}

func (d *restDoc) code() string {
	if len(d.Errors) == 0 {
		return ""
	}
	return d.Errors[0].Code
}

// oauth2Client returns the oauth2Client attributes of a step document.
func (d *restDoc) oauth2Client(t *testing.T) map[string]any {
	t.Helper()
	if d.Data == nil {
		t.Fatalf("no data in %+v", d)
	}
	oc, ok := d.Data.Attributes["oauth2Client"].(map[string]any)
	if !ok {
		t.Fatalf("no oauth2Client in %+v", d.Data.Attributes)
	}
	return oc
}

// app is a scripted native app: no cookie jar, credentials in headers.
type app struct {
	t    *testing.T
	e    *env
	base string // the gateway replica it talks to
	c    *http.Client
}

func (e *env) app() *app {
	return &app{t: e.t, e: e, base: e.gwURL, c: &http.Client{Timeout: 10 * time.Second}}
}

// call sends method path with the bearer credential (if any) and a JSON body
// (if any), and checks the headers every API response carries.
func (a *app) call(method, path, bearer, body string, hdr ...string) (*http.Response, *restDoc) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(raw)))
	var d restDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		a.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
	}
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
		a.t.Errorf("%s %s: Content-Type %q, Cache-Control %q", method, path, ct, cc)
	}
	if d.Meta.Type != "jsonapi.metadata.document" || d.Meta.Timestamp == "" {
		a.t.Errorf("%s %s: meta %+v", method, path, d.Meta)
	}
	return resp, &d
}

// start starts a flow and returns the handle and the step document.
func (a *app) start(body string) (string, *restDoc) {
	a.t.Helper()
	resp, d := a.call(http.MethodPost, restBase+"/applications/app/access/", "", body)
	if resp.StatusCode != http.StatusOK || d.Meta.NextAuthStep != "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED" {
		a.t.Fatalf("start: %d %+v", resp.StatusCode, d)
	}
	return resp.Header.Get("Access-Token"), d
}

// authorize runs the system browser part: login (or deny) at the AS, and
// returns the URL the AS redirects to, which the app receives.
func (a *app) authorize(d *restDoc, user, action string) string {
	a.t.Helper()
	oc := d.oauth2Client(a.t)
	return a.e.loginAtASFor(a.e.browser(), oc["authorizationRequestUrl"].(string), user, action, oc["redirectUri"].(string))
}

// respond posts an authorization response body for the flow.
func (a *app) respond(handle, body string) (*http.Response, *restDoc) {
	a.t.Helper()
	return a.call(http.MethodPost, restBase+"/oauth2-client/authorization-response/", handle, body)
}

func urlBody(u string) string {
	b, _ := json.Marshal(map[string]string{"url": u})
	return string(b)
}

// login runs a whole flow and returns the session token.
func (a *app) login(user string) string {
	a.t.Helper()
	handle, d := a.start("")
	resp, d := a.respond(handle, urlBody(a.authorize(d, user, "login")))
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("authorization response: %d %+v", resp.StatusCode, d)
	}
	return resp.Header.Get("Access-Token")
}

func TestRESTFlowNativeApp(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()

	// 1. A protected API without a session: 401 saying where to start.
	resp, d := a.call(http.MethodGet, "/api/things", "", "", "Accept", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || d.code() != "NOT_AUTHORIZED" || d.Meta.NextAuthStep != "AUTHENTICATION_REQUIRED" ||
		d.Links["start"] != e.gwURL+restBase+"/applications/app/access/" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("protected API without session: %d %+v %v", resp.StatusCode, d, resp.Header)
	}

	// 2-3. Start: the authorization request, the handle in Access-Token.
	handle, d := a.start("")
	if len(handle) != 43 {
		t.Fatalf("Access-Token %q is not a flow handle", handle)
	}
	oc := d.oauth2Client(t)
	req, _ := oc["authorizationRequest"].(map[string]any)
	for k, want := range map[string]string{
		"response_type": "code", "client_id": nativeClientID, "redirect_uri": appRedirect, "code_challenge_method": "S256",
	} {
		if req[k] != want {
			t.Errorf("authorizationRequest.%s = %v, want %q", k, req[k], want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge", "scope"} {
		if s, _ := req[k].(string); s == "" {
			t.Errorf("authorizationRequest.%s is missing", k)
		}
	}
	if _, ok := req["code_verifier"]; ok {
		t.Errorf("the PKCE verifier was sent to the app")
	}
	authURL, _ := oc["authorizationRequestUrl"].(string)
	if !strings.HasPrefix(authURL, oc["authorizationEndpoint"].(string)+"?") || oc["issuer"] != e.asURL ||
		oc["redirectUri"] != appRedirect || d.Data.Attributes["nextAuthStep"] != "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED" {
		t.Errorf("step attributes %+v", d.Data.Attributes)
	}
	if exp, err := time.Parse(time.RFC3339, oc["expiresAt"].(string)); err != nil || time.Until(exp) < 9*time.Minute {
		t.Errorf("expiresAt %v (%v), want about 10m from now", oc["expiresAt"], err)
	}

	// 4-6. The browser logs in; the app posts the redirect it received.
	redirect := a.authorize(d, "alice", "login")
	code := must(url.Parse(redirect)).Query().Get("code")
	resp, d = a.respond(handle, urlBody(redirect))
	token := resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || token == "" || token == handle || strings.Contains(token, ".") {
		t.Fatalf("authorization response: %d token %q %+v", resp.StatusCode, token, d)
	}
	attrs := d.Data.Attributes
	if attrs["subject"] != "user-alice" || attrs["issuer"] != e.asURL || attrs["authTime"] == nil || attrs["sessionExpiresAt"] == nil ||
		d.Data.Type != "authentication.session" || d.Meta.NextAuthStep != "" {
		t.Errorf("success document %+v", d)
	}
	if raw := bodyOf(resp); strings.Contains(raw, code) {
		t.Errorf("the response echoes the authorization code")
	}

	// The flow handle stops working: replaying the response is refused.
	if resp, d := a.respond(handle, urlBody(redirect)); resp.StatusCode != http.StatusGone || d.code() != "FLOW_EXPIRED" {
		t.Errorf("replay after success: %d %+v", resp.StatusCode, d)
	}

	// The session token opens the protected API; the upstream sees the
	// identity and never the token (nor the flow cookie).
	resp, _ = e.getWith(a.c, "/api/things", "Authorization", "Bearer "+token, "Cookie", "gatehouse_flow="+handle+"; theme=dark")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("protected API with the session token: %d", resp.StatusCode)
	}
	up := e.upstream.last()
	if up.Header.Get("X-Forwarded-User") != "user-alice" || up.Header.Get("Authorization") != "" || up.Header.Get("Cookie") != "theme=dark" {
		t.Errorf("upstream saw user %q, Authorization %q, Cookie %q", up.Header.Get("X-Forwarded-User"), up.Header.Get("Authorization"), up.Header.Get("Cookie"))
	}
	resp, d = a.call(http.MethodGet, "/auth/rest/protected/session/", token, "")
	if resp.StatusCode != http.StatusOK || d.Data.Attributes["user"] != "user-alice" || d.Data.Attributes["email"] != "alice@example.com" {
		t.Errorf("session endpoint: %d %+v", resp.StatusCode, d)
	}
	// Already authenticated: starting again answers with empty attributes.
	resp, d = a.call(http.MethodPost, restBase+"/default-application/access/", token, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Token") != "" || d.Data == nil || len(d.Data.Attributes) != 0 {
		t.Errorf("start while authenticated: %d %+v", resp.StatusCode, d)
	}

	// Logout ends the session and revokes at the AS, with the app's client.
	resp, d = a.call(http.MethodPost, restBase+"/logout/", token, "")
	end, _ := d.Data.Attributes["endSessionUrl"].(string)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(end, e.asURL+"/logout?") ||
		strings.Contains(end, "id_token_hint") || !strings.Contains(end, "client_id="+nativeClientID) {
		t.Errorf("logout: %d %+v", resp.StatusCode, d)
	}
	if n := e.as.Stats().Revocations; n != 1 {
		t.Errorf("revocations at the AS: %d, want 1", n)
	}
	if resp, d := a.call(http.MethodGet, "/auth/rest/protected/session/", token, ""); resp.StatusCode != http.StatusUnauthorized || d.code() != "NOT_AUTHORIZED" {
		t.Errorf("session after logout: %d %+v", resp.StatusCode, d)
	}
}

// getWith sends GET path to the gateway with headers, as an API client.
func (e *env) getWith(c *http.Client, path string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+path, nil)
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRESTFlowContinuedOnAnotherReplica(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	handle, d := a.start("")
	redirect := a.authorize(d, "bob", "login")
	b := e.app()
	b.base = e.replica(nil)
	resp, d := b.respond(handle, urlBody(redirect))
	if resp.StatusCode != http.StatusOK || d.Data.Attributes["subject"] != "user-bob" {
		t.Fatalf("response on the other replica: %d %+v", resp.StatusCode, d)
	}
	token := resp.Header.Get("Access-Token")
	for _, base := range []string{e.gwURL, b.base} {
		a.base = base
		if resp, d := a.call(http.MethodGet, "/auth/rest/protected/session/", token, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("session on %s: %d %+v", base, resp.StatusCode, d)
		}
	}
}

func TestRESTFlowResponseFromAnotherFlow(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	victim, _ := a.start("")
	attacker, d := a.start("")
	redirect := a.authorize(d, "bob", "login") // the attacker's own login
	// Injected into the victim's flow, it is refused, and the victim's flow
	// goes on; the attacker's own flow still accepts it.
	if resp, d := a.respond(victim, urlBody(redirect)); resp.StatusCode != http.StatusBadRequest || d.code() != "OAUTH2_STATE_MISMATCH" {
		t.Errorf("response of another flow: %d %+v", resp.StatusCode, d)
	}
	if n := e.store.created.Load(); n != 0 {
		t.Errorf("%d sessions created", n)
	}
	if resp, d := a.respond(attacker, urlBody(redirect)); resp.StatusCode != http.StatusOK {
		t.Errorf("the flow's own response: %d %+v", resp.StatusCode, d)
	}
}

func TestRESTFlowStateReplay(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	handle, d := a.start("")
	redirect := a.authorize(d, "alice", "login")
	// The same response posted five times at once: exactly one wins.
	var (
		wg       sync.WaitGroup
		ok, lost atomic.Int32
	)
	for range 5 {
		wg.Go(func() {
			resp, _ := a.respond(handle, urlBody(redirect))
			switch resp.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusConflict, http.StatusGone:
				lost.Add(1)
			default:
				t.Errorf("concurrent replay: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || lost.Load() != 4 {
		t.Errorf("%d successes and %d refusals, want 1 and 4", ok.Load(), lost.Load())
	}
	if n := e.as.Stats().CodeExchanges; n != 1 {
		t.Errorf("the code was exchanged %d times", n)
	}

	// A spent request (here: a code the AS refuses) cannot be answered twice.
	handle, d = a.start("")
	state := d.oauth2Client(t)["authorizationRequest"].(map[string]any)["state"].(string)
	forged := `{"code":"not-a-code","state":"` + state + `","iss":"` + e.asURL + `"}`
	if resp, d := a.respond(handle, forged); resp.StatusCode != http.StatusBadGateway || d.code() != "OAUTH2_TOKEN_EXCHANGE_FAILED" {
		t.Errorf("bad code: %d %+v", resp.StatusCode, d)
	}
	if resp, d := a.respond(handle, forged); resp.StatusCode != http.StatusConflict || d.code() != "FLOW_STEP_MISMATCH" ||
		d.Meta.NextAuthStep != "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED" {
		t.Errorf("replayed state: %d %+v", resp.StatusCode, d)
	}
	// A new authorization request revives the flow; the old state stays dead.
	resp, d := a.call(http.MethodPost, restBase+"/oauth2-client/authorization-request/", handle, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Token") != handle {
		t.Fatalf("re-issue: %d %+v", resp.StatusCode, d)
	}
	if resp, d := a.respond(handle, forged); resp.StatusCode != http.StatusBadRequest || d.code() != "OAUTH2_STATE_MISMATCH" {
		t.Errorf("old state after re-issue: %d %+v", resp.StatusCode, d)
	}
	if resp, d := a.respond(handle, urlBody(a.authorize(d, "alice", "login"))); resp.StatusCode != http.StatusOK {
		t.Errorf("after re-issue: %d %+v", resp.StatusCode, d)
	}
}

func TestRESTFlowExpires(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	e := newRESTEnv(t, envOptions{now: now})
	a := e.app()
	handle, d := a.start("")
	redirect := a.authorize(d, "alice", "login")
	offset.Store(int64(10*time.Minute + time.Second))
	for _, path := range []string{"/oauth2-client/authorization-response/", "/oauth2-client/authorization-request/"} {
		resp, d := a.call(http.MethodPost, restBase+path, handle, urlBody(redirect))
		if resp.StatusCode != http.StatusGone || d.code() != "FLOW_EXPIRED" || d.Meta.NextAuthStep != "AUTHENTICATION_REQUIRED" || d.Links["start"] == "" {
			t.Errorf("%s after the flow's end: %d %+v", path, resp.StatusCode, d)
		}
	}
	if n := e.as.Stats().CodeExchanges; n != 0 {
		t.Errorf("an expired flow exchanged its code")
	}
}

func TestRESTFlowRefreshUsesTheAppsClient(t *testing.T) {
	e := newRESTEnv(t, envOptions{accessTTL: 30 * time.Second}) // within refresh_before (60s): every request refreshes
	a := e.app()
	token := a.login("alice")
	for i := range 2 {
		if resp, _ := e.getWith(a.c, "/api/things", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d after refresh: %d", i, resp.StatusCode)
		}
	}
	if st := e.as.Stats(); st.Refreshes < 1 || st.RefreshReuseDetected != 0 {
		t.Errorf("AS stats %+v, want refreshes by the app's client", st)
	}
}

func TestRESTFlowLoopbackRedirect(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	for _, tc := range []struct {
		name, redirect, code string
	}{
		{"AnyPort", appLoopback, ""},
		{"OtherPath", "http://127.0.0.1:53117/other", "REDIRECT_URI_NOT_ALLOWED"},
		{"Localhost", "http://localhost:53117/callback", "REDIRECT_URI_NOT_ALLOWED"},
		{"NoPort", "http://127.0.0.1/callback", ""},
		{"Foreign", "com.evil.app:/oauth2redirect", "REDIRECT_URI_NOT_ALLOWED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, d := a.call(http.MethodPost, restBase+"/applications/app/access/", "", `{"redirectUri":"`+tc.redirect+`"}`)
			if tc.code != "" {
				if resp.StatusCode != http.StatusBadRequest || d.code() != tc.code {
					t.Errorf("%d %+v, want %s", resp.StatusCode, d, tc.code)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || d.oauth2Client(t)["redirectUri"] != tc.redirect {
				t.Errorf("%d %+v", resp.StatusCode, d)
			}
		})
	}
	// A desktop app on its loopback port, posting the parameters.
	handle, d := a.start(`{"redirectUri":"` + appLoopback + `"}`)
	q := must(url.Parse(a.authorize(d, "bob", "login"))).Query()
	body, _ := json.Marshal(map[string]string{"code": q.Get("code"), "state": q.Get("state"), "iss": q.Get("iss")})
	if resp, d := a.respond(handle, string(body)); resp.StatusCode != http.StatusOK || d.Data.Attributes["subject"] != "user-bob" {
		t.Errorf("loopback login: %d %+v", resp.StatusCode, d)
	}
}

// TestRESTFlowBackchannelLogoutForTheAppsClient: the AS's back-channel
// logout for a session an application's own client holds (aud: that
// client) ends it; a token for a client the gateway does not know ends
// nothing.
func TestRESTFlowBackchannelLogoutForTheAppsClient(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	token := a.login("alice")
	if resp, _ := e.getWith(a.c, "/api/things", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusOK {
		t.Fatalf("before logout: %d", resp.StatusCode)
	}
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, e.as.LogoutTokenClaims("some-other-client", "user-alice", ""))); code != http.StatusBadRequest {
		t.Errorf("logout token for an unknown client: %d, want 400", code)
	}
	if resp, _ := e.getWith(a.c, "/api/things", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a refused logout token: %d", resp.StatusCode)
	}
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, e.as.LogoutTokenClaims(nativeClientID, "user-alice", ""))); code != http.StatusOK {
		t.Fatalf("logout token for the app's client: %d, want 200", code)
	}
	if resp, _ := e.getWith(a.c, "/api/things", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after back-channel logout: %d, want 401", resp.StatusCode)
	}
}
