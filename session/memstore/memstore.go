// Package memstore is an in-memory session store for a single gateway process:
// development, tests and deployments with one replica. It implements
// session.Store, session.Indexer, session.Locker and session.Notifier; its
// locks and notifications reach only the goroutines of the process that holds
// the Store. Use session/redisstore when more than one replica serves users.
//
// Expired entries are dropped lazily: a read never returns them, and a sweep
// that runs inline with writes (no background goroutine) reclaims their memory.
// No operation waits on anything but a mutex, so the contexts they take are
// not consulted, except by Subscribe.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

var (
	_ session.Store    = (*Store)(nil)
	_ session.Indexer  = (*Store)(nil)
	_ session.Locker   = (*Store)(nil)
	_ session.Notifier = (*Store)(nil)
)

// minSweepWrites is the least number of writes between two sweeps. Between
// sweeps, a sweep runs once the writes since the last one reach the number of
// entries it left, so its cost is amortized O(1) per write and expired entries
// hold at most about as much memory as live ones.
const minSweepWrites = 1024

var (
	// errClosed is wrapped by every operation after Close.
	errClosed = errors.New("memstore: store closed")
	// errGetNotFound is Get's miss, made once: a miss must cost no allocation.
	errGetNotFound = fmt.Errorf("memstore: get: %w", session.ErrNotFound)
)

// Store is an in-memory session store, safe for concurrent use. The zero value
// is not usable: create one with New.
type Store struct {
	mu      sync.RWMutex
	closed  bool
	items   map[string]item
	sets    map[string]*set
	locks   map[string]lock
	lockSeq uint64 // last lock token handed out

	writes    int // writes since the last sweep
	sweepNext int // writes that trigger the next sweep

	notify notifier
}

type item struct {
	value   []byte
	expires time.Time
}

// New returns an empty Store. It starts no goroutine; Close only marks it closed.
func New() *Store {
	return &Store{
		items:     make(map[string]item),
		sets:      make(map[string]*set),
		locks:     make(map[string]lock),
		sweepNext: minSweepWrites,
		notify:    notifier{done: make(chan struct{}), subs: make(map[*subscriber]struct{})},
	}
}

// Get returns the value of key, or an error that wraps session.ErrNotFound.
//
// The returned slice is shared with the store and with other callers of Get:
// the caller MUST NOT modify it. Values are never changed in place (Set
// stores a copy and replaces it as a whole), so reading it needs no lock.
func (s *Store) Get(_ context.Context, key string) ([]byte, error) {
	now := time.Now()
	s.mu.RLock()
	it, ok := s.items[key]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, fmt.Errorf("memstore: get: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	if !ok || !now.Before(it.expires) {
		return nil, errGetNotFound
	}
	return it.value, nil
}

// Set stores a copy of value under key for ttl, which must be positive.
func (s *Store) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memstore: set: ttl %v is not positive", ttl)
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{} // Get of an empty value returns a non-nil slice, as Redis does.
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: set: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	s.items[key] = item{value: v, expires: now.Add(ttl)}
	s.wroteLocked(now)
	return nil
}

// Take atomically returns and deletes the value of key, or returns an error that
// wraps session.ErrNotFound. Of concurrent callers, exactly one gets the value.
// The caller owns the returned slice.
func (s *Store) Take(_ context.Context, key string) ([]byte, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("memstore: take: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	it, ok := s.items[key]
	if !ok {
		return nil, fmt.Errorf("memstore: take: %w", session.ErrNotFound)
	}
	delete(s.items, key)
	if !now.Before(it.expires) {
		return nil, fmt.Errorf("memstore: take: %w", session.ErrNotFound)
	}
	return it.value, nil
}

// Delete removes keys; missing keys are not an error.
func (s *Store) Delete(_ context.Context, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: delete: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	for _, k := range keys {
		delete(s.items, k)
	}
	return nil
}

// Ping reports whether the store is usable: nil until Close.
func (s *Store) Ping(context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("memstore: ping: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	return nil
}

// Close drops every entry, ends every Subscribe call and makes every later
// operation fail with an error that wraps session.ErrUnavailable. Closing a
// closed Store is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.items, s.sets, s.locks = nil, nil, nil
	s.notify.close()
	return nil
}

// wroteLocked counts a write and sweeps when enough writes have accumulated.
// s.mu must be held for writing.
func (s *Store) wroteLocked(now time.Time) {
	s.writes++
	if s.writes < s.sweepNext {
		return
	}
	s.sweepLocked(now)
}

// sweepLocked deletes every expired entry. s.mu must be held for writing.
func (s *Store) sweepLocked(now time.Time) {
	for k, it := range s.items {
		if !now.Before(it.expires) {
			delete(s.items, k)
		}
	}
	for k, st := range s.sets {
		if !now.Before(st.expires) {
			delete(s.sets, k)
		}
	}
	for k, l := range s.locks {
		if !now.Before(l.expires) {
			delete(s.locks, k)
		}
	}
	s.writes = 0
	s.sweepNext = max(minSweepWrites, len(s.items)+len(s.sets)+len(s.locks))
}
