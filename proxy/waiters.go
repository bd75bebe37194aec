package proxy

import (
	"context"
	"strings"
	"sync"
)

// refreshedPrefix marks notifications that a session's tokens were refreshed.
const refreshedPrefix = "r:"

// waiters are the requests of this replica waiting for another replica to
// finish refreshing a session. They are woken by the store's Notifier (see
// Gateway.Run), or give up when the refresh lock expires.
type waiters struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]struct{}
}

// add registers a waiter for session id. Register before trying the lock, so
// a notification sent in between is not missed.
func (w *waiters) add(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[string]map[chan struct{}]struct{})
	}
	if w.m[id] == nil {
		w.m[id] = make(map[chan struct{}]struct{})
	}
	w.m[id][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		if set := w.m[id]; set != nil {
			delete(set, ch)
			if len(set) == 0 {
				delete(w.m, id)
			}
		}
		w.mu.Unlock()
	}
}

// wake releases every waiter of session id.
func (w *waiters) wake(id string) {
	w.mu.Lock()
	set := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	for ch := range set {
		close(ch)
	}
}

// Run listens for other replicas' refresh notifications until ctx ends. The
// gateway works without it, but a request waiting for another replica's
// refresh then waits for the refresh lock to expire.
func (g *Gateway) Run(ctx context.Context) error {
	if g.opts.Notifier == nil {
		<-ctx.Done()
		return nil
	}
	err := g.opts.Notifier.Subscribe(ctx, func(key string) {
		if id, ok := strings.CutPrefix(key, refreshedPrefix); ok {
			g.gate.waiters.wake(id)
		}
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
