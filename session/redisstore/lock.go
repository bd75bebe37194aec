package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// unlock deletes the lock KEYS[1] if it still holds the token ARGV[1].
var unlock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// TryLock takes the lock at key for ttl (positive) if it is free: SET NX with
// that expiry and a random token of 128 bits or more. ok is false when another holder,
// in any replica, has it. unlock deletes the lock only if it still holds this
// caller's token (compare and delete, in a script): once ttl has passed and
// another caller has taken the lock, unlock leaves that caller's lock in
// place. unlock returns nil in both cases.
//
// The lock lives on one master. A failover that loses the latest writes can
// lose it too, so it suits single-flight (saving duplicate work), not mutual
// exclusion that correctness depends on.
func (s *Store) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if ttl <= 0 {
		return nil, false, fmt.Errorf("redisstore: try lock: ttl %v is not positive", ttl)
	}
	k := s.key(key)
	token := rand.Text()
	ok, err := s.client.SetNX(ctx, k, token, ttl).Result()
	if err != nil {
		return nil, false, s.wrap(ctx, "try lock", err)
	}
	if !ok {
		return nil, false, nil
	}
	return func(ctx context.Context) error {
		return s.wrap(ctx, "unlock", unlock.Run(ctx, s.client, []string{k}, token).Err())
	}, true, nil
}
