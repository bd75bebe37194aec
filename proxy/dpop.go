package proxy

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// The user's tokens may be DPoP-bound (RFC 9449; internal/login/dpop.go):
// the session then keeps, sealed with them, the key they are bound to. The
// gateway proves possession of it on every call to the AS with them, and
// to each upstream that receives the token it sends a fresh proof for that
// request (setUpstreamDPoP).

// bindSession records in s the binding of the tokens res holds: their type
// and key, or none for bearer tokens.
func bindSession(s *session.Session, res *login.Result) error {
	s.TokenType, s.DPoPKey = "", ""
	if res.DPoPKey == nil {
		return nil
	}
	text, err := res.DPoPKey.MarshalText()
	if err != nil {
		return err
	}
	s.TokenType, s.DPoPKey = login.TokenTypeDPoP, text
	return nil
}

// sessionKey returns the DPoP key s's tokens are bound to, or nil.
func sessionKey(s *session.Session) *login.DPoPKey {
	if s.DPoPKey == "" {
		return nil
	}
	k, err := login.ParseDPoPKey(s.DPoPKey)
	if err != nil {
		return nil
	}
	return k
}

// sessionKeyOption is the option that makes a call with s's tokens with
// their key, if they are bound.
func sessionKeyOption(s *session.Session) []login.TokenOption {
	if k := sessionKey(s); k != nil {
		return []login.TokenOption{login.WithDPoPKey(k)}
	}
	return nil
}

// setUpstreamToken sets the user's access token on an upstream request as
// the route says: X-Forwarded-Access-Token, and Authorization with the
// token's scheme. A DPoP-bound token goes as "Authorization: DPoP" with a
// DPoP proof for this request's method and URL (RFC 9449 §7.1), signed
// now; a bearer token as "Authorization: Bearer".
func (rl *relay) setUserToken(out *http.Request, pol *route, fwd *forward) {
	if fwd.accessToken == "" || (!pol.PassAccessToken && !pol.PassAuthorization) {
		return
	}
	if pol.PassAccessToken {
		out.Header.Set(identity.HeaderAccessToken, fwd.accessToken)
	}
	if fwd.dpopKey == nil {
		if pol.PassAuthorization {
			out.Header.Set("Authorization", "Bearer "+fwd.accessToken)
		}
		return
	}
	proof, err := fwd.dpopKey.Proof(out.Method, upstreamURL(out), fwd.accessToken, "", rl.now())
	if err != nil {
		rl.logger.Warn("dpop proof for the upstream failed", "error", err)
		return
	}
	out.Header.Set("DPoP", proof)
	if pol.PassAuthorization {
		out.Header.Set("Authorization", login.TokenTypeDPoP+" "+fwd.accessToken)
	}
}

// upstreamURL is the URL the upstream receives the request at (its htu):
// the outbound URL (the target's path joined with what strip_prefix left),
// with the Host header the upstream gets: the client's with preserve_host
// (out.Host), the target's otherwise (out.Host is then empty).
func upstreamURL(out *http.Request) string {
	u := *out.URL
	if out.Host != "" {
		u.Host = out.Host
	}
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u.String()
}
