package devop

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionAlgs are the signature algorithms accepted for private_key_jwt
// client assertions (advertised as
// token_endpoint_auth_signing_alg_values_supported).
var assertionAlgs = []string{"RS256", "PS256", "ES256"}

// jwtBearerAssertion is the client_assertion_type of a JWT (RFC 7523 §2.2).
const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Limits on client assertions.
const (
	// maxAssertionLifetime is the longest exp - now accepted: an assertion
	// is made for one request.
	maxAssertionLifetime = 5 * time.Minute
	// assertionSkew is the clock skew tolerated for iat and nbf.
	assertionSkew = 30 * time.Second
)

// authenticateAssertion authenticates a private_key_jwt client (RFC 7523
// §3, OpenID Connect Core 1.0 §9): a JWT signed with a key of the client's
// JWKS (RS256, PS256 or ES256), iss and sub the client ID, aud the issuer or
// the token endpoint, an exp no more than five minutes ahead, and a jti
// never seen before (until the assertion expires). Every failure is
// invalid_client; the log says why.
func (s *Server) authenticateAssertion(form url.Values) (*Client, *oauthError) {
	fail := func(why string) (*Client, *oauthError) {
		s.log.Info("devop: client assertion rejected", "reason", why)
		return nil, invalidClient("Client authentication failed.")
	}
	if form.Get("client_assertion_type") != jwtBearerAssertion {
		return fail("client_assertion_type is not " + jwtBearerAssertion)
	}
	algs := make([]jose.SignatureAlgorithm, len(assertionAlgs))
	for i, a := range assertionAlgs {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), algs)
	if err != nil || len(tok.Headers) != 1 {
		return fail("not a JWS with one signature by " + strings.Join(assertionAlgs, ", "))
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return fail("unreadable claims")
	}
	c, ok := s.clients[unverified.Issuer]
	if !ok || c.JWKS == nil {
		return fail("iss names no private_key_jwt client")
	}
	if form.Has("client_id") && form.Get("client_id") != c.ID {
		return nil, invalidRequest("The client_id does not match the client assertion.")
	}
	keys := c.JWKS.Keys
	if kid := tok.Headers[0].KeyID; kid != "" {
		keys = c.JWKS.Key(kid)
	}
	var claims jwt.Claims
	verified := false
	for _, k := range keys {
		if tok.Claims(k.Key, &claims) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return fail("the signature matches no registered key of " + c.ID)
	}
	now := s.now()
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return fail("iss and sub must both be the client ID")
	case !slices.ContainsFunc(claims.Audience, func(a string) bool { return a == s.issuer || a == s.endpoint("/token") }):
		return fail("aud names neither the issuer nor the token endpoint")
	case claims.Expiry == nil:
		return fail("no exp")
	case !now.Before(claims.Expiry.Time()):
		return fail("expired")
	case claims.Expiry.Time().Sub(now) > maxAssertionLifetime:
		return fail("exp is too far ahead")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionSkew)):
		return fail("iat is in the future")
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionSkew)):
		return fail("not yet valid (nbf)")
	case claims.ID == "":
		return fail("no jti")
	}
	if !s.st.rememberJTI(c.ID, claims.ID, claims.Expiry.Time(), now) {
		return fail("jti replayed")
	}
	return c, nil
}

// rememberJTI records a client assertion's jti until exp and reports
// whether it was new.
func (st *store) rememberJTI(clientID, jti string, exp, now time.Time) bool {
	key := clientID + "\x00" + jti
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.jtis == nil {
		st.jtis = make(map[string]time.Time)
	}
	if until, seen := st.jtis[key]; seen && now.Before(until) {
		return false
	}
	for k, until := range st.jtis {
		if !now.Before(until) {
			delete(st.jtis, k)
		}
	}
	st.jtis[key] = exp
	return true
}
