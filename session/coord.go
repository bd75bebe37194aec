package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Backend is everything the gateway's stores provide (session/memstore,
// session/redisstore): values, index sets, locks and notifications. A
// Manager uses whichever of these its Store implements.
type Backend interface {
	Store
	Indexer
	Locker
	Notifier
}

// RefreshTimeout bounds one refresh (Manager.Refresh), independent of the
// request that asked for it: other requests may be waiting on it.
const RefreshTimeout = 15 * time.Second

// refreshLockTTL bounds how long one replica may hold a session's refresh
// lock; a waiter on another replica gives up waiting after it.
const refreshLockTTL = RefreshTimeout + 5*time.Second

// ErrRefreshBusy is returned by Refresh when another replica kept the
// session's refresh lock and no fresh tokens appeared.
var ErrRefreshBusy = errors.New("session: refresh lock busy")

// ErrNoReplayMemory is returned by FirstUse when the store cannot remember
// IDs across replicas (it is not a Locker).
var ErrNoReplayMemory = fmt.Errorf("session: the store cannot remember single-use IDs: %w", errors.ErrUnsupported)

// Refresh renews s's tokens exactly once across this process and every
// replica, and returns the session as it is afterwards. stale reports
// whether a version of the session needs renewing; renew renews cur (the
// session re-read from the store under the lock) in place, and the Manager
// saves it. A renew error wrapping ErrNotFound means renew ended the
// session. Concurrent callers for one session share one call (waiting
// follows each caller's ctx; the call itself runs for up to RefreshTimeout).
// When the store is a Locker, the replica that takes the session's lock
// renews and announces it; the others wait for the announcement (delivered
// by Run) or the lock's expiry, and re-read the session.
func (m *Manager) Refresh(ctx context.Context, s *Session, stale func(*Session) bool, renew func(context.Context, *Session) error) (*Session, error) {
	ch := m.refreshes.DoChan(s.ID, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RefreshTimeout)
		defer cancel()
		return m.refreshOnce(rctx, s, stale, renew)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Session), nil
	}
}

func (m *Manager) refreshOnce(ctx context.Context, s *Session, stale func(*Session) bool, renew func(context.Context, *Session) error) (*Session, error) {
	lk, ok := m.store.(Locker)
	if !ok {
		return m.refreshHeld(ctx, s, stale, renew)
	}
	for range 2 {
		woken, cancel := m.waiters.add(s.ID)
		unlock, ok, err := lk.TryLock(ctx, prefixLock+s.ID, refreshLockTTL)
		if err != nil {
			cancel()
			return nil, err
		}
		if ok {
			cancel()
			cur, err := m.refreshHeld(ctx, s, stale, renew)
			if err == nil || errors.Is(err, ErrNotFound) {
				m.announce(ctx, prefixRefreshed+s.ID)
			}
			if uerr := unlock(context.WithoutCancel(ctx)); uerr != nil {
				m.logger.Warn("refresh lock release failed", "error", uerr)
			}
			return cur, err
		}
		t := time.NewTimer(refreshLockTTL)
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cur, err := m.Reload(ctx, s)
		if err != nil {
			return nil, err
		}
		if !stale(cur) {
			return cur, nil
		}
	}
	return nil, ErrRefreshBusy
}

// refreshHeld re-reads the session (another request may have refreshed it
// meanwhile), renews it if it is still stale, and saves it. The caller holds
// the refresh lock.
func (m *Manager) refreshHeld(ctx context.Context, s *Session, stale func(*Session) bool, renew func(context.Context, *Session) error) (*Session, error) {
	cur, err := m.Reload(ctx, s)
	if err != nil {
		return nil, err
	}
	if !stale(cur) {
		return cur, nil
	}
	oldRefresh := cur.RefreshToken
	if err := renew(ctx, cur); err != nil {
		return nil, err
	}
	if err := m.Save(ctx, cur); err != nil {
		return nil, err
	}
	if cur.inCookie {
		m.cookies.gracePut(ctx, oldRefresh, cur)
	}
	return cur, nil
}

// announce publishes key to every replica, if the store is a Notifier.
func (m *Manager) announce(ctx context.Context, key string) {
	n, ok := m.store.(Notifier)
	if !ok {
		return
	}
	if err := n.Publish(context.WithoutCancel(ctx), key); err != nil {
		m.logger.Warn("refresh announcement failed", "error", err)
	}
}

// FirstUse reports whether id, in namespace, is seen for the first time by
// any replica, and remembers it for ttl: replay detection for single-use
// IDs such as a logout token's jti (namespace: its issuer). It returns
// ErrNoReplayMemory when the store cannot remember IDs.
func (m *Manager) FirstUse(ctx context.Context, namespace, id string, ttl time.Duration) (bool, error) {
	lk, ok := m.store.(Locker)
	if !ok {
		return false, ErrNoReplayMemory
	}
	h := sha256.Sum256([]byte(namespace + "\x00" + id))
	_, fresh, err := lk.TryLock(ctx, prefixFirstUse+base64.RawURLEncoding.EncodeToString(h[:18]), ttl)
	if err != nil {
		return false, fmt.Errorf("session: first use: %w", err)
	}
	return fresh, nil
}

// waiters are the Refresh calls of this replica waiting for another
// replica to finish refreshing a session. Run wakes them when the
// announcement arrives; otherwise they give up when the lock expires.
type waiters struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]struct{}
}

// add registers a waiter for session id. Register before trying the lock, so
// a notification sent in between is not missed.
func (w *waiters) add(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[string]map[chan struct{}]struct{})
	}
	if w.m[id] == nil {
		w.m[id] = make(map[chan struct{}]struct{})
	}
	w.m[id][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		if set := w.m[id]; set != nil {
			delete(set, ch)
			if len(set) == 0 {
				delete(w.m, id)
			}
		}
		w.mu.Unlock()
	}
}

// wake releases every waiter of session id.
func (w *waiters) wake(id string) {
	w.mu.Lock()
	set := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	for ch := range set {
		close(ch)
	}
}
