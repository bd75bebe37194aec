package bearer

import (
	"container/list"
	"sync"
	"time"
)

// cache is a bounded LRU cache of introspection answers, keyed by the
// SHA-256 of the token (the token itself is never kept). The verifier keeps
// active and inactive answers (a nil Token) in two caches, so that a flood
// of made-up tokens cannot evict the real ones.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*list.Element
	lru     *list.List // front: most recently used
}

type cacheEntry struct {
	key     [32]byte
	tok     *Token
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[[32]byte]*list.Element), lru: list.New()}
}

// get returns the answer cached for key, if it has not expired at now.
func (c *cache) get(key [32]byte, now time.Time) (*Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.tok, true
}

// put caches tok under key until expires, evicting the least recently used
// entry when the cache is full.
func (c *cache) put(key [32]byte, tok *Token, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		e.tok, e.expires = tok, expires
		c.lru.MoveToFront(el)
		return
	}
	for c.lru.Len() >= c.max {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, tok: tok, expires: expires})
}

// len returns the number of entries, expired or not.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
