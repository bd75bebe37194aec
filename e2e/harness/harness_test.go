package harness_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"golang.org/x/oauth2"
)

// rp is a stand-in relying party: it records what the OP sends to its endpoints.
type rp struct {
	*httptest.Server
	callbacks chan url.Values // GET /cb: the authorization response
	logouts   chan url.Values // GET /logged-out: after RP-initiated logout
	tokens    chan string     // POST /backchannel: logout tokens
}

func newRP(t *testing.T) *rp {
	r := &rp{
		callbacks: make(chan url.Values, 4),
		logouts:   make(chan url.Values, 4),
		tokens:    make(chan string, 4),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, req *http.Request) {
		r.callbacks <- req.URL.Query()
		w.Write([]byte("callback received"))
	})
	mux.HandleFunc("GET /logged-out", func(w http.ResponseWriter, req *http.Request) {
		r.logouts <- req.URL.Query()
		w.Write([]byte("logged out"))
	})
	mux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, req *http.Request) {
		r.tokens <- req.PostFormValue("logout_token")
	})
	r.Server = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(r.Close)
	return r
}

func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		panic("unreachable")
	}
}

// authURL builds an authorization request by hand: code flow, PKCE S256, state, nonce.
func authURL(endpoint, clientID, redirectURI, state, nonce, verifier string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid email profile groups offline_access"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
		"prompt":                {"consent"}, // or the OP drops offline_access
	}
	return endpoint + "?" + q.Encode()
}

var alice = harness.OPUser{
	Sub:               "u-alice",
	Email:             "alice@example.test",
	Name:              "Alice Liddell",
	PreferredUsername: "alice",
	Groups:            []string{"admins", "staff"},
}

func TestHarnessOPLogin(t *testing.T) {
	start := time.Now()
	rp := newRP(t)
	op := harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{rp.webClient()},
		Users:   []harness.OPUser{alice},
	})
	t.Logf("OP ready after %v", time.Since(start))
	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	t.Logf("browser ready after %v", time.Since(start))

	ctx := oidc.ClientContext(t.Context(), &http.Client{Timeout: 10 * time.Second})
	provider, err := oidc.NewProvider(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var discovery struct {
		ISSParameter bool   `json:"authorization_response_iss_parameter_supported"`
		EndSession   string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&discovery); err != nil {
		t.Fatal(err)
	}
	if !discovery.ISSParameter {
		t.Error("discovery: authorization_response_iss_parameter_supported is not true")
	}
	conf := oauth2.Config{
		ClientID:     "web",
		ClientSecret: "web-secret",
		Endpoint:     provider.Endpoint(),
		RedirectURL:  rp.URL + "/cb",
	}

	// Sign in and consent.
	verifier := oauth2.GenerateVerifier()
	tab.Navigate(t, authURL(conf.Endpoint.AuthURL, "web", conf.RedirectURL, "state-1", "nonce-1", verifier))
	tab.OPLogin(t, "alice", "any password")
	q := receive(t, "authorization response", rp.callbacks)
	tab.WaitURLPrefix(t, rp.URL+"/cb")
	if got := tab.Text(t); got != "callback received" {
		t.Errorf("page text = %q", got)
	}
	if q.Get("code") == "" || q.Get("state") != "state-1" || q.Get("iss") != op.Issuer {
		t.Fatalf("authorization response = %v, want code, state=state-1, iss=%s", q, op.Issuer)
	}
	t.Logf("signed in after %v", time.Since(start))

	// Exchange the code and verify the ID token.
	tok, _ := exchangeAsAlice(t, ctx, &conf, provider, q.Get("code"), verifier, "nonce-1")
	rawID, _ := tok.Extra("id_token").(string)

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Email != alice.Email {
		t.Errorf("userinfo: %+v, %v", ui, err)
	}

	// Refresh: the OP rotates the refresh token.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh token not rotated")
	}

	// The OP has a session now: a new request asks for consent only, which we deny.
	tab.Navigate(t, authURL(conf.Endpoint.AuthURL, "web", conf.RedirectURL, "state-2", "nonce-2", verifier))
	tab.OPDeny(t)
	if q := receive(t, "denied authorization response", rp.callbacks); q.Get("error") != "access_denied" || q.Get("state") != "state-2" {
		t.Errorf("denied authorization response = %v", q)
	}

	// RP-initiated logout: the OP asks, then sends a logout token to the back-channel.
	logout := discovery.EndSession + "?" + url.Values{
		"id_token_hint":            {rawID},
		"post_logout_redirect_uri": {rp.URL + "/logged-out"},
		"state":                    {"bye"},
	}.Encode()
	tab.Navigate(t, logout)
	tab.OPConfirmLogout(t)
	if q := receive(t, "post-logout redirect", rp.logouts); q.Get("state") != "bye" {
		t.Errorf("post-logout redirect = %v", q)
	}
	receive(t, "logout token from RP-initiated logout", rp.tokens)

	// Sign in again, then the OP ends the session on its own (the test endpoint).
	tab.Navigate(t, authURL(conf.Endpoint.AuthURL, "web", conf.RedirectURL, "state-3", "nonce-3", verifier))
	tab.OPLogin(t, "alice", "x")
	receive(t, "second authorization response", rp.callbacks)
	if sent, failed := op.BackchannelLogout(t, alice.Sub); sent != 1 || failed != 0 {
		t.Errorf("BackchannelLogout: %d logout tokens delivered, %d not; want 1, 0", sent, failed)
	}
	logoutToken := receive(t, "logout token from the OP", rp.tokens)
	// A logout token is a JWT from the issuer for the client, like an ID token without nonce.
	lt, err := provider.Verifier(&oidc.Config{ClientID: "web"}).Verify(ctx, logoutToken)
	if err != nil {
		t.Fatalf("verify the logout token: %v", err)
	}
	var ltClaims struct {
		SID    string         `json:"sid"`
		Events map[string]any `json:"events"`
	}
	if err := lt.Claims(&ltClaims); err != nil {
		t.Fatal(err)
	}
	if _, ok := ltClaims.Events["http://schemas.openid.net/event/backchannel-logout"]; lt.Subject != alice.Sub || ltClaims.SID == "" || !ok {
		t.Errorf("logout token: sub=%q claims=%+v", lt.Subject, ltClaims)
	}

	events := op.Events(t)
	for name, want := range map[string]int{
		"grant.authorization_code": 1,
		"grant.refresh_token":      1,
		"userinfo":                 1,
		"end_session.success":      1,
		"backchannel.success":      2,
		"backchannel.error":        0,
		"server_error":             0,
	} {
		if events[name] != want {
			t.Errorf("OP event %s = %d, want %d (all: %v)", name, events[name], want, events)
		}
	}

	shot := tab.Screenshot(t, "end")
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot %s is no PNG (%v)", shot, err)
	}
	t.Logf("done after %v", time.Since(start))
}

