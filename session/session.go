package session

import "time"

// Session is the server-side record of one login: who the user is and the
// tokens the gateway holds on their behalf. It is stored sealed; ID and the
// sealing key travel only in the user's ticket.
type Session struct {
	// ID names the record in the store. It is not part of the sealed value.
	ID string `json:"-"`

	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	// SID is the OP's session ID (OpenID Connect Back-Channel Logout 1.0 §2.4), when the AS sends one.
	SID string `json:"sid,omitempty"`
	// Claims holds the verified claims the gateway needs for headers and rules.
	Claims map[string]any `json:"cl,omitempty"`

	AccessToken  string `json:"at,omitempty"`
	RefreshToken string `json:"rt,omitempty"`
	IDToken      string `json:"it,omitempty"`
	// AccessExpiry is when the access token expires, in Unix seconds (0: unknown).
	AccessExpiry int64 `json:"ae,omitempty"`
	// ClientID is the OAuth client the tokens were issued to when it is not
	// the gateway's own (a REST flow API application's client); refresh and
	// revocation use that client.
	ClientID string `json:"cid,omitempty"`
	// TokenType is the access token's token_type when it is not a bearer
	// token: "DPoP" (RFC 9449), bound to DPoPKey.
	TokenType string `json:"tt,omitempty"`
	// DPoPKey is the private key (a JWK) the tokens are bound to, sealed
	// with them; "" for bearer tokens.
	DPoPKey string `json:"dk,omitempty"`
	// ProofKey, when set, binds the session's ticket to an app's DPoP key
	// (its RFC 7638 thumbprint): the ticket is accepted only with a proof
	// by that key (the REST flow API, proxy/restdpop.go).
	ProofKey string `json:"pk,omitempty"`

	// CreatedAt, ExpiresAt (absolute end) and LastSeen are Unix seconds.
	CreatedAt int64 `json:"ca"`
	ExpiresAt int64 `json:"ea"`
	LastSeen  int64 `json:"ls"`

	key []byte // sealing key, from the ticket (server-side sessions)
	// inCookie marks a session of the cookie store: the record is the
	// ticket (cookieseal.go).
	inCookie bool
	// sealed is the ticket of a cookie session saved since it was loaded,
	// which the response must carry (Cookies.WriteSession); "" otherwise.
	sealed string
	// version names the cached version of the session this copy is of
	// (see Version); 0 when it was not put in the local cache.
	version uint64
}

// Version identifies this version of the session, as the local cache holds
// it: every copy a cached Load hands out of one cached version has the
// same, never reused, non-zero Version, and a Save makes a new version
// (Version 0 until it is loaded and cached again). 0 means the session did
// not come through the cache (the cache is off, or Run is not running).
// Callers key what they derive from a session's contents (the gateway's
// identity headers from its claims, say) by ID and Version, so that later
// requests served with the same version need not compute it again.
func (s *Session) Version() uint64 { return s.version }

// AccessExpiresAt returns the access token's expiry, or the zero time when unknown.
func (s *Session) AccessExpiresAt() time.Time {
	if s.AccessExpiry == 0 {
		return time.Time{}
	}
	return time.Unix(s.AccessExpiry, 0)
}

// Expires returns the absolute end of the session.
func (s *Session) Expires() time.Time { return time.Unix(s.ExpiresAt, 0) }
