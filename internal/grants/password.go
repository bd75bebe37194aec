package grants

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Errors of Password.Login. Callers branch on them with errors.Is.
var (
	// ErrInvalidCredentials: the AS refused the user name and password.
	// The fetch function wraps it around the AS's invalid_grant.
	ErrInvalidCredentials = errors.New("grants: invalid user name or password")
	// ErrRateLimited: too many refused passwords for this user name
	// recently; a *RateLimitError carries when to retry.
	ErrRateLimited = errors.New("grants: too many failed logins")
)

// RateLimitError is returned while a user name is blocked.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v; retry after %v", ErrRateLimited, e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Defaults of PasswordOptions.
const (
	// DefaultMaxFailures is how many refused passwords a user name may have
	// within DefaultFailureWindow.
	DefaultMaxFailures = 5
	// DefaultFailureWindow is the period over which failures count; a
	// blocked user name is free again when it ends.
	DefaultFailureWindow = 15 * time.Minute
	// DefaultPasswordLifetime is how long a result without an expiry is
	// reused.
	DefaultPasswordLifetime = 5 * time.Minute
)

// PasswordOptions configures a Password.
type PasswordOptions[T any] struct {
	// Fetch makes the password grant and returns its result and when it
	// expires (zero: unknown). It wraps ErrInvalidCredentials around a
	// refusal of the credentials. Required.
	Fetch func(ctx context.Context, username, password string) (T, time.Time, error)
	// MaxEntries bounds the cache of results and the table of failures
	// (default DefaultMaxEntries each).
	MaxEntries int
	// MaxFailures refused passwords within FailureWindow block a user name
	// until the window ends (defaults DefaultMaxFailures,
	// DefaultFailureWindow). User names are compared case-insensitively.
	MaxFailures   int
	FailureWindow time.Duration
	// RefreshBefore stops reusing a result this long before its token
	// expires (default DefaultRefreshBefore, or half its lifetime when
	// shorter); Lifetime is how long one without an expiry is reused
	// (default DefaultPasswordLifetime).
	RefreshBefore time.Duration
	Lifetime      time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Password runs the resource owner password grant for requests that carry
// HTTP Basic credentials, and reuses the result while its token is valid.
// It keeps neither the password nor a plain hash of it: results are found
// by an HMAC of the user name and password under a random per-process key.
// Refused passwords are counted per user name; after MaxFailures within
// FailureWindow every attempt for that name is refused, right passwords
// included (otherwise a cached result would confirm a guess), until the
// window ends. It is safe for concurrent use.
type Password[T any] struct {
	opts     PasswordOptions[T]
	key      []byte
	cache    *cache[T]
	failures failures
}

// NewPassword returns a Password for opts.
func NewPassword[T any](opts PasswordOptions[T]) *Password[T] {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = DefaultFailureWindow
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = DefaultRefreshBefore
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultPasswordLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Password[T]{
		opts:     opts,
		key:      newKey(),
		cache:    newCache[T](opts.MaxEntries, opts.Now),
		failures: failures{max: opts.MaxEntries, byName: map[string]*failureCount{}},
	}
}

// Login returns the result for username and password: the cached one, or a
// new grant's. It fails with a *RateLimitError while the user name is
// blocked, and with an error wrapping ErrInvalidCredentials when the AS
// refuses the credentials.
func (p *Password[T]) Login(ctx context.Context, username, password string) (T, error) {
	var zero T
	name := strings.ToLower(username)
	now := p.opts.Now()
	if wait := p.failures.blocked(name, now, p.opts.MaxFailures, p.opts.FailureWindow); wait > 0 {
		return zero, &RateLimitError{RetryAfter: wait}
	}
	val, err := p.cache.get(ctx, keyedHash(p.key, username, password), func(ctx context.Context) (T, time.Time, error) {
		v, expiry, err := p.opts.Fetch(ctx, username, password)
		if err != nil {
			return v, time.Time{}, err
		}
		_, useUntil := validity(p.opts.Now(), expiry, p.opts.RefreshBefore, p.opts.Lifetime)
		return v, useUntil, nil
	})
	if errors.Is(err, ErrInvalidCredentials) {
		p.failures.add(name, p.opts.Now(), p.opts.FailureWindow)
	}
	if err != nil {
		return zero, err
	}
	return val, nil
}

// failures counts refused passwords per user name in fixed windows.
type failures struct {
	max    int
	mu     sync.Mutex
	byName map[string]*failureCount
}

type failureCount struct {
	n     int
	since time.Time // the window's start
}

// blocked returns how long name stays blocked, or 0.
func (f *failures) blocked(name string, now time.Time, max int, window time.Duration) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.byName[name]
	if !ok {
		return 0
	}
	end := c.since.Add(window)
	if !now.Before(end) {
		delete(f.byName, name)
		return 0
	}
	if c.n < max {
		return 0
	}
	return end.Sub(now)
}

// add counts a failure for name. When the table is full, ended windows are
// dropped, then the oldest.
func (f *failures) add(name string, now time.Time, window time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.byName[name]
	if ok && !now.Before(c.since.Add(window)) {
		ok = false
	}
	if !ok {
		if len(f.byName) >= f.max {
			f.evictLocked(now, window)
		}
		c = &failureCount{since: now}
		f.byName[name] = c
	}
	c.n++
}

func (f *failures) evictLocked(now time.Time, window time.Duration) {
	var oldest string
	for name, c := range f.byName {
		if !now.Before(c.since.Add(window)) {
			delete(f.byName, name)
		} else if oldest == "" || c.since.Before(f.byName[oldest].since) {
			oldest = name
		}
	}
	if len(f.byName) >= f.max && oldest != "" {
		delete(f.byName, oldest)
	}
}
