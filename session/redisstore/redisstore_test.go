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
	"github.com/redis/go-redis/v9"
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

// subscribe runs Subscribe in the background until the test ends or cancel is
// called, and returns the channel of received keys and the channel of
// Subscribe's result.
func subscribe(t *testing.T, s *Store) (ctx context.Context, cancel context.CancelFunc, keys <-chan string, done <-chan error) {
	ctx, cancel = context.WithCancel(t.Context())
	k := make(chan string, 100)
	d := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		d <- s.Subscribe(ctx, func(key string) {
			select {
			case k <- key:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	return ctx, cancel, k, d
}

// waitSubscribed publishes probe keys until keys delivers one: the
// subscription is then in place.
func waitSubscribed(t *testing.T, pub *Store, keys <-chan string) {
	t.Helper()
	eventually(t, 10*time.Second, "subscription", func(ctx context.Context) error {
		if err := pub.Publish(ctx, "probe"); err != nil {
			return err
		}
		select {
		case <-keys:
			return nil
		case <-time.After(50 * time.Millisecond):
			return errors.New("no probe received")
		}
	})
	// Drain probes still under way.
	for {
		select {
		case <-keys:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

// receive returns the next n keys other than probes.
func receive(t *testing.T, keys <-chan string, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case k := <-keys:
			if k != "probe" {
				got = append(got, k)
			}
		case <-timeout:
			t.Fatalf("received %v, want %d keys", got, n)
		}
	}
	return got
}

func TestNotifier(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	pub := newStore(t, Options{URL: srv.URL})
	sub1 := newStore(t, Options{URL: srv.URL}) // another replica
	other := newStore(t, Options{URL: srv.URL, KeyPrefix: "other:"})
	ctx := t.Context()

	_, _, keys0, _ := subscribe(t, pub)
	_, cancel1, keys1, done1 := subscribe(t, sub1)
	_, _, keysOther, _ := subscribe(t, other)
	waitSubscribed(t, pub, keys0)
	waitSubscribed(t, pub, keys1)
	waitSubscribed(t, other, keysOther)

	for _, k := range []string{"a", "b", "c"} {
		if err := pub.Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a", "b", "c"}
	for i, keys := range []<-chan string{keys0, keys1} {
		if diff := cmp.Diff(want, receive(t, keys, 3)); diff != "" {
			t.Errorf("subscriber %d (-want +got):\n%s", i, diff)
		}
	}
	// Another KeyPrefix is another channel.
	select {
	case k := <-keysOther:
		t.Errorf("subscriber with another prefix received %q", k)
	case <-time.After(100 * time.Millisecond):
	}

	cancel1()
	if err := <-done1; err != nil {
		t.Errorf("Subscribe after cancel = %v, want nil", err)
	}
}

func TestSubscribeEndsOnClose(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, _, keys, done := subscribe(t, s)
	waitSubscribed(t, s, keys)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("Subscribe after Close = %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe still runs 5s after Close")
	}
}

// TestUnavailable stops the server under a Store: every operation fails with
// ErrUnavailable, quickly; after a restart the same Store works again, and its
// subscription comes back by itself.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := newStore(t, Options{URL: srv.URL})
	pub := newStore(t, Options{URL: srv.URL})
	ctx := t.Context()
	_, _, keys, _ := subscribe(t, s)
	waitSubscribed(t, pub, keys)
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	ops := []struct {
		name string
		op   func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Get", func() error { _, err := s.Get(ctx, "k"); return err }},
		{"Set", func() error { return s.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"Take", func() error { _, err := s.Take(ctx, "k"); return err }},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
		{"Delete many", func() error { return s.Delete(ctx, "k", "l") }},
		{"AddToSet", func() error { return s.AddToSet(ctx, "k", "m", time.Minute) }},
		{"Members", func() error { _, err := s.Members(ctx, "k"); return err }},
		{"RemoveFromSet", func() error { return s.RemoveFromSet(ctx, "k", "m") }},
		{"TryLock", func() error { _, _, err := s.TryLock(ctx, "k", time.Minute); return err }},
		{"Publish", func() error { return s.Publish(ctx, "k") }},
	}
	for _, o := range ops {
		start := time.Now()
		err := o.op()
		if !errors.Is(err, session.ErrUnavailable) || errors.Is(err, session.ErrNotFound) {
			t.Errorf("%s with the server stopped = %v, want ErrUnavailable", o.name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v to fail, want under 1s", o.name, d)
		}
	}

	// The caller's own end is reported as such, not as an outage.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(canceled, "k"); !errors.Is(err, context.Canceled) || errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Get with a canceled context = %v, want context.Canceled and not ErrUnavailable", err)
	}

	srv.Restart()
	eventually(t, 5*time.Second, "store recovers", func(ctx context.Context) error { return s.Ping(ctx) })
	if err := s.Set(ctx, "k", []byte("v2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k"); err != nil || string(got) != "v2" {
		t.Fatalf("Get after recovery = %q, %v", got, err)
	}
	// The subscription was made again without the caller's help.
	waitSubscribed(t, pub, keys)
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	// One seed is enough: the others are discovered.
	s := newStore(t, Options{ClusterAddrs: c.Addrs[:1]})
	pub := newStore(t, Options{ClusterAddrs: c.Addrs[2:]})
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	const n = 60
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint("session:", i)
		if err := s.Set(ctx, keys[i], []byte(keys[i]), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.AddToSet(ctx, fmt.Sprint("sub:", i%7), keys[i], time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// The keys are spread over every master.
	for _, addr := range c.Addrs {
		nc := redis.NewClient(&redis.Options{Addr: addr})
		size, err := nc.DBSize(ctx).Result()
		_ = nc.Close()
		if err != nil || size == 0 {
			t.Fatalf("node %s holds %d keys (%v), want some", addr, size, err)
		}
	}
	for _, k := range keys {
		if got, err := s.Get(ctx, k); err != nil || string(got) != k {
			t.Fatalf("Get(%s) = %q, %v", k, got, err)
		}
	}
	var members []string
	for i := range 7 {
		m, err := s.Members(ctx, fmt.Sprint("sub:", i))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m...)
	}
	if len(members) != n {
		t.Fatalf("%d members over all sets, want %d", len(members), n)
	}
	if got, err := s.Take(ctx, keys[0]); err != nil || string(got) != keys[0] {
		t.Fatalf("Take = %q, %v", got, err)
	}
	unlock, ok, err := s.TryLock(ctx, "lock:"+keys[1], time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if err := unlock(ctx); err != nil {
		t.Fatal(err)
	}

	// One Delete over keys in different slots.
	if err := s.Delete(ctx, keys...); err != nil {
		t.Fatalf("Delete across slots: %v", err)
	}
	for _, k := range keys {
		if _, err := s.Get(ctx, k); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Get(%s) after Delete = %v, want ErrNotFound", k, err)
		}
	}

	// Publish on one node reaches a subscriber on any node.
	_, _, got, _ := subscribe(t, s)
	waitSubscribed(t, pub, got)
	if err := pub.Publish(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"x"}, receive(t, got, 1)); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

// TestSentinelFailover writes through a Sentinel-configured Store, kills the
// master and checks that the same Store reads the data from the promoted
// replica.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	sn := redistest.StartSentinel(t)
	s := newStore(t, Options{SentinelAddrs: sn.SentinelAddrs, MasterName: sn.MasterName})
	ctx := t.Context()

	// A replica refuses writes: READONLY is an outage, not a bug.
	replica := newStore(t, Options{URL: sn.Replica.URL})
	if err := replica.Set(ctx, "k", []byte("v"), time.Minute); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Set on a replica = %v, want ErrUnavailable", err)
	}

	want := map[string]string{}
	for i := range 20 {
		k, v := fmt.Sprint("session:", i), fmt.Sprint("value-", i)
		want[k] = v
		if err := s.Set(ctx, k, []byte(v), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddToSet(ctx, "sid:1", "session:1", time.Minute); err != nil {
		t.Fatal(err)
	}
	// WAIT runs on the master through the failover client.
	if n, err := s.Client().Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want 1 replica", n, err)
	}

	sn.Master.Stop()
	start := time.Now()
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	addr, err := sn.WaitForFailover(fctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sentinels promoted %s after %v", addr, time.Since(start).Round(time.Millisecond))

	eventually(t, 10*time.Second, "reads after failover", func(ctx context.Context) error {
		for k, v := range want {
			got, err := s.Get(ctx, k)
			if err != nil {
				return err
			}
			if string(got) != v {
				return fmt.Errorf("Get(%s) = %q, want %q", k, got, v)
			}
		}
		return nil
	})
	t.Logf("store reads again %v after the master died", time.Since(start).Round(time.Millisecond))
	if m, err := s.Members(ctx, "sid:1"); err != nil || !slices.Equal(m, []string{"session:1"}) {
		t.Fatalf("Members after failover = %v, %v", m, err)
	}
	eventually(t, 5*time.Second, "writes after failover", func(ctx context.Context) error {
		return s.Set(ctx, "after", []byte("failover"), time.Minute)
	})
}
