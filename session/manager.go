package session

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Options configures a Manager. The zero value of every optional field is the
// documented default.
type Options struct {
	// Store holds the sealed records. Required.
	Store Store
	// Secret is the cookie secret (32 bytes). Keys for the ticket MAC, the
	// flow binding and the cookie store's seal are derived from it with
	// HKDF-SHA256. Required.
	Secret []byte
	// PreviousSecrets are earlier cookie secrets (key rotation): tickets
	// and cookie records made under them are still accepted, and a cookie
	// record is sealed again under Secret on its next write.
	PreviousSecrets [][]byte
	// CookieStore keeps browser sessions in their cookies, sealed
	// (cookieseal.go); Store then holds only revocations, refresh grace
	// records, pending flows, locks and the REST flow API's sessions
	// (cookiestore.go).
	CookieStore bool
	// KeepIDToken makes the cookie store refuse a session too large for the
	// cookies (ErrCookieTooLarge) rather than drop its ID token to fit: set
	// when an upstream receives the ID token (pass_id_token), which would
	// otherwise silently go without it.
	KeepIDToken bool
	// CookieName is the session cookie's name (default "gatehouse"). When
	// Secure is set it gets the "__Host-" prefix.
	CookieName string
	// Secure marks cookies Secure (set when the public URL is https).
	Secure bool
	// CookieDomain, when set, is the session cookie's Domain attribute: the
	// cookie then reaches that domain's subdomains too, and when Secure it
	// gets the "__Secure-" prefix instead of "__Host-" (which forbids a
	// Domain). Empty: a host-only cookie.
	CookieDomain string
	// Lifetime is the absolute session lifetime (default 12h).
	Lifetime time.Duration
	// IdleTimeout ends a session unused for this long (0: no idle timeout).
	IdleTimeout time.Duration
	// CacheMaxAge is how long a decoded session may be served from this
	// replica's memory without reading the store (default
	// DefaultCacheMaxAge, 5s; negative disables the cache). It bounds how
	// long a missed invalidation can go unnoticed; see Run.
	CacheMaxAge time.Duration
	// CacheSize bounds the number of cached sessions (default DefaultCacheSize).
	CacheSize int
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives the warnings of cross-replica coordination (a lock
	// that could not be released, an announcement that failed); nil
	// discards them.
	Logger *slog.Logger
}

// Manager creates, loads, saves and ends sessions, and keeps sealed pending
// authorization flows. It is safe for concurrent use.
type Manager struct {
	Cookies // the session cookie and its ticket (cookie.go)
	Flows   // pending authorization flows (flow.go)

	store     Store
	tickets   *ticketCodec
	lifetime  time.Duration
	idle      time.Duration
	now       func() time.Time
	cache     *cache // nil when disabled
	logger    *slog.Logger
	refreshes singleflight.Group
	waiters   waiters
	cookies   *cookieMode // nil unless Options.CookieStore
}

// NewManager returns a Manager for opts.
func NewManager(opts Options) (*Manager, error) {
	if opts.Store == nil {
		return nil, errors.New("session: a store is required")
	}
	if len(opts.Secret) < 32 {
		return nil, errors.New("session: the cookie secret must be at least 32 bytes")
	}
	m := &Manager{
		Cookies:  Cookies{name: opts.CookieName, domain: opts.CookieDomain, secure: opts.Secure},
		Flows:    Flows{store: opts.Store},
		store:    opts.Store,
		lifetime: opts.Lifetime,
		idle:     opts.IdleTimeout,
		now:      opts.Now,
		cache:    newCache(opts.CacheMaxAge, opts.CacheSize),
	}
	if m.Cookies.name == "" {
		m.Cookies.name = "gatehouse"
	}
	switch {
	case m.Cookies.secure && m.Cookies.domain != "":
		m.Cookies.name = "__Secure-" + m.Cookies.name
	case m.Cookies.secure:
		m.Cookies.name = "__Host-" + m.Cookies.name
	}
	if m.lifetime <= 0 {
		m.lifetime = 12 * time.Hour
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.Flows.now = m.now
	m.logger = opts.Logger
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	var macKeys [][]byte
	for _, sec := range append([][]byte{opts.Secret}, opts.PreviousSecrets...) {
		if len(sec) < 32 {
			return nil, errors.New("session: every cookie secret must be at least 32 bytes")
		}
		k, err := hkdf.Key(sha256.New, sec, nil, "gatehouse ticket mac", 32)
		if err != nil {
			return nil, fmt.Errorf("session: derive key: %w", err)
		}
		macKeys = append(macKeys, k)
	}
	var err error
	if m.Flows.bindingKey, err = hkdf.Key(sha256.New, opts.Secret, nil, "gatehouse flow binding", 32); err != nil {
		return nil, fmt.Errorf("session: derive key: %w", err)
	}
	m.tickets = newTicketCodec(macKeys, m.lifetime)
	m.Cookies.tickets = m.tickets
	if opts.CookieStore {
		sl, err := newSealer(append([][]byte{opts.Secret}, opts.PreviousSecrets...))
		if err != nil {
			return nil, err
		}
		sl.keepIDToken = opts.KeepIDToken
		m.cookies = &cookieMode{m: m, sealer: sl}
		m.Flows.sealer = sl
	}
	return m, nil
}

// Lifetime returns the absolute session lifetime.
func (m *Manager) Lifetime() time.Duration { return m.lifetime }

func sessionKey(id string) string { return prefixSession + id }

// Create makes s a new session with a new ID (never reusing an earlier one:
// no session fixation) and returns the ticket for the user agent (write it
// with SetCookies). With the cookie store the ticket is the sealed record
// (ErrCookieTooLarge when it does not fit in the cookies); otherwise s is
// stored under the new ID and a new key, as CreateStored does.
func (m *Manager) Create(ctx context.Context, s *Session) (string, error) {
	if m.cookies == nil {
		return m.CreateStored(ctx, s)
	}
	id, _, err := newIDAndKey()
	if err != nil {
		return "", err
	}
	now := m.now().Unix()
	s.ID, s.key, s.inCookie = id, nil, true
	s.CreatedAt, s.LastSeen = now, now
	if s.ExpiresAt == 0 || s.ExpiresAt > now+int64(m.lifetime/time.Second) {
		s.ExpiresAt = now + int64(m.lifetime/time.Second)
	}
	if err := m.Save(ctx, s); err != nil {
		return "", err
	}
	if s.sealed == "" { // Save ended it: it was born expired
		return "", ErrNotFound
	}
	return s.sealed, nil
}

// CreateStored stores s in the Store under a new ID and key, whatever the
// store kind, and returns its ticket: the REST flow API's sessions, whose
// bearer tokens cannot be rewritten on a refresh, are always server-side.
func (m *Manager) CreateStored(ctx context.Context, s *Session) (string, error) {
	id, key, err := newIDAndKey()
	if err != nil {
		return "", err
	}
	now := m.now().Unix()
	s.ID, s.key = id, key
	s.CreatedAt, s.LastSeen = now, now
	if s.ExpiresAt == 0 || s.ExpiresAt > now+int64(m.lifetime/time.Second) {
		s.ExpiresAt = now + int64(m.lifetime/time.Second)
	}
	if err := m.Save(ctx, s); err != nil {
		return "", err
	}
	if err := m.index(ctx, s); err != nil {
		return "", err
	}
	return m.tickets.encode(id, key)
}

// Ticket returns the ticket of a loaded or created session.
func (m *Manager) Ticket(s *Session) (string, error) {
	if s.inCookie {
		if s.sealed != "" {
			return s.sealed, nil
		}
		return m.cookies.sealer.sealSession(s)
	}
	return m.tickets.encode(s.ID, s.key)
}

// Save writes s back to the store, sealed, with an expiry of whichever comes
// first: the absolute end or the idle timeout.
//
// A cookie session is sealed again (under the first cookie secret); the
// new ticket goes out with the response (Cookies.WriteSession).
func (m *Manager) Save(ctx context.Context, s *Session) error {
	if s.key == nil && !s.inCookie {
		return errors.New("session: save: session was not created or loaded")
	}
	s.version = 0 // a new version: what was derived from the old one no longer holds
	ttl := m.ttl(s)
	if ttl <= 0 {
		return m.Delete(ctx, s)
	}
	if s.inCookie {
		t, err := m.cookies.sealer.sealSession(s)
		if errors.Is(err, ErrCookieTooLarge) { // the session cannot go on (a refresh brought larger tokens)
			return fmt.Errorf("%w: %w", err, ErrNotFound)
		}
		if err != nil {
			return err
		}
		s.sealed = t
		if err := m.invalidate(ctx, s.ID); err != nil {
			return fmt.Errorf("session: save: %w", err)
		}
		return nil
	}
	plain, err := encodeRecord(s)
	if err != nil {
		return fmt.Errorf("session: encode: %w", err)
	}
	sealed, err := seal(s.key, sessionKey(s.ID), plain)
	if err != nil {
		return err
	}
	err = m.store.Set(ctx, sessionKey(s.ID), sealed, ttl)
	if ierr := m.invalidate(ctx, s.ID); err == nil && ierr != nil {
		err = ierr
	}
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	return nil
}

func (m *Manager) ttl(s *Session) time.Duration {
	now := m.now()
	ttl := time.Unix(s.ExpiresAt, 0).Sub(now)
	if m.idle > 0 {
		if idleEnd := time.Unix(s.LastSeen, 0).Add(m.idle).Sub(now); idleEnd < ttl {
			ttl = idleEnd
		}
	}
	return ttl
}

// Load returns the session named by ticket. It returns ErrNotFound when the
// ticket is invalid or the session ended, and an error wrapping
// ErrUnavailable when the store cannot be reached.
//
// While Run runs, a session read in the last CacheMaxAge is served from
// memory (its lifetime and idle timeout are checked all the same). The
// returned Session is the caller's to modify, except its Claims map, which
// may be shared with other callers: replace it, never modify it in place.
func (m *Manager) Load(ctx context.Context, ticket string) (*Session, error) {
	now := m.now()
	if s := m.cache.get(ticket, now); s != nil {
		if !m.live(s, now) {
			return nil, ErrNotFound
		}
		return s, nil
	}
	gen := m.cache.generation()
	if isCookieTicket(ticket) {
		if m.cookies == nil {
			return nil, ErrNotFound
		}
		s, err := m.loadCookie(ctx, ticket)
		if err != nil {
			return nil, err
		}
		m.cache.put(ticket, s, gen, now)
		return s, nil
	}
	id, key, err := m.tickets.decode(ticket)
	if err != nil {
		return nil, ErrNotFound
	}
	s, err := m.load(ctx, id, key)
	if err != nil {
		return nil, err
	}
	m.cache.put(ticket, s, gen, now)
	return s, nil
}

func (m *Manager) load(ctx context.Context, id string, key []byte) (*Session, error) {
	sealed, err := m.store.Get(ctx, sessionKey(id))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("session: load: %w", err)
	}
	plain, err := open(key, sessionKey(id), sealed)
	if err != nil {
		return nil, ErrNotFound
	}
	s := &Session{}
	if err := decodeRecord(plain, s); err != nil {
		return nil, ErrNotFound
	}
	s.ID, s.key = id, key
	if !m.live(s, m.now()) {
		return nil, ErrNotFound
	}
	return s, nil
}

// loadCookie opens a cookie session, checks its lifetime and the
// revocations, and seals it again when an older secret opened it.
func (m *Manager) loadCookie(ctx context.Context, ticket string) (*Session, error) {
	s, stale, err := m.cookies.sealer.openSession(ticket)
	if err != nil {
		return nil, ErrNotFound
	}
	s.inCookie = true
	if !m.live(s, m.now()) {
		return nil, ErrNotFound
	}
	revoked, err := m.cookies.revoked(ctx, s)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, ErrNotFound
	}
	if stale {
		if err := m.Save(ctx, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// live reports whether s is within its absolute lifetime and idle timeout.
func (m *Manager) live(s *Session, now time.Time) bool {
	return now.Unix() < s.ExpiresAt && (m.idle <= 0 || now.Sub(time.Unix(s.LastSeen, 0)) < m.idle)
}

// Touch records activity for the idle timeout. It writes only when the last
// recorded activity is older than a tenth of the idle timeout, so most
// requests cost no write.
func (m *Manager) Touch(ctx context.Context, s *Session) error {
	if m.idle <= 0 {
		return nil
	}
	now := m.now()
	if now.Sub(time.Unix(s.LastSeen, 0)) < m.idle/10 {
		return nil
	}
	s.LastSeen = now.Unix()
	return m.Save(ctx, s)
}

// Delete ends s in the store. A cookie session is recorded as revoked for
// the rest of its lifetime (the caller also clears the cookies it can reach).
func (m *Manager) Delete(ctx context.Context, s *Session) error {
	if s.inCookie {
		err := m.cookies.revoke(ctx, revokedIDKey(s.ID), time.Unix(s.ExpiresAt, 0).Sub(m.now()))
		if ierr := m.invalidate(ctx, s.ID); err == nil && ierr != nil {
			err = ierr
		}
		if err != nil {
			return fmt.Errorf("session: delete: %w", err)
		}
		return nil
	}
	err := m.store.Delete(ctx, sessionKey(s.ID))
	if ierr := m.invalidate(ctx, s.ID); err == nil && ierr != nil {
		err = ierr
	}
	if err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	if ix, ok := m.store.(Indexer); ok {
		for _, k := range indexKeys(s) {
			if err := ix.RemoveFromSet(ctx, k, s.ID); err != nil {
				return fmt.Errorf("session: delete index: %w", err)
			}
		}
	}
	return nil
}

// index records s under its OP session ID and subject so that a back-channel
// logout can find it on any replica.
func (m *Manager) index(ctx context.Context, s *Session) error {
	ix, ok := m.store.(Indexer)
	if !ok {
		return nil
	}
	ttl := m.ttl(s)
	if m.idle > 0 { // the index must outlive every session it names
		ttl = time.Unix(s.ExpiresAt, 0).Sub(m.now())
	}
	for _, k := range indexKeys(s) {
		if err := ix.AddToSet(ctx, k, s.ID, ttl); err != nil {
			return fmt.Errorf("session: index: %w", err)
		}
	}
	return nil
}

func indexKeys(s *Session) []string {
	keys := []string{SubjectIndexKey(s.Issuer, s.Subject)}
	if s.SID != "" {
		keys = append(keys, SIDIndexKey(s.Issuer, s.SID))
	}
	return keys
}

// SubjectIndexKey names the set of session IDs of subject sub at issuer iss.
func SubjectIndexKey(iss, sub string) string { return prefixIndex + "sub:" + digest(iss, sub) }

// SIDIndexKey names the set of session IDs of the OP session sid at issuer iss.
func SIDIndexKey(iss, sid string) string { return prefixIndex + "sid:" + digest(iss, sid) }

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// Reload reads s again from the store (for example after waiting for another
// request's refresh). It returns ErrNotFound when the session ended. A
// cookie session is the record that replaced it by a refresh (the refresh
// grace, cookiestore.go), or else a copy of s.
func (m *Manager) Reload(ctx context.Context, s *Session) (*Session, error) {
	if s.inCookie {
		next, err := m.cookies.graceGet(ctx, s)
		if err != nil || next != nil {
			return next, err
		}
		cp := *s
		return &cp, nil
	}
	return m.load(ctx, s.ID, s.key)
}

// cookieValue returns the value of the first cookie called name in h's
// Cookie lines, as (*http.Request).Cookie would, without parsing the other
// cookies. A value that is not a valid cookie value is returned as it is:
// it is a ticket only if its MAC verifies.
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || n != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}
