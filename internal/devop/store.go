package devop

import (
	"crypto/rand"
	"sync"
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

// store holds the server's codes, grants and tokens, by the hashes of
// their secrets (tokenKey), and the client assertion IDs seen. Its mu
// guards every map; methods named ...Locked expect it held.
type store struct {
	mu        sync.Mutex
	codes     map[string]*authCode     // by tokenKey(code)
	grants    map[string]*grant        // by grant id
	access    map[string]*accessToken  // by tokenKey(token)
	refresh   map[string]*refreshToken // by tokenKey(token)
	jtis      map[string]time.Time     // client assertion IDs seen, until they expire (assertion.go)
	lastSweep time.Time

	accessTTL, refreshTTL time.Duration
	now                   func() time.Time
}

// refreshToken is an issued refresh token.
type refreshToken struct {
	grantID string
	expires time.Time
	rotated bool // replaced by a newer token; presenting it is reuse
}

// newGrantLocked creates a token family. s.st.mu must be held.
func (st *store) newGrantLocked(l login, clientID string, scopes []string) *grant {
	g := &grant{
		login:    l,
		id:       rand.Text(),
		clientID: clientID,
		scopes:   scopes,
		access:   make(map[string]struct{}),
		refresh:  make(map[string]struct{}),
	}
	st.grants[g.id] = g
	return g
}

// mintAccessLocked issues an access token for g with the given scopes.
// s.st.mu must be held.
func (st *store) mintAccessLocked(g *grant, scopes []string, now time.Time) (string, time.Time) {
	return st.mintAccessForLocked(g, scopes, nil, now)
}

// mintAccessForLocked issues an access token for g with the given scopes
// and audience. s.st.mu must be held.
func (st *store) mintAccessForLocked(g *grant, scopes, audience []string, now time.Time) (string, time.Time) {
	tok := randomToken()
	k := tokenKey(tok)
	exp := now.Add(st.accessTTL)
	st.access[k] = &accessToken{grantID: g.id, scopes: scopes, expires: exp, audience: audience}
	g.access[k] = struct{}{}
	return tok, exp
}

// mintRefreshLocked issues a refresh token for g. s.st.mu must be held.
func (st *store) mintRefreshLocked(g *grant, now time.Time) string {
	tok := randomToken()
	k := tokenKey(tok)
	st.refresh[k] = &refreshToken{grantID: g.id, expires: now.Add(st.refreshTTL)}
	g.refresh[k] = struct{}{}
	return tok
}

// revokeGrantLocked revokes every token of the grant with the given id and
// reports whether it existed. s.st.mu must be held.
func (st *store) revokeGrantLocked(id string) bool {
	g, ok := st.grants[id]
	if !ok {
		return false
	}
	for k := range g.access {
		delete(st.access, k)
	}
	for k := range g.refresh {
		delete(st.refresh, k)
	}
	delete(st.grants, id)
	return true
}

// lookupAccess returns the grant and token of a live access token.
func (st *store) lookupAccess(tok string) (*grant, *accessToken, bool) {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.maybeSweepLocked(now)
	k := tokenKey(tok)
	at, ok := st.access[k]
	if !ok || !now.Before(at.expires) {
		return nil, nil, false
	}
	g, ok := st.grants[at.grantID]
	if !ok {
		delete(st.access, k)
		return nil, nil, false
	}
	return g, at, true
}

// RevokeAll invalidates every refresh token issued so far. Access tokens stay
// valid until they expire, as they would at a provider that only tracks
// refresh tokens.
func (s *Server) RevokeAll() {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for k := range s.st.refresh {
		delete(s.st.refresh, k)
	}
	for _, g := range s.st.grants {
		clear(g.refresh)
	}
	s.log.Info("devop: all refresh tokens revoked")
}

// maybeSweepLocked drops expired entries at most once per sweepInterval, so
// that memory stays bounded under load. s.st.mu must be held.
func (st *store) maybeSweepLocked(now time.Time) {
	if now.Sub(st.lastSweep) < sweepInterval && !now.Before(st.lastSweep) {
		return
	}
	st.lastSweep = now
	for k, c := range st.codes {
		if !now.Before(c.forget) {
			delete(st.codes, k)
		}
	}
	for k, t := range st.access {
		if !now.Before(t.expires) {
			delete(st.access, k)
			if g, ok := st.grants[t.grantID]; ok {
				delete(g.access, k)
			}
		}
	}
	for k, t := range st.refresh {
		if !now.Before(t.expires) {
			delete(st.refresh, k)
			if g, ok := st.grants[t.grantID]; ok {
				delete(g.refresh, k)
			}
		}
	}
	for id, g := range st.grants {
		if len(g.access) == 0 && len(g.refresh) == 0 {
			delete(st.grants, id)
		}
	}
}
