package login

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TokenOption modifies a call made with a user's tokens (Exchange, Refresh,
// Revoke).
type TokenOption func(*tokenCall)

type tokenCall struct {
	key *DPoPKey
}

// WithDPoPKey makes the call with proofs by key: the key the session's
// tokens are bound to (Result.DPoPKey). At the code exchange it replaces the
// fresh key the Client would make.
func WithDPoPKey(key *DPoPKey) TokenOption {
	return func(c *tokenCall) { c.key = key }
}

func tokenCallOf(opts []TokenOption) tokenCall {
	var c tokenCall
	for _, o := range opts {
		o(&c)
	}
	return c
}

// checkBinding checks a token response made with a DPoP proof: a
// DPoP-bound token is kept with its key; a bearer token means the AS did
// not bind it, which the FAPI 2.0 profile refuses (a downgrade) and
// otherwise leaves the token unbound.
func checkBinding(md *metadata, tok *Token, key *DPoPKey) (*DPoPKey, error) {
	if key == nil {
		return nil, nil
	}
	if strings.EqualFold(tok.TokenType, TokenTypeDPoP) {
		return key, nil
	}
	if md.fapi.fapi2 {
		return nil, fmt.Errorf("%w: the AS answered a DPoP-bound token request with token_type %q", ErrTokenEndpoint, tok.TokenType)
	}
	return nil, nil
}

// userinfoContext returns ctx for go-oidc's userinfo call with accessToken
// and its token source: with key, the call carries
// "Authorization: DPoP <token>" and a proof (dpopTransport).
func (a *asClient) userinfoContext(ctx context.Context, accessToken string, key *DPoPKey) (context.Context, oauth2.TokenSource) {
	if key == nil {
		return a.ctx(ctx), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"})
	}
	return oidc.ClientContext(ctx, a.dpopClient(key)), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: TokenTypeDPoP})
}

// dpopClient is the AS client whose requests with "Authorization: DPoP"
// carry proofs by key.
func (a *asClient) dpopClient(key *DPoPKey) *http.Client {
	base := a.http.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc := *a.http
	hc.Transport = &dpopTransport{base: base, key: key, nonces: a.rsNonces, now: a.now}
	return &hc
}

// boundType is a Result's TokenType for tokens bound to key (nil: none).
func boundType(key *DPoPKey) string {
	if key == nil {
		return ""
	}
	return TokenTypeDPoP
}
