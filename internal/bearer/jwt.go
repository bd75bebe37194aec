package bearer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// verifyJWT verifies a JWT access token (RFC 9068 §4): the typ header, then
// (with go-oidc) signature, algorithm, iss, exp and nbf, then aud and sub.
func (v *Verifier) verifyJWT(ctx context.Context, st *state, raw string) (*Token, error) {
	if err := checkType(raw); err != nil {
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
	if _, ok := claims["nonce"]; ok {
		return nil, fmt.Errorf("%w: a nonce claim: an ID token, not an access token", ErrInvalidToken)
	}
	if t.Subject == "" {
		return nil, fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	return &Token{Claims: claims, Expiry: t.Expiry}, nil
}

// checkType refuses a JWT whose typ header names something other than an
// access token: RFC 9068 §2.1 says "at+jwt"; many ASes send "JWT" or no
// typ, which are accepted; an explicit other type ("logout+jwt",
// "secevent+jwt", "dpop+jwt"...) is not.
func checkType(raw string) error {
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
	if h.Typ == nil {
		return nil
	}
	typ, _ := h.Typ.(string)
	switch strings.ToLower(typ) {
	case "at+jwt", "application/at+jwt", "jwt":
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
