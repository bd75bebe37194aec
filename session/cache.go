package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the local session cache (Options.CacheMaxAge, Options.CacheSize).
const (
	DefaultCacheMaxAge = 5 * time.Second
	DefaultCacheSize   = 1024
)

// probeInterval is how often Run republishes its probe until its own
// subscription delivers it.
const probeInterval = 50 * time.Millisecond

// The local cache keeps decoded sessions of this replica for a few seconds,
// so that a user's burst of requests (a page and its assets, an API client's
// calls) costs one store read and one decryption instead of one each.
//
// Coherence: every write of a session through the Manager (Save, Delete,
// Touch, refresh) drops the entry here and publishes its store key over the
// store's Notifier; Run subscribes and drops the keys other replicas
// publish, so a logout on any replica takes effect on every other at once.
// Two things bound what can still go wrong:
//
//   - A Load that read the store before an invalidation and finishes after
//     it must not put its (stale) result in the cache: every invalidation
//     bumps a generation counter, and put refuses a result read under an
//     older generation.
//   - Pub/sub is not a reliable queue: Redis delivers only to connected
//     subscribers, and a subscription that drops and reconnects (go-redis
//     does so by itself) misses what was published meanwhile. So entries
//     also expire after maxAge (default 5s), the longest a missed
//     invalidation can go unnoticed.
//
// The cache is used only while Run holds a working subscription (Run
// proves it with a probe message before enabling the cache); without Run,
// Load always reads the store.
type cache struct {
	maxAge time.Duration
	size   int

	enabled  atomic.Bool
	gen      atomic.Uint64 // bumped by every invalidation
	versions atomic.Uint64 // the last Session.Version handed out

	mu        sync.RWMutex
	entries   map[string]cacheEntry // by session ID
	byTicket  map[string]string     // ticket -> session ID, for each entry's ticket
	lastSweep time.Time
}

type cacheEntry struct {
	ticket string   // the ticket s was loaded with, verified then
	s      *Session // never handed out: get returns a copy
	stored time.Time
}

func newCache(maxAge time.Duration, size int) *cache {
	if maxAge == 0 {
		maxAge = DefaultCacheMaxAge
	}
	if size <= 0 {
		size = DefaultCacheSize
	}
	if maxAge < 0 {
		return nil
	}
	return &cache{maxAge: maxAge, size: size, entries: make(map[string]cacheEntry), byTicket: make(map[string]string)}
}

// get returns a copy of the session cached for ticket if it is younger than
// maxAge, or nil. The copy shares Claims with the cache.
//
// It is looked up by the ticket itself, which was verified (MAC, age) when
// the entry was made, so a hit costs no MAC: the same string cannot have
// become invalid since, within maxAge, except by the session's own end,
// which Load checks.
func (c *cache) get(ticket string, now time.Time) *Session {
	if c == nil || !c.enabled.Load() {
		return nil
	}
	c.mu.RLock()
	e, ok := c.entries[c.byTicket[ticket]]
	c.mu.RUnlock()
	if !ok || e.ticket != ticket || now.Sub(e.stored) >= c.maxAge || now.Before(e.stored) {
		return nil
	}
	cp := *e.s
	return &cp
}

