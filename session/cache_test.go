package session_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

// notifyingStore is the store of one replica: it counts session reads and
// reports every key its subscription delivered, after the subscriber ran.
type notifyingStore interface {
	session.Store
	session.Notifier
}

type observed struct {
	notifyingStore
	gets      atomic.Int64
	delivered chan string
}

func observe(st notifyingStore) *observed {
	return &observed{notifyingStore: st, delivered: make(chan string, 64)}
}

func (o *observed) Get(ctx context.Context, key string) ([]byte, error) {
	o.gets.Add(1)
	return o.notifyingStore.Get(ctx, key)
}

func (o *observed) Subscribe(ctx context.Context, fn func(string)) error {
	return o.notifyingStore.Subscribe(ctx, func(key string) {
		fn(key)
		select {
		case o.delivered <- key:
		default:
		}
	})
}

// awaitDelivered waits until key has gone through the subscriber.
func (o *observed) awaitDelivered(t *testing.T, key string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case k := <-o.delivered:
			if k == key {
				return
			}
		case <-timeout:
			t.Fatalf("invalidation of %q never delivered", key)
		}
	}
}

// runCache starts m.Run for the test and waits until the cache is on.
func runCache(t testing.TB, m *session.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !session.CacheEnabled(m) {
		if time.Now().After(deadline) {
			t.Fatal("the session cache was never enabled")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newReplica(t *testing.T, st session.Store, maxAge time.Duration) *session.Manager {
	t.Helper()
	m, err := session.NewManager(session.Options{Store: st, Secret: secret, CacheMaxAge: maxAge})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCacheSavesStoreReads(t *testing.T) {
	st := observe(memstore.New())
	m := newReplica(t, st, time.Hour)
	ticket, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OffWithoutRun", func(t *testing.T) {
		before := st.gets.Load()
		for range 3 {
			if _, err := m.Load(t.Context(), ticket); err != nil {
				t.Fatal(err)
			}
		}
		if n := st.gets.Load() - before; n != 3 {
			t.Errorf("%d store reads for 3 loads without Run, want 3", n)
		}
	})
	runCache(t, m)
	t.Run("OnWithRun", func(t *testing.T) {
		before := st.gets.Load()
		for range 3 {
			s, err := m.Load(t.Context(), ticket)
			if err != nil {
				t.Fatal(err)
			}
			s.AccessToken = "modified by the caller"
		}
		if n := st.gets.Load() - before; n != 1 {
			t.Errorf("%d store reads for 3 loads, want 1", n)
		}
		s, err := m.Load(t.Context(), ticket)
		if err != nil {
			t.Fatal(err)
		}
		if s.AccessToken != "ACCESS-TOKEN-VALUE" {
			t.Errorf("a caller's change leaked into the cache: %q", s.AccessToken)
		}
	})
	t.Run("SaveInvalidates", func(t *testing.T) {
		s, _ := m.Load(t.Context(), ticket)
		s.AccessToken = "REFRESHED"
		if err := m.Save(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		got, err := m.Load(t.Context(), ticket)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != "REFRESHED" {
			t.Errorf("after Save, Load returned access token %q", got.AccessToken)
		}
	})
	t.Run("DeleteInvalidates", func(t *testing.T) {
		s, _ := m.Load(t.Context(), ticket)
		if err := m.Delete(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("after Delete, Load = %v, want ErrNotFound", err)
		}
	})
}

func TestCacheHonoursLifetime(t *testing.T) {
	c := newClock()
	m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, Lifetime: time.Hour, CacheMaxAge: 24 * time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	runCache(t, m)
	ticket, _ := m.Create(t.Context(), sample())
	if _, err := m.Load(t.Context(), ticket); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	if _, err := m.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("a cached session past its lifetime: Load = %v, want ErrNotFound", err)
	}
}

func TestCacheMaxAge(t *testing.T) {
	c := newClock()
	st := observe(memstore.New())
	m, err := session.NewManager(session.Options{Store: st, Secret: secret, CacheMaxAge: 5 * time.Second, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	// Created before the cache runs: Create's own invalidation, delivered
	// asynchronously, could otherwise drop the entry the first load makes.
	ticket, _ := m.Create(t.Context(), sample())
	runCache(t, m)
	load := func() {
		t.Helper()
		if _, err := m.Load(t.Context(), ticket); err != nil {
			t.Fatal(err)
		}
	}
	load()
	c.advance(4 * time.Second)
	before := st.gets.Load()
	load()
	if st.gets.Load() != before {
		t.Error("a 4s old entry was not served from the cache")
	}
	c.advance(time.Second)
	load()
	if st.gets.Load() != before+1 {
		t.Error("a 5s old entry was served from the cache (max age 5s)")
	}
}

func TestCacheDisabled(t *testing.T) {
	st := observe(memstore.New())
	m := newReplica(t, st, -1)
	ticket, _ := m.Create(t.Context(), sample())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for range 3 {
		if _, err := m.Load(t.Context(), ticket); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.gets.Load(); n != 3 {
		t.Errorf("%d store reads for 3 loads with the cache disabled, want 3", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// slowGetStore holds the next session read after it has read the store,
// so that an invalidation can happen between the read and the cache fill.
type slowGetStore struct {
	*memstore.Store
	hold    atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (s *slowGetStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Store.Get(ctx, key)
	if s.hold.CompareAndSwap(true, false) {
		s.read <- struct{}{}
		<-s.release
	}
	return v, err
}

// TestCacheStaleReadNotCached: a Load that read the record before a Delete
// and finishes after it returns what it read, but must not cache it.
func TestCacheStaleReadNotCached(t *testing.T) {
	st := &slowGetStore{Store: memstore.New(), read: make(chan struct{}), release: make(chan struct{})}
	m := newReplica(t, st, time.Hour)
	runCache(t, m)
	ticket, _ := m.Create(t.Context(), sample())
	s, err := m.Reload(t.Context(), mustLoad(t, m, ticket))
	if err != nil {
		t.Fatal(err)
	}
	// Empty the cache entry the load above made, then race a Load with a Delete.
	if err := m.Save(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	st.hold.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = m.Load(context.Background(), ticket) })
	<-st.read
	if err := m.Delete(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	close(st.release)
	wg.Wait()
	if _, err := m.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("after Delete, Load = %v, want ErrNotFound (a stale read was cached)", err)
	}
}

func mustLoad(t *testing.T, m *session.Manager, ticket string) *session.Session {
	t.Helper()
	s, err := m.Load(t.Context(), ticket)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLogoutOnOneReplicaEndsSessionOnAnother: two replicas share one real
// redis-server and cache sessions for an hour; a logout on A ends the
// session on B as soon as B has received A's invalidation, not after the
// cache's max age.
func TestLogoutOnOneReplicaEndsSessionOnAnother(t *testing.T) {
	srv := redistest.Start(t)
	replica := func() (*session.Manager, *observed) {
		rs, err := redisstore.New(redisstore.Options{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rs.Close() })
		st := observe(rs)
		m := newReplica(t, st, time.Hour)
		runCache(t, m)
		return m, st
	}
	a, _ := replica()
	b, bStore := replica()

	created := sample()
	ticket, err := a.Create(t.Context(), created)
	if err != nil {
		t.Fatal(err)
	}
	bStore.awaitDelivered(t, "s:"+created.ID) // Create announces the new record too
	onB := mustLoad(t, b, ticket)
	before := bStore.gets.Load()
	mustLoad(t, b, ticket)
	if bStore.gets.Load() != before {
		t.Fatal("replica B did not serve the session from its cache")
	}

	s := mustLoad(t, a, ticket)
	start := time.Now()
	if err := a.Delete(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	bStore.awaitDelivered(t, "s:"+onB.ID)
	t.Logf("invalidation reached replica B %v after the logout on A", time.Since(start))
	if _, err := b.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("replica B after the logout on A: Load = %v, want ErrNotFound", err)
	}

	// A refresh on A (Save) reaches B the same way.
	created2 := sample()
	ticket2, _ := a.Create(t.Context(), created2)
	bStore.awaitDelivered(t, "s:"+created2.ID)
	mustLoad(t, b, ticket2)
	s2 := mustLoad(t, a, ticket2)
	s2.AccessToken = "REFRESHED-ON-A"
	if err := a.Save(t.Context(), s2); err != nil {
		t.Fatal(err)
	}
	bStore.awaitDelivered(t, "s:"+s2.ID)
	if got := mustLoad(t, b, ticket2); got.AccessToken != "REFRESHED-ON-A" {
		t.Errorf("replica B after a refresh on A: access token %q", got.AccessToken)
	}
}

// TestBackChannelLogoutEndsCachedSessionOnAnotherReplica: ending sessions by
// subject (back-channel logout, `gatehouse sessions revoke`) on one replica
// drops them from another replica's cache too.
func TestBackChannelLogoutEndsCachedSessionOnAnotherReplica(t *testing.T) {
	shared := memstore.New()
	a := newReplica(t, shared, time.Hour)
	bStore := observe(shared)
	b := newReplica(t, bStore, time.Hour)
	runCache(t, b)

	created := sample()
	ticket, err := a.Create(t.Context(), created)
	if err != nil {
		t.Fatal(err)
	}
	bStore.awaitDelivered(t, "s:"+created.ID)
	mustLoad(t, b, ticket)
	n, err := a.EndBySubject(t.Context(), created.Issuer, created.Subject)
	if err != nil || n != 1 {
		t.Fatalf("EndBySubject = %d, %v; want 1 session ended", n, err)
	}
	bStore.awaitDelivered(t, "s:"+created.ID)
	if _, err := b.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("replica B after a back-channel logout on A: Load = %v, want ErrNotFound", err)
	}
}

// TestCacheKeyedByVerifiedTicket: a cached session is found only by the
// exact ticket that was verified when it was cached; a tampered copy of
// that ticket is still refused, and another valid ticket of the session
// still works.
func TestCacheKeyedByVerifiedTicket(t *testing.T) {
	m := newReplica(t, memstore.New(), time.Hour)
	runCache(t, m)
	ticket, _ := m.Create(t.Context(), sample())
	s := mustLoad(t, m, ticket) // now cached
	flip := []byte(ticket)
	flip[len(flip)-3] ^= 1
	for name, tk := range map[string]string{"BitFlip": string(flip), "Truncated": ticket[:len(ticket)-1], "Appended": ticket + "A"} {
		t.Run(name, func(t *testing.T) {
			if _, err := m.Load(t.Context(), tk); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("Load = %v, want ErrNotFound", err)
			}
		})
	}
	other, err := m.Ticket(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{other, ticket, other} {
		if got := mustLoad(t, m, tk); got.ID != s.ID {
			t.Errorf("loaded session %s, want %s", got.ID, s.ID)
		}
	}
}

// TestVersionFollowsTheCachedVersion: the loads served from one cached
// version of a session share its Version, which no other version has; a
// session not served through the cache has Version 0, and a saved
// (refreshed) one gets a new Version once it is cached again.
func TestVersionFollowsTheCachedVersion(t *testing.T) {
	m := newReplica(t, memstore.New(), time.Hour)
	ticket, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	load := func() *session.Session {
		t.Helper()
		s, err := m.Load(t.Context(), ticket)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	if v := load().Version(); v != 0 { // without Run: no cache
		t.Errorf("uncached load: Version = %d, want 0", v)
	}

	runCache(t, m)
	first := load()
	s := load()
	if first.Version() == 0 || s.Version() != first.Version() {
		t.Errorf("cached loads: Versions %d and %d, want one non-zero version", first.Version(), s.Version())
	}

	s.AccessToken = "REFRESHED"
	if err := m.Save(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if v := s.Version(); v != 0 {
		t.Errorf("saved session keeps Version %d, want 0", v)
	}
	// The Save's own invalidation notice comes back over the subscription
	// and may drop the next cached entry: wait for the new version to settle.
	var next *session.Session
	for deadline := time.Now().Add(10 * time.Second); ; {
		next = load()
		if again := load(); next.Version() != 0 && again.Version() == next.Version() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Save the new version is never cached (Version %d)", next.Version())
		}
		time.Sleep(time.Millisecond)
	}
	if next.Version() == first.Version() || next.AccessToken != "REFRESHED" {
		t.Errorf("after Save: Version %d (old %d), token %q; want a new version with the new token", next.Version(), first.Version(), next.AccessToken)
	}
}
