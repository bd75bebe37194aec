package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/tracing"
	"github.com/gatehouse-dev/gatehouse/session"
)

// tracingShutdownTimeout bounds the export of the spans still queued at
// shutdown.
const tracingShutdownTimeout = 5 * time.Second

// newTracer starts the tracer provider of [tracing], or returns nil when
// tracing is off. Export failures are logged (warn) and never fail a
// request; stop exports what is queued.
func newTracer(ctx context.Context, t config.Tracing, logger *slog.Logger) (trace.Tracer, func() error, error) {
	if !t.Enabled {
		return nil, nil, nil
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: export failed", "error", err)
	}))
	tp, err := tracing.New(ctx, tracing.Options{
		Exporter: t.Exporter, Endpoint: t.Endpoint, Headers: t.Headers, SamplerRatio: t.SamplerRatio,
		ServiceName: t.ServiceName, ServiceVersion: metrics.ReadBuildInfo().Version,
	})
	if err != nil {
		return nil, nil, err
	}
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
		defer cancel()
		return tp.Shutdown(sctx)
	}
	return tp.Tracer(), stop, nil
}

// tracedStore gives every session store operation a span, named by the
// operation and the kind of key (never the key: it is a secret).
type tracedStore struct {
	metrics.FullStore
	tracer trace.Tracer
}

var _ metrics.FullStore = (*tracedStore)(nil)

func (s *tracedStore) start(ctx context.Context, op, key string) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, "session.store "+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.operation.name", op), attribute.String("gatehouse.store.key_kind", keyKind(key))))
}

func end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, session.ErrNotFound) {
		span.SetStatus(codes.Error, "store error")
	}
	span.End()
}

func keyKind(key string) string {
	switch session.KindOf(key) {
	case session.KindSession:
		return "session"
	case session.KindFlow:
		return "flow"
	case session.KindIndex:
		return "index"
	case session.KindLock:
		return "lock"
	case session.KindRevocation:
		return "revocation"
	case session.KindGrace:
		return "grace"
	}
	return "other"
}

func (s *tracedStore) Get(ctx context.Context, key string) ([]byte, error) {
	ctx, span := s.start(ctx, "get", key)
	v, err := s.FullStore.Get(ctx, key)
	end(span, err)
	return v, err
}

func (s *tracedStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, span := s.start(ctx, "set", key)
	err := s.FullStore.Set(ctx, key, value, ttl)
	end(span, err)
	return err
}

func (s *tracedStore) Take(ctx context.Context, key string) ([]byte, error) {
	ctx, span := s.start(ctx, "take", key)
	v, err := s.FullStore.Take(ctx, key)
	end(span, err)
	return v, err
}

func (s *tracedStore) Delete(ctx context.Context, keys ...string) error {
	first := ""
	if len(keys) > 0 {
		first = keys[0]
	}
	ctx, span := s.start(ctx, "delete", first)
	err := s.FullStore.Delete(ctx, keys...)
	end(span, err)
	return err
}

func (s *tracedStore) AddToSet(ctx context.Context, key, member string, ttl time.Duration) error {
	ctx, span := s.start(ctx, "index_add", key)
	err := s.FullStore.AddToSet(ctx, key, member, ttl)
	end(span, err)
	return err
}

func (s *tracedStore) Members(ctx context.Context, key string) ([]string, error) {
	ctx, span := s.start(ctx, "index_members", key)
	v, err := s.FullStore.Members(ctx, key)
	end(span, err)
	return v, err
}

func (s *tracedStore) TryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	ctx, span := s.start(ctx, "lock", key)
	unlock, ok, err := s.FullStore.TryLock(ctx, key, ttl)
	end(span, err)
	return unlock, ok, err
}
