package proxy_test

import (
	"net/netip"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// TestTraceparentOnlyFromTrustedProxies: a traceparent from a trusted
// proxy makes the request's span its child; from anyone else it is
// ignored (a new root), and its tracestate is not passed on. Either way the
// upstream receives the traceparent of the gateway's client span, and the
// access log names the trace.
func TestTraceparentOnlyFromTrustedProxies(t *testing.T) {
	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		child   bool
	}{
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, true},
		{"untrusted", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			logs := &logBuffer{}
			e := newEnv(t, envOptions{tracer: tp.Tracer("test"), trusted: tc.trusted, accessLog: accesslog.New(logs, true),
				routes: []proxy.Route{{Name: "site", PathPrefix: "/", Auth: proxy.AuthPublic}}})
			e.get(e.browser(), e.gwURL+"/x", "Traceparent", "00-"+clientTrace+"-"+clientSpan+"-01", "Tracestate", "vendor=secret")

			spans := map[string]sdktrace.ReadOnlySpan{}
			for _, s := range rec.Ended() {
				spans[s.Name()] = s
			}
			server, decide, client := spans["GET site"], spans["gate decide"], spans["upstream "+e.upURL.Host]
			if server == nil || decide == nil || client == nil {
				t.Fatalf("spans %v", spans)
			}
			traceID := server.SpanContext().TraceID().String()
			if got := traceID == clientTrace && server.Parent().SpanID().String() == clientSpan; got != tc.child {
				t.Errorf("server span in trace %s under %s: child of the client's = %v, want %v", traceID, server.Parent().SpanID(), got, tc.child)
			}
			if !tc.child && server.Parent().IsValid() {
				t.Errorf("an untrusted traceparent made a parent: %v", server.Parent())
			}
			if decide.Parent().SpanID() != server.SpanContext().SpanID() || client.Parent().SpanID() != server.SpanContext().SpanID() {
				t.Errorf("gate decide and the upstream call are not children of the server span")
			}
			got := e.upstream.last().Header
			want := "00-" + traceID + "-" + client.SpanContext().SpanID().String() + "-01"
			if got.Get("Traceparent") != want {
				t.Errorf("upstream got traceparent %q, want %q", got.Get("Traceparent"), want)
			}
			if ts := got.Get("Tracestate"); tc.child != (ts == "vendor=secret") {
				t.Errorf("upstream got tracestate %q (trusted %v)", ts, tc.child)
			}
			if l := logs.waitLines(t, 1)[0]; l["trace_id"] != traceID {
				t.Errorf("access log trace_id %v, want %s", l["trace_id"], traceID)
			}
		})
	}
}

// TestTracingOffChangesNothing: without a tracer the traceparent passes as
// it came and the access log has no trace_id.
func TestTracingOffChangesNothing(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{accessLog: accesslog.New(logs, true), routes: []proxy.Route{{Name: "site", PathPrefix: "/", Auth: proxy.AuthPublic}}})
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.get(e.browser(), e.gwURL+"/x", "Traceparent", tp)
	if got := e.upstream.last().Header.Get("Traceparent"); got != tp {
		t.Errorf("traceparent %q", got)
	}
	if l := logs.waitLines(t, 1)[0]; l["trace_id"] != nil || strings.Contains(logs.buf.String(), "trace_id") {
		t.Errorf("trace_id without tracing: %v", l)
	}
}
