package grants

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// cache maps keys (keyed hashes, never secrets) to values until they
// expire. It holds at most max entries, evicting the least recently used,
// and fetches a missing key once at a time: concurrent callers share the
// fetch. Failures are not cached.
type cache[V any] struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	lru     *list.List // of *entry[V], most recently used first
	entries map[string]*list.Element
	flights map[string]*flight[V]
}

type entry[V any] struct {
	key     string
	val     V
	expires time.Time
}

func newCache[V any](max int, now func() time.Time) *cache[V] {
	return &cache[V]{max: max, now: now, lru: list.New(), entries: map[string]*list.Element{}, flights: map[string]*flight[V]{}}
}

// get returns the value of key, fetching it when it is missing or expired.
// fetch returns the value and until when it may be used; it runs with a
// context that carries the first caller's values but not its cancellation.
func (c *cache[V]) get(ctx context.Context, key string, fetch func(context.Context) (V, time.Time, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry[V])
		if now.Before(e.expires) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.val, nil
		}
		c.removeLocked(el)
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
		c.putLocked(key, val, expires)
	}
	c.mu.Unlock()
	f.val, f.err = val, err
	close(f.done)
}

// lookup returns the value of key when it is cached and not expired.
func (c *cache[V]) lookup(key string) (V, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry[V])
		if now.Before(e.expires) {
			c.lru.MoveToFront(el)
			return e.val, true
		}
		c.removeLocked(el)
	}
	var zero V
	return zero, false
}

// put caches val under key until expires (nothing when that has passed).
func (c *cache[V]) put(key string, val V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, val, expires)
}

func (c *cache[V]) putLocked(key string, val V, expires time.Time) {
	if !c.now().Before(expires) {
		return
	}
	if el, ok := c.entries[key]; ok {
		c.removeLocked(el)
	}
	c.entries[key] = c.lru.PushFront(&entry[V]{key: key, val: val, expires: expires})
	for c.lru.Len() > c.max {
		c.removeLocked(c.lru.Back())
	}
}

func (c *cache[V]) removeLocked(el *list.Element) {
	delete(c.entries, el.Value.(*entry[V]).key)
	c.lru.Remove(el)
}

// len returns the number of cached entries, expired ones included.
func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
