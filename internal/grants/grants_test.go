package grants

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// counter is a fake AS: it issues numbered tokens, after delay, with ttl
// (0: no expiry), or fails with err.
type counter struct {
	calls atomic.Int64
	delay time.Duration
	ttl   time.Duration
	mu    sync.Mutex
	err   error
}

func (c *counter) fetch(ctx context.Context) (Token, error) {
	n := c.calls.Add(1)
	time.Sleep(c.delay)
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return Token{}, err
	}
	t := Token{AccessToken: fmt.Sprintf("token-%d", n)}
	if c.ttl > 0 {
		t.Expiry = time.Now().Add(c.ttl)
	}
	return t, nil
}

func (c *counter) fail(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func TestSourceSharesOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &counter{delay: time.Second, ttl: time.Hour}
		s := NewSource(SourceOptions{Fetch: as.fetch})
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				tok, err := s.Token(t.Context())
				if err != nil || tok != "token-1" {
					t.Errorf("Token = %q, %v", tok, err)
				}
			})
		}
		wg.Wait()
		if n := as.calls.Load(); n != 1 {
			t.Errorf("%d fetches, want 1", n)
		}
	})
}

func TestSourceRefreshesEarlyInBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &counter{delay: time.Second, ttl: 10 * time.Minute}
		s := NewSource(SourceOptions{Fetch: as.fetch, RefreshBefore: time.Minute})
		ctx := t.Context()
		if tok, _ := s.Token(ctx); tok != "token-1" {
			t.Fatalf("first token %q", tok)
		}
		time.Sleep(8 * time.Minute) // not yet due
		if tok, _ := s.Token(ctx); tok != "token-1" || as.calls.Load() != 1 {
			t.Fatalf("before the refresh window: %q after %d fetches", tok, as.calls.Load())
		}
		time.Sleep(90 * time.Second) // within a minute of expiry
		start := time.Now()
		for range 5 {
			if tok, _ := s.Token(ctx); tok != "token-1" {
				t.Fatalf("in the refresh window: %q, want the current token at once", tok)
			}
		}
		if time.Since(start) != 0 {
			t.Error("callers waited for the background refresh")
		}
		synctest.Wait()
		time.Sleep(2 * time.Second)
		if tok, _ := s.Token(ctx); tok != "token-2" || as.calls.Load() != 2 {
			t.Errorf("after the refresh: %q after %d fetches, want token-2 after 2", tok, as.calls.Load())
		}
	})
}

func TestSourceFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &counter{ttl: 2 * time.Minute}
		var logs bytes.Buffer
		s := NewSource(SourceOptions{Fetch: as.fetch, RefreshBefore: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		ctx := t.Context()
		boom := errors.New("AS down")
		as.fail(boom)
		if _, err := s.Token(ctx); !errors.Is(err, boom) {
			t.Fatalf("Token: %v, want the fetch error", err)
		}
		if _, err := s.Token(ctx); !errors.Is(err, boom) || as.calls.Load() != 1 {
			t.Errorf("right after a failure: %v after %d fetches, want the same error without a fetch", err, as.calls.Load())
		}
		time.Sleep(failureBackoff)
		as.fail(nil)
		if tok, err := s.Token(ctx); err != nil || tok != "token-2" {
			t.Fatalf("after the backoff: %q, %v", tok, err)
		}

		// A failed background refresh keeps the current token until it expires.
		as.fail(boom)
		time.Sleep(90 * time.Second)
		if tok, err := s.Token(ctx); err != nil || tok != "token-2" {
			t.Fatalf("in the refresh window: %q, %v", tok, err)
		}
		synctest.Wait()
		if !strings.Contains(logs.String(), "upstream token refresh failed") {
			t.Errorf("no warning logged: %s", logs.String())
		}
		time.Sleep(31 * time.Second) // expired
		if _, err := s.Token(ctx); !errors.Is(err, boom) {
			t.Errorf("after expiry: %v, want the fetch error", err)
		}
	})
}

func TestSourceCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &counter{delay: 5 * time.Second, ttl: time.Hour}
		s := NewSource(SourceOptions{Fetch: as.fetch})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := s.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Token: %v, want the caller's deadline", err)
		}
		// The fetch went on for the others.
		if tok, err := s.Token(t.Context()); err != nil || tok != "token-1" || as.calls.Load() != 1 {
			t.Errorf("Token = %q, %v after %d fetches", tok, err, as.calls.Load())
		}
	})
}

func TestSourceWithoutExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &counter{}
		s := NewSource(SourceOptions{Fetch: as.fetch, Lifetime: 10 * time.Minute})
		s.Token(t.Context())
		time.Sleep(4 * time.Minute)
		s.Token(t.Context())
		if as.calls.Load() != 1 {
			t.Errorf("%d fetches within the lifetime, want 1", as.calls.Load())
		}
		time.Sleep(6 * time.Minute)
		if tok, _ := s.Token(t.Context()); tok != "token-2" {
			t.Errorf("after the lifetime: %q", tok)
		}
	})
}

