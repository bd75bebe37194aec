package proxy

import (
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// clientSet is the gateway's OAuth clients: its own (def) and the REST flow
// API applications' own clients by client ID (byID, empty when the API is
// disabled or its applications use the gateway's client).
type clientSet struct {
	def  *login.Client
	byID map[string]*login.Client
}

// loginFor returns the client that s's tokens were issued to, for refresh
// and revocation.
func (cs *clientSet) loginFor(s *session.Session) *login.Client {
	if s.ClientID != "" {
		if lc := cs.byID[s.ClientID]; lc != nil {
			return lc
		}
	}
	return cs.def
}

// logoutClient returns the client a logout token is addressed to: the
// gateway's own, or a REST flow API application's own client when the
// token's aud names it (the AS then logs out a session that app's client
// holds). The choice reads the unverified aud; the chosen client's
// verification checks it, with the signature, like everything else.
func (cs *clientSet) logoutClient(raw string) *login.Client {
	if len(cs.byID) == 0 {
		return cs.def
	}
	for _, aud := range unverifiedAudience(raw) {
		if aud == cs.def.ClientID() {
			return cs.def
		}
		if lc := cs.byID[aud]; lc != nil {
			return lc
		}
	}
	return cs.def
}
