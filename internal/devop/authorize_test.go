package devop

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestAuthorizeRequestErrors(t *testing.T) {
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	valid := func() url.Values {
		return url.Values{
			"client_id": {webID}, "redirect_uri": {webRedirect}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"st-1"}, "nonce": {"n-1"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"},
		}
	}
	tests := []struct {
		name   string
		modify func(q url.Values)
		// wantPage is set when the user must see an error page and never
		// be redirected; else wantError is the error in the redirect.
		wantPage  bool
		wantError string
	}{
		{name: "unknown client", modify: func(q url.Values) { q.Set("client_id", "nope") }, wantPage: true},
		{name: "missing client", modify: func(q url.Values) { q.Del("client_id") }, wantPage: true},
		{name: "unregistered redirect_uri", modify: func(q url.Values) { q.Set("redirect_uri", "https://evil.example/callback") }, wantPage: true},
		{name: "redirect_uri of another client", modify: func(q url.Values) { q.Set("redirect_uri", otherRedir) }, wantPage: true},
		{name: "redirect_uri with extra path", modify: func(q url.Values) { q.Set("redirect_uri", "https://rp.example/callback/x?tenant=a") }, wantPage: true},
		{name: "redirect_uri without its query", modify: func(q url.Values) { q.Set("redirect_uri", "https://rp.example/callback") }, wantPage: true},
		{name: "missing redirect_uri", modify: func(q url.Values) { q.Del("redirect_uri") }, wantPage: true},
		{name: "repeated redirect_uri", modify: func(q url.Values) { q.Add("redirect_uri", "https://evil.example/") }, wantPage: true},
		{name: "token response type", modify: func(q url.Values) { q.Set("response_type", "token") }, wantError: "unsupported_response_type"},
		{name: "hybrid response type", modify: func(q url.Values) { q.Set("response_type", "code id_token") }, wantError: "unsupported_response_type"},
		{name: "missing response type", modify: func(q url.Values) { q.Del("response_type") }, wantError: "invalid_request"},
		{name: "fragment response mode", modify: func(q url.Values) { q.Set("response_mode", "fragment") }, wantError: "invalid_request"},
		{name: "no openid scope", modify: func(q url.Values) { q.Set("scope", "email profile") }, wantError: "invalid_scope"},
		{name: "missing code_challenge", modify: func(q url.Values) { q.Del("code_challenge") }, wantError: "invalid_request"},
		{name: "plain PKCE", modify: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "missing PKCE method", modify: func(q url.Values) { q.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "malformed code_challenge", modify: func(q url.Values) { q.Set("code_challenge", "short") }, wantError: "invalid_request"},
		{name: "repeated scope", modify: func(q url.Values) { q.Add("scope", "openid") }, wantError: "invalid_request"},
		{name: "request object", modify: func(q url.Values) { q.Set("request", "eyJ...") }, wantError: "request_not_supported"},
		{name: "prompt none without a session", modify: func(q url.Values) { q.Set("prompt", "none") }, wantError: "login_required"},
		{name: "prompt none with login", modify: func(q url.Values) { q.Set("prompt", "none login") }, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			q := valid()
			tt.modify(q)
			// The same validation guards both the GET and the form POST.
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				if method == http.MethodPost && tt.wantError == "login_required" {
					continue // prompt only matters before the form is shown
				}
				var resp *http.Response
				var body string
				if method == http.MethodGet {
					resp, body = e.get(t, e.op.Issuer()+"/authorize?"+q.Encode())
				} else {
					form := url.Values{"username": {"alice"}, "password": {"alice"}, "action": {"login"}}
					for k, v := range q {
						form[k] = v
					}
					resp, body = e.post(t, e.op.Issuer()+"/authorize", form)
				}
				if tt.wantPage {
					if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
						t.Fatalf("%s: status %d, Location %q: want an error page", method, resp.StatusCode, resp.Header.Get("Location"))
					}
					if !strings.Contains(body, "Invalid authorization request") {
						t.Errorf("%s: page lacks the error: %s", method, body)
					}
					continue
				}
				got := e.redirectQuery(t, resp, body, webRedirect)
				if got.Get("error") != tt.wantError || got.Has("code") {
					t.Errorf("%s: redirect query %v, want error %s", method, got, tt.wantError)
				}
				if wantState := q["state"]; len(wantState) == 1 && got.Get("state") != wantState[0] {
					t.Errorf("%s: state = %q, want %q", method, got.Get("state"), wantState[0])
				}
			}
			if got := e.op.Stats().AuthorizationCodesIssued; got != 0 {
				t.Errorf("%d codes issued", got)
			}
		})
	}
}

func TestAuthorizeIgnoresUnknownScopes(t *testing.T) {
	e := newEnv(t, Options{})
	cfg := e.config(webID, oauth2.AuthStyleInHeader, "openid", "email", "payments:write")
	tok, _ := e.login(t, cfg, "bob")
	if got := tok.Extra("scope"); got != "openid email" {
		t.Errorf("scope = %v, want openid email", got)
	}
	if tok.RefreshToken != "" {
		t.Error("refresh token issued without offline_access")
	}
	status, claims, _ := e.userinfo(t, tok.AccessToken)
	if status != http.StatusOK {
		t.Fatalf("userinfo status %d", status)
	}
	for _, absent := range []string{"groups", "name", "preferred_username"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("userinfo releases %s without its scope: %v", absent, claims)
		}
	}
}
