package devop

import (
	"crypto/rand"
)

// BackchannelLogoutEvent is the events member of a logout token (OpenID
// Connect Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenClaims returns the claims of a back-channel logout token for
// clientID about subject sub and/or OP session sid (either may be empty),
// issued now and valid for two minutes. Tests may change them before
// signing with SignLogoutToken.
func (s *Server) LogoutTokenClaims(clientID, sub, sid string) map[string]any {
	now := s.now()
	claims := map[string]any{
		"iss":    s.issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Unix() + 120,
		"jti":    rand.Text(),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if sid != "" {
		claims["sid"] = sid
	}
	return claims
}

// SignLogoutToken signs claims with the server's current key, as a logout token.
func (s *Server) SignLogoutToken(claims map[string]any) (string, error) {
	return s.sign(claims)
}
