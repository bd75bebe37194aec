package assertion_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/assertion"
)

func pemKey(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// gateway serves the JWK Set of whichever signer is current, as a
// gateway does across a key rotation (each step a restart with new
// server.signing_keys).
type gateway struct {
	srv     *httptest.Server
	current atomic.Pointer[assertion.Signer]
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		g.current.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) signer(t *testing.T, pems ...[]byte) *assertion.Signer {
	t.Helper()
	s, err := assertion.New(g.srv.URL, pems)
	if err != nil {
		t.Fatal(err)
	}
	g.current.Store(s)
	return s
}

func request(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Gatehouse-Assertion", tok)
	return r
}

var alice = assertion.Claims{Audience: "orders", Subject: "user-alice", Email: "alice@example.com", EmailVerified: true, Groups: []string{"admins"}}

// TestVerifyWithTheDocExample verifies assertions with the example of
// docs/identity-assertion.md (go-oidc and the gateway's JWKS), across a
// key rotation: old key first, both published; new key first, both
// published; new key alone.
func TestVerifyWithTheDocExample(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	oldKey, newKey := pemKey(t, ec), pemKey(t, ed)
	g := newGateway(t)
	now := time.Now()

	oldFirst := g.signer(t, oldKey, newKey)
	if oldFirst.Algorithm() != "ES256" {
		t.Fatalf("algorithm %s, want ES256", oldFirst.Algorithm())
	}
	tokOld, err := oldFirst.Sign(alice, now)
	if err != nil {
		t.Fatal(err)
	}
	v := NewAssertionVerifier(t.Context(), g.srv.URL, "orders")
	id, err := UserOf(v, request(tokOld))
	if err != nil || id.Subject != "user-alice" || id.Email != "alice@example.com" || !slices.Equal(id.Groups, []string{"admins"}) {
		t.Fatalf("UserOf: %+v, %v", id, err)
	}

	// Rotation: the new key signs, the old one is still published, so the
	// assertions signed before still verify.
	newFirst := g.signer(t, newKey, oldKey)
	if newFirst.Algorithm() != "EdDSA" || newFirst.KeyID() == oldFirst.KeyID() {
		t.Fatalf("new signer: %s %s", newFirst.Algorithm(), newFirst.KeyID())
	}
	tokNew, _ := newFirst.Sign(alice, now)
	v = NewAssertionVerifier(t.Context(), g.srv.URL, "orders")
	for _, tok := range []string{tokOld, tokNew} {
		if _, err := UserOf(v, request(tok)); err != nil {
			t.Errorf("during rotation: %v", err)
		}
	}
	// The old key removed: its assertions no longer verify.
	g.signer(t, newKey)
	v = NewAssertionVerifier(t.Context(), g.srv.URL, "orders")
	if _, err := UserOf(v, request(tokNew)); err != nil {
		t.Errorf("new key: %v", err)
	}
	if _, err := UserOf(v, request(tokOld)); err == nil {
		t.Error("an assertion of a removed key verified")
	}

	// Expired, another audience, no header.
	stale, _ := newFirst.Sign(alice, now.Add(-assertion.Lifetime-time.Minute))
	if _, err := UserOf(v, request(stale)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired assertion: %v", err)
	}
	if _, err := UserOf(NewAssertionVerifier(t.Context(), g.srv.URL, "billing"), request(tokNew)); err == nil {
		t.Error("an assertion for orders verified for billing")
	}
	if _, err := UserOf(v, httptest.NewRequest(http.MethodGet, "/", nil)); err == nil {
		t.Error("a request without an assertion passed")
	}
	if assertion.Lifetime > 5*time.Minute {
		t.Errorf("Lifetime %v is over 5 minutes", assertion.Lifetime)
	}
}

// TestDocExampleIsThisCode: docs/identity-assertion.md shows the code that
// TestVerifyWithTheDocExample runs.
func TestDocExampleIsThisCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/identity-assertion.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("docexample_test.go")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(doc)
	if block == nil {
		t.Fatal("no Go code block in docs/identity-assertion.md")
	}
	// The doc's block has the package clause and imports first.
	_, docCode, ok := strings.Cut(string(block[1]), "\n)\n")
	_, code, _ := strings.Cut(string(src), "// BEGIN docs/identity-assertion.md\n")
	code, _, _ = strings.Cut(code, "// END docs/identity-assertion.md")
	if !ok || strings.TrimSpace(docCode) != strings.TrimSpace(code) {
		t.Errorf("the example of docs/identity-assertion.md differs from docexample_test.go:\n--- doc\n%s\n--- test\n%s", docCode, code)
	}
	if n := strings.Count(strings.TrimSpace(code), "\n") + 1; n > 45 {
		t.Errorf("the example is %d lines", n)
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, pems := range map[string][][]byte{
		"none":        nil,
		"not PEM":     {[]byte("hello")},
		"certificate": {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})},
		"P-384":       {pemKey(t, p384)},
	} {
		if _, err := assertion.New("https://gw.example", pems); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
