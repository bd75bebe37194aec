package redistest

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Addr != s.Addr {
		t.Fatalf("URL %s names %s, want %s", s.URL, opt.Addr, s.Addr)
	}
	opt.DialerRetries, opt.MaxRetries = 1, -1
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := t.Context()

	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Stop() // idempotent
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("Ping after Stop succeeded")
	}
	s.Restart()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Ping after Restart: %v", err)
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("Get after Restart = %v, want redis.Nil: nothing persists", err)
	}
	// Nothing is written to disk on shutdown either.
	if save, _ := c.ConfigGet(ctx, "save").Result(); save["save"] != "" {
		t.Errorf("save = %q, want empty", save["save"])
	}
}

// TestStartOnTakenPort checks that a start on a taken port reports
// errAddrInUse, which makes startServer pick another port.
func TestStartOnTakenPort(t *testing.T) {
	t.Parallel()
	Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	port := l.Addr().(*net.TCPAddr).Port
	s := &Server{
		t: t, name: "taken", dir: dir, port: port,
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		argsAt: func(port int) []string { return dataArgs(dir, port) },
	}
	defer s.Stop()
	if err := s.start(); !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port = %v, want errAddrInUse", err)
	}
}

func TestStartCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs[:1]})
	defer cc.Close()
	ctx := t.Context()
	// Keys over all slots land on all three masters.
	for i := range 100 {
		if err := cc.Set(ctx, "key-"+strconv.Itoa(i), i, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i, addr := range c.Addrs {
		n := redis.NewClient(&redis.Options{Addr: addr})
		size, err := n.DBSize(ctx).Result()
		_ = n.Close()
		if err != nil || size == 0 {
			t.Errorf("node %d (%s) holds %d keys (err %v), want some", i, addr, size, err)
		}
	}
}

func TestStartSentinel(t *testing.T) {
	t.Parallel()
	s := StartSentinel(t)
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs})
	defer fc.Close()
	ctx := t.Context()
	if err := fc.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: s.Replica.Addr})
	defer rc.Close()
	if n, err := fc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v; want 1 replica", n, err)
	}
	if v, err := rc.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("Get on replica = %q, %v; want v", v, err)
	}

	s.Master.Stop()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	addr, err := s.WaitForFailover(wctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failover to %s took %v", addr, time.Since(start).Round(time.Millisecond))
	if addr != s.Replica.Addr {
		t.Fatalf("new master %s, want the replica %s", addr, s.Replica.Addr)
	}
}