// generation returns the invalidation generation, read before a store read
// whose result is then offered to put.
func (c *cache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// put caches a copy of s, loaded with ticket from the store under generation
// gen, unless an invalidation happened since. s and the copy get a new
// Version.
func (c *cache) put(ticket string, s *Session, gen uint64, now time.Time) {
	if c == nil || !c.enabled.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	s.version = c.versions.Add(1) // shared with the caller's copy and every later hit's
	cp := *s
	cp.sealed = "" // written by the response of the request that saved it
	if now.Sub(c.lastSweep) >= c.maxAge {
		c.sweepLocked(now)
	}
	if _, ok := c.entries[s.ID]; !ok && len(c.entries) >= c.size {
		for id := range c.entries { // evict one, at random
			c.deleteLocked(id)
			break
		}
	}
	c.deleteLocked(s.ID) // an entry made with another ticket of the session
	c.entries[s.ID] = cacheEntry{ticket: ticket, s: &cp, stored: now}
	c.byTicket[ticket] = s.ID
}

func (c *cache) deleteLocked(id string) {
	if e, ok := c.entries[id]; ok {
		delete(c.byTicket, e.ticket)
		delete(c.entries, id)
	}
}

// sweepLocked drops expired entries, at most once per maxAge, so that the
// sessions of users who went away do not stay in memory.
func (c *cache) sweepLocked(now time.Time) {
	for id, e := range c.entries {
		if now.Sub(e.stored) >= c.maxAge || now.Before(e.stored) {
			c.deleteLocked(id)
		}
	}
	c.lastSweep = now
}

// drop forgets session id. Call it after the store write it follows.
func (c *cache) drop(id string) {
	if c == nil {
		return
	}
	c.gen.Add(1)
	c.mu.Lock()
	c.deleteLocked(id)
	c.mu.Unlock()
}

// dropAll forgets every session (a revocation by OP session or subject,
// which the cache cannot look up).
func (c *cache) dropAll() {
	if c == nil {
		return
	}
	c.gen.Add(1)
	c.mu.Lock()
	clear(c.entries)
	clear(c.byTicket)
	c.mu.Unlock()
}

// setEnabled turns the cache on or off; off also empties it.
func (c *cache) setEnabled(on bool) {
	c.enabled.Store(on)
	if !on {
		c.gen.Add(1)
		c.mu.Lock()
		clear(c.entries)
		clear(c.byTicket)
		c.mu.Unlock()
	}
}

// invalidate drops session id from this replica's cache and announces it to
// the others. Every path that changes or deletes a session record in the
// store calls it after the store write, whether or not the write succeeded
// (a timed-out write may still have happened). It announces even when this
// replica's cache is off: other replicas (or this one's next version, during
// a rollout) may have theirs on.
func (m *Manager) invalidate(ctx context.Context, id string) error {
	m.cache.drop(id)
	n, ok := m.store.(Notifier)
	if !ok {
		return nil
	}
	if err := n.Publish(context.WithoutCancel(ctx), sessionKey(id)); err != nil {
		return err
	}
	return nil
}

// Run dispatches the store's notifications until ctx ends, in one
// subscription: other replicas' session writes drop sessions from this
// replica's cache, and their refresh announcements wake this replica's
// Refresh calls waiting for them. Load serves sessions from the cache only
// while Run runs, and only once a probe published by Run has come back
// through its own subscription (so the subscription is known to work). Run
// returns nil when ctx ends, and an error when the subscription fails; the
// cache is then off again. Call it once; when the store is not a Notifier it
// just waits for ctx.
func (m *Manager) Run(ctx context.Context) error {
	n, ok := m.store.(Notifier)
	if !ok {
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	probe := prefixProbe + randomProbe()
	seen := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- n.Subscribe(ctx, func(key string) {
			if key == probe {
				once.Do(func() { close(seen) })
				return
			}
			if key == revokedAll {
				m.cache.dropAll()
			} else if id, ok := strings.CutPrefix(key, prefixSession); ok {
				m.cache.drop(id)
			} else if id, ok := strings.CutPrefix(key, prefixRefreshed); ok {
				m.waiters.wake(id)
			}
		})
	}()
	if m.cache == nil { // nothing to enable: only dispatch
		return subscribeErr(ctx, <-errc)
	}
	defer m.cache.setEnabled(false)

	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for ready := false; !ready; {
		// A failed publish is retried: Redis may still be starting.
		_ = n.Publish(ctx, probe)
		select {
		case <-seen:
			ready = true
		case err := <-errc:
			return subscribeErr(ctx, err)
		case <-t.C:
		}
	}
	t.Stop()
	m.cache.setEnabled(true)
	return subscribeErr(ctx, <-errc)
}

func subscribeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("subscription ended")
	}
	return fmt.Errorf("session: cache invalidation: %w", err)
}

func randomProbe() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
