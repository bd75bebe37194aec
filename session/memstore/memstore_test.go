package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storetest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/google/go-cmp/cmp"
)

func TestStore(t *testing.T) {
	ctx := t.Context()
	s := New()
	t.Cleanup(func() { _ = s.Close() })

	if _, err := s.Get(ctx, "missing"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Take(ctx, "missing"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Take(missing) error = %v, want ErrNotFound", err)
	}

	value := []byte("sealed")
	if err := s.Set(ctx, "a", value, time.Minute); err != nil {
		t.Fatal(err)
	}
	value[0] = 'X' // Set must have stored a copy.
	got, err := s.Get(ctx, "a")
	if err != nil || string(got) != "sealed" {
		t.Fatalf("Get(a) = %q, %v; want %q", got, err, "sealed")
	}

	if err := s.Set(ctx, "a", []byte("second"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "a"); string(got) != "second" {
		t.Fatalf("Get(a) after overwrite = %q, want %q", got, "second")
	}

	if err := s.Set(ctx, "empty", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "empty"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %#v, %v; want empty non-nil slice", got, err)
	}

	got, err = s.Take(ctx, "a")
	if err != nil || string(got) != "second" {
		t.Fatalf("Take(a) = %q, %v; want %q", got, err, "second")
	}
	if _, err := s.Take(ctx, "a"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("second Take(a) error = %v, want ErrNotFound", err)
	}

	for _, k := range []string{"d1", "d2"} {
		if err := s.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "d1", "d2", "never-set"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, k := range []string{"d1", "d2"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Get(%s) after Delete error = %v, want ErrNotFound", k, err)
		}
	}
	if err := s.Delete(ctx); err != nil {
		t.Errorf("Delete() with no keys: %v", err)
	}
}

func TestTTLMustBePositive(t *testing.T) {
	ctx := t.Context()
	s := New()
	for _, ttl := range []time.Duration{0, -time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			if err := s.Set(ctx, "k", []byte("v"), ttl); err == nil {
				t.Error("Set: no error")
			}
			if err := s.AddToSet(ctx, "k", "m", ttl); err == nil {
				t.Error("AddToSet: no error")
			}
			if _, _, err := s.TryLock(ctx, "k", ttl); err == nil {
				t.Error("TryLock: no error")
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := New()
		if err := s.Set(ctx, "k", []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "t", []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second - time.Nanosecond)
		if _, err := s.Get(ctx, "k"); err != nil {
			t.Fatalf("Get just before expiry: %v", err)
		}
		time.Sleep(time.Nanosecond)
		if _, err := s.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Get at expiry error = %v, want ErrNotFound", err)
		}
		if _, err := s.Take(ctx, "t"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Take after expiry error = %v, want ErrNotFound", err)
		}
	})
}

func TestTakeSingleUse(t *testing.T) {
	s := New()
	storetest.TakeSingleUse(t, s, 20)
}

func TestLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := New()

		unlock, ok, err := s.TryLock(ctx, "refresh", time.Minute)
		if err != nil || !ok {
			t.Fatalf("TryLock = %v, %v; want ok", ok, err)
		}
		if _, ok, err := s.TryLock(ctx, "refresh", time.Minute); err != nil || ok {
			t.Fatalf("second TryLock = %v, %v; want not ok", ok, err)
		}
		if _, ok, err := s.TryLock(ctx, "other", time.Minute); err != nil || !ok {
			t.Fatalf("TryLock(other) = %v, %v; want ok", ok, err)
		}
		if err := unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := unlock(ctx); err != nil {
			t.Fatalf("second unlock: %v", err)
		}

		// The lock lapses after its ttl; a new holder takes it, and the old
		// holder's unlock must leave the new holder's lock in place.
		oldUnlock, ok, err := s.TryLock(ctx, "refresh", time.Second)
		if err != nil || !ok {
			t.Fatalf("TryLock after unlock = %v, %v; want ok", ok, err)
		}
		time.Sleep(time.Second)
		newUnlock, ok, err := s.TryLock(ctx, "refresh", time.Minute)
		if err != nil || !ok {
			t.Fatalf("TryLock after expiry = %v, %v; want ok", ok, err)
		}
		if err := oldUnlock(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.TryLock(ctx, "refresh", time.Minute); ok {
			t.Fatal("old holder's unlock released the new holder's lock")
		}
		if err := newUnlock(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.TryLock(ctx, "refresh", time.Minute); !ok {
			t.Fatal("lock still held after its holder's unlock")
		}
	})
}

