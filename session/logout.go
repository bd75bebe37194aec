package session

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoIndex is returned when the store keeps no index (it does not
// implement Indexer), so sessions cannot be found by subject or OP session.
var ErrNoIndex = errors.New("session: the store keeps no session index")

// EndBySubject ends every session of subject sub at issuer iss, on every
// replica (the records are deleted from the shared store), and returns how
// many were ended.
//
// With the cookie store, the subject's cookie sessions are recorded as
// revoked (they cannot be counted) and the count is of the server-side
// sessions (the REST flow API's).
func (m *Manager) EndBySubject(ctx context.Context, iss, sub string) (int, error) {
	if m.cookies != nil {
		if err := m.cookies.endInCookies(ctx, revokedSubKey(iss, sub)); err != nil {
			return 0, err
		}
	}
	return m.endIndexed(ctx, SubjectIndexKey(iss, sub))
}

// EndBySID ends every session of the OP session sid at issuer iss.
func (m *Manager) EndBySID(ctx context.Context, iss, sid string) (int, error) {
	if m.cookies != nil {
		if err := m.cookies.endInCookies(ctx, revokedSIDKey(iss, sid)); err != nil {
			return 0, err
		}
	}
	return m.endIndexed(ctx, SIDIndexKey(iss, sid))
}

func (m *Manager) endIndexed(ctx context.Context, key string) (int, error) {
	ix, ok := m.store.(Indexer)
	if !ok {
		return 0, ErrNoIndex
	}
	ids, err := ix.Members(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("session: read index: %w", err)
	}
	n := 0
	for _, id := range ids {
		if err := m.deleteID(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	if len(ids) > 0 {
		if err := ix.RemoveFromSet(ctx, key, ids...); err != nil {
			return n, fmt.Errorf("session: update index: %w", err)
		}
	}
	return n, nil
}

// deleteID removes the record of session id (its other index entries expire
// with it or are removed when found stale) and drops it from every
// replica's session cache.
func (m *Manager) deleteID(ctx context.Context, id string) error {
	err := m.store.Delete(ctx, sessionKey(id))
	if ierr := m.invalidate(ctx, id); err == nil && ierr != nil {
		err = ierr
	}
	if err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}
