package server

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

// Store is what the gateway needs of a session store: both memstore and
// redisstore provide all of it.
type Store = metrics.FullStore

// NewStore opens the session store the [session] section names. With the
// cookie store it is the store of what cannot live in a cookie
// (revocations, refresh grace records, pending flows, the REST flow API's
// sessions): Redis when [session.redis] names a server, else memory.
func NewStore(s config.Session) (Store, error) {
	if s.Store != config.StoreRedis && (s.Store != config.StoreCookie || !s.Redis.Configured()) {
		return memstore.New(), nil
	}
	st, err := redisstore.New(redisstore.Options{
		URL:           s.Redis.URL,
		SentinelAddrs: s.Redis.SentinelAddrs,
		MasterName:    s.Redis.MasterName,
		ClusterAddrs:  s.Redis.ClusterAddrs,
		Username:      s.Redis.Username,
		Password:      s.Redis.Password,
		KeyPrefix:     s.Redis.KeyPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("session.redis: %w", err)
	}
	return st, nil
}
