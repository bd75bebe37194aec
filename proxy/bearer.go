package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// The answers to bearer token failures (RFC 6750 §3). The challenge never
// repeats the token.
var (
	// errNoToken: a bearer-only route got no token (RFC 6750 §3.1: no error code).
	errNoToken = &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Title: "Access token required",
		Detail: "This resource requires an access token (Authorization: Bearer).", Challenge: `Bearer realm="gatehouse"`}
	// errBadToken: the token is invalid, expired, revoked or not for this resource.
	errBadToken = &httpError{Status: http.StatusUnauthorized, Code: "invalid_token", Title: "Access token rejected",
		Detail:    "The access token is invalid, expired, revoked, or not meant for this resource.",
		Challenge: `Bearer realm="gatehouse", error="invalid_token", error_description="The access token is invalid"`}
	// errBadAuthorization: the Authorization header is malformed.
	errBadAuthorization = &httpError{Status: http.StatusBadRequest, Code: "invalid_request", Title: "Malformed request",
		Detail:    "The Authorization header is malformed: send exactly one \"Authorization: Bearer <token>\".",
		Challenge: `Bearer realm="gatehouse", error="invalid_request"`}
	// errTokenCheckFailed: the AS's introspection endpoint did not answer.
	errTokenCheckFailed = &httpError{Status: http.StatusBadGateway, Code: "token_check_failed", Title: "Temporarily unavailable",
		Detail: "The access token could not be checked with the sign-in service. Please try again."}
)

// bearerCredential returns the token of the request's "Authorization:
// Bearer" header, or "" when there is none (or another scheme is used). A
// repeated header, an empty token or one that is not an RFC 6750 b64token is
// errBadAuthorization. Tokens in the query (RFC 6750 §2.3) are not read.
func bearerCredential(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", nil
	}
	if len(vals) > 1 {
		return "", errBadAuthorization
	}
	scheme, tok, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	tok = strings.Trim(tok, " ")
	if !isB64Token(tok) {
		return "", errBadAuthorization
	}
	return tok, nil
}

// isB64Token reports whether s matches RFC 6750 §2.1's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// bearerAuth authenticates requests by an access token of the AS (RFC 6750).
type bearerAuth struct {
	base
	verifier *bearer.Verifier // nil when no route accepts bearer tokens
	claims   identity.Mapping
}

// tokenIdentity verifies an access token of the AS and returns the identity
// its claims describe, with the same claim mapping as sessions.
func (ba *bearerAuth) tokenIdentity(ctx context.Context, tok string) (*forward, map[string]any, error) {
	t, err := ba.verifier.Verify(ctx, tok)
	if err != nil {
		return nil, nil, err
	}
	id, err := identity.FromClaims(t.Claims, ba.claims)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", bearer.ErrInvalidToken, err)
	}
	return newForward(id, tok), t.Claims, nil
}

// credentialErr maps an authentication failure other than "no credentials"
// to what failErr renders, logging the refused tokens (never the token).
func (ba *bearerAuth) credentialErr(err error) error {
	switch {
	case errors.Is(err, bearer.ErrInvalidToken), errors.Is(err, errBadToken):
		ba.audit(slog.LevelInfo, "bearer token refused", audit.Event{Kind: audit.BearerRefused}, slog.Any("reason", err))
		return errBadToken
	case errors.Is(err, bearer.ErrNotReady):
		return fmt.Errorf("%w: %w", errProviderDown, err)
	case errors.Is(err, bearer.ErrIntrospection): // failErr logs it
		return fmt.Errorf("%w: %w", errTokenCheckFailed, err)
	}
	return storeErr(err)
}
