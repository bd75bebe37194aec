package proxy

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// TestUpstreamTokenScheme: a DPoP-bound token reaches the upstream as
// "Authorization: DPoP" with a fresh proof for the upstream request
// (htm, htu without the query, ath); a bearer token as "Bearer" with no
// proof; a session's sealed key survives bindSession and sessionKey.
func TestUpstreamTokenScheme(t *testing.T) {
	key, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	s := &session.Session{}
	if err := bindSession(s, &login.Result{DPoPKey: key}); err != nil || s.TokenType != login.TokenTypeDPoP {
		t.Fatalf("bindSession: %v, type %q", err, s.TokenType)
	}
	if k := sessionKey(s); k == nil || k.Thumbprint() != key.Thumbprint() {
		t.Fatal("the session's key does not come back")
	}
	now := time.Unix(1_800_000_000, 0)
	rl := &relay{base: base{logger: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}}
	pol := &route{Route: Route{PassAuthorization: true, PassAccessToken: true}}

	out := httptest.NewRequest(http.MethodPut, "http://upstream.internal:8080/orders/7?x=1", nil)
	rl.setUserToken(out, pol, &forward{accessToken: "at-1", dpopKey: sessionKey(s)})
	if out.Header.Get("Authorization") != "DPoP at-1" || out.Header.Get("X-Forwarded-Access-Token") != "at-1" {
		t.Errorf("headers %v", out.Header)
	}
	jws, err := jose.ParseSignedCompact(out.Header.Get("DPoP"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("proof: %v", err)
	}
	payload, err := jws.Verify(jws.Signatures[0].Protected.JSONWebKey)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	if c["htm"] != "PUT" || c["htu"] != "http://upstream.internal:8080/orders/7" || c["ath"] != login.AccessTokenHash("at-1") || c["iat"] != float64(now.Unix()) {
		t.Errorf("proof claims %v", c)
	}

	out = httptest.NewRequest(http.MethodGet, "http://upstream.internal/x", nil)
	rl.setUserToken(out, pol, &forward{accessToken: "at-2"})
	if out.Header.Get("Authorization") != "Bearer at-2" || out.Header.Get("DPoP") != "" {
		t.Errorf("bearer token headers %v", out.Header)
	}
}
