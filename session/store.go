// Package session keeps the gateway's server-side sessions: the Session record
// (identity and tokens), the opaque cookie ticket that names it, and the Store
// interface that holds sealed (AES-GCM encrypted) records.
//
// A Store only ever sees ciphertext: the key that opens a record lives in the
// user's ticket, so a dump of the store alone reveals no token. Short-lived
// values such as pending authorization flows are sealed under a key derived
// from a secret only the user agent and the authorization server know (the
// OAuth state).
package session

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a key does not exist or has expired.
var ErrNotFound = errors.New("session: not found")

// ErrUnavailable wraps errors of a store that cannot be reached. Callers fail
// closed (503), they never treat it as "not logged in".
var ErrUnavailable = errors.New("session: store unavailable")

// Store holds opaque values with an expiry. Implementations: session/memstore
// (one process) and session/redisstore (standalone, Sentinel, Cluster).
// Keys are built by this package and are single-slot in Redis Cluster: no
// operation spans two keys.
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl (ttl > 0).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Take atomically returns and deletes the value of key (single use), or ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// Indexer keeps sets of members with an expiry, used to find every session of
// an OP session (sid) or of a subject (sub) for back-channel logout.
type Indexer interface {
	// AddToSet adds member to the set at key and extends its expiry to at least ttl.
	AddToSet(ctx context.Context, key, member string, ttl time.Duration) error
	// Members returns the members of the set at key (empty when missing).
	Members(ctx context.Context, key string) ([]string, error)
	// RemoveFromSet removes members from the set at key.
	RemoveFromSet(ctx context.Context, key string, members ...string) error
}

// Locker provides a short exclusive lock shared by all replicas (refresh single-flight).
type Locker interface {
	// TryLock takes the lock at key for ttl if it is free and returns an unlock
	// function that releases it only if it is still held by this caller
	// (token-checked). ok is false when another holder has it.
	TryLock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error)
}

// Notifier broadcasts invalidations to every replica (local caches drop the key).
type Notifier interface {
	// Publish announces that key changed or was deleted.
	Publish(ctx context.Context, key string) error
	// Subscribe calls fn with every published key until ctx ends.
	Subscribe(ctx context.Context, fn func(key string)) error
}
