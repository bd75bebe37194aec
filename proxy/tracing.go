package proxy

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/tracing"
)

// Tracing (Options.Tracer): every request gets a server span, a child of
// the W3C traceparent a trusted proxy sent (from anyone else, a new root);
// the gate's decision gets a span of its own, and each call to an
// upstream a client span whose traceparent the upstream receives. With
// Options.Tracer nil none of this runs (and nothing is allocated for it).

// startSpan starts the request's server span and returns r with it in its
// context.
func (g *Gateway) startSpan(r *http.Request, requestID string) (*http.Request, trace.Span) {
	ctx := r.Context()
	if g.proxies.trusted(r) {
		ctx = tracing.Extract(ctx, r.Header)
	}
	ctx, span := g.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("server.address", r.Host),
		attribute.String("gatehouse.request_id", requestID),
	))
	return r.WithContext(ctx), span
}

// endSpan names the server span after its route, records the answer and
// ends it. It returns the trace ID for the access log.
func endSpan(span trace.Span, r *http.Request, route string, sw *statusWriter) string {
	span.SetName(r.Method + " " + route)
	attrs := []attribute.KeyValue{
		attribute.String("gatehouse.route", route),
		attribute.Int("http.response.status_code", sw.status),
	}
	if sw.outcome != "" {
		attrs = append(attrs, attribute.String("gatehouse.outcome", sw.outcome))
	}
	span.SetAttributes(attrs...)
	if sw.status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
	sc := span.SpanContext()
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// traceDecide is decide, in a span of its own when tracing is on; the
// session store and AS calls it makes are the span's children.
func (g *gate) traceDecide(r *http.Request, gr *gateRequest, v *verdict) error {
	if g.tracer == nil {
		return g.decide(r, gr, v)
	}
	ctx, span := g.tracer.Start(r.Context(), "gate decide")
	err := g.decide(r.WithContext(ctx), gr, v)
	outcome := decisionOutcome(v, err)
	attrs := []attribute.KeyValue{attribute.String("gatehouse.outcome", outcome)}
	if v.pol != nil {
		attrs = append(attrs, attribute.String("gatehouse.route", v.pol.Name), attribute.String("gatehouse.auth", v.pol.Auth))
	}
	span.SetAttributes(attrs...)
	if outcome == OutcomeError {
		span.SetStatus(codes.Error, "")
	}
	span.End()
	return err
}

// traceUpstreams wraps each upstream transport with a client span that
// the upstream's traceparent names as parent.
func traceUpstreams(tracer trace.Tracer, wrap func(http.RoundTripper) http.RoundTripper) func(http.RoundTripper) http.RoundTripper {
	if tracer == nil {
		return wrap
	}
	return func(rt http.RoundTripper) http.RoundTripper {
		if wrap != nil {
			rt = wrap(rt)
		}
		return tracing.Transport(tracer, rt, tracing.UpstreamCall)
	}
}
