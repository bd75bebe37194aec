package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/gatehouse-dev/gatehouse/internal/tracing/otlptest"
)

// traceparents records the traceparent of every request a server got.
type traceparents struct {
	mu   sync.Mutex
	seen map[string][]string // by path
}

func (tp *traceparents) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.mu.Lock()
		if tp.seen == nil {
			tp.seen = map[string][]string{}
		}
		tp.seen[r.URL.Path] = append(tp.seen[r.URL.Path], r.Header.Get("Traceparent"))
		tp.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (tp *traceparents) get(path string) []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.seen[path]...)
}

// TestTracingThroughUpstreamAndAS runs the gateway with [tracing] on,
// exporting over OTLP/HTTP to an in-process receiver. A request with a
// trusted proxy's traceparent is traced under it: the gate's decision, the
// session store's calls and the token refresh at the AS are its
// descendants, and the upstream and the AS receive a traceparent of this
// trace naming the gateway's client span as parent. The login's code
// exchange is traced too, and the access log names the trace.
func TestTracingThroughUpstreamAndAS(t *testing.T) {
	rc := &otlptest.Receiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	var upTP, asTP traceparents
	up := httptest.NewServer(upTP.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	defer up.Close()
	gwAddr := freeAddr(t)
	asSrv := startDevAS(t, gwAddr, asOptions{Refreshing: true, Wrap: asTP.wrap})
	cfg := serveConfig(gwAddr, asSrv.URL, up.URL, `refresh_before = "100s"`) // every request refreshes
	cfg = strings.Replace(cfg, "[provider]", "trusted_proxies = [\"127.0.0.1/32\"]\nlog_format = \"json\"\n[provider]", 1)
	cfg += `
[tracing]
enabled = true
exporter = "otlp-http"
endpoint = "` + collector.URL + `"
insecure = true
headers = { "x-api-key" = "collector-key" }
service_name = "gatehouse-test"
`
	p := writeFile(t, cfg)
	logs, stop := startServe(p)
	defer stop()
	waitReady(t, "http://"+gwAddr)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(traceparent string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+gwAddr+"/page", nil)
		req.Header.Set("Accept", "text/html")
		if traceparent != "" {
			req.Header.Set("Traceparent", traceparent)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /page: %d", resp.StatusCode)
		}
	}
	get("") // logs in: start, AS, callback (code exchange), page
	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	get("00-" + traceID + "-" + parentID + "-01")
	stop() // the provider exports what is queued on shutdown

	spans := rc.Spans()
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
	}
	// ancestors returns the names of s's ancestors, nearest first, up to
	// the first one not exported (the proxy's span).
	ancestors := func(s *tracepb.Span) (names []string, root string) {
		for {
			pid := hex.EncodeToString(s.GetParentSpanId())
			parent, ok := byID[pid]
			if !ok {
				return names, pid
			}
			names = append(names, parent.GetName())
			s = parent
		}
	}
	find := func(name, trace string) *tracepb.Span {
		t.Helper()
		for _, s := range spans {
			if s.GetName() == name && (trace == "" || hex.EncodeToString(s.GetTraceId()) == trace) {
				return s
			}
		}
		var names []string
		for _, s := range spans {
			names = append(names, s.GetName()+" "+hex.EncodeToString(s.GetTraceId()))
		}
		t.Fatalf("no span %q in trace %q; exported: %q", name, trace, names)
		return nil
	}

	// The proxied request, under the trusted proxy's span.
	server := find("GET upstream-0", traceID)
	if got := hex.EncodeToString(server.GetParentSpanId()); got != parentID || server.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span's parent %s (kind %v), want the trusted proxy's %s", got, server.GetKind(), parentID)
	}
	if otlptest.Attr(server, "gatehouse.outcome") != "allowed" || otlptest.Attr(server, "http.response.status_code") == "" {
		t.Errorf("server span attributes: %v", server.GetAttributes())
	}
	decide := find("gate decide", traceID)
	if hex.EncodeToString(decide.GetParentSpanId()) != hex.EncodeToString(server.GetSpanId()) {
		t.Errorf("gate decide is not the server span's child")
	}
	for _, name := range []string{"session.store get", "oauth2 refresh"} {
		s := find(name, traceID)
		if names, _ := ancestors(s); len(names) < 2 || !containsName(names, "gate decide") || names[len(names)-1] != "GET upstream-0" {
			t.Errorf("%s's ancestors: %q, want gate decide under GET upstream-0", name, names)
		}
	}
	upSpan := find("upstream "+strings.TrimPrefix(up.URL, "http://"), traceID)
	if hex.EncodeToString(upSpan.GetParentSpanId()) != hex.EncodeToString(server.GetSpanId()) || upSpan.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("upstream span: parent %x kind %v", upSpan.GetParentSpanId(), upSpan.GetKind())
	}
	// What the upstream and the AS received.
	wantUp := "00-" + traceID + "-" + hex.EncodeToString(upSpan.GetSpanId()) + "-01"
	if got := upTP.get("/page"); len(got) != 2 || got[0] == "" || got[1] != wantUp {
		t.Errorf("upstream traceparents %q, want the second %q", got, wantUp)
	}
	refresh := find("oauth2 refresh", traceID)
	wantAS := "00-" + traceID + "-" + hex.EncodeToString(refresh.GetSpanId()) + "-01"
	tokenTP := asTP.get("/token")
	if !contains(tokenTP, wantAS) {
		t.Errorf("AS token endpoint traceparents %q, want one %q", tokenTP, wantAS)
	}
	// The login's code exchange, under the callback's server span.
	exchange := find("oauth2 code_exchange", "")
	if names, _ := ancestors(exchange); len(names) == 0 || names[len(names)-1] != "GET oauth2_callback" {
		t.Errorf("code exchange's ancestors: %q", names)
	}
	if !contains(tokenTP, "00-"+hex.EncodeToString(exchange.GetTraceId())+"-"+hex.EncodeToString(exchange.GetSpanId())+"-01") {
		t.Errorf("the AS did not receive the code exchange's traceparent: %q", tokenTP)
	}
	// The resource, the export headers, the access log.
	if services, headers := rc.Services(), rc.Headers(); len(services) == 0 || services[0] != "gatehouse-test" || headers[0].Get("X-Api-Key") != "collector-key" {
		t.Errorf("services %q, export headers %v", services, headers)
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+traceID+`"`) {
		t.Errorf("no access log line with trace_id %s:\n%s", traceID, logs.String())
	}
	for _, s := range spans { // no secret in any attribute
		for _, a := range s.GetAttributes() {
			if v := a.GetValue().String(); strings.Contains(v, "code=") || strings.Contains(v, "gh-secret") || strings.Contains(v, "state=") {
				t.Errorf("span %s attribute %s = %s", s.GetName(), a.GetKey(), v)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsName(list []string, s string) bool { return contains(list, s) }
