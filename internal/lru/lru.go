// Package lru is the gateway's one bounded cache: at most a fixed number of
// entries, the least recently used evicted first, each entry optionally
// expiring at a time of its own. It is safe for concurrent use.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache maps keys to values, holding at most its size of them.
type Cache[K comparable, V any] struct {
	max int

	mu    sync.Mutex
	items map[K]*list.Element // of *entry[K, V]
	order *list.List          // most recently used at the front
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time // zero: never
}

// New returns a cache that holds at most size entries (at least one).
func New[K comparable, V any](size int) *Cache[K, V] {
	return &Cache[K, V]{max: max(size, 1), items: make(map[K]*list.Element), order: list.New()}
}

// Get returns the value of key and marks it used, unless it is missing or
// has expired at now (an expired entry is removed). now is compared only
// with entries that have an expiry.
func (c *Cache[K, V]) Get(key K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !e.expires.IsZero() && !now.Before(e.expires) {
		c.removeLocked(el)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// Add sets key to val until expires (the zero time: until evicted),
// replacing any value it had, and evicts the least recently used entries
// past the cache's size.
func (c *Cache[K, V]) Add(key K, val V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry[K, V])
		e.val, e.expires = val, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		c.removeLocked(c.order.Back())
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key: key, val: val, expires: expires})
}

// Remove forgets key.
func (c *Cache[K, V]) Remove(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.removeLocked(el)
	}
}

// Len returns the number of entries, expired ones included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Cache[K, V]) removeLocked(el *list.Element) {
	delete(c.items, el.Value.(*entry[K, V]).key)
	c.order.Remove(el)
}

// Keys returns the keys, most recently used first, expired ones included.
func (c *Cache[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]K, 0, c.order.Len())
	for el := c.order.Front(); el != nil; el = el.Next() {
		keys = append(keys, el.Value.(*entry[K, V]).key)
	}
	return keys
}