func TestValidity(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name                   string
		expiry                 time.Time
		wantExpires, wantRefAt time.Time
	}{
		{"long-lived", now.Add(time.Hour), now.Add(time.Hour), now.Add(59 * time.Minute)},
		{"short-lived: halfway", now.Add(40 * time.Second), now.Add(40 * time.Second), now.Add(20 * time.Second)},
		{"unknown", time.Time{}, now.Add(5 * time.Minute), now.Add(4 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, r := validity(now, tt.expiry, time.Minute, 5*time.Minute)
			if !e.Equal(tt.wantExpires) || !r.Equal(tt.wantRefAt) {
				t.Errorf("validity = %v, %v; want %v, %v", e, r, tt.wantExpires, tt.wantRefAt)
			}
		})
	}
}

func TestExchanger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		var subjects sync.Map
		x := NewExchanger(ExchangerOptions{MaxEntries: 2, Exchange: func(ctx context.Context, subject string) (Token, error) {
			n := calls.Add(1)
			subjects.Store(subject, true)
			time.Sleep(time.Second)
			if subject == "bad" {
				return Token{}, errors.New("invalid_request")
			}
			return Token{AccessToken: fmt.Sprintf("%s-exchanged-%d", subject, n), Expiry: time.Now().Add(10 * time.Minute)}, nil
		}})
		ctx := t.Context()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if tok, err := x.Token(ctx, "alice"); err != nil || tok != "alice-exchanged-1" {
					t.Errorf("Token = %q, %v", tok, err)
				}
			})
		}
		wg.Wait()
		if calls.Load() != 1 {
			t.Fatalf("%d exchanges for one user, want 1", calls.Load())
		}
		if tok, _ := x.Token(ctx, "bob"); tok != "bob-exchanged-2" {
			t.Errorf("bob: %q", tok)
		}
		if _, err := x.Token(ctx, "bad"); err == nil {
			t.Error("a failed exchange succeeded")
		}
		if _, err := x.Token(ctx, "bad"); err == nil || calls.Load() != 4 {
			t.Errorf("failures are cached: %v after %d exchanges", err, calls.Load())
		}
		if _, err := x.Token(ctx, ""); err == nil {
			t.Error("an empty subject token was exchanged")
		}
		x.Token(ctx, "carol") // evicts alice, the least recently used
		if n := x.cache.len(); n != 2 {
			t.Errorf("cache holds %d entries, want 2", n)
		}
		if tok, _ := x.Token(ctx, "alice"); tok != "alice-exchanged-6" {
			t.Errorf("alice after eviction: %q", tok)
		}
		time.Sleep(9*time.Minute + time.Second) // within RefreshBefore of expiry
		if tok, _ := x.Token(ctx, "alice"); tok != "alice-exchanged-7" {
			t.Errorf("alice near expiry: %q, want a new exchange", tok)
		}
	})
}

func TestPasswordCacheAndLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		p := NewPassword(PasswordOptions[string]{
			MaxFailures: 3, FailureWindow: 10 * time.Minute,
			Fetch: func(ctx context.Context, user, pass string) (string, time.Time, error) {
				calls.Add(1)
				if strings.ToLower(user) != "alice" || pass != "s3cret" {
					return "", time.Time{}, fmt.Errorf("%w: invalid_grant", ErrInvalidCredentials)
				}
				return "token-for-" + user, time.Now().Add(time.Hour), nil
			},
		})
		ctx := t.Context()
		if v, err := p.Login(ctx, "alice", "s3cret"); err != nil || v != "token-for-alice" {
			t.Fatalf("Login = %q, %v", v, err)
		}
		p.Login(ctx, "alice", "s3cret")
		if calls.Load() != 1 {
			t.Errorf("%d grants for the same credentials, want 1", calls.Load())
		}
		for _, key := range p.cache.entries.Keys() {
			if strings.Contains(key, "s3cret") || strings.Contains(key, "alice") {
				t.Error("a cache key contains the credentials")
			}
		}

		for i := range 3 {
			if _, err := p.Login(ctx, "ALICE", fmt.Sprint("guess-", i)); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("guess %d: %v, want ErrInvalidCredentials", i, err)
			}
		}
		before := calls.Load()
		_, err := p.Login(ctx, "alice", "guess-4")
		var rl *RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.RetryAfter != 10*time.Minute {
			t.Fatalf("after 3 failures: %v, want a RateLimitError of 10m", err)
		}
		if _, err := p.Login(ctx, "alice", "s3cret"); !errors.Is(err, ErrRateLimited) {
			t.Errorf("right password while blocked: %v, want ErrRateLimited (a cache hit would confirm a guess)", err)
		}
		if calls.Load() != before {
			t.Error("the AS was asked while the name was blocked")
		}
		if _, err := p.Login(ctx, "bob", "x"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("another user is not blocked: %v", err)
		}
		time.Sleep(10 * time.Minute)
		if v, err := p.Login(ctx, "alice", "s3cret"); err != nil || v != "token-for-alice" {
			t.Errorf("after the window: %q, %v", v, err)
		}
	})
}

func TestPasswordFailureTableBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPassword(PasswordOptions[string]{MaxEntries: 10, Fetch: func(context.Context, string, string) (string, time.Time, error) {
			return "", time.Time{}, ErrInvalidCredentials
		}})
		for i := range 100 {
			p.Login(t.Context(), fmt.Sprint("user-", i), "x")
			time.Sleep(time.Second)
		}
		if n := len(p.failures.byName); n > 10 {
			t.Errorf("%d user names tracked, want at most 10", n)
		}
		if p.cache.len() != 0 {
			t.Error("a failure was cached")
		}
	})
}

// slowAS is a password-grant AS that answers after a second: alice's
// password is "s3cret", every other one is refused.
type slowAS struct{ calls atomic.Int64 }

func (a *slowAS) fetch(ctx context.Context, user, pass string) (string, time.Time, error) {
	a.calls.Add(1)
	time.Sleep(time.Second)
	if pass != "s3cret" {
		return "", time.Time{}, fmt.Errorf("%w: invalid_grant", ErrInvalidCredentials)
	}
	return "token-for-" + user, time.Now().Add(time.Hour), nil
}

// Finding 4 of issue #13: "blocked?" was checked before the AS call and the
// failure counted after it, so parallel guesses all reached the AS.
func TestPasswordParallelGuessesReachASAtMostLimitTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &slowAS{}
		p := NewPassword(PasswordOptions[string]{MaxFailures: 5, FailureWindow: 15 * time.Minute, Fetch: as.fetch})
		var wg sync.WaitGroup
		var refused, limited atomic.Int64
		for i := range 100 {
			wg.Go(func() {
				_, err := p.Login(t.Context(), "alice", fmt.Sprint("guess-", i))
				switch {
				case errors.Is(err, ErrInvalidCredentials):
					refused.Add(1)
				case errors.Is(err, ErrRateLimited):
					limited.Add(1)
				default:
					t.Errorf("guess %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if n := as.calls.Load(); n > 5 {
			t.Errorf("100 parallel wrong passwords reached the AS %d times, want at most 5", n)
		}
		if refused.Load() > 5 || limited.Load() < 95 {
			t.Errorf("%d refused by the AS and %d rate limited, want at most 5 and the rest", refused.Load(), limited.Load())
		}
	})
}

func TestPasswordRightPasswordInBurstPastLimitRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &slowAS{}
		p := NewPassword(PasswordOptions[string]{MaxFailures: 5, FailureWindow: 15 * time.Minute, Fetch: as.fetch})
		var wg sync.WaitGroup
		for i := range 19 {
			wg.Go(func() { p.Login(t.Context(), "alice", fmt.Sprint("guess-", i)) })
		}
		synctest.Wait() // the 19 guesses are in flight or queued
		_, err := p.Login(t.Context(), "alice", "s3cret")
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
			t.Errorf("the right password as the 20th guess of a burst: %v, want a RateLimitError", err)
		}
		wg.Wait()
		if n := as.calls.Load(); n > 5 {
			t.Errorf("the AS was asked %d times, want at most 5", n)
		}
	})
}

func TestPasswordParallelRightPasswordsShareOneGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &slowAS{}
		p := NewPassword(PasswordOptions[string]{MaxFailures: 2, Fetch: as.fetch})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if v, err := p.Login(t.Context(), "alice", "s3cret"); err != nil || v != "token-for-alice" {
					t.Errorf("Login = %q, %v", v, err)
				}
			})
		}
		wg.Wait()
		if n := as.calls.Load(); n != 1 {
			t.Errorf("20 parallel logins with the right password made %d grants, want 1", n)
		}
		if _, err := p.Login(t.Context(), "alice", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("successes must not count as failures: %v", err)
		}
	})
}

func TestPasswordCanceledCallerKeepsSlotUntilASAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := &slowAS{}
		p := NewPassword(PasswordOptions[string]{MaxFailures: 5, Fetch: as.fetch})
		ctx, cancel := context.WithCancel(t.Context())
		go func() { p.Login(ctx, "alice", "guess-1") }()
		synctest.Wait()
		cancel()
		synctest.Wait()
		go func() { p.Login(t.Context(), "alice", "guess-2") }()
		synctest.Wait()
		if n := as.calls.Load(); n != 1 {
			t.Errorf("%d AS calls in flight for one user name, want 1", n)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := as.calls.Load(); n != 2 {
			t.Errorf("%d AS calls after the first answered, want 2", n)
		}
	})
}
