package devop

import (
	"crypto/rand"
	"time"
)

// login is what a successful authentication establishes and every token
// derived from it shares.
type login struct {
	user     User
	sid      string // per-login session ID ("sid" claim)
	authTime time.Time
}

// authCode is an issued authorization code (RFC 6749 §4.1.2).
type authCode struct {
	login
	clientID    string
	redirectURI string
	scopes      []string
	nonce       string
	challenge   string // code_challenge ("" when Options.PKCE is "none")
	method      string // code_challenge_method: "S256" or "plain"
	expires     time.Time
	forget      time.Time // when the code is dropped from memory
	used        bool
	grantID     string // the grant issued from it, once exchanged
}

// grant is a token family: every access and refresh token issued from one
// authorization code.
type grant struct {
	login
	id       string
	clientID string
	scopes   []string
	access   map[string]struct{} // token keys
	refresh  map[string]struct{} // token keys, including rotated-out ones
	// grantType is how the family began: "authorization_code" (the zero
	// value), or a grant of grants.go.
	grantType string
	// clientOnly marks a client credentials grant: no user; login.user is
	// a stand-in whose Subject is the client ID.
	clientOnly bool
}

// accessToken is an issued opaque access token.
type accessToken struct {
	grantID  string
	scopes   []string
	expires  time.Time
	audience []string // RFC 8707 resources and RFC 8693 audiences it is for
}

// refreshToken is an issued refresh token.
type refreshToken struct {
	grantID string
	expires time.Time
	rotated bool // replaced by a newer token; presenting it is reuse
}

// newGrantLocked creates a token family. s.mu must be held.
func (s *Server) newGrantLocked(l login, clientID string, scopes []string) *grant {
	g := &grant{
		login:    l,
		id:       rand.Text(),
		clientID: clientID,
		scopes:   scopes,
		access:   make(map[string]struct{}),
		refresh:  make(map[string]struct{}),
	}
	s.grants[g.id] = g
	return g
}

// mintAccessLocked issues an access token for g with the given scopes.
// s.mu must be held.
func (s *Server) mintAccessLocked(g *grant, scopes []string, now time.Time) (string, time.Time) {
	return s.mintAccessForLocked(g, scopes, nil, now)
}

// mintAccessForLocked issues an access token for g with the given scopes
// and audience. s.mu must be held.
func (s *Server) mintAccessForLocked(g *grant, scopes, audience []string, now time.Time) (string, time.Time) {
	tok := randomToken()
	k := tokenKey(tok)
	exp := now.Add(s.opts.AccessTokenTTL)
	s.access[k] = &accessToken{grantID: g.id, scopes: scopes, expires: exp, audience: audience}
	g.access[k] = struct{}{}
	return tok, exp
}

// mintRefreshLocked issues a refresh token for g. s.mu must be held.
func (s *Server) mintRefreshLocked(g *grant, now time.Time) string {
	tok := randomToken()
	k := tokenKey(tok)
	s.refresh[k] = &refreshToken{grantID: g.id, expires: now.Add(s.opts.RefreshTokenTTL)}
	g.refresh[k] = struct{}{}
	return tok
}

// revokeGrantLocked revokes every token of the grant with the given id and
// reports whether it existed. s.mu must be held.
func (s *Server) revokeGrantLocked(id string) bool {
	g, ok := s.grants[id]
	if !ok {
		return false
	}
	for k := range g.access {
		delete(s.access, k)
	}
	for k := range g.refresh {
		delete(s.refresh, k)
	}
	delete(s.grants, id)
	return true
}

// lookupAccess returns the grant and token of a live access token.
func (s *Server) lookupAccess(tok string) (*grant, *accessToken, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweepLocked(now)
	k := tokenKey(tok)
	at, ok := s.access[k]
	if !ok || !now.Before(at.expires) {
		return nil, nil, false
	}
	g, ok := s.grants[at.grantID]
	if !ok {
		delete(s.access, k)
		return nil, nil, false
	}
	return g, at, true
}

// RevokeAll invalidates every refresh token issued so far. Access tokens stay
// valid until they expire, as they would at a provider that only tracks
// refresh tokens.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.refresh {
		delete(s.refresh, k)
	}
	for _, g := range s.grants {
		clear(g.refresh)
	}
	s.log.Info("devop: all refresh tokens revoked")
}

// maybeSweepLocked drops expired entries at most once per sweepInterval, so
// that memory stays bounded under load. s.mu must be held.
func (s *Server) maybeSweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < sweepInterval && !now.Before(s.lastSweep) {
		return
	}
	s.lastSweep = now
	for k, c := range s.codes {
		if !now.Before(c.forget) {
			delete(s.codes, k)
		}
	}
	for k, t := range s.access {
		if !now.Before(t.expires) {
			delete(s.access, k)
			if g, ok := s.grants[t.grantID]; ok {
				delete(g.access, k)
			}
		}
	}
	for k, t := range s.refresh {
		if !now.Before(t.expires) {
			delete(s.refresh, k)
			if g, ok := s.grants[t.grantID]; ok {
				delete(g.refresh, k)
			}
		}
	}
	for id, g := range s.grants {
		if len(g.access) == 0 && len(g.refresh) == 0 {
			delete(s.grants, id)
		}
	}
}
