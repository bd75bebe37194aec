package session_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// replicas returns n Managers on one store, each with Run dispatching its
// notifications, as n gateway replicas on one Redis.
func replicas(t *testing.T, st session.Store, n int) []*session.Manager {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	ms := make([]*session.Manager, n)
	for i := range ms {
		m, err := session.NewManager(session.Options{Store: st, Secret: testSecret, CacheMaxAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
		wg.Go(func() { _ = m.Run(ctx) })
	}
	return ms
}

// TestRefreshOnceAcrossReplicas: concurrent refreshes of one session on two
// replicas renew it once; every caller gets the renewed session, the ones
// on the other replica woken by the announcement (no lock expiry waited).
func TestRefreshOnceAcrossReplicas(t *testing.T) {
	st := memstore.New()
	ms := replicas(t, st, 2)
	ctx := t.Context()
	ticket, err := ms[0].Create(ctx, &session.Session{Issuer: "iss", Subject: "sub", AccessToken: "old"})
	if err != nil {
		t.Fatal(err)
	}
	stale := func(s *session.Session) bool { return s.AccessToken == "old" }
	var renewals atomic.Int32
	release := make(chan struct{})
	renew := func(ctx context.Context, s *session.Session) error {
		renewals.Add(1)
		<-release // hold the lock until every caller is waiting
		s.AccessToken = "new"
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		m := ms[i%2]
		s, err := m.Load(ctx, ticket)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			got, err := m.Refresh(ctx, s, stale, renew)
			switch {
			case err != nil:
				errs <- err
			case got.AccessToken != "new":
				errs <- errors.New("got " + got.AccessToken)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let the callers pile up on the lock (not an assertion)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := renewals.Load(); n != 1 {
		t.Errorf("renewed %d times, want 1", n)
	}
	if s, err := ms[1].Load(ctx, ticket); err != nil || s.AccessToken != "new" {
		t.Errorf("stored session: %v, %v", s, err)
	}
}

// TestRefreshEndedSession: a renew that ends the session (ErrNotFound) is
// reported as such to every caller.
func TestRefreshEndedSession(t *testing.T) {
	ms := replicas(t, memstore.New(), 1)
	ctx := t.Context()
	ticket, err := ms[0].Create(ctx, &session.Session{Issuer: "iss", Subject: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ms[0].Load(ctx, ticket)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ms[0].Refresh(ctx, s, func(*session.Session) bool { return true }, func(ctx context.Context, s *session.Session) error {
		if err := ms[0].Delete(ctx, s); err != nil {
			return err
		}
		return session.ErrNotFound
	})
	if !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Refresh = %v, want ErrNotFound", err)
	}
}

// storeOnly hides every capability of a store but Store.
type storeOnly struct{ session.Store }

// TestFirstUse: an ID is first used once per namespace, on any replica;
// a store that cannot remember says so.
func TestFirstUse(t *testing.T) {
	ctx := t.Context()
	ms := replicas(t, memstore.New(), 2)
	for _, tc := range []struct {
		name      string
		m         *session.Manager
		namespace string
		id        string
		want      bool
	}{
		{"First", ms[0], "https://as", "jti-1", true},
		{"ReplayOtherReplica", ms[1], "https://as", "jti-1", false},
		{"ReplaySameReplica", ms[0], "https://as", "jti-1", false},
		{"OtherNamespace", ms[0], "https://other-as", "jti-1", true},
		{"OtherID", ms[1], "https://as", "jti-2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.m.FirstUse(ctx, tc.namespace, tc.id, time.Minute)
			if err != nil || got != tc.want {
				t.Errorf("FirstUse = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("NoLocker", func(t *testing.T) {
		m, err := session.NewManager(session.Options{Store: storeOnly{memstore.New()}, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.FirstUse(ctx, "iss", "jti", time.Minute); !errors.Is(err, session.ErrNoReplayMemory) {
			t.Errorf("FirstUse = %v, want ErrNoReplayMemory", err)
		}
	})
}

// keyRecorder records the keys the Manager writes.
type keyRecorder struct {
	session.Store
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.mu.Unlock()
	return k.Store.Set(ctx, key, v, ttl)
}

// TestKindOf: metrics tell flows from sessions by KindOf, not by a prefix.
func TestKindOf(t *testing.T) {
	ctx := t.Context()
	rec := &keyRecorder{Store: memstore.New()}
	m, err := session.NewManager(session.Options{Store: rec, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, &session.Session{Issuer: "iss", Subject: "sub"}); err != nil {
		t.Fatal(err)
	}
	if err := m.PutFlow(ctx, "state-secret", map[string]string{"a": "b"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(rec.keys) != 2 {
		t.Fatalf("keys written: %q", rec.keys)
	}
	for i, want := range []session.Kind{session.KindSession, session.KindFlow} {
		if got := session.KindOf(rec.keys[i]); got != want {
			t.Errorf("KindOf(key %d) = %v, want %v", i, got, want)
		}
	}
	if got := session.KindOf(session.SIDIndexKey("iss", "sid")); got != session.KindIndex {
		t.Errorf("KindOf(index) = %v", got)
	}
}

// TestKindOfCookieStoreKeys: the keys the cookie store writes (a refreshed
// record kept for the old cookie's requests, a revocation) have kinds of
// their own, so that traces and metrics do not call every store call of a
// cookie-store gateway "other".
func TestKindOfCookieStoreKeys(t *testing.T) {
	ctx := t.Context()
	rec := &keyRecorder{Store: memstore.New()}
	m, err := session.NewManager(session.Options{Store: rec, Secret: testSecret, CookieStore: true})
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := m.Create(ctx, &session.Session{Issuer: "iss", Subject: "sub", RefreshToken: "rt-1", AccessExpiry: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Load(ctx, ticket)
	if err != nil {
		t.Fatal(err)
	}
	s, err = m.Refresh(ctx, s, func(*session.Session) bool { return true }, func(_ context.Context, s *session.Session) error {
		s.RefreshToken, s.AccessExpiry = "rt-2", time.Now().Add(time.Hour).Unix()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	var kinds []session.Kind
	for _, k := range rec.keys {
		if kd := session.KindOf(k); kd != session.KindLock {
			kinds = append(kinds, kd)
		}
	}
	if len(kinds) != 2 || kinds[0] != session.KindGrace || kinds[1] != session.KindRevocation {
		t.Errorf("kinds of the keys written (locks left out) %v, want [grace revocation] (%d, %d)", kinds, session.KindGrace, session.KindRevocation)
	}
}
