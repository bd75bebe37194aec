package proxy_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// testSigner returns a signer whose first key is an EC P-256 key and whose
// second, published only, is an Ed25519 key.
func testSigner(t *testing.T, issuer string) *assertion.Signer {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	var pems [][]byte
	for _, k := range []any{ec, ed} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	s, err := assertion.New(issuer, pems)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPassIDToken: pass_id_token sends the session's ID token in
// X-Forwarded-Id-Token or as "Authorization: Bearer", never a copy the
// client sent; other routes get no ID token at all.
func TestPassIDToken(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{
		{Name: "header", PathPrefix: "/header", PassIDToken: proxy.PassIDTokenHeader},
		{Name: "authz", PathPrefix: "/dashboard", PassIDToken: proxy.PassIDTokenAuthorization},
		{Name: "public", PathPrefix: "/public", Auth: proxy.AuthPublic},
		{Name: "app", PathPrefix: "/"},
	}})
	spoof := []string{"X-Forwarded-Id-Token", "stolen", "x_forwarded_id_token", "stolen", "Authorization", "Bearer stolen"}
	c := e.browser()
	e.loginAs(c, "/app", "bob")

	resp := e.get(c, e.gwURL+"/header/x", spoof...)
	got := e.upstream.last()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/header: %d", resp.StatusCode)
	}
	idt := got.Header.Values("X-Forwarded-Id-Token")
	if len(idt) != 1 || jwtClaims(t, idt[0])["sub"] != "user-bob" || jwtClaims(t, idt[0])["aud"] != testClientID {
		t.Errorf("X-Forwarded-Id-Token = %q, want the session's ID token", idt)
	}
	if _, ok := got.Header["X_forwarded_id_token"]; ok {
		t.Errorf("the client's X_Forwarded_Id_Token reached the upstream")
	}

	resp = e.get(c, e.gwURL+"/dashboard/", spoof...)
	got = e.upstream.last()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/dashboard: %d", resp.StatusCode)
	}
	az := got.Header.Values("Authorization")
	if len(az) != 1 || !strings.HasPrefix(az[0], "Bearer ") || jwtClaims(t, strings.TrimPrefix(az[0], "Bearer "))["sub"] != "user-bob" {
		t.Errorf("Authorization = %q, want Bearer and the session's ID token", az)
	}
	if got.Header.Get("X-Forwarded-Id-Token") != "" {
		t.Errorf("an ID token in X-Forwarded-Id-Token too")
	}

	for _, path := range []string{"/app", "/public/x"} {
		e.get(c, e.gwURL+path, spoof[:4]...)
		if v := e.upstream.last().Header.Get("X-Forwarded-Id-Token"); v != "" {
			t.Errorf("%s: X-Forwarded-Id-Token = %q, want none", path, v)
		}
	}
}

// TestIdentityAssertion: a route with an assertion header gets a JWT
// signed by the gateway, which an upstream verifies with go-oidc against
// the gateway's /.well-known/jwks.json; the client's copies never pass,
// and the assertion expires.
func TestIdentityAssertion(t *testing.T) {
	var signer *assertion.Signer
	e := newEnv(t, envOptions{routes: []proxy.Route{
		{Name: "orders", PathPrefix: "/orders", AssertionHeader: "X-Gatehouse-Assertion", AssertionAudience: "orders"},
		{Name: "public", PathPrefix: "/public", Auth: proxy.AuthPublic, AssertionHeader: "X-Gatehouse-Assertion", AssertionAudience: "public"},
		{Name: "app", PathPrefix: "/"},
	}, assertionsFor: func(issuer string) *assertion.Signer { signer = testSigner(t, issuer); return signer }})
	spoof := []string{"X-Gatehouse-Assertion", "forged", "x_gatehouse_assertion", "forged"}
	c := e.browser()
	e.loginAs(c, "/app", "alice")

	// The JWK Set is the gateway's own endpoint, with both keys.
	resp := e.get(c, e.gwURL+proxy.JWKSPath)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(bodyOf(resp)), &set); err != nil || resp.StatusCode != http.StatusOK || len(set.Keys) != 2 {
		t.Fatalf("JWKS: %d %v %v", resp.StatusCode, set, err)
	}
	for _, k := range set.Keys {
		if _, private := k["d"]; private {
			t.Fatal("the JWK Set publishes a private key")
		}
	}

	var toks []string
	for range 2 {
		if resp := e.get(c, e.gwURL+"/orders/list", spoof...); resp.StatusCode != http.StatusOK {
			t.Fatalf("/orders: %d", resp.StatusCode)
		}
		got := e.upstream.last()
		vals := got.Header.Values("X-Gatehouse-Assertion")
		if len(vals) != 1 || vals[0] == "forged" || len(got.Header.Values("X_gatehouse_assertion")) != 0 {
			t.Fatalf("assertion headers at the upstream: %v", got.Header)
		}
		toks = append(toks, vals[0])
	}
	// (This environment has no local session cache, so each request signs
	// its own assertion; BenchmarkServeHTTP/assertion shows the reuse.)

	// What an upstream does: go-oidc with the gateway's JWKS.
	keys := oidc.NewRemoteKeySet(t.Context(), e.gwURL+proxy.JWKSPath)
	verify := func(now time.Time, aud string) (*oidc.IDToken, error) {
		v := oidc.NewVerifier(e.gwURL, keys, &oidc.Config{ClientID: aud, SupportedSigningAlgs: []string{"ES256", "EdDSA"},
			Now: func() time.Time { return now }})
		return v.Verify(t.Context(), toks[0])
	}
	tok, err := verify(time.Now(), "orders")
	if err != nil {
		t.Fatalf("go-oidc refused the assertion: %v", err)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
		JTI    string   `json:"jti"`
	}
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if tok.Subject != "user-alice" || claims.Email != "alice@example.com" || !slices.Equal(claims.Groups, []string{"admins", "staff"}) ||
		claims.JTI == "" || tok.Expiry.Sub(tok.IssuedAt) > 5*time.Minute {
		t.Errorf("assertion: sub %q, %+v, iat %v, exp %v", tok.Subject, claims, tok.IssuedAt, tok.Expiry)
	}
	if _, err := verify(time.Now().Add(assertion.Lifetime+time.Minute), "orders"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired assertion: %v, want expired", err)
	}
	if _, err := verify(time.Now(), "public"); err == nil {
		t.Error("an assertion for orders was accepted by another audience")
	}

	// A route without assertions gets no copy the client sent either (one
	// could be replayed through it to the same application).
	e.get(c, e.gwURL+"/app", "X-Gatehouse-Assertion", toks[0])
	if v := e.upstream.last().Header.Values("X-Gatehouse-Assertion"); len(v) != 0 {
		t.Errorf("route without assertion: the client's assertion reached the upstream")
	}

	// Without a session, no assertion, and no forged one either.
	e.get(e.browser(), e.gwURL+"/public/x", spoof...)
	if v := e.upstream.last().Header.Values("X-Gatehouse-Assertion"); len(v) != 0 {
		t.Errorf("public route without session: assertion %q", v)
	}
}
