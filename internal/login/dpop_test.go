package login_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// TestDPoPProof: a proof's header and claims (RFC 9449 §4.2).
func TestDPoPProof(t *testing.T) {
	key, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	p1, err := key.Proof("GET", "https://api.example/v1/items?page=2#x", "token-1", "nonce-1", now)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := key.Proof("GET", "https://api.example/v1/items", "", "", now)
	jws, err := jose.ParseSignedCompact(p1, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm != "ES256" || h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || h.KeyID != "" {
		t.Fatalf("header: alg %q typ %v jwk %v kid %q", h.Algorithm, h.ExtraHeaders["typ"], h.JSONWebKey, h.KeyID)
	}
	tp, _ := h.JSONWebKey.Thumbprint(cryptoSHA256)
	if b64(tp) != key.Thumbprint() {
		t.Error("the embedded key is not the proof key")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	want := map[string]any{"htm": "GET", "htu": "https://api.example/v1/items", "iat": float64(now.Unix()),
		"ath": login.AccessTokenHash("token-1"), "nonce": "nonce-1"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if jti, _ := c["jti"].(string); len(jti) < 32 {
		t.Errorf("jti %q", jti)
	}
	jws2, _ := jose.ParseSignedCompact(p2, []jose.SignatureAlgorithm{jose.ES256})
	var c2 map[string]any
	_ = json.Unmarshal(jws2.UnsafePayloadWithoutVerification(), &c2)
	if c2["jti"] == c["jti"] || c2["ath"] != nil || c2["nonce"] != nil {
		t.Errorf("second proof: %v", c2)
	}
	// The example of RFC 9449 §7.1.
	if got := login.AccessTokenHash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"); got != "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo" {
		t.Errorf("ath = %s", got)
	}
	if _, err := login.ParseDPoPKey(`{"kty":"EC","crv":"P-256","x":"x","y":"y"}`); err == nil {
		t.Error("a public or malformed key parsed")
	}
}
