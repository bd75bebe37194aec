package memstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

// lock is a held lock: the token of its holder and when it lapses.
type lock struct {
	token   uint64
	expires time.Time
}

// TryLock takes the lock at key for ttl (positive) if no one holds it or its
// holder's ttl has passed. ok is false when another caller holds it. unlock
// releases the lock only if this caller still holds it: once ttl has passed
// and another caller has taken the lock, unlock leaves that caller's lock in
// place. unlock returns nil in both cases, and may be called more than once.
//
// The lock excludes only the goroutines of this process.
func (s *Store) TryLock(_ context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error) {
	if ttl <= 0 {
		return nil, false, fmt.Errorf("memstore: try lock: ttl %v is not positive", ttl)
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, fmt.Errorf("memstore: try lock: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	if l, held := s.locks[key]; held && now.Before(l.expires) {
		return nil, false, nil
	}
	s.lockSeq++
	token := s.lockSeq
	s.locks[key] = lock{token: token, expires: now.Add(ttl)}
	s.wroteLocked(now)
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if l, held := s.locks[key]; held && l.token == token {
			delete(s.locks, key)
		}
		return nil
	}, true, nil
}
