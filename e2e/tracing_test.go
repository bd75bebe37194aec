package e2e

import (
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/gatehouse-dev/gatehouse/internal/tracing/otlptest"
)

// TestE2ETracingThroughTheOP logs in through the real OP (oidc-provider)
// in Chromium with tracing on, exporting to an in-process OTLP receiver:
// the code exchange at the OP is a span of the callback's trace, answered
// 200, and the upstream receives a traceparent naming the gateway's span
// of its call, in the trace the access log names.
func TestE2ETracingThroughTheOP(t *testing.T) {
	w := newWorld(t, worldOptions{})
	rc := &otlptest.Receiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	gw := w.gateway(t, gwConfig{Extra: `
[tracing]
enabled = true
endpoint = "` + collector.URL + `"
insecure = true
`})
	tab := w.loggedInTab(t, gw.URL+"/traced/page", "tracing-final")
	if text := tab.Text(t); !contains(text, "Hello alice@example.com") {
		t.Fatalf("page text %q", text)
	}
	upTP := w.up.last(t).Get("Traceparent")
	gw.stop(t) // exports the spans still queued

	spans := rc.Spans()
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
	}
	var exchange, upstreamCall, par *tracepb.Span
	for _, s := range spans {
		switch {
		case s.GetName() == "oauth2 code_exchange":
			exchange = s
		case s.GetName() == "oauth2 par":
			par = s
		case strings.HasPrefix(s.GetName(), "upstream ") && "00-"+hex.EncodeToString(s.GetTraceId())+"-"+hex.EncodeToString(s.GetSpanId())+"-01" == upTP:
			upstreamCall = s
		}
	}
	if exchange == nil {
		t.Fatalf("no code exchange span among %d", len(spans))
	}
	// provider.par is "auto" by default and the OP offers PAR: the login
	// pushed its request, in a span named for it (not "oauth2 other").
	if par == nil || !strings.Contains(otlptest.Attr(par, "http.response.status_code"), "201") {
		t.Errorf("no pushed authorization request span answered 201 (%v)", par)
	}
	for _, s := range spans {
		if s.GetName() == "oauth2 other" {
			t.Errorf("an AS call named %q: %s", s.GetName(), otlptest.Attr(s, "url.path"))
		}
	}
	if parent := byID[hex.EncodeToString(exchange.GetParentSpanId())]; parent == nil || parent.GetName() != "GET oauth2_callback" {
		t.Errorf("the code exchange's parent is %v, want the callback's server span", parent)
	}
	if !strings.Contains(otlptest.Attr(exchange, "http.response.status_code"), "200") {
		t.Errorf("code exchange at the OP: %v", exchange.GetAttributes())
	}
	if upstreamCall == nil {
		t.Fatalf("the upstream's traceparent %q names no exported upstream span", upTP)
	}
	server := byID[hex.EncodeToString(upstreamCall.GetParentSpanId())]
	if server == nil || server.GetName() != "GET app" {
		t.Fatalf("the upstream call's parent is %v, want GET app", server)
	}
	if traceID := hex.EncodeToString(server.GetTraceId()); !strings.Contains(gw.log(), "trace_id="+traceID) {
		t.Errorf("no access log line with trace_id=%s", traceID)
	}
}
