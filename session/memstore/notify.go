package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gatehouse-dev/gatehouse/session"
)

// notifier fans published keys out to the subscribers of one process. Publish
// never blocks: each subscriber has its own queue, drained by its Subscribe
// call, so a slow subscriber delays only itself and loses nothing.
type notifier struct {
	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by close
	subs   map[*subscriber]struct{}
}

type subscriber struct {
	mu      sync.Mutex
	pending []string
	wake    chan struct{} // capacity 1: a send means pending may be non-empty
}

func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.closed = true
		close(n.done)
	}
}

// Publish announces to every current Subscribe call of this Store that key
// changed. It does not wait for the subscribers to run.
func (s *Store) Publish(_ context.Context, key string) error {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("memstore: publish: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	for sub := range n.subs {
		sub.mu.Lock()
		sub.pending = append(sub.pending, key)
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Subscribe calls fn, in order and from the calling goroutine, with every key
// published after Subscribe was called, until ctx ends (it then returns nil)
// or the Store is closed (it then returns an error that wraps
// session.ErrUnavailable).
func (s *Store) Subscribe(ctx context.Context, fn func(key string)) error {
	n := &s.notify
	sub := &subscriber{wake: make(chan struct{}, 1)}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return fmt.Errorf("memstore: subscribe: %w", errors.Join(session.ErrUnavailable, errClosed))
	}
	n.subs[sub] = struct{}{}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.subs, sub)
		n.mu.Unlock()
	}()

	var batch []string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.done:
			return fmt.Errorf("memstore: subscribe: %w", errors.Join(session.ErrUnavailable, errClosed))
		case <-sub.wake:
		}
		sub.mu.Lock()
		batch, sub.pending = sub.pending, batch[:0]
		sub.mu.Unlock()
		for _, key := range batch {
			if ctx.Err() != nil {
				return nil
			}
			fn(key)
		}
		clear(batch)
	}
}
