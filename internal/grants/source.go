// Package grants keeps the tokens the gateway obtains for its upstreams with
// grants other than the user's login: its own token from the client
// credentials grant (RFC 6749 §4.4), tokens exchanged for a user's access
// token (RFC 8693), and tokens from the legacy resource owner password
// grant (RFC 6749 §4.3), with the password grant's rate limit per user
// name.
//
// The package talks to no authorization server itself: each type is given
// the function that makes its grant. What it adds is when to call it: once
// at a time per token, reused until shortly before the token expires, in
// bounded memory, and never keeping a password or a subject token, only
// keyed hashes of them.
package grants

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Token is an access token and when it expires.
type Token struct {
	AccessToken string
	// Expiry is when the token expires; zero when the AS did not say.
	Expiry time.Time
}

// Defaults of the options' zero values.
const (
	// DefaultRefreshBefore is how long before its expiry a token is
	// replaced.
	DefaultRefreshBefore = time.Minute
	// DefaultLifetime is how long a token whose expiry is unknown is used.
	DefaultLifetime = time.Minute
	// failureBackoff is how long a failed fetch is reported to further
	// callers before the next attempt, so that an AS outage does not turn
	// every request into a token request.
	failureBackoff = time.Second
)

// SourceOptions configures a Source.
type SourceOptions struct {
	// Fetch obtains a new token, typically with the client credentials
	// grant. It runs at most once at a time, with a context that carries
	// the first caller's values but not its cancellation. Required.
	Fetch func(ctx context.Context) (Token, error)
	// RefreshBefore replaces a token this long before it expires (default
	// DefaultRefreshBefore), or halfway through its lifetime when that is
	// shorter. Until it expires, the current token is served while the new
	// one is fetched in the background.
	RefreshBefore time.Duration
	// Lifetime is how long a token without an expiry is used (default
	// DefaultLifetime).
	Lifetime time.Duration
	// Logger receives failed background refreshes (nil: discard).
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Source is one token shared by all requests, such as the gateway's own
// client credentials token for an upstream. It is safe for concurrent use.
type Source struct {
	opts   SourceOptions
	logger *slog.Logger

	mu        sync.Mutex
	tok       string
	refreshAt time.Time // when to start fetching the next token
	expires   time.Time // when tok stops being usable
	flight    *flight[Token]
	failed    error     // the last fetch's error, until failedTil
	failedTil time.Time //
}

// flight is one fetch in progress; done is closed when val and err are set.
type flight[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// NewSource returns a Source for opts.
func NewSource(opts SourceOptions) *Source {
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = DefaultRefreshBefore
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Source{opts: opts, logger: opts.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Token returns a valid access token: the cached one, or a new one. While
// the cached token is valid but due for replacement, it is returned at once
// and one background fetch replaces it; when there is none, callers wait
// for the one fetch in progress, each until its own ctx ends.
func (s *Source) Token(ctx context.Context) (string, error) {
	now := s.opts.Now()
	s.mu.Lock()
	if s.tok != "" && now.Before(s.expires) {
		tok := s.tok
		if !now.Before(s.refreshAt) && s.flight == nil {
			s.start(ctx) // in the background: the current token is still good
		}
		s.mu.Unlock()
		return tok, nil
	}
	if s.failed != nil && now.Before(s.failedTil) && s.flight == nil {
		err := s.failed
		s.mu.Unlock()
		return "", err
	}
	f := s.flight
	if f == nil {
		f = s.start(ctx)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.val.AccessToken, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// start begins a fetch. s.mu must be held.
func (s *Source) start(ctx context.Context) *flight[Token] {
	f := &flight[Token]{done: make(chan struct{})}
	s.flight = f
	go func() {
		tok, err := s.opts.Fetch(context.WithoutCancel(ctx))
		if err == nil && tok.AccessToken == "" {
			err = errors.New("grants: the AS returned an empty access token")
		}
		now := s.opts.Now()
		s.mu.Lock()
		s.flight = nil
		if err != nil {
			s.failed, s.failedTil = err, now.Add(failureBackoff)
			if s.tok != "" && now.Before(s.expires) {
				s.logger.Warn("upstream token refresh failed; the current token is used until it expires", "error", err, "expires", s.expires)
			}
		} else {
			s.failed = nil
			s.tok = tok.AccessToken
			s.expires, s.refreshAt = validity(now, tok.Expiry, s.opts.RefreshBefore, s.opts.Lifetime)
		}
		s.mu.Unlock()
		f.val, f.err = tok, err
		close(f.done)
	}()
	return f
}

// validity returns until when a token issued now with expiry is used, and
// when its replacement is fetched: RefreshBefore ahead of its expiry, or
// halfway through its lifetime when that is shorter. A token without expiry
// lasts lifetime.
func validity(now, expiry time.Time, refreshBefore, lifetime time.Duration) (expires, refreshAt time.Time) {
	if expiry.IsZero() {
		expiry = now.Add(lifetime)
	}
	early := min(refreshBefore, expiry.Sub(now)/2)
	return expiry, expiry.Add(-early)
}
