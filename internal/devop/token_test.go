package devop

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"
)

func TestCodeExchangeErrors(t *testing.T) {
	tests := []struct {
		name       string
		exchange   func(e *env, cfg *oauth2.Config, f *flow) error
		wantCode   string
		wantStatus int
	}{
		{
			name: "wrong PKCE verifier",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				_, err := cfg.Exchange(e.ctx, f.code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "missing PKCE verifier",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				_, err := cfg.Exchange(e.ctx, f.code)
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "verifier equal to the challenge (plain downgrade)",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				_, err := cfg.Exchange(e.ctx, f.code, oauth2.VerifierOption(oauth2.S256ChallengeFromVerifier(f.verifier)))
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "wrong client secret",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				bad := *cfg
				bad.ClientSecret = "guess"
				_, err := e.exchange(&bad, f)
				return err
			},
			wantCode: "invalid_client", wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong client secret in body",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				bad := *cfg
				bad.ClientSecret = webSecret + "x"
				bad.Endpoint.AuthStyle = oauth2.AuthStyleInParams
				_, err := e.exchange(&bad, f)
				return err
			},
			wantCode: "invalid_client", wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong redirect_uri",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				bad := *cfg
				bad.RedirectURL = "https://rp.example/other"
				_, err := e.exchange(&bad, f)
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "code of another client",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				_, err := e.exchange(e.config(otherID, oauth2.AuthStyleInHeader), f)
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "expired code",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				e.clock.Advance(61 * time.Second)
				_, err := e.exchange(cfg, f)
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
		{
			name: "unknown code",
			exchange: func(e *env, cfg *oauth2.Config, f *flow) error {
				first := "A"
				if f.code[0] == 'A' { // one code in 32 starts with it: change it all the same
					first = "B"
				}
				f.code = first + f.code[1:]
				_, err := e.exchange(cfg, f)
				return err
			},
			wantCode: "invalid_grant", wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			cfg := e.config(webID, oauth2.AuthStyleInHeader)
			f := e.authorize(t, cfg, "alice", "alice")
			err := tt.exchange(e, cfg, f)
			re := (*oauth2.RetrieveError)(nil)
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RetrieveError", err)
			}
			if re.ErrorCode != tt.wantCode || re.Response.StatusCode != tt.wantStatus {
				t.Errorf("error %q status %d, want %q %d", re.ErrorCode, re.Response.StatusCode, tt.wantCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusUnauthorized && !strings.HasPrefix(re.Response.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("WWW-Authenticate = %q", re.Response.Header.Get("WWW-Authenticate"))
			}
			if got := re.Response.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := e.op.Stats().CodeExchanges; got != 0 {
				t.Errorf("CodeExchanges = %d", got)
			}
		})
	}
}

