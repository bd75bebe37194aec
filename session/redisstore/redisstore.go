// Package redisstore keeps sessions in Redis, shared by every replica of the
// gateway. It implements session.Store, session.Indexer, session.Locker and
// session.Notifier on a standalone server, a Sentinel-managed master
// (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/)
// or a Redis Cluster, through go-redis.
//
// It needs Redis 6.2 or later (GETDEL). No operation spans two keys, so every
// operation works in Cluster whatever slots the keys hash to. Errors are
// translated at this boundary: a missing key wraps session.ErrNotFound, and a
// server that cannot be reached or cannot serve (connection refused, timeout,
// LOADING, READONLY, CLUSTERDOWN, MASTERDOWN, a failover in progress...)
// wraps session.ErrUnavailable.
package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/redis/go-redis/v9"
)

var (
	_ session.Store    = (*Store)(nil)
	_ session.Indexer  = (*Store)(nil)
	_ session.Locker   = (*Store)(nil)
	_ session.Notifier = (*Store)(nil)
)

// Defaults of Options.
const (
	DefaultKeyPrefix    = "gatehouse:"
	DefaultDialTimeout  = 2 * time.Second
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
)

// Options configures a Store. Exactly one of URL, SentinelAddrs (with
// MasterName) and ClusterAddrs must be set. The zero value of every other
// field is its documented default.
type Options struct {
	// URL is the address of a standalone server, redis://[[user]:password@]host[:port][/db]
	// or rediss://... for TLS, as parsed by go-redis's ParseURL.
	URL string

	// SentinelAddrs are host:port addresses of Sentinels that monitor the
	// master named MasterName; the Store follows the master across failovers.
	SentinelAddrs []string
	// MasterName is the name under which the Sentinels monitor the master.
	MasterName string

	// ClusterAddrs are host:port seed addresses of a Redis Cluster; one is
	// enough, the others are discovered.
	ClusterAddrs []string

	// Username and Password authenticate to the data nodes (ACL, or
	// requirepass with an empty Username). With URL, each replaces the URL's
	// own when set.
	Username, Password string
	// SentinelPassword authenticates to the Sentinels themselves, when they
	// require it.
	SentinelPassword string
	// DB selects the database (not in Cluster, which has only database 0).
	// With URL, it replaces the URL's /db when not 0.
	DB int

	// TLS, when set, enables TLS with this configuration; it replaces the one
	// a rediss:// URL implies.
	TLS *tls.Config

	// DialTimeout (default 2s), ReadTimeout (default 1s) and WriteTimeout
	// (default 1s) bound each connection attempt and each command's socket
	// reads and writes. A command also ends with its context.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration

	// PoolSize is the number of connections per node; 0 means go-redis's
	// default (10 per GOMAXPROCS).
	PoolSize int

	// KeyPrefix is put before every key and the pub/sub channel, so that
	// several deployments can share one Redis; default "gatehouse:". It
	// should hold no '{': in Cluster that would pin every key to one slot.
	KeyPrefix string
}

// Store is a session store in Redis, safe for concurrent use. Create it with
// New; Close it when done.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	channel string // pub/sub channel of Publish and Subscribe
}

// New validates opts and builds a Store. It does not connect: the first
// command does, and Ping checks that Redis answers.
func New(opts Options) (*Store, error) {
	uo, err := universalOptions(opts)
	if err != nil {
		return nil, err
	}
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &Store{
		client:  redis.NewUniversalClient(uo),
		prefix:  prefix,
		channel: prefix + "invalidate",
	}, nil
}

