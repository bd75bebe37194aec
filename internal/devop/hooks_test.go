package devop

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// signWith returns a SignIDToken hook that signs with key and alg.
func signWith(alg jose.SignatureAlgorithm, key any) func(map[string]any) (string, error) {
	return func(claims map[string]any) (string, error) {
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return "", err
		}
		return jwt.Signed(sig).Claims(claims).Serialize()
	}
}

// unsigned is a SignIDToken hook producing an alg "none" token.
func unsigned(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + ".", nil
}

// TestIDTokenHooks checks that each ID token tampering reaches the relying
// party and that go-oidc's verifier rejects it.
func TestIDTokenHooks(t *testing.T) {
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// Each case gets a function returning the server's current kid.
	tests := []struct {
		name    string
		hooks   func(kid func() string) Hooks
		wantErr string // in the verifier's error
	}{
		{
			name:    "wrong audience",
			hooks:   func(func() string) Hooks { return Hooks{IDToken: func(c map[string]any) { c["aud"] = "someone-else" }} },
			wantErr: "audience",
		},
		{
			name: "wrong issuer",
			hooks: func(func() string) Hooks {
				return Hooks{IDToken: func(c map[string]any) { c["iss"] = "https://evil.example" }}
			},
			wantErr: "issued by a different provider",
		},
		{
			name: "expired",
			hooks: func(func() string) Hooks {
				return Hooks{IDToken: func(c map[string]any) { c["exp"] = c["iat"].(int64) - 60 }}
			},
			wantErr: "expired",
		},
		{
			name:    "alg none",
			hooks:   func(func() string) Hooks { return Hooks{SignIDToken: unsigned} },
			wantErr: "malformed jwt",
		},
		{
			name: "HS256 with the client secret",
			hooks: func(func() string) Hooks {
				return Hooks{SignIDToken: signWith(jose.HS256, []byte(webSecret+"-padding-to-32-bytes!!"))}
			},
			wantErr: "unexpected signature algorithm",
		},
		{
			name:    "foreign RSA key",
			hooks:   func(func() string) Hooks { return Hooks{SignIDToken: signWith(jose.RS256, foreign)} },
			wantErr: "verify signature",
		},
		{
			name: "foreign key claiming our kid",
			hooks: func(kid func() string) Hooks {
				return Hooks{SignIDToken: func(c map[string]any) (string, error) {
					return signWith(jose.RS256, jose.JSONWebKey{Key: foreign, KeyID: kid()})(c)
				}}
			},
			wantErr: "verify signature",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var op *Server
			kid := func() string { return op.KeySet().Keys[0].KeyID }
			e := newEnv(t, Options{Hooks: tt.hooks(kid)})
			op = e.op
			tok, _ := e.login(t, e.config(webID, oauth2.AuthStyleInHeader), "alice")
			_, err := e.verifier(webID).Verify(e.ctx, tok.Extra("id_token").(string))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Verify: err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	t.Run("nonce", func(t *testing.T) {
		e := newEnv(t, Options{Hooks: Hooks{IDToken: func(c map[string]any) { c["nonce"] = "replayed" }}})
		tok, f := e.login(t, e.config(webID, oauth2.AuthStyleInHeader), "alice")
		idt, err := e.verifier(webID).Verify(e.ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce == f.nonce || idt.Nonce != "replayed" {
			t.Errorf("nonce = %q, want the tampered one", idt.Nonce)
		}
	})

	t.Run("signing error", func(t *testing.T) {
		e := newEnv(t, Options{Hooks: Hooks{SignIDToken: func(map[string]any) (string, error) { return "", errors.New("boom") }}})
		cfg := e.config(webID, oauth2.AuthStyleInHeader)
		f := e.authorize(t, cfg, "alice", "alice")
		if _, err := e.exchange(cfg, f); oauthErrorCode(err) != "server_error" {
			t.Errorf("err = %v, want server_error", err)
		}
	})
}

func TestDiscoveryHook(t *testing.T) {
	e := newEnv(t, Options{Hooks: Hooks{Discovery: func(doc map[string]any) {
		doc["issuer"] = "https://evil.example"
		delete(doc, "code_challenge_methods_supported")
	}}})
	_, err := oidc.NewProvider(e.ctx, e.op.Issuer())
	if err == nil || !strings.Contains(err.Error(), "did not match the issuer") {
		t.Errorf("NewProvider: err = %v, want an issuer mismatch", err)
	}
	_, body := e.get(t, e.op.Issuer()+"/.well-known/openid-configuration")
	if strings.Contains(body, "code_challenge_methods_supported") {
		t.Error("deleted key still served")
	}
	// Each request gets a fresh document: the hook sees the honest values.
	var seen string
	e2 := newEnv(t, Options{Hooks: Hooks{Discovery: func(doc map[string]any) { seen = doc["issuer"].(string); doc["issuer"] = "x" }}})
	e2.get(t, e2.op.Issuer()+"/.well-known/openid-configuration")
	e2.get(t, e2.op.Issuer()+"/.well-known/openid-configuration")
	if seen != e2.op.Issuer() {
		t.Errorf("second request's hook saw issuer %q", seen)
	}
}

func TestAuthResponseHook(t *testing.T) {
	tests := []struct {
		name   string
		hook   func(q url.Values)
		action string
		check  func(t *testing.T, q url.Values, f *flow)
	}{
		{
			name:   "drop iss",
			hook:   func(q url.Values) { q.Del("iss") },
			action: "login",
			check: func(t *testing.T, q url.Values, f *flow) {
				if q.Has("iss") || q.Get("code") == "" {
					t.Errorf("query %v, want a code without iss", q)
				}
			},
		},
		{
			name:   "wrong state on error",
			hook:   func(q url.Values) { q.Set("state", "forged") },
			action: "deny",
			check: func(t *testing.T, q url.Values, f *flow) {
				if q.Get("state") != "forged" || q.Get("error") != "access_denied" {
					t.Errorf("query %v", q)
				}
			},
		},
		{
			name:   "mix-up issuer",
			hook:   func(q url.Values) { q.Set("iss", "https://evil.example") },
			action: "login",
			check: func(t *testing.T, q url.Values, f *flow) {
				if q.Get("iss") != "https://evil.example" {
					t.Errorf("query %v", q)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Hooks: Hooks{AuthResponse: tt.hook}})
			authURL, f := start(e.config(webID, oauth2.AuthStyleInHeader))
			resp, _ := e.submit(t, e.openLogin(t, authURL), tt.action, "alice", "alice")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if loc.Query().Get("tenant") != "a" {
				t.Errorf("redirect lost its own query: %s", loc)
			}
			tt.check(t, loc.Query(), f)
		})
	}
}

func TestUserinfoHook(t *testing.T) {
	e := newEnv(t, Options{Hooks: Hooks{Userinfo: func(c map[string]any) {
		c["sub"] = "someone-else"
		c["groups"] = []string{"admins", "root"}
	}}})
	tok, _ := e.login(t, e.config(webID, oauth2.AuthStyleInHeader), "bob")
	status, claims, _ := e.userinfo(t, tok.AccessToken)
	if status != http.StatusOK || claims["sub"] != "someone-else" || len(claims["groups"].([]any)) != 2 {
		t.Errorf("status %d claims %v", status, claims)
	}
	// The ID token is untouched.
	idt, err := e.verifier(webID).Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != "user-bob" {
		t.Errorf("ID token sub %v, err %v", idt, err)
	}
}
