package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

// set is a set of members that expires as a whole, like a Redis set with a TTL.
type set struct {
	members map[string]struct{}
	expires time.Time
}

// AddToSet adds member to the set at key and extends the set's expiry to at
// least ttl from now (it never shortens it); ttl must be positive.
func (s *Store) AddToSet(_ context.Context, key, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memstore: add to set: ttl %v is not positive", ttl)
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: add to set: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	st, ok := s.sets[key]
	if !ok || !now.Before(st.expires) {
		st = &set{members: make(map[string]struct{})}
		s.sets[key] = st
	}
	st.members[member] = struct{}{}
	if exp := now.Add(ttl); exp.After(st.expires) {
		st.expires = exp
	}
	s.wroteLocked(now)
	return nil
}

// Members returns the members of the set at key in lexical order, or an empty
// slice when the set is missing or expired.
func (s *Store) Members(_ context.Context, key string) ([]string, error) {
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memstore: members: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	st, ok := s.sets[key]
	if !ok || !now.Before(st.expires) {
		return []string{}, nil
	}
	return slices.Sorted(maps.Keys(st.members)), nil
}

// RemoveFromSet removes members from the set at key. A set left empty is
// deleted, as in Redis.
func (s *Store) RemoveFromSet(_ context.Context, key string, members ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: remove from set: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	st, ok := s.sets[key]
	if !ok {
		return nil
	}
	for _, m := range members {
		delete(st.members, m)
	}
	if len(st.members) == 0 {
		delete(s.sets, key)
	}
	return nil
}
