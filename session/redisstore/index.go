package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// addToSet adds ARGV[1] to the set KEYS[1] and extends its expiry to ARGV[2]
// milliseconds unless it already lasts longer. (PEXPIRE GT cannot do it: a
// new set has no expiry, which GT takes for an infinite one.)
var addToSet = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

// AddToSet adds member to the set at key (SADD) and extends the set's expiry
// to at least ttl from now, never shortening it; ttl must be positive. Both
// happen atomically, in a script.
func (s *Store) AddToSet(ctx context.Context, key, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisstore: add to set: ttl %v is not positive", ttl)
	}
	err := addToSet.Run(ctx, s.client, []string{s.key(key)}, member, milliseconds(ttl)).Err()
	return s.wrap(ctx, "add to set", err)
}

// Members returns the members of the set at key (SMEMBERS), in no particular
// order; empty when the set is missing or expired.
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	m, err := s.client.SMembers(ctx, s.key(key)).Result()
	if err != nil {
		return nil, s.wrap(ctx, "members", err)
	}
	return m, nil
}

// RemoveFromSet removes members from the set at key (SREM). Redis deletes a
// set left empty.
func (s *Store) RemoveFromSet(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	return s.wrap(ctx, "remove from set", s.client.SRem(ctx, s.key(key), args...).Err())
}

// milliseconds returns d in whole milliseconds, rounded up so that a positive
// d never becomes 0 (which Redis refuses as an expiry).
func milliseconds(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
