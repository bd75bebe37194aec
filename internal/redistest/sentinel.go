package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name under which the sentinels of StartSentinel monitor
// their master.
const MasterName = "gatehouse-test"

// sentinelReadyTimeout bounds how long the sentinels may take to see the
// replica and each other, which they learn from hello messages sent every 2s.
const sentinelReadyTimeout = 20 * time.Second

// Sentinel is a master, one replica and three sentinels that monitor them with
// quorum 2, a down-after-milliseconds of 1000 and a failover-timeout of 3000:
// a stopped master is replaced within a few seconds.
type Sentinel struct {
	// MasterName is the monitored master's name (the constant MasterName).
	MasterName string
	// SentinelAddrs are the sentinels' host:port.
	SentinelAddrs []string
	// Master and Replica are the data nodes as started. After a failover the
	// former Replica is the master; the fields are not swapped.
	Master, Replica *Server
	// Sentinels are the sentinels' processes, in the order of SentinelAddrs.
	Sentinels []*Server
}

// StartSentinel starts a master, a replica of it and three sentinels, and
// waits until the replica is in sync and every sentinel knows the replica and
// the two other sentinels, so that a failover can start at once. Everything
// stops when the test ends.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	master := Start(t)
	_, masterPort, _ := net.SplitHostPort(master.Addr)
	replica := startServer(t, "replica", false, func(dir string, port int) []string {
		return append(dataArgs(dir, port), "--replicaof", "127.0.0.1", masterPort)
	})

	ctx, cancel := context.WithTimeout(context.Background(), sentinelReadyTimeout)
	defer cancel()

	// The replica must be in sync before the sentinels start: a sentinel
	// learns of replicas from the master's INFO, which it reads only every
	// 10s once it has started.
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr, DialerRetries: 1})
	defer rc.Close()
	err := poll(ctx, func(ctx context.Context) error {
		info, err := rc.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up\r\n") {
			return fmt.Errorf("replica link to %s not up", master.Addr)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("redistest: replica %s: %v", replica.Addr, err)
	}

	s := &Sentinel{MasterName: MasterName, Master: master, Replica: replica}
	for i := range 3 {
		sn := startServer(t, fmt.Sprintf("sentinel-%d", i), false, func(dir string, port int) []string {
			conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", port))
			text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
daemonize no
logfile ""
sentinel monitor %s 127.0.0.1 %s 2
sentinel down-after-milliseconds %[3]s 1000
sentinel failover-timeout %[3]s 3000
sentinel parallel-syncs %[3]s 1
`, port, dir, MasterName, masterPort)
			// Sentinel rewrites its config file: it must be writable.
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				t.Errorf("redistest: write %s: %v", conf, err)
			}
			return []string{conf, "--sentinel"}
		})
		s.Sentinels = append(s.Sentinels, sn)
		s.SentinelAddrs = append(s.SentinelAddrs, sn.Addr)
	}

	for _, addr := range s.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, DialerRetries: 1})
		err := poll(ctx, func(ctx context.Context) error {
			m, err := sc.Master(ctx, MasterName).Result()
			if err != nil {
				return err
			}
			if m["flags"] != "master" || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel sees flags=%s num-slaves=%s num-other-sentinels=%s",
					m["flags"], m["num-slaves"], m["num-other-sentinels"])
			}
			return nil
		})
		_ = sc.Close()
		if err != nil {
			t.Fatalf("redistest: sentinel %s not ready: %v", addr, err)
		}
	}
	return s
}

// WaitForFailover waits, until ctx ends, for the sentinels to have replaced
// the master of StartSentinel, normally after Master.Stop(): every running
// sentinel must name the same new master, and that server must report
// role:master. It returns the new master's host:port.
func (s *Sentinel) WaitForFailover(ctx context.Context) (string, error) {
	clients := make([]*redis.SentinelClient, len(s.SentinelAddrs))
	for i, addr := range s.SentinelAddrs {
		clients[i] = redis.NewSentinelClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
		defer clients[i].Close()
	}
	var newMaster string
	err := poll(ctx, func(ctx context.Context) error {
		newMaster = ""
		answered := 0
		for i, c := range clients {
			hp, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
			if err != nil {
				continue // a stopped sentinel does not vote
			}
			answered++
			addr := net.JoinHostPort(hp[0], hp[1])
			switch {
			case addr == s.Master.Addr:
				return fmt.Errorf("sentinel %s still names %s", s.SentinelAddrs[i], addr)
			case newMaster == "":
				newMaster = addr
			case addr != newMaster:
				return fmt.Errorf("sentinels disagree: %s and %s", newMaster, addr)
			}
		}
		if answered == 0 {
			return fmt.Errorf("no sentinel answers")
		}
		mc := redis.NewClient(&redis.Options{Addr: newMaster, DialerRetries: 1, MaxRetries: -1})
		defer mc.Close()
		info, err := mc.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:master\r\n") {
			return fmt.Errorf("%s is not yet master", newMaster)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("redistest: wait for failover of %s: %w", s.Master.Addr, err)
	}
	return newMaster, nil
}
