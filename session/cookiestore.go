package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The cookie store (Options.CookieStore) keeps a browser's session in its
// cookies (cookieseal.go, cookiechunks.go). What cannot live in a cookie
// stays in the Manager's Store, which is then small: the memory of this
// replica, or Redis when [session.redis] is configured.
//
//   - Revocations: a cookie cannot be deleted from the server, so sign-out,
//     a refused refresh, back-channel logout and `gatehouse sessions revoke`
//     record the session ID, or the (issuer, sid) or (issuer, subject) with
//     the time of the logout, for as long as the session could still live.
//     Every Load checks them (once per cache period).
//   - Refresh grace: when one request of a browser refreshes the tokens, the
//     browser's other requests already under way still carry the old
//     cookie, and the AS may refuse the old refresh token (rotation with
//     reuse detection, which may also revoke the new one). The refreshed
//     record is kept for refreshGrace under a digest of the old refresh
//     token and the session ID, and a request with the old cookie takes it
//     (and its response writes the new cookie) instead of refreshing again.
//     Within one replica the refresh is also single-flight; across replicas
//     only with Redis, which holds the lock and the grace record.
//   - The REST flow API's sessions (bearer session tokens, which cannot be
//     rewritten) are server-side records in the Store, as with the other
//     stores (Manager.CreateStored).
const (
	prefixRevoked = "v:" // a revocation (cookie store)
	prefixGrace   = "g:" // a refreshed record, by its predecessor (cookie store)
	// revokedAll is announced after a revocation by sid or subject: every
	// replica empties its session cache.
	revokedAll = prefixRevoked + "*"
)

// refreshGrace is how long a browser's requests that still carry the cookie
// of before a refresh get the refreshed session instead of refreshing again.
const refreshGrace = 2 * time.Minute

// cookieMode is the Manager's cookie store.
type cookieMode struct {
	m      *Manager
	sealer *sealer
}

func revokedIDKey(id string) string        { return prefixRevoked + "id:" + id }
func revokedSubKey(iss, sub string) string { return prefixRevoked + "sub:" + digest(iss, sub) }
func revokedSIDKey(iss, sid string) string { return prefixRevoked + "sid:" + digest(iss, sid) }
func graceKey(id, refreshToken string) string {
	return prefixGrace + digest("grace", id, refreshToken)
}

// revoke records key as revoked now, for ttl.
func (cm *cookieMode) revoke(ctx context.Context, key string, ttl time.Duration) error {
	m := cm.m
	if ttl <= 0 {
		return nil
	}
	v := strconv.FormatInt(m.now().Unix(), 10)
	if err := m.store.Set(ctx, key, []byte(v), ttl); err != nil {
		return fmt.Errorf("session: record revocation: %w", err)
	}
	return nil
}

// revoked reports whether a cookie session was ended: its ID, or its OP
// session or subject at or after its creation.
func (cm *cookieMode) revoked(ctx context.Context, s *Session) (bool, error) {
	m := cm.m
	keys := []string{revokedIDKey(s.ID), revokedSubKey(s.Issuer, s.Subject)}
	if s.SID != "" {
		keys = append(keys, revokedSIDKey(s.Issuer, s.SID))
	}
	for i, k := range keys {
		v, err := m.store.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("session: read revocations: %w", err)
		}
		if i == 0 {
			return true, nil
		}
		at, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || s.CreatedAt <= at { // a login after the revocation stands
			return true, nil
		}
	}
	return false, nil
}

// endInCookies ends every cookie session of an OP session or subject (key,
// a revokedSIDKey or revokedSubKey) on every replica that shares the store.
func (cm *cookieMode) endInCookies(ctx context.Context, key string) error {
	m := cm.m
	if err := cm.revoke(ctx, key, m.lifetime); err != nil {
		return err
	}
	m.cache.dropAll()
	m.announce(ctx, revokedAll)
	return nil
}

// graceGet returns the record that replaced s by a refresh of s's refresh
// token, if one is kept, or nil.
func (cm *cookieMode) graceGet(ctx context.Context, s *Session) (*Session, error) {
	if s.RefreshToken == "" {
		return nil, nil
	}
	v, err := cm.m.store.Get(ctx, graceKey(s.ID, s.RefreshToken))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: read refresh grace: %w", err)
	}
	ticket := string(v)
	next, _, err := cm.sealer.openSession(ticket)
	if err != nil || next.ID != s.ID {
		return nil, nil
	}
	next.inCookie, next.sealed = true, ticket
	return next, nil
}

// gracePut keeps cur, refreshed from oldRefreshToken, for refreshGrace.
func (cm *cookieMode) gracePut(ctx context.Context, oldRefreshToken string, cur *Session) {
	if oldRefreshToken == "" || cur.sealed == "" {
		return
	}
	if err := cm.m.store.Set(ctx, graceKey(cur.ID, oldRefreshToken), []byte(cur.sealed), refreshGrace); err != nil {
		cm.m.logger.Warn("refresh grace record not kept", "error", err)
	}
}
