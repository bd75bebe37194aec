package assertion_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
)

// The code between the markers is the verification example of
// docs/identity-assertion.md, word for word (TestDocExampleIsThisCode).

// BEGIN docs/identity-assertion.md

// Identity is who Gatehouse says the user is.
type Identity struct {
	Subject string   `json:"sub"`
	Email   string   `json:"email"`
	Groups  []string `json:"groups"`
}

// NewAssertionVerifier checks Gatehouse's assertions for this upstream:
// gatewayURL is Gatehouse's public_url, audience this upstream's name.
func NewAssertionVerifier(ctx context.Context, gatewayURL, audience string) *oidc.IDTokenVerifier {
	keys := oidc.NewRemoteKeySet(ctx, gatewayURL+"/.well-known/jwks.json")
	return oidc.NewVerifier(gatewayURL, keys, &oidc.Config{
		ClientID:             audience,
		SupportedSigningAlgs: []string{oidc.ES256, oidc.EdDSA},
	})
}

// UserOf returns the user of a request that came through Gatehouse.
func UserOf(v *oidc.IDTokenVerifier, r *http.Request) (*Identity, error) {
	raw := r.Header.Get("X-Gatehouse-Assertion")
	if raw == "" {
		return nil, fmt.Errorf("no identity assertion")
	}
	tok, err := v.Verify(r.Context(), raw) // signature, iss, aud, exp
	if err != nil {
		return nil, fmt.Errorf("identity assertion: %w", err)
	}
	var id Identity
	if err := tok.Claims(&id); err != nil {
		return nil, err
	}
	return &id, nil
}

// END docs/identity-assertion.md