func TestHarnessInterceptScheme(t *testing.T) {
	const redirectURI = "com.example.app:/oauth2redirect"
	start := time.Now()
	op := harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{{
			ID:              "app",
			RedirectURIs:    []string{redirectURI},
			AuthMethod:      "none",
			ApplicationType: "native",
		}},
		Users: []harness.OPUser{alice},
	})
	tab := harness.StartBrowser(t).NewTab(t)

	ctx := oidc.ClientContext(t.Context(), &http.Client{Timeout: 10 * time.Second})
	provider, err := oidc.NewProvider(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: "app", Endpoint: provider.Endpoint(), RedirectURL: redirectURI}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id in the body

	redirects := tab.InterceptScheme(t, "com.example.app")
	verifier := oauth2.GenerateVerifier()
	tab.Navigate(t, authURL(conf.Endpoint.AuthURL, "app", redirectURI, "state-app", "nonce-app", verifier))
	tab.OPLogin(t, "someone-new", "x") // an account the config does not list

	got := receive(t, "redirect to the app", redirects)
	u, err := url.Parse(got)
	if err != nil || u.Scheme != "com.example.app" || u.Path != "/oauth2redirect" {
		t.Fatalf("intercepted %q (%v)", got, err)
	}
	q := u.Query()
	if q.Get("code") == "" || q.Get("state") != "state-app" || q.Get("iss") != op.Issuer {
		t.Fatalf("app redirect = %v", q)
	}

	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify the ID token: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "someone-new" || claims.Email != "someone-new@example.test" || tok.RefreshToken == "" {
		t.Errorf("tokens: sub=%q email=%q refresh token present=%v", idt.Subject, claims.Email, tok.RefreshToken != "")
	}
	t.Logf("done after %v", time.Since(start))
}

// idClaims are the ID-token claims the harness tests check.
type idClaims struct {
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	SID               string   `json:"sid"`
}

// exchangeAsAlice exchanges code for tokens, verifies the ID token for the
// client "web", checks that it is alice's with nonce, and that a refresh
// token came with it. It returns the tokens and the ID token's claims.
func exchangeAsAlice(t *testing.T, ctx context.Context, conf *oauth2.Config, provider *oidc.Provider, code, verifier, nonce string) (*oauth2.Token, idClaims) {
	t.Helper()
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "web"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify the ID token: %v", err)
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != alice.Sub || idt.Nonce != nonce || claims.Email != alice.Email || !claims.EmailVerified ||
		claims.PreferredUsername != "alice" || len(claims.Groups) != 2 || claims.SID == "" {
		t.Errorf("ID token: sub=%q nonce=%q claims=%+v", idt.Subject, idt.Nonce, claims)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return tok, claims
}

// webClient is the confidential client "web" of the harness tests' relying
// party, with its callback, post-logout and back-channel logout URIs.
func (r *rp) webClient() harness.OPClient {
	return harness.OPClient{
		ID:                     "web",
		Secret:                 "web-secret",
		RedirectURIs:           []string{r.URL + "/cb"},
		PostLogoutRedirectURIs: []string{r.URL + "/logged-out"},
		BackchannelLogoutURI:   r.URL + "/backchannel",
	}
}
