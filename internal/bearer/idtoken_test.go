package bearer

import (
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestIDTokenIsNotAnAccessToken: an ID token signed by the AS, whose
// audience is a configured API audience (an ID token of another client
// whose client_id is that audience) or names the gateway's own client
// besides it, is refused even without a nonce. Access tokens with the same
// audiences pass.
func TestIDTokenIsNotAnAccessToken(t *testing.T) {
	as := newFakeAS(t)
	key := newRSASigner(t, "k1", jose.RS256)
	as.publish(key)
	const gateway = "gatehouse-web"
	v := newVerifier(t, Options{Metadata: as.metadata(), ClientID: gateway})
	now := time.Now()
	token := func(typ string, extra map[string]any) string {
		c := map[string]any{
			"iss": as.srv.URL, "sub": "alice", "aud": testAudience,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix(),
		}
		for k, val := range extra {
			c[k] = val
		}
		return sign(t, key, typ, c)
	}
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"AtHash", token("JWT", map[string]any{"at_hash": "x3b-gU2c8Lz7nTB2dA6r2A"}), false},
		{"CHash", token("", map[string]any{"c_hash": "x3b-gU2c8Lz7nTB2dA6r2A"}), false},
		{"KeycloakTypID", token("JWT", map[string]any{"typ": "ID", "azp": "mobile"}), false},
		{"GatewayAudienceNoScope", token("JWT", map[string]any{"aud": []string{gateway, testAudience}}), false},
		{"GatewayAudienceWithScope", token("JWT", map[string]any{"aud": []string{gateway, testAudience}, "scope": "api:read"}), true},
		{"KeycloakTypBearer", token("JWT", map[string]any{"typ": "Bearer", "azp": "mobile", "scope": "api:read"}), true},
		{"PlainAccessToken", token("at+jwt", map[string]any{"client_id": "mobile", "scope": "api:read"}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tc.token)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v, want accepted", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify: %v, want ErrInvalidToken", err)
			}
		})
	}
}

// TestRequireATJWT: with RequireATJWT only typ "at+jwt" (either spelling,
// any case) passes; "JWT" and a missing typ, accepted by default, are
// refused.
func TestRequireATJWT(t *testing.T) {
	as := newFakeAS(t)
	key := newRSASigner(t, "k1", jose.RS256)
	as.publish(key)
	now := time.Now()
	claims := map[string]any{
		"iss": as.srv.URL, "sub": "alice", "aud": testAudience, "client_id": "mobile",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "api:read",
	}
	lax := newVerifier(t, Options{Metadata: as.metadata()})
	strict := newVerifier(t, Options{Metadata: as.metadata(), RequireATJWT: true})
	for _, tc := range []struct {
		typ      string
		strictOK bool
	}{
		{"at+jwt", true}, {"AT+JWT", true}, {"application/at+jwt", true}, {"JWT", false}, {"", false},
	} {
		t.Run("typ="+tc.typ, func(t *testing.T) {
			raw := sign(t, key, tc.typ, claims)
			if _, err := lax.Verify(t.Context(), raw); err != nil {
				t.Errorf("default: %v, want accepted", err)
			}
			_, err := strict.Verify(t.Context(), raw)
			if tc.strictOK && err != nil {
				t.Errorf("RequireATJWT: %v, want accepted", err)
			}
			if !tc.strictOK && !errors.Is(err, ErrInvalidToken) {
				t.Errorf("RequireATJWT: %v, want ErrInvalidToken", err)
			}
		})
	}
}
