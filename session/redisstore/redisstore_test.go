package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/internal/storetest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/google/go-cmp/cmp"
)

// newStore returns a Store for opts that is closed when the test ends.
func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eventually calls check every 20ms until it returns nil; it fails the test
// if that has not happened within d.
func eventually(t *testing.T, d time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v: %v", what, d, err)
		case <-tick.C:
		}
	}
}

func TestStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, Options{URL: srv.URL, KeyPrefix: "test:"})
	ctx := t.Context()

	if _, err := s.Get(ctx, "missing"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Take(ctx, "missing"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take(missing) error = %v, want ErrNotFound", err)
	}
	if err := s.Set(ctx, "a", []byte("sealed\x00bytes"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "a"); err != nil || string(got) != "sealed\x00bytes" {
		t.Fatalf("Get(a) = %q, %v", got, err)
	}
	// Every key carries the prefix.
	if n, err := s.Client().Exists(ctx, "test:a").Result(); err != nil || n != 1 {
		t.Fatalf("EXISTS test:a = %d, %v; want 1", n, err)
	}
	if err := s.Set(ctx, "a", []byte("second"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "a"); string(got) != "second" {
		t.Fatalf("Get(a) after overwrite = %q", got)
	}
	if err := s.Set(ctx, "empty", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %q, %v; want empty", got, err)
	}

	got, err := s.Take(ctx, "a")
	if err != nil || string(got) != "second" {
		t.Fatalf("Take(a) = %q, %v", got, err)
	}
	if _, err := s.Take(ctx, "a"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Take(a) error = %v, want ErrNotFound", err)
	}

	for _, k := range []string{"d1", "d2", "d3"} {
		if err := s.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "d2", "d3", "never-set"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"d1", "d2", "d3"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get(%s) after Delete error = %v, want ErrNotFound", k, err)
		}
	}

	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := s.Set(ctx, "k", []byte("v"), ttl); err == nil {
			t.Errorf("Set with ttl %v: no error", ttl)
		}
		if err := s.AddToSet(ctx, "k", "m", ttl); err == nil {
			t.Errorf("AddToSet with ttl %v: no error", ttl)
		}
		if _, _, err := s.TryLock(ctx, "k", ttl); err == nil {
			t.Errorf("TryLock with ttl %v: no error", ttl)
		}
	}

	// A reply error that is a bug, not an outage, is not ErrUnavailable.
	err = s.AddToSet(ctx, "empty", "m", time.Minute) // "empty" holds a string
	if err == nil || errors.Is(err, session.ErrUnavailable) || errors.Is(err, session.ErrNotFound) {
		t.Errorf("AddToSet on a string = %v, want a plain WRONGTYPE error", err)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, Options{URL: srv.URL})
	ctx := t.Context()

	if err := s.Set(ctx, "k", []byte("v"), 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if pttl, err := s.Client().PTTL(ctx, "gatehouse:k").Result(); err != nil || pttl <= time.Second || pttl > 1500*time.Millisecond {
		t.Fatalf("PTTL = %v, %v; want in (1s, 1.5s]", pttl, err)
	}
	for _, k := range []string{"short", "short-take"} {
		if err := s.Set(ctx, k, []byte("v"), 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Second, "short key expires", func(ctx context.Context) error {
		if _, err := s.Get(ctx, "short"); !errors.Is(err, session.ErrNotFound) {
			return fmt.Errorf("Get = %v", err)
		}
		return nil
	})
	if _, err := s.Take(ctx, "short-take"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take after expiry = %v, want ErrNotFound", err)
	}
	// Below a millisecond, the expiry rounds up rather than failing.
	if err := s.Set(ctx, "tiny", []byte("v"), time.Microsecond); err != nil {
		t.Fatalf("Set with 1µs: %v", err)
	}
}

func TestTakeSingleUse(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, Options{URL: srv.URL, PoolSize: 50})
	storetest.TakeSingleUse(t, s, 10)
}

func TestLock(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, Options{URL: srv.URL, PoolSize: 50})
	ctx := t.Context()

	// Of 50 concurrent callers, one gets the lock.
	var wins atomic.Int32
	var first func(context.Context) error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			unlock, ok, err := s.TryLock(ctx, "refresh", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
				mu.Lock()
				first = unlock
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d callers got the lock, want 1", wins.Load())
	}
	if pttl, _ := s.Client().PTTL(ctx, "gatehouse:refresh").Result(); pttl <= 0 || pttl > time.Minute {
		t.Errorf("lock PTTL = %v, want in (0, 1m]", pttl)
	}
	if err := first(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Client().Exists(ctx, "gatehouse:refresh").Result(); n != 0 {
		t.Fatal("lock key still there after unlock")
	}

	// The lock lapses after its ttl and another caller takes it: the old
	// holder's unlock must not release the new holder's lock.
	oldUnlock, ok, err := s.TryLock(ctx, "refresh", 50*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v; want ok", ok, err)
	}
	var newUnlock func(context.Context) error
	eventually(t, 2*time.Second, "lock lapses", func(ctx context.Context) error {
		unlock, ok, err := s.TryLock(ctx, "refresh", time.Minute)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("still held")
		}
		newUnlock = unlock
		return nil
	})
	if err := oldUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.TryLock(ctx, "refresh", time.Minute); ok {
		t.Fatal("the old holder's unlock released the new holder's lock")
	}
	if err := newUnlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.TryLock(ctx, "refresh", time.Minute); !ok {
		t.Fatal("lock still held after its holder's unlock")
	}
}

