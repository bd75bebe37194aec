package bearer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// verifyJWT verifies a JWT access token (RFC 9068 §4): the typ header, then
// (with go-oidc) signature, algorithm, iss, exp and nbf, then aud and sub.
func (v *Verifier) verifyJWT(ctx context.Context, st *state, raw string) (*Token, error) {
	if err := checkType(raw, v.opts.RequireATJWT); err != nil {
		return nil, err
	}
	t, err := st.jwt.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !v.hasAudience(t.Audience) {
		return nil, fmt.Errorf("%w: aud %q names none of the configured audiences", ErrInvalidToken, t.Audience)
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if why := isIDToken(claims, t.Audience, v.opts.ClientID); why != "" {
		return nil, fmt.Errorf("%w: %s: an ID token, not an access token", ErrInvalidToken, why)
	}
	if t.Subject == "" {
		return nil, fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	return &Token{Claims: claims, Expiry: t.Expiry}, nil
}

// isIDToken says why claims (of a JWT whose signature, issuer and audience
// are valid) are those of an OpenID Connect ID token, or returns "". An ID
// token is not an access token, whatever its audience (an ID token issued to
// another client of the AS whose client_id is a configured API audience,
// for one): accepting it would let anyone who saw a user's ID token call the
// API as that user. The signs, none of which an RFC 9068 access token has:
//
//   - a nonce, at_hash or c_hash claim (OpenID Connect Core 1.0 §2, §3.1.3.6,
//     §3.3.2.11: ID-token-only claims);
//   - a "typ" claim "ID" (Keycloak marks its ID tokens so; its access tokens
//     say "Bearer");
//   - an aud naming the gateway's own client (clientID), without a scope or
//     scp claim: the gateway's own ID tokens (bearer.audiences may not
//     contain provider.client_id, but a token may have several audiences).
func isIDToken(claims map[string]any, aud []string, clientID string) string {
	for _, c := range []string{"nonce", "at_hash", "c_hash"} {
		if _, ok := claims[c]; ok {
			return "a " + c + " claim"
		}
	}
	if typ, ok := claims["typ"].(string); ok && strings.EqualFold(typ, "ID") {
		return `a typ claim "ID"`
	}
	if clientID != "" && slices.Contains(aud, clientID) {
		_, scope := claims["scope"]
		_, scp := claims["scp"]
		if !scope && !scp {
			return "the gateway's client_id as aud and no scope"
		}
	}
	return ""
}

// checkType refuses a JWT whose typ header names something other than an
// access token: RFC 9068 §2.1 says "at+jwt"; many ASes send "JWT" or no
// typ, which are accepted unless strict (Options.RequireATJWT); an
// explicit other type ("logout+jwt", "secevent+jwt", "dpop+jwt"...) never
// is.
func checkType(raw string, strict bool) error {
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("%w: malformed header", ErrInvalidToken)
	}
	var h struct {
		Typ any `json:"typ"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("%w: malformed header", ErrInvalidToken)
	}
	typ, _ := h.Typ.(string)
	switch t := strings.ToLower(typ); {
	case t == "at+jwt" || t == "application/at+jwt":
		return nil
	case strict:
		return fmt.Errorf("%w: typ %q is not at+jwt (bearer.require_at_jwt)", ErrInvalidToken, sanitize(typ))
	case h.Typ == nil || t == "jwt":
		return nil
	}
	return fmt.Errorf("%w: typ %q is not an access token type", ErrInvalidToken, sanitize(typ))
}

// sanitize keeps a value from a token printable and short, for errors.
func sanitize(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}
