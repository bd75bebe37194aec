package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of Redis Cluster.
const clusterSlots = 16384

// clusterReadyTimeout bounds how long a new cluster may take to agree on its
// slots (cluster_state:ok on every node).
const clusterReadyTimeout = 20 * time.Second

// Cluster is a Redis Cluster of masters only (no replicas).
type Cluster struct {
	// Addrs are the nodes' host:port, seeds for a cluster client.
	Addrs []string
	// Nodes are the nodes' processes, in the order of Addrs.
	Nodes []*Server
}

// StartCluster starts masters cluster-enabled redis-servers, splits the hash
// slots evenly among them, joins them (CLUSTER ADDSLOTSRANGE and CLUSTER
// MEET, sent from Go: redis-cli is not needed) and waits until every node
// reports cluster_state:ok. The nodes stop when the test ends.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 1 {
		t.Fatalf("redistest: StartCluster with %d masters, need at least 1", masters)
	}
	c := &Cluster{}
	for i := range masters {
		n := startServer(t, fmt.Sprintf("cluster-node-%d", i), true, func(dir string, port int) []string {
			return append(dataArgs(dir, port),
				"--cluster-enabled", "yes",
				"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
				"--cluster-node-timeout", "2000",
			)
		})
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterReadyTimeout)
	defer cancel()
	clients := make([]*redis.Client, masters)
	for i, addr := range c.Addrs {
		clients[i] = redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1})
		defer clients[i].Close()
	}
	for i, cl := range clients {
		lo, hi := i*clusterSlots/masters, (i+1)*clusterSlots/masters-1
		if err := cl.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("redistest: cluster addslotsrange %d %d on %s: %v", lo, hi, c.Addrs[i], err)
		}
	}
	for _, n := range c.Nodes[1:] {
		if err := clients[0].ClusterMeet(ctx, "127.0.0.1", fmt.Sprint(n.port)).Err(); err != nil {
			t.Fatalf("redistest: cluster meet %s: %v", n.Addr, err)
		}
	}
	want := []string{
		"cluster_state:ok",
		fmt.Sprintf("cluster_slots_ok:%d", clusterSlots),
		fmt.Sprintf("cluster_known_nodes:%d", masters),
	}
	for i, cl := range clients {
		err := poll(ctx, func(ctx context.Context) error {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			for _, w := range want {
				if !strings.Contains(info, w+"\r\n") {
					return fmt.Errorf("no %s in CLUSTER INFO", w)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("redistest: cluster node %s not ready: %v", c.Addrs[i], err)
		}
	}
	return c
}
