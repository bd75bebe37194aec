package devop

import (
	"crypto/rand"
	"net/url"
)

// BackchannelLogoutEvent is the events member of a logout token (OpenID
// Connect Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenClaims returns the claims of a back-channel logout token for
// clientID about subject sub and/or OP session sid (either may be empty),
// issued now and valid for two minutes (without exp under
// Deviations.LogoutTokenWithoutExp). Tests may change them before
// signing with SignLogoutToken.
func (s *Server) LogoutTokenClaims(clientID, sub, sid string) map[string]any {
	now := s.now()
	claims := map[string]any{
		"iss":    s.issuer,
		"aud":    s.audience(clientID),
		"iat":    now.Unix(),
		"exp":    now.Unix() + 120,
		"jti":    rand.Text(),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if s.opts.Deviations.LogoutTokenWithoutExp {
		delete(claims, "exp")
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
	return s.keys.sign(claims)
}

// FrontchannelLogoutURL returns the URL at which the server, logging out the
// OP session sid, would render clientID's front-channel logout URI in an
// iframe (OpenID Connect Front-Channel Logout 1.0 §2): with iss and sid,
// without them under Deviations.FrontchannelWithoutSID. It is "" when the
// client has no such URI.
func (s *Server) FrontchannelLogoutURL(clientID, sid string) string {
	c, ok := s.clients[clientID]
	if !ok || c.FrontchannelLogoutURI == "" {
		return ""
	}
	if s.opts.Deviations.FrontchannelWithoutSID {
		return c.FrontchannelLogoutURI
	}
	u, err := url.Parse(c.FrontchannelLogoutURI)
	if err != nil { // validated by New
		return ""
	}
	q := u.Query()
	q.Set("iss", s.issuer)
	q.Set("sid", sid)
	u.RawQuery = q.Encode()
	return u.String()
}
