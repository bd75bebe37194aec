package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

// FullStore is what the gateway's stores provide (session/memstore and
// session/redisstore): every session interface plus Ping and Close.
type FullStore interface {
	session.Backend
	Ping(ctx context.Context) error
	Close() error
}

// Store returns st with every operation timed and its failures counted.
func (m *Metrics) Store(st FullStore) FullStore { return &store{FullStore: st, m: m} }

type store struct {
	FullStore
	m *Metrics
}

var _ FullStore = (*store)(nil)

func (s *store) observe(op string, start time.Time, err error) {
	s.m.store.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, session.ErrNotFound) && !errors.Is(err, context.Canceled) {
		s.m.storeErrs.WithLabelValues(op).Inc()
	}
}

func (s *store) Get(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	v, err := s.FullStore.Get(ctx, key)
	s.observe("get", start, err)
	return v, err
}

func (s *store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	start := time.Now()
	err := s.FullStore.Set(ctx, key, value, ttl)
	s.observe("set", start, err)
	if err == nil && session.KindOf(key) == session.KindFlow {
		s.m.flowsStart.Inc()
	}
	return err
}

func (s *store) Take(ctx context.Context, key string) ([]byte, error) {
	start := time.Now()
	v, err := s.FullStore.Take(ctx, key)
	s.observe("take", start, err)
	return v, err
}

func (s *store) Delete(ctx context.Context, keys ...string) error {
	start := time.Now()
	err := s.FullStore.Delete(ctx, keys...)
	s.observe("delete", start, err)
	return err
}

func (s *store) AddToSet(ctx context.Context, key, member string, ttl time.Duration) error {
	start := time.Now()
	err := s.FullStore.AddToSet(ctx, key, member, ttl)
	s.observe("index_add", start, err)
	return err
}

func (s *store) Members(ctx context.Context, key string) ([]string, error) {
	start := time.Now()
	v, err := s.FullStore.Members(ctx, key)
	s.observe("index_members", start, err)
	return v, err
}

func (s *store) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	start := time.Now()
	unlock, ok, err := s.FullStore.TryLock(ctx, key, ttl)
	s.observe("lock", start, err)
	return unlock, ok, err
}

func (s *store) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.FullStore.Ping(ctx)
	s.observe("ping", start, err)
	return err
}
