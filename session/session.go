package session

import (
	"sync/atomic"
	"time"
)

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

	// CreatedAt, ExpiresAt (absolute end) and LastSeen are Unix seconds.
	CreatedAt int64 `json:"ca"`
	ExpiresAt int64 `json:"ea"`
	LastSeen  int64 `json:"ls"`

	key []byte // sealing key, from the ticket
	// derived is shared by the copies the local cache hands out of one
	// cached version of the session; nil otherwise.
	derived *derivedSlot
}

// derivedSlot holds what a caller derived from one version of a session.
type derivedSlot struct{ v atomic.Pointer[derivedValue] }

type derivedValue struct{ owner, v any }

// Derived returns the value SetDerived stored for owner with this version
// of the session, or nil.
func (s *Session) Derived(owner any) any {
	if s.derived == nil {
		return nil
	}
	if d := s.derived.v.Load(); d != nil && d.owner == owner {
		return d.v
	}
	return nil
}

// SetDerived remembers v, which owner computed from the session's contents
// (the gateway's identity headers from its claims, say), so that later
// requests served from the local cache with the same version of the
// session need not compute it again. It is kept only while the version is
// cached, and forgotten when the session is saved (which makes a new
// version); values must not be modified once set. owner tells apart
// several users of one Manager.
func (s *Session) SetDerived(owner, v any) {
	if s.derived != nil {
		s.derived.v.Store(&derivedValue{owner: owner, v: v})
	}
}

// AccessExpiresAt returns the access token's expiry, or the zero time when unknown.
func (s *Session) AccessExpiresAt() time.Time {
	if s.AccessExpiry == 0 {
		return time.Time{}
	}
	return time.Unix(s.AccessExpiry, 0)
}

// Expires returns the absolute end of the session.
func (s *Session) Expires() time.Time { return time.Unix(s.ExpiresAt, 0) }
