package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

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
