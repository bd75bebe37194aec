package harness_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestHarnessHydraLogin drives Hydra and the harness's login app as a relying party would,
// and pins down how Hydra differs from oidc-provider (docs/providers.md).
func TestHarnessHydraLogin(t *testing.T) {
	start := time.Now()
	rp := newRP(t)
	hy := harness.StartHydra(t, harness.HydraConfig{
		Clients: []harness.OPClient{rp.webClient()},
		Users:   []harness.OPUser{alice},
	})
	t.Logf("hydra ready after %v", time.Since(start))
	tab := harness.StartBrowser(t).NewTab(t)

	ctx := oidc.ClientContext(t.Context(), &http.Client{Timeout: 10 * time.Second})
	provider, err := oidc.NewProvider(ctx, hy.Issuer)
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
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic, as registered
	conf := oauth2.Config{ClientID: "web", ClientSecret: "web-secret", Endpoint: endpoint, RedirectURL: rp.URL + "/cb"}

	// Sign in and consent at the login app. (Hydra refuses a state or nonce shorter than 8 characters.)
	verifier := oauth2.GenerateVerifier()
	tab.Navigate(t, authURL(conf.Endpoint.AuthURL, "web", conf.RedirectURL, "state-0001", "nonce-0001", verifier))
	tab.WaitURLPrefix(t, hy.LoginApp+"/login")
	tab.OPLogin(t, "alice", "any password")
	q := receive(t, "authorization response", rp.callbacks)
	if q.Get("code") == "" || q.Get("state") != "state-0001" {
		t.Fatalf("authorization response = %v, want code and state=state-0001", q)
	}
	if discovery.ISSParameter || q.Has("iss") {
		t.Errorf("hydra now supports RFC 9207 (iss %q): update docs/providers.md", q.Get("iss"))
	}

	tok, claims := exchangeAsAlice(t, ctx, &conf, provider, q.Get("code"), verifier, "nonce-0001")
	rawID, _ := tok.Extra("id_token").(string)

	// Refresh: Hydra rotates the refresh token and the old one is spent.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh token not rotated")
	}
	if hy.Active(t, tok.RefreshToken) || !hy.Active(t, refreshed.RefreshToken) {
		t.Errorf("after rotation: old active %v, new active %v; want false, true",
			hy.Active(t, tok.RefreshToken), hy.Active(t, refreshed.RefreshToken))
	}

	// Hydra remembers the login: a new request asks for consent only, which we deny.
	tab.Navigate(t, authURL(conf.Endpoint.AuthURL, "web", conf.RedirectURL, "state-0002", "nonce-0002", verifier))
	tab.OPDeny(t)
	if q := receive(t, "denied authorization response", rp.callbacks); q.Get("error") != "access_denied" || q.Get("state") != "state-0002" {
		t.Errorf("denied authorization response = %v", q)
	}

	// RP-initiated logout: the app asks, Hydra sends a logout token and redirects.
	tab.Navigate(t, discovery.EndSession+"?"+url.Values{
		"id_token_hint":            {rawID},
		"post_logout_redirect_uri": {rp.URL + "/logged-out"},
		"state":                    {"bye"},
	}.Encode())
	tab.OPConfirmLogout(t)
	if q := receive(t, "post-logout redirect", rp.logouts); q.Get("state") != "bye" {
		t.Errorf("post-logout redirect = %v", q)
	}
	lt := unverifiedClaims(t, receive(t, "logout token", rp.tokens))
	if lt["sid"] != claims.SID || lt["iss"] != hy.Issuer || lt["events"] == nil {
		t.Errorf("logout token claims = %v", lt)
	}
	if _, ok := lt["exp"]; ok {
		t.Errorf("hydra's logout token now has exp: update docs/providers.md and TestE2EHydraBackchannelLogoutWithoutExp")
	}

	ev := hy.Events(t)
	for name, want := range map[string]int{"grant.authorization_code": 1, "grant.refresh_token": 1, "authorization.success": 1, "authorization.error": 1, "end_session.success": 1} {
		if ev[name] != want {
			t.Errorf("event %s = %d, want %d (all: %v)", name, ev[name], want, ev)
		}
	}
	t.Logf("done after %v", time.Since(start))
}

// unverifiedClaims decodes a JWT's claims without checking it.
func unverifiedClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
