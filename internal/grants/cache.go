package grants

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/lru"
)

// cache maps keys (keyed hashes, never secrets) to values until they
// expire. It holds at most max entries, evicting the least recently used
// (internal/lru), and fetches a missing key once at a time: concurrent
// callers share the fetch. Failures are not cached.
type cache[V any] struct {
	now     func() time.Time
	entries *lru.Cache[string, V]

	mu      sync.Mutex
	flights map[string]*flight[V]
}

func newCache[V any](max int, now func() time.Time) *cache[V] {
	return &cache[V]{now: now, entries: lru.New[string, V](max), flights: map[string]*flight[V]{}}
}

// get returns the value of key, fetching it when it is missing or expired.
// fetch returns the value and until when it may be used; it runs with a
// context that carries the first caller's values but not its cancellation.
func (c *cache[V]) get(ctx context.Context, key string, fetch func(context.Context) (V, time.Time, error)) (V, error) {
	c.mu.Lock()
	if v, ok := c.entries.Get(key, c.now()); ok {
		c.mu.Unlock()
		return v, nil
	}
	f, ok := c.flights[key]
	if !ok {
		f = &flight[V]{done: make(chan struct{})}
		c.flights[key] = f
		go c.fetch(context.WithoutCancel(ctx), key, f, fetch)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

func (c *cache[V]) fetch(ctx context.Context, key string, f *flight[V], fetch func(context.Context) (V, time.Time, error)) {
	val, expires, err := fetch(ctx)
	c.mu.Lock()
	delete(c.flights, key)
	if err == nil {
		c.put(key, val, expires)
	}
	c.mu.Unlock()
	f.val, f.err = val, err
	close(f.done)
}

// lookup returns the value of key when it is cached and not expired.
func (c *cache[V]) lookup(key string) (V, bool) {
	return c.entries.Get(key, c.now())
}

// put caches val under key until expires (nothing when that has passed, or
// when expires is zero: every value here expires).
func (c *cache[V]) put(key string, val V, expires time.Time) {
	if !c.now().Before(expires) {
		return
	}
	c.entries.Add(key, val, expires)
}

// len returns the number of cached entries, expired ones included.
func (c *cache[V]) len() int { return c.entries.Len() }
