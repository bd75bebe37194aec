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
//
// Attempts are counted per user name (case-insensitively) before the AS is
// asked, and at most one grant per user name is in flight at a time: a
// burst of parallel guesses queues, and once MaxFailures of them were
// refused within FailureWindow every further attempt for that name is
// refused, right passwords included (otherwise a cached result would
// confirm a guess), until the window ends. So the AS sees at most
// MaxFailures wrong passwords per name and window however the guesses are
// timed. It is safe for concurrent use.
type Password[T any] struct {
	opts     PasswordOptions[T]
	key      []byte
	cache    *cache[T]
	failures failures
	slots    nameSlots
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
		slots:    nameSlots{byName: map[string]*nameSlot{}},
	}
}

// Login returns the result for username and password: the cached one, or a
// new grant's. It fails with a *RateLimitError while the user name is
// blocked, and with an error wrapping ErrInvalidCredentials when the AS
// refuses the credentials. While another Login for the same user name asks
// the AS, it waits for its turn (or for ctx).
func (p *Password[T]) Login(ctx context.Context, username, password string) (T, error) {
	var zero T
	name := strings.ToLower(username)
	if wait := p.failures.blocked(name, p.opts.Now(), p.opts.MaxFailures, p.opts.FailureWindow); wait > 0 {
		return zero, &RateLimitError{RetryAfter: wait}
	}
	release, err := p.slots.acquire(ctx, name)
	if err != nil {
		return zero, err
	}
	// This Login now holds the user name's one slot. The attempt counts as
	// a failure until the AS says otherwise, so the limit holds even for
	// an AS call that outlives its request.
	attempt, wait := p.failures.reserve(name, p.opts.Now(), p.opts.MaxFailures, p.opts.FailureWindow)
	if wait > 0 {
		release()
		return zero, &RateLimitError{RetryAfter: wait}
	}
	key := keyedHash(p.key, username, password)
	if val, ok := p.cache.lookup(key); ok {
		p.failures.cancel(attempt)
		release()
		return val, nil
	}
	type result struct {
		val T
		err error
	}
	done := make(chan result, 1)
	go func() { // holds the slot until the AS answers, even when ctx ends first
		defer release()
		val, expiry, err := p.opts.Fetch(context.WithoutCancel(ctx), username, password)
		switch {
		case err == nil:
			_, useUntil := validity(p.opts.Now(), expiry, p.opts.RefreshBefore, p.opts.Lifetime)
			p.cache.put(key, val, useUntil)
			p.failures.cancel(attempt)
		case !errors.Is(err, ErrInvalidCredentials): // the AS failed, not the password
			p.failures.cancel(attempt)
		}
		done <- result{val, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return zero, res.err
		}
		return res.val, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// nameSlots lets one caller at a time hold a user name. Waiters are served
// in arrival order (a channel's senders queue first in, first out).
type nameSlots struct {
	mu     sync.Mutex
	byName map[string]*nameSlot
}

type nameSlot struct {
	ch   chan struct{} // capacity 1: full while held
	refs int           // holders and waiters
}

// acquire waits for name's slot and returns the function that frees it.
func (s *nameSlots) acquire(ctx context.Context, name string) (release func(), err error) {
	s.mu.Lock()
	sl := s.byName[name]
	if sl == nil {
		sl = &nameSlot{ch: make(chan struct{}, 1)}
		s.byName[name] = sl
	}
	sl.refs++
	s.mu.Unlock()
	select {
	case sl.ch <- struct{}{}:
		return func() { <-sl.ch; s.unref(name, sl) }, nil
	case <-ctx.Done():
		s.unref(name, sl)
		return nil, ctx.Err()
	}
}

func (s *nameSlots) unref(name string, sl *nameSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.refs--; sl.refs == 0 {
		delete(s.byName, name)
	}
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

// reserve counts an attempt for name as a failure, unless name is blocked:
// then it returns how long it stays blocked. cancel takes the attempt back
// when it turns out not to be a refused password.
func (f *failures) reserve(name string, now time.Time, max int, window time.Duration) (*failureCount, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.byName[name]
	if ok && !now.Before(c.since.Add(window)) {
		ok = false
	}
	if ok && c.n >= max {
		return nil, c.since.Add(window).Sub(now)
	}
	if !ok {
		if len(f.byName) >= f.max {
			f.evictLocked(now, window)
		}
		c = &failureCount{since: now}
		f.byName[name] = c
	}
	c.n++
	return c, 0
}

// cancel takes back an attempt reserve counted.
func (f *failures) cancel(c *failureCount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.n > 0 {
		c.n--
	}
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