func TestTokenRequestErrors(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		basicUser  string
		basicPass  string
		wantStatus int
		wantCode   string
	}{
		{"no client authentication", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "", "", 401, "invalid_client"},
		{"unknown client", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "ghost", "x", 401, "invalid_client"},
		{"two auth methods", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_secret": {webSecret}}, webID, webSecret, 400, "invalid_request"},
		{"public client with a secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {spaID}, "client_secret": {"s"}}, "", "", 401, "invalid_client"},
		{"unsupported grant type", url.Values{"grant_type": {"urn:example:no-such-grant"}}, webID, webSecret, 400, "unsupported_grant_type"},
		{"grant not registered for the client", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice"}}, webID, webSecret, 400, "unauthorized_client"},
		{"missing grant type", url.Values{}, webID, webSecret, 400, "invalid_request"},
		{"repeated parameter", url.Values{"grant_type": {"refresh_token", "refresh_token"}}, webID, webSecret, 400, "invalid_request"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, webID, webSecret, 400, "invalid_grant"},
		{"missing code", url.Values{"grant_type": {"authorization_code"}}, webID, webSecret, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			resp, body := e.tokenRequest(t, "/token", tt.form, tt.basicUser, tt.basicPass)
			if resp.StatusCode != tt.wantStatus || body["error"] != tt.wantCode {
				t.Errorf("status %d body %v, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestCodeReplay(t *testing.T) {
	e := newEnv(t, Options{})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	f := e.authorize(t, cfg, "alice", "alice")
	tok, err := e.exchange(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.exchange(cfg, f); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("replay: err = %v, want invalid_grant", err)
	}
	// RFC 6749 §4.1.2: tokens issued from a replayed code are revoked.
	if status, _, _ := e.userinfo(t, tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("access token after replay: status %d, want 401", status)
	}
	if _, err := e.refresh(cfg, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after replay: err = %v, want invalid_grant", err)
	}
	got := e.op.Stats()
	if got.CodeExchanges != 1 || got.CodeReplayDetected != 1 {
		t.Errorf("Stats = %+v", got)
	}
}

func TestPKCEFailureConsumesCode(t *testing.T) {
	e := newEnv(t, Options{})
	cfg := e.config(spaID, oauth2.AuthStyleInParams)
	f := e.authorize(t, cfg, "bob", "bob")
	if _, err := cfg.Exchange(e.ctx, f.code, oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
	if _, err := e.exchange(cfg, f); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("retry with the right verifier: err = %v, want invalid_grant (code is single-use)", err)
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name   string
		rotate bool
	}{
		{"without rotation", false},
		{"with rotation", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{RotateRefreshTokens: tt.rotate})
			cfg := e.config(webID, oauth2.AuthStyleInHeader)
			tok, _ := e.login(t, cfg, "alice")
			first, err := e.verifier(webID).Verify(e.ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}

			e.clock.Advance(time.Minute)
			next, err := e.refresh(cfg, tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if next.AccessToken == tok.AccessToken {
				t.Error("refresh returned the same access token")
			}
			if rotated := next.RefreshToken != tok.RefreshToken; rotated != tt.rotate {
				t.Errorf("refresh token rotated = %v, want %v", rotated, tt.rotate)
			}
			idt, err := e.verifier(webID).Verify(e.ctx, next.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("Verify refreshed ID token: %v", err)
			}
			var c idClaims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			var fc idClaims
			if err := first.Claims(&fc); err != nil {
				t.Fatal(err)
			}
			if c.Nonce != "" || c.Subject != fc.Subject || c.AuthTime != fc.AuthTime || c.SID != fc.SID || !idt.IssuedAt.After(first.IssuedAt) {
				t.Errorf("refreshed ID token claims %+v, iat %v: want no nonce, the first's sub, auth_time and sid %+v, later iat", c, idt.IssuedAt, fc)
			}
			if status, _, _ := e.userinfo(t, next.AccessToken); status != http.StatusOK {
				t.Errorf("new access token: userinfo status %d", status)
			}

			// Present the first refresh token again.
			_, err = e.refresh(cfg, tok.RefreshToken)
			stats := e.op.Stats()
			if !tt.rotate {
				if err != nil {
					t.Errorf("reusing a non-rotating refresh token: %v", err)
				}
				if stats.Refreshes != 2 || stats.RefreshReuseDetected != 0 {
					t.Errorf("Stats = %+v", stats)
				}
				return
			}
			if oauthErrorCode(err) != "invalid_grant" {
				t.Fatalf("reuse of a rotated refresh token: err = %v, want invalid_grant", err)
			}
			// Reuse revokes the whole family: the newest refresh token and
			// every access token.
			if _, err := e.refresh(cfg, next.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
				t.Errorf("newest refresh token after reuse: err = %v, want invalid_grant", err)
			}
			for _, at := range []string{tok.AccessToken, next.AccessToken} {
				if status, _, _ := e.userinfo(t, at); status != http.StatusUnauthorized {
					t.Errorf("access token after reuse: status %d, want 401", status)
				}
			}
			if stats.Refreshes != 1 || stats.RefreshReuseDetected != 1 {
				t.Errorf("Stats = %+v", stats)
			}
		})
	}
}

func TestRefreshRotationChain(t *testing.T) {
	e := newEnv(t, Options{RotateRefreshTokens: true})
	cfg := e.config(spaID, oauth2.AuthStyleInParams)
	tok, _ := e.login(t, cfg, "bob")
	rt := tok.RefreshToken
	seen := map[string]bool{rt: true}
	for i := range 5 {
		next, err := e.refresh(cfg, rt)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if seen[next.RefreshToken] {
			t.Fatalf("refresh %d returned an old refresh token", i)
		}
		seen[next.RefreshToken] = true
		rt = next.RefreshToken
	}
	if got := e.op.Stats().Refreshes; got != 5 {
		t.Errorf("Refreshes = %d, want 5", got)
	}
}

func TestRefreshErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(e *env)
		clientID string
		scope    string
		wantCode string
	}{
		{name: "expired", setup: func(e *env) { e.clock.Advance(25 * time.Hour) }, clientID: webID, wantCode: "invalid_grant"},
		{name: "another client's token", clientID: otherID, wantCode: "invalid_grant"},
		{name: "after RevokeAll", setup: func(e *env) { e.op.RevokeAll() }, clientID: webID, wantCode: "invalid_grant"},
		{name: "wider scope", clientID: webID, scope: "openid email phone", wantCode: "invalid_scope"},
		{name: "narrower scope", clientID: webID, scope: "openid email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			tok, _ := e.login(t, e.config(webID, oauth2.AuthStyleInHeader, "openid", "email", "offline_access"), "alice")
			if tt.setup != nil {
				tt.setup(e)
			}
			cfg := e.config(tt.clientID, oauth2.AuthStyleInHeader)
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			if tt.scope != "" {
				form.Set("scope", tt.scope)
			}
			resp, body := e.tokenRequest(t, "/token", form, cfg.ClientID, cfg.ClientSecret)
			if tt.wantCode == "" {
				if resp.StatusCode != http.StatusOK || body["scope"] != tt.scope {
					t.Errorf("status %d body %v", resp.StatusCode, body)
				}
				return
			}
			if body["error"] != tt.wantCode {
				t.Errorf("status %d body %v, want %s", resp.StatusCode, body, tt.wantCode)
			}
		})
	}
}

func TestTokenResponseShape(t *testing.T) {
	e := newEnv(t, Options{AccessTokenTTL: 90 * time.Second})
	f := e.authorize(t, e.config(webID, oauth2.AuthStyleInHeader), "alice", "alice")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {f.code}, "redirect_uri": {webRedirect}, "code_verifier": {f.verifier}}
	resp, body := e.tokenRequest(t, "/token", form, webID, webSecret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %v", resp.StatusCode, body)
	}
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	want := []string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}
	if diff := cmp.Diff(want, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("response keys (-want +got):\n%s", diff)
	}
	if body["expires_in"] != float64(90) || body["token_type"] != "Bearer" {
		t.Errorf("body %v", body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
		t.Errorf("caching headers %v", resp.Header)
	}
}
