// Package tracing sets up OpenTelemetry tracing for the gateway: a tracer
// provider exporting over OTLP (HTTP or gRPC) with a parent-based ratio
// sampler, and the client side of the W3C trace context: a span around
// every call to an upstream or to the authorization server, whose
// traceparent the call carries. It is only used when tracing is on; with
// tracing off nothing here runs.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names the gateway's tracer.
const InstrumentationName = "github.com/gatehouse-dev/gatehouse"

// Exporters.
const (
	OTLPHTTP = "otlp-http"
	OTLPGRPC = "otlp-grpc"
)

// Options configures New.
type Options struct {
	// Exporter is OTLPHTTP (default) or OTLPGRPC.
	Exporter string
	// Endpoint is the collector's URL (http or https). For OTLP/HTTP,
	// "/v1/traces" is appended when it has no path.
	Endpoint string
	// Headers are sent with every export.
	Headers map[string]string
	// SamplerRatio is the share of new traces sampled (0 to 1); a trace
	// whose parent came from a trusted proxy follows the parent's decision.
	SamplerRatio float64
	// ServiceName and ServiceVersion describe the gateway (resource).
	ServiceName, ServiceVersion string
}

// Provider is a running tracer provider.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// New starts a tracer provider exporting in batches to o.Endpoint. It
// does not connect: export failures are reported by OpenTelemetry's error
// handler (otel.SetErrorHandler) and never fail a request.
func New(ctx context.Context, o Options) (*Provider, error) {
	exp, err := newExporter(ctx, o)
	if err != nil {
		return nil, err
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", o.ServiceName),
		attribute.String("service.version", o.ServiceVersion),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SamplerRatio))),
	)
	return &Provider{tp: tp}, nil
}

func newExporter(ctx context.Context, o Options) (sdktrace.SpanExporter, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("tracing: endpoint %q is not an absolute URL", o.Endpoint)
	}
	insecure := u.Scheme == "http"
	switch o.Exporter {
	case OTLPHTTP, "":
		path := u.Path
		if path == "" || path == "/" {
			path = "/v1/traces"
		}
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(path)}
		if insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if len(o.Headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(o.Headers))
		}
		return otlptracehttp.New(ctx, opts...)
	case OTLPGRPC:
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(u.Host)}
		if insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		if len(o.Headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(o.Headers))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	return nil, fmt.Errorf("tracing: unknown exporter %q", o.Exporter)
}

// Tracer returns the gateway's tracer.
func (p *Provider) Tracer() trace.Tracer { return p.tp.Tracer(InstrumentationName) }

// Shutdown exports the spans still queued, until ctx ends, and stops.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// propagator is the W3C trace context (traceparent, tracestate).
var propagator = propagation.TraceContext{}

// Extract returns ctx with the remote span context of h's traceparent
// (and tracestate), if valid. Call it only for a trusted peer.
func Extract(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Transport returns rt with a client span around every request, named by
// name(r), and the request's traceparent (and tracestate) replaced by the
// span's: whatever the client sent is never passed on as it is. A nil rt
// is http.DefaultTransport.
func Transport(tracer trace.Tracer, rt http.RoundTripper, name func(*http.Request) (string, []attribute.KeyValue)) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		spanName, attrs := name(r)
		attrs = append(attrs,
			attribute.String("http.request.method", r.Method),
			attribute.String("server.address", r.URL.Hostname()),
			attribute.String("url.path", r.URL.Path))
		ctx, span := tracer.Start(r.Context(), spanName, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
		out := r.Clone(ctx) // a RoundTripper must not modify its request
		out.Header.Del("Traceparent")
		out.Header.Del("Tracestate")
		propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
		resp, err := rt.RoundTrip(out)
		switch {
		case err != nil:
			span.SetStatus(codes.Error, errorKind(err))
		default:
			span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			if resp.StatusCode >= 500 {
				span.SetStatus(codes.Error, "")
			}
		}
		span.End()
		return resp, err
	})
}

// errorKind describes a transport error without its text, which may hold
// a URL with a query.
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "transport error"
}

// ASCall names a call to the authorization server by what it does: the
// grant of a token request (code_exchange, refresh, token_exchange,
// client_credentials, password), a pushed authorization request (par), or
// the endpoint (introspection, revocation, userinfo, jwks, discovery).
func ASCall(r *http.Request) (string, []attribute.KeyValue) {
	op := asOperation(r)
	return "oauth2 " + op, []attribute.KeyValue{attribute.String("gatehouse.as.operation", op)}
}

func asOperation(r *http.Request) string {
	p := strings.ToLower(r.URL.Path)
	switch {
	case strings.Contains(p, ".well-known"):
		return "discovery"
	case strings.Contains(p, "introspect"):
		return "introspection"
	case strings.Contains(p, "revo"):
		return "revocation"
	case strings.Contains(p, "userinfo") || strings.HasSuffix(p, "/me"):
		return "userinfo"
	case strings.Contains(p, "jwk") || strings.Contains(p, "cert") || strings.HasSuffix(p, "/keys"):
		return "jwks"
	}
	if r.Method == http.MethodPost {
		form := formOf(r)
		if form.Get("grant_type") == "" && (form.Has("response_type") || form.Has("request")) {
			return "par" // a pushed authorization request (RFC 9126): the authorization request's parameters
		}
		switch form.Get("grant_type") {
		case "authorization_code":
			return "code_exchange"
		case "refresh_token":
			return "refresh"
		case "urn:ietf:params:oauth:grant-type:token-exchange":
			return "token_exchange"
		case "client_credentials":
			return "client_credentials"
		case "password":
			return "password"
		case "":
		default:
			return "token"
		}
	}
	if strings.Contains(p, "token") {
		return "token"
	}
	return "other"
}

// formOf reads a form body without consuming it (the body is read again
// through GetBody, which requests built from a buffer have); nil when it
// cannot.
func formOf(r *http.Request) url.Values {
	if r.GetBody == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return nil
	}
	body, err := r.GetBody()
	if err != nil {
		return nil
	}
	defer body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for b.Len() < 64<<10 {
		n, err := body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	form, err := url.ParseQuery(b.String())
	if err != nil {
		return nil
	}
	return form
}

// UpstreamCall names a call to an upstream by its host.
func UpstreamCall(r *http.Request) (string, []attribute.KeyValue) {
	return "upstream " + r.URL.Host, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