func TestLockExclusiveUnderConcurrency(t *testing.T) {
	ctx := t.Context()
	s := New()
	var holders, maxHolders atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				unlock, ok, err := s.TryLock(ctx, "k", time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					continue
				}
				n := holders.Add(1)
				if n > maxHolders.Load() {
					maxHolders.Store(n)
				}
				holders.Add(-1)
				if err := unlock(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := maxHolders.Load(); got != 1 {
		t.Fatalf("at most %d concurrent holders, want 1", got)
	}
}

func TestIndexer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := New()

		got, err := s.Members(ctx, "sid:x")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("Members(missing) = %#v, %v; want empty non-nil", got, err)
		}

		for _, m := range []string{"s2", "s1", "s3", "s1"} {
			if err := s.AddToSet(ctx, "sid:x", m, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		got, _ = s.Members(ctx, "sid:x")
		if diff := cmp.Diff([]string{"s1", "s2", "s3"}, got); diff != "" {
			t.Fatalf("Members (-want +got):\n%s", diff)
		}

		// A shorter ttl does not shorten the expiry; a longer one extends it.
		if err := s.AddToSet(ctx, "sid:x", "s4", time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute)
		if got, _ := s.Members(ctx, "sid:x"); len(got) != 4 {
			t.Fatalf("Members after 5m = %v, want 4 members (expiry was shortened)", got)
		}
		if err := s.AddToSet(ctx, "sid:x", "s5", 20*time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		if got, _ := s.Members(ctx, "sid:x"); len(got) != 5 {
			t.Fatalf("Members after 15m = %v, want 5 members (expiry was not extended)", got)
		}

		if err := s.RemoveFromSet(ctx, "sid:x", "s1", "s5", "never"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Members(ctx, "sid:x")
		if diff := cmp.Diff([]string{"s2", "s3", "s4"}, got); diff != "" {
			t.Fatalf("Members after remove (-want +got):\n%s", diff)
		}
		if err := s.RemoveFromSet(ctx, "missing", "a"); err != nil {
			t.Fatalf("RemoveFromSet(missing): %v", err)
		}

		time.Sleep(10 * time.Minute)
		if got, _ := s.Members(ctx, "sid:x"); len(got) != 0 {
			t.Fatalf("Members after expiry = %v, want none", got)
		}
		// An expired set starts afresh: old members do not come back.
		if err := s.AddToSet(ctx, "sid:x", "s9", time.Minute); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Members(ctx, "sid:x")
		if diff := cmp.Diff([]string{"s9"}, got); diff != "" {
			t.Fatalf("Members after re-add (-want +got):\n%s", diff)
		}
	})
}

func TestNotifier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s := New()

		if err := s.Publish(ctx, "before-anyone-listens"); err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		got := map[int][]string{}
		errs := make(chan error, 2)
		for i := range 2 {
			go func() {
				errs <- s.Subscribe(ctx, func(key string) {
					mu.Lock()
					got[i] = append(got[i], key)
					mu.Unlock()
				})
			}()
		}
		synctest.Wait() // both subscribers are registered and waiting

		for _, k := range []string{"a", "b", "c"} {
			if err := s.Publish(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		want := map[int][]string{0: {"a", "b", "c"}, 1: {"a", "b", "c"}}
		mu.Lock()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("delivered keys (-want +got):\n%s", diff)
		}
		mu.Unlock()

		cancel()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Subscribe after cancel = %v, want nil", err)
			}
		}
	})
}

func TestCloseEndsSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New()
		errs := make(chan error, 1)
		go func() { errs <- s.Subscribe(t.Context(), func(string) {}) }()
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errs; !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("Subscribe after Close = %v, want ErrUnavailable", err)
		}
	})
}

func TestClosed(t *testing.T) {
	ctx := t.Context()
	s := New()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ops := map[string]func() error{
		"Ping":          func() error { return s.Ping(ctx) },
		"Get":           func() error { _, err := s.Get(ctx, "k"); return err },
		"Set":           func() error { return s.Set(ctx, "k", nil, time.Minute) },
		"Take":          func() error { _, err := s.Take(ctx, "k"); return err },
		"Delete":        func() error { return s.Delete(ctx, "k") },
		"AddToSet":      func() error { return s.AddToSet(ctx, "k", "m", time.Minute) },
		"Members":       func() error { _, err := s.Members(ctx, "k"); return err },
		"RemoveFromSet": func() error { return s.RemoveFromSet(ctx, "k", "m") },
		"TryLock":       func() error { _, _, err := s.TryLock(ctx, "k", time.Minute); return err },
		"Publish":       func() error { return s.Publish(ctx, "k") },
		"Subscribe":     func() error { return s.Subscribe(ctx, func(string) {}) },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

// TestSweep checks that expired entries nobody reads again are reclaimed by
// the sweep that runs with writes.
func TestSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := New()
		for i := range minSweepWrites - 1 {
			if err := s.Set(ctx, fmt.Sprint("old-", i), []byte("v"), time.Second); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		if err := s.Set(ctx, "new", []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
		s.mu.RLock()
		n := len(s.items)
		s.mu.RUnlock()
		if n != 1 {
			t.Fatalf("%d items after the sweep, want 1", n)
		}
	})
}

func BenchmarkGet(b *testing.B) {
	ctx := b.Context()
	s := New()
	for i := range 10_000 {
		if err := s.Set(ctx, fmt.Sprint("session:", i), make([]byte, 512), time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "session:4242"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestSessionContract(t *testing.T) {
	storetest.SessionContract(t, func(t *testing.T, now func() time.Time) *session.Manager {
		m, err := session.NewManager(session.Options{Store: New(), Secret: []byte("0123456789abcdef0123456789abcdef"),
			Lifetime: time.Hour, Now: now, CacheMaxAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
