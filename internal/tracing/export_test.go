package tracing

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// received collects the span names and the export headers a receiver got.
type received struct {
	mu     sync.Mutex
	names  []string
	header string // the x-api-key of the last export
}

func (rc *received) add(req *collectorpb.ExportTraceServiceRequest, key string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.header = key
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				rc.names = append(rc.names, s.GetName())
			}
		}
	}
}

type grpcReceiver struct {
	collectorpb.UnimplementedTraceServiceServer
	rc *received
}

func (g grpcReceiver) Export(ctx context.Context, req *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := ""
	if v := md.Get("x-api-key"); len(v) > 0 {
		key = v[0]
	}
	g.rc.add(req, key)
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

// TestExportOverHTTPAndGRPC: a span ends up at an OTLP receiver of each
// protocol, with the configured headers, once the provider shuts down.
func TestExportOverHTTPAndGRPC(t *testing.T) {
	for _, exporter := range []string{OTLPHTTP, OTLPGRPC} {
		t.Run(exporter, func(t *testing.T) {
			rc := &received{}
			var endpoint string
			switch exporter {
			case OTLPHTTP:
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					data, _ := io.ReadAll(r.Body)
					var req collectorpb.ExportTraceServiceRequest
					if r.URL.Path != "/v1/traces" || proto.Unmarshal(data, &req) != nil {
						http.Error(w, "bad export", http.StatusBadRequest)
						return
					}
					rc.add(&req, r.Header.Get("X-Api-Key"))
					out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
					w.Header().Set("Content-Type", "application/x-protobuf")
					w.Write(out)
				}))
				defer srv.Close()
				endpoint = srv.URL
			case OTLPGRPC:
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				gs := grpc.NewServer()
				collectorpb.RegisterTraceServiceServer(gs, grpcReceiver{rc: rc})
				go gs.Serve(ln)
				defer gs.Stop()
				endpoint = "http://" + ln.Addr().String()
			}
			p, err := New(t.Context(), Options{Exporter: exporter, Endpoint: endpoint, SamplerRatio: 1,
				ServiceName: "gatehouse", Headers: map[string]string{"x-api-key": "k-1"}})
			if err != nil {
				t.Fatal(err)
			}
			_, span := p.Tracer().Start(t.Context(), "test span")
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if len(rc.names) != 1 || rc.names[0] != "test span" || rc.header != "k-1" {
				t.Errorf("received %q with x-api-key %q", rc.names, rc.header)
			}
		})
	}
}

// TestSamplerRatioZeroRecordsNothingNew: with sampler_ratio 0 a new trace
// is not recorded, but still has an ID (the access log names it).
func TestSamplerRatioZeroRecordsNothingNew(t *testing.T) {
	p, err := New(t.Context(), Options{Exporter: OTLPHTTP, Endpoint: "http://127.0.0.1:1", SamplerRatio: 0, ServiceName: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	_, span := p.Tracer().Start(t.Context(), "x")
	defer span.End()
	if span.IsRecording() || span.SpanContext().IsSampled() || !span.SpanContext().HasTraceID() {
		t.Errorf("recording %v, sampled %v, trace ID %v", span.IsRecording(), span.SpanContext().IsSampled(), span.SpanContext().TraceID())
	}
}
