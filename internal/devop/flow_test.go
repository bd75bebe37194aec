package devop

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// idClaims are the ID token claims the tests check.
type idClaims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	Audience          string   `json:"aud"`
	AZP               string   `json:"azp"`
	Nonce             string   `json:"nonce"`
	SID               string   `json:"sid"`
	AuthTime          int64    `json:"auth_time"`
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
}

func TestCodeFlow(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
		style    oauth2.AuthStyle
	}{
		{"confidential client_secret_basic", webID, oauth2.AuthStyleInHeader},
		{"confidential client_secret_post", webID, oauth2.AuthStyleInParams},
		{"confidential auto-detect", webID, oauth2.AuthStyleAutoDetect},
		{"public none", spaID, oauth2.AuthStyleInParams},
		{"public basic with empty secret", spaID, oauth2.AuthStyleInHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			cfg := e.config(tt.clientID, tt.style)
			tok, f := e.login(t, cfg, "alice")

			if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("token = %+v, want Bearer with access and refresh tokens", tok)
			}
			if got, want := tok.Extra("scope"), "openid email profile groups offline_access"; got != want {
				t.Errorf("scope = %v, want %q", got, want)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := e.verifier(tt.clientID).Verify(e.ctx, raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var got idClaims
			if err := idt.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if got.SID == "" || got.AuthTime == 0 {
				t.Errorf("sid %q, auth_time %d: want both set", got.SID, got.AuthTime)
			}
			want := idClaims{
				Issuer: e.op.Issuer(), Subject: "user-alice", Audience: tt.clientID, AZP: tt.clientID,
				Nonce: f.nonce, SID: got.SID, AuthTime: got.AuthTime,
				Email: "alice@example.com", EmailVerified: true, Name: "Alice Example", PreferredUsername: "alice",
				Groups: []string{"admins", "staff"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ID token claims (-want +got):\n%s", diff)
			}

			ui, err := e.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			var uiGroups struct {
				Groups []string `json:"groups"`
			}
			if err := ui.Claims(&uiGroups); err != nil {
				t.Fatal(err)
			}
			if ui.Subject != "user-alice" || ui.Email != "alice@example.com" || !ui.EmailVerified ||
				!cmp.Equal(uiGroups.Groups, []string{"admins", "staff"}) {
				t.Errorf("userinfo = %+v, groups %v", ui, uiGroups.Groups)
			}

			wantStats := Stats{AuthorizationCodesIssued: 1, CodeExchanges: 1, Logins: 1, UserinfoRequests: 1}
			if diff := cmp.Diff(wantStats, e.op.Stats()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, Options{})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	authURL, f := start(cfg, oauth2.SetAuthURLParam("login_hint", "bob"))
	form := e.openLogin(t, authURL)

	for _, want := range []string{
		"<title>Gatehouse development login</title>",
		`id="username"`, `id="password"`, `id="login"`, `id="deny"`,
		`value="bob"`, // login_hint
		"<code>alice</code>&nbsp;/&nbsp;<code>alice</code>",
	} {
		if !strings.Contains(form.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	wantHidden := url.Values{
		"client_id": {webID}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {strings.Join(cfg.Scopes, " ")}, "state": {f.state}, "nonce": {f.nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(f.verifier)}, "code_challenge_method": {"S256"},
	}
	if diff := cmp.Diff(wantHidden, form.hidden); diff != "" {
		t.Errorf("hidden fields (-want +got):\n%s", diff)
	}
	if form.action != e.op.Issuer()+"/authorize" {
		t.Errorf("form action = %q", form.action)
	}

	t.Run("hint hidden", func(t *testing.T) {
		e := newEnv(t, Options{HideCredentialsHint: true})
		authURL, _ := start(e.config(webID, oauth2.AuthStyleInHeader))
		if form := e.openLogin(t, authURL); strings.Contains(form.body, `id="hint"`) {
			t.Error("credentials hint shown although hidden")
		}
	})
}

func TestLoginFailure(t *testing.T) {
	tests := []struct{ name, user, pass string }{
		{"wrong password", "alice", "bob"},
		{"unknown user", "mallory", "alice"},
		{"empty password", "alice", ""},
		{"password prefix", "alice", "alic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			authURL, _ := start(e.config(webID, oauth2.AuthStyleInHeader))
			form := e.openLogin(t, authURL)
			resp, body := e.submit(t, form, "login", tt.user, tt.pass)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: want the form again", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(body, "Invalid username or password.") || !strings.Contains(body, `id="password"`) {
				t.Errorf("body lacks the error or the form: %s", body)
			}
			if got := e.op.Stats(); got.Logins != 0 || got.AuthorizationCodesIssued != 0 {
				t.Errorf("Stats = %+v, want no login", got)
			}
		})
	}
}

func TestDeny(t *testing.T) {
	e := newEnv(t, Options{})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	authURL, f := start(cfg)
	resp, body := e.submit(t, e.openLogin(t, authURL), "deny", "", "")
	q := e.redirectQuery(t, resp, body, webRedirect)
	if q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Has("code") {
		t.Errorf("redirect query = %v, want access_denied with state and no code", q)
	}
}

func TestAutoApprove(t *testing.T) {
	e := newEnv(t, Options{AutoApproveUser: "bob"})
	cfg := e.config(spaID, oauth2.AuthStyleInParams)
	authURL, f := start(cfg, oauth2.SetAuthURLParam("prompt", "none"))
	resp, body := e.get(t, authURL)
	q := e.redirectQuery(t, resp, body, spaRedirect)
	if q.Get("state") != f.state || q.Get("code") == "" {
		t.Fatalf("redirect query = %v", q)
	}
	f.code = q.Get("code")
	tok, err := e.exchange(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := e.verifier(spaID).Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "user-bob" {
		t.Errorf("sub = %q, want user-bob", idt.Subject)
	}
}

func TestIssuerWithPath(t *testing.T) {
	e := newEnv(t, Options{Issuer: "/realms/dev"})
	if !strings.HasSuffix(e.op.Issuer(), "/realms/dev") {
		t.Fatalf("issuer %q", e.op.Issuer())
	}
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	tok, _ := e.login(t, cfg, "alice")
	if _, err := e.verifier(webID).Verify(e.ctx, tok.Extra("id_token").(string)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if resp, _ := e.get(t, e.ts.URL+"/.well-known/openid-configuration"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("discovery outside the issuer path: status %d, want 404", resp.StatusCode)
	}
}