// universalOptions checks opts and converts them for go-redis.
func universalOptions(opts Options) (*redis.UniversalOptions, error) {
	var modes []string
	if opts.URL != "" {
		modes = append(modes, "URL")
	}
	if len(opts.SentinelAddrs) > 0 || opts.MasterName != "" {
		modes = append(modes, "SentinelAddrs")
	}
	if len(opts.ClusterAddrs) > 0 {
		modes = append(modes, "ClusterAddrs")
	}
	switch len(modes) {
	case 0:
		return nil, errors.New("redisstore: none of URL, SentinelAddrs and ClusterAddrs is set")
	case 1:
	default:
		return nil, fmt.Errorf("redisstore: %s and %s are both set; set exactly one", modes[0], modes[1])
	}

	uo := &redis.UniversalOptions{
		Username:         opts.Username,
		Password:         opts.Password,
		SentinelPassword: opts.SentinelPassword,
		DB:               opts.DB,
		TLSConfig:        opts.TLS,
		DialTimeout:      orDefault(opts.DialTimeout, DefaultDialTimeout),
		ReadTimeout:      orDefault(opts.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:     orDefault(opts.WriteTimeout, DefaultWriteTimeout),
		PoolSize:         opts.PoolSize,
		// A command ends with its context (the request's), not only with
		// ReadTimeout.
		ContextTimeoutEnabled: true,
		// Fail fast while Redis is unreachable: go-redis otherwise dials 5
		// times, 100ms apart, on each of a command's 4 attempts.
		DialerRetries: 1,
	}
	switch {
	case opts.URL != "":
		u, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: URL: %w", err)
		}
		uo.Addrs = []string{u.Addr}
		if uo.Username == "" {
			uo.Username = u.Username
		}
		if uo.Password == "" {
			uo.Password = u.Password
		}
		if uo.DB == 0 {
			uo.DB = u.DB
		}
		if uo.TLSConfig == nil {
			uo.TLSConfig = u.TLSConfig
		}
	case modes[0] == "SentinelAddrs":
		if len(opts.SentinelAddrs) == 0 {
			return nil, errors.New("redisstore: MasterName is set but SentinelAddrs is not")
		}
		if opts.MasterName == "" {
			return nil, errors.New("redisstore: SentinelAddrs is set but MasterName is not")
		}
		uo.Addrs = opts.SentinelAddrs
		uo.MasterName = opts.MasterName
	default: // Cluster
		if opts.DB != 0 {
			return nil, fmt.Errorf("redisstore: DB is %d but Redis Cluster has only database 0", opts.DB)
		}
		uo.Addrs = opts.ClusterAddrs
		// Without it, go-redis takes a single seed address for a standalone server.
		uo.IsClusterMode = true
	}
	if opts.SentinelPassword != "" && uo.MasterName == "" {
		return nil, errors.New("redisstore: SentinelPassword is set but SentinelAddrs is not")
	}
	if uo.DB < 0 {
		return nil, fmt.Errorf("redisstore: DB is %d, want 0 or more", uo.DB)
	}
	return uo, nil
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// Client returns the underlying go-redis client, for health checks, metrics
// and tests. Commands sent through it bypass KeyPrefix.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap(ctx, "ping", s.client.Ping(ctx).Err())
}

// Close closes the connections. Subscribe calls then end with an error that
// wraps session.ErrUnavailable, and so do later operations. Closing a closed
// Store does nothing.
func (s *Store) Close() error {
	if err := s.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

// key returns the Redis key of a store key.
func (s *Store) key(k string) string { return s.prefix + k }

// Get returns the value of key (a new slice the caller owns), or an error
// that wraps session.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.client.Get(ctx, s.key(key)).Bytes()
	if err != nil {
		return nil, s.wrap(ctx, "get", err)
	}
	return v, nil
}

// Set stores value under key for ttl (SET with PX, or EX for whole seconds),
// which must be positive.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		// go-redis would take 0 for "no expiry".
		return fmt.Errorf("redisstore: set: ttl %v is not positive", ttl)
	}
	return s.wrap(ctx, "set", s.client.Set(ctx, s.key(key), value, ttl).Err())
}

// Take atomically returns and deletes the value of key (GETDEL), or returns
// an error that wraps session.ErrNotFound. Of concurrent callers, in any
// replica, exactly one gets the value.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := s.client.GetDel(ctx, s.key(key)).Bytes()
	if err != nil {
		return nil, s.wrap(ctx, "take", err)
	}
	return v, nil
}

// Delete removes keys; missing keys are not an error. Each key gets its own
// DEL (pipelined), never one multi-key DEL, which Cluster refuses for keys in
// different slots.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return s.wrap(ctx, "delete", s.client.Del(ctx, s.key(keys[0])).Err())
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, s.key(k))
		}
		return nil
	})
	return s.wrap(ctx, "delete", err)
}
