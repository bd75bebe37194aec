package login_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

const appRedirect = "com.example.app:/oauth2redirect"

// authorize runs an authorization request at the AS, which approves it at
// once, and returns the code.
func authorize(t *testing.T, req *login.Request) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != req.State {
		t.Fatalf("authorization: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func TestForClientPublicNativeClient(t *testing.T) {
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	as, err := devop.New(devop.Options{
		Issuer: srv.URL, AutoApproveUser: "alice",
		Clients: []devop.Client{
			{ID: "gateway", Secret: "gateway-secret", RedirectURIs: []string{srv.URL + "/cb"}},
			{ID: "mobile", Public: true, RedirectURIs: []string{appRedirect}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h = as
	base := login.New(login.Options{
		Issuer: srv.URL, ClientID: "gateway", ClientSecret: "gateway-secret",
		Scopes: []string{"openid", "email", "offline_access"},
	})
	app := base.ForClient("mobile", "")
	if _, err := app.NewRequest(appRedirect); !errors.Is(err, login.ErrNotReady) {
		t.Fatalf("before the parent's discovery: %v, want ErrNotReady", err)
	}
	if err := base.Discover(t.Context()); err != nil {
		t.Fatal(err)
	}
	if app.ClientID() != "mobile" || app.Issuer() != srv.URL {
		t.Errorf("ClientID %q, Issuer %q", app.ClientID(), app.Issuer())
	}

	req, err := app.NewRequest(appRedirect)
	if err != nil {
		t.Fatal(err)
	}
	if req.Params.Get("client_id") != "mobile" || req.Params.Get("code_challenge_method") != "S256" {
		t.Errorf("request params %v", req.Params)
	}
	// The gateway's own client cannot redeem a code issued to the app's client.
	code := authorize(t, req)
	if _, err := base.Exchange(t.Context(), code, req.Verifier, req.RedirectURI, req.Nonce); err == nil {
		t.Errorf("the gateway's client exchanged a code issued to the app's client")
	}
	req, _ = app.NewRequest(appRedirect)
	res, err := app.Exchange(t.Context(), authorize(t, req), req.Verifier, req.RedirectURI, req.Nonce)
	if err != nil {
		t.Fatalf("public client exchange: %v", err)
	}
	if res.Subject != "user-alice" || res.RefreshToken == "" {
		t.Errorf("result %+v", res)
	}
	ref, err := app.Refresh(t.Context(), res.RefreshToken, res.Issuer, res.Subject)
	if err != nil {
		t.Fatalf("public client refresh: %v", err)
	}
	if err := app.Revoke(t.Context(), ref.RefreshToken, "refresh_token"); err != nil {
		t.Fatalf("public client revocation: %v", err)
	}
	if st := as.Stats(); st.Refreshes != 1 || st.Revocations != 1 {
		t.Errorf("AS stats %+v", st)
	}
	if u := app.EndSessionURL("", "", ""); u == "" {
		t.Errorf("no end-session URL for the derived client")
	}
}