func TestIndexer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, Options{URL: srv.URL})
	ctx := t.Context()
	pttl := func() time.Duration {
		t.Helper()
		d, err := s.Client().PTTL(ctx, "gatehouse:sid:x").Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	got, err := s.Members(ctx, "sid:x")
	if err != nil || len(got) != 0 {
		t.Fatalf("Members(missing) = %v, %v; want none", got, err)
	}
	for _, m := range []string{"s2", "s1", "s3", "s1"} {
		if err := s.AddToSet(ctx, "sid:x", m, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = s.Members(ctx, "sid:x")
	slices.Sort(got)
	if diff := cmp.Diff([]string{"s1", "s2", "s3"}, got); diff != "" {
		t.Fatalf("Members (-want +got):\n%s", diff)
	}
	// A new set gets an expiry (PEXPIRE GT alone would leave it without).
	if d := pttl(); d <= 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("PTTL of the set = %v, want about 10m", d)
	}
	if err := s.AddToSet(ctx, "sid:x", "s4", time.Minute); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d <= 9*time.Minute {
		t.Fatalf("PTTL after a shorter ttl = %v: the expiry was shortened", d)
	}
	if err := s.AddToSet(ctx, "sid:x", "s5", time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := pttl(); d <= 59*time.Minute {
		t.Fatalf("PTTL after a longer ttl = %v, want about 1h", d)
	}

	if err := s.RemoveFromSet(ctx, "sid:x", "s1", "s5", "never"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFromSet(ctx, "sid:x"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Members(ctx, "sid:x")
	slices.Sort(got)
	if diff := cmp.Diff([]string{"s2", "s3", "s4"}, got); diff != "" {
		t.Fatalf("Members after remove (-want +got):\n%s", diff)
	}
	if err := s.RemoveFromSet(ctx, "sid:x", "s2", "s3", "s4"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Client().Exists(ctx, "gatehouse:sid:x").Result(); n != 0 {
		t.Error("empty set still exists")
	}

	// The set expires as a whole.
	if err := s.AddToSet(ctx, "sid:y", "s1", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "set expires", func(ctx context.Context) error {
		if m, err := s.Members(ctx, "sid:y"); err != nil || len(m) != 0 {
			return fmt.Errorf("Members = %v, %v", m, err)
		}
		return nil
	})
}

// TestSessionContract runs the session contract on Redis, for the Redis
// store and for the cookie store with its revocations in Redis.
func TestSessionContract(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	for _, cookie := range []bool{false, true} {
		name := "Redis"
		if cookie {
			name = "CookieWithRedis"
		}
		t.Run(name, func(t *testing.T) {
			n := 0
			storetest.SessionContract(t, func(t *testing.T, now func() time.Time) *session.Manager {
				n++
				s := newStore(t, Options{URL: srv.URL, KeyPrefix: fmt.Sprintf("contract-%s-%d:", name, n)})
				m, err := session.NewManager(session.Options{Store: s, Secret: []byte("0123456789abcdef0123456789abcdef"),
					Lifetime: time.Hour, Now: now, CacheMaxAge: -1, CookieStore: cookie})
				if err != nil {
					t.Fatal(err)
				}
				return m
			})
		})
	}
}
