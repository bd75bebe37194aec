package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/redis/go-redis/v9"
)

// Publish announces that key changed or was deleted: PUBLISH on the channel
// KeyPrefix+"invalidate". Only the Subscribe calls connected at that moment
// receive it; Redis keeps no backlog.
func (s *Store) Publish(ctx context.Context, key string) error {
	return s.wrap(ctx, "publish", s.client.Publish(ctx, s.channel, key).Err())
}

// Subscribe calls fn, from the calling goroutine and in order, with every key
// published on the channel KeyPrefix+"invalidate" until ctx ends; it then
// returns nil. When the connection drops, go-redis reconnects and resubscribes
// on its own (it pings the subscription every few seconds to notice); keys
// published in between are lost, so a cache fed by Subscribe should also
// bound the age of its entries. Subscribe returns an error that wraps
// session.ErrUnavailable only when the Store is closed.
func (s *Store) Subscribe(ctx context.Context, fn func(key string)) error {
	// The first SUBSCRIBE may fail if Redis is down; the subscription is
	// recorded all the same and made as soon as Redis answers.
	ps := s.client.Subscribe(ctx, s.channel)
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-ch:
			if !ok {
				return fmt.Errorf("redisstore: subscribe: %w", errors.Join(session.ErrUnavailable, redis.ErrClosed))
			}
			fn(msg.Payload)
		}
	}
}
