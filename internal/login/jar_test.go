package login_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// TestJARMResponse: a JWT response is believed only when the AS signed it
// for this client and it has not expired; without JARM the query is taken
// as it is.
func TestJARMResponse(t *testing.T) {
	as := startFAPIAS(t)
	as.doc["response_modes_supported"] = []string{"query", "jwt"}
	c := as.client(t, login.Options{FAPI: login.FAPIOptions{ResponseMode: vocab.ResponseModeJWT}})
	req, err := c.NewRequestPrompt(t.Context(), callback, "")
	if err != nil {
		t.Fatal(err)
	}
	if as.pushed[0].Get("response_mode") != "jwt" {
		t.Errorf("pushed response_mode = %q", as.pushed[0].Get("response_mode"))
	}
	now := time.Now()
	sign := func(signer jose.Signer, iss, aud string, exp time.Time) string {
		raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iss, Audience: jwt.Audience{aud}, Expiry: jwt.NewNumericDate(exp)}).
			Claims(map[string]any{"code": "the-code", "state": req.State, "iss": iss}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	other, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ecKey(t), KeyID: "as"}}, nil)
	iss := as.srv.URL
	tests := []struct {
		name, response string
		ok             bool
	}{
		{"valid", sign(as.signer, iss, "fapi-client", now.Add(time.Minute)), true},
		{"another signer", sign(other, iss, "fapi-client", now.Add(time.Minute)), false},
		{"another issuer", sign(as.signer, "https://evil.example", "fapi-client", now.Add(time.Minute)), false},
		{"another audience", sign(as.signer, iss, "someone-else", now.Add(time.Minute)), false},
		{"expired", sign(as.signer, iss, "fapi-client", now.Add(-time.Minute)), false},
		{"absent", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"state": {"from-the-query"}}
			if tt.response != "" {
				q.Set("response", tt.response)
			}
			got, err := c.AuthorizationResponse(t.Context(), q)
			if !tt.ok {
				if !errors.Is(err, login.ErrAuthorizationResponse) {
					t.Errorf("err = %v, want ErrAuthorizationResponse", err)
				}
				return
			}
			if err != nil || got.Get("code") != "the-code" || got.Get("state") != req.State || got.Get("iss") != iss {
				t.Errorf("AuthorizationResponse = %v, %v", got, err)
			}
		})
	}
	plain := as.client(t, login.Options{})
	if q, err := plain.AuthorizationResponse(t.Context(), url.Values{"code": {"c"}}); err != nil || q.Get("code") != "c" {
		t.Errorf("without JARM: %v, %v", q, err)
	}
}

// TestSignedRequestObject: with JAR the pushed request is client_id and a
// request object signed with the client's key, carrying every parameter.
func TestSignedRequestObject(t *testing.T) {
	as := startFAPIAS(t)
	key := ecKey(t)
	c := as.client(t, login.Options{ClientAuth: login.ClientAuth{Method: login.AuthPrivateKeyJWT, PrivateKey: key},
		FAPI: login.FAPIOptions{JAR: vocab.JAROn}})
	req, err := c.NewRequestPrompt(t.Context(), callback, "")
	if err != nil {
		t.Fatal(err)
	}
	p := as.pushed[0]
	if p.Has("state") || p.Has("code_challenge") || p.Get("request") == "" {
		t.Fatalf("pushed form %v: want the parameters inside the request object only", p)
	}
	tok, err := jwt.ParseSigned(p.Get("request"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := tok.Claims(&key.PublicKey, &claims); err != nil {
		t.Fatalf("request object signature: %v", err)
	}
	for k, want := range map[string]any{"iss": "fapi-client", "aud": as.srv.URL, "state": req.State, "nonce": req.Nonce,
		"client_id": "fapi-client", "redirect_uri": callback, "code_challenge_method": "S256"} {
		if claims[k] != want {
			t.Errorf("request object %s = %v, want %v", k, claims[k], want)
		}
	}
	if tok.Headers[0].ExtraHeaders["typ"] != "oauth-authz-req+jwt" {
		t.Errorf("typ %v", tok.Headers[0].ExtraHeaders["typ"])
	}
	t.Run("required without a key", func(t *testing.T) {
		as.doc["require_signed_request_object"] = true
		err := login.New(login.Options{Issuer: as.srv.URL, ClientID: "c", ClientSecret: "s", Scopes: []string{"openid"}}).Discover(t.Context())
		if err == nil || !strings.Contains(err.Error(), "require_signed_request_object") {
			t.Errorf("Discover: %v", err)
		}
	})
}
