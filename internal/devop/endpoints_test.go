package devop

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t, Options{})
	resp, body := e.get(t, e.op.Issuer()+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	iss := e.op.Issuer()
	want := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"jwks_uri":                                       iss + "/jwks",
		"userinfo_endpoint":                              iss + "/userinfo",
		"revocation_endpoint":                            iss + "/revoke",
		"end_session_endpoint":                           iss + "/logout",
		"response_types_supported":                       []any{"code"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
		"subject_types_supported":                        []any{"public"},
		"id_token_signing_alg_values_supported":          []any{"RS256"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []any{"S256"},
		"scopes_supported":                               []any{"openid", "email", "profile", "groups", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
	}
	got := make(map[string]any)
	for k := range want {
		got[k] = doc[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	claims, _ := doc["claims_supported"].([]any)
	for _, c := range []string{"sub", "email", "email_verified", "name", "preferred_username", "groups", "sid"} {
		if !slices.Contains(claims, any(c)) {
			t.Errorf("claims_supported lacks %s: %v", c, claims)
		}
	}
}

func TestJWKSAndKeyRotation(t *testing.T) {
	e := newEnv(t, Options{})
	fetch := func() jose.JSONWebKeySet {
		t.Helper()
		_, body := e.get(t, e.op.Issuer()+"/jwks")
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(body), &set); err != nil {
			t.Fatal(err)
		}
		return set
	}
	set := fetch()
	if len(set.Keys) != 1 || set.Keys[0].KeyID == "" || set.Keys[0].Algorithm != "RS256" || set.Keys[0].Use != "sig" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS = %+v, want one public RS256 signing key with a kid", set)
	}
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	old, _ := e.login(t, cfg, "alice")

	if err := e.op.RotateKey(); err != nil {
		t.Fatal(err)
	}
	set = fetch()
	if len(set.Keys) != 2 || set.Keys[1].KeyID == set.Keys[0].KeyID {
		t.Fatalf("JWKS after rotation has %d keys", len(set.Keys))
	}
	tok, _ := e.login(t, cfg, "alice")
	// A verifier made before the rotation fetches the new key by kid.
	v := e.verifier(webID)
	for _, raw := range []string{old.Extra("id_token").(string), tok.Extra("id_token").(string)} {
		if _, err := v.Verify(e.ctx, raw); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	jws, err := jose.ParseSignedCompact(tok.Extra("id_token").(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if kid := jws.Signatures[0].Header.KeyID; kid != set.Keys[0].KeyID {
		t.Errorf("new token signed with kid %q, want the new key %q", kid, set.Keys[0].KeyID)
	}
}

func TestUserinfo(t *testing.T) {
	tests := []struct {
		name       string
		token      func(e *env, tok *oauth2.Token) string
		wantStatus int
		wantErr    string // error in WWW-Authenticate
	}{
		{name: "valid", token: func(e *env, tok *oauth2.Token) string { return tok.AccessToken }, wantStatus: 200},
		{name: "missing", token: func(e *env, tok *oauth2.Token) string { return "" }, wantStatus: 401},
		{name: "unknown", token: func(e *env, tok *oauth2.Token) string { return tok.AccessToken + "x" }, wantStatus: 401, wantErr: `error="invalid_token"`},
		{name: "refresh token", token: func(e *env, tok *oauth2.Token) string { return tok.RefreshToken }, wantStatus: 401, wantErr: `error="invalid_token"`},
		{name: "ID token", token: func(e *env, tok *oauth2.Token) string { return tok.Extra("id_token").(string) }, wantStatus: 401, wantErr: `error="invalid_token"`},
		{
			name: "expired",
			token: func(e *env, tok *oauth2.Token) string {
				e.clock.Advance(5*time.Minute + time.Second)
				return tok.AccessToken
			},
			wantStatus: 401, wantErr: `error="invalid_token"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			tok, _ := e.login(t, e.config(webID, oauth2.AuthStyleInHeader), "bob")
			status, claims, hdr := e.userinfo(t, tt.token(e, tok))
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d", status, tt.wantStatus)
			}
			if status == http.StatusOK {
				want := map[string]any{
					"sub": "user-bob", "email": "bob@example.com", "email_verified": true,
					"name": "Bob Example", "preferred_username": "bob", "groups": []any{"staff"},
				}
				if diff := cmp.Diff(want, claims); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
				return
			}
			if ch := hdr.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, tt.wantErr) {
				t.Errorf("WWW-Authenticate = %q, want Bearer with %q", ch, tt.wantErr)
			}
		})
	}

	t.Run("POST with form token", func(t *testing.T) {
		e := newEnv(t, Options{})
		tok, _ := e.login(t, e.config(webID, oauth2.AuthStyleInHeader), "bob")
		resp, body := e.post(t, e.op.Issuer()+"/userinfo", url.Values{"access_token": {tok.AccessToken}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"sub":"user-bob"`) {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		name         string
		token        func(tok *oauth2.Token) string
		hint         string
		clientID     string
		secret       string
		wantStatus   int
		wantAccessOK bool // the access token still works afterwards
		wantRefresh  bool // the refresh token still works afterwards
		wantCount    int64
	}{
		{name: "refresh token revokes the grant", token: refreshOf, clientID: webID, secret: webSecret, wantStatus: 200, wantCount: 1},
		{name: "refresh token with access hint", token: refreshOf, hint: "access_token", clientID: webID, secret: webSecret, wantStatus: 200, wantCount: 1},
		{name: "access token only", token: accessOf, hint: "access_token", clientID: webID, secret: webSecret, wantStatus: 200, wantRefresh: true, wantCount: 1},
		{name: "unknown token", token: func(*oauth2.Token) string { return "nope" }, clientID: webID, secret: webSecret, wantStatus: 200, wantAccessOK: true, wantRefresh: true},
		{name: "another client's token", token: refreshOf, clientID: otherID, secret: otherSecret, wantStatus: 200, wantAccessOK: true, wantRefresh: true},
		{name: "wrong secret", token: refreshOf, clientID: webID, secret: "guess", wantStatus: 401, wantAccessOK: true, wantRefresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			cfg := e.config(webID, oauth2.AuthStyleInHeader)
			tok, _ := e.login(t, cfg, "alice")
			form := url.Values{"token": {tt.token(tok)}}
			if tt.hint != "" {
				form.Set("token_type_hint", tt.hint)
			}
			resp, body := e.tokenRequest(t, "/revoke", form, tt.clientID, tt.secret)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d body %v, want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if status, _, _ := e.userinfo(t, tok.AccessToken); (status == http.StatusOK) != tt.wantAccessOK {
				t.Errorf("access token: userinfo status %d, want usable %v", status, tt.wantAccessOK)
			}
			if _, err := e.refresh(cfg, tok.RefreshToken); (err == nil) != tt.wantRefresh {
				t.Errorf("refresh: err %v, want usable %v", err, tt.wantRefresh)
			}
			if got := e.op.Stats().Revocations; got != tt.wantCount {
				t.Errorf("Revocations = %d, want %d", got, tt.wantCount)
			}
		})
	}
}

func refreshOf(tok *oauth2.Token) string { return tok.RefreshToken }
func accessOf(tok *oauth2.Token) string  { return tok.AccessToken }

func TestLogout(t *testing.T) {
	tests := []struct {
		name         string
		query        func(idToken string) url.Values
		wantStatus   int
		wantLocation string
		wantPage     string
		wantEnded    bool
	}{
		{
			name: "redirect with state",
			query: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {webLogout}, "state": {"s1"}}
			},
			wantStatus:   http.StatusFound,
			wantLocation: webLogout + "?state=s1",
			wantEnded:    true,
		},
		{
			name: "client_id instead of hint",
			query: func(string) url.Values {
				return url.Values{"client_id": {webID}, "post_logout_redirect_uri": {webLogout}}
			},
			wantStatus:   http.StatusFound,
			wantLocation: webLogout,
		},
		{
			name:       "no redirect",
			query:      func(h string) url.Values { return url.Values{"id_token_hint": {h}} },
			wantStatus: http.StatusOK, wantPage: "You are logged out", wantEnded: true,
		},
		{
			name: "unregistered redirect",
			query: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {"https://evil.example/"}}
			},
			wantStatus: http.StatusBadRequest, wantPage: "not registered",
		},
		{
			name: "redirect of another client",
			query: func(h string) url.Values {
				return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {otherRedir}}
			},
			wantStatus: http.StatusBadRequest, wantPage: "not registered",
		},
		{
			name:       "redirect without client",
			query:      func(string) url.Values { return url.Values{"post_logout_redirect_uri": {webLogout}} },
			wantStatus: http.StatusBadRequest, wantPage: "not registered",
		},
		{
			name:       "client_id contradicts hint",
			query:      func(h string) url.Values { return url.Values{"id_token_hint": {h}, "client_id": {otherID}} },
			wantStatus: http.StatusBadRequest, wantPage: "does not match",
		},
		{
			name: "forged hint",
			query: func(h string) url.Values {
				return url.Values{"id_token_hint": {h[:len(h)-4] + "AAAA"}, "post_logout_redirect_uri": {webLogout}}
			},
			wantStatus: http.StatusBadRequest, wantPage: "id_token_hint is invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			cfg := e.config(webID, oauth2.AuthStyleInHeader)
			tok, _ := e.login(t, cfg, "alice")
			e.clock.Advance(time.Hour) // an expired hint is still accepted
			resp, body := e.get(t, e.op.Issuer()+"/logout?"+tt.query(tok.Extra("id_token").(string)).Encode())
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if !strings.Contains(body, tt.wantPage) {
				t.Errorf("body lacks %q: %s", tt.wantPage, body)
			}
			_, err := e.refresh(cfg, tok.RefreshToken)
			if ended := err != nil; ended != tt.wantEnded {
				t.Errorf("session ended = %v (refresh err %v), want %v", ended, err, tt.wantEnded)
			}
			if got, want := e.op.Stats().Logouts, map[bool]int64{true: 1}[tt.wantEnded]; got != want {
				t.Errorf("Logouts = %d, want %d", got, want)
			}
		})
	}
}
