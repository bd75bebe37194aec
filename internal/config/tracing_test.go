package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTracingDefaultsAndParse(t *testing.T) {
	c := validConfig(t)
	if c.Tracing.Enabled || c.Tracing.Exporter != TracingOTLPHTTP || c.Tracing.SamplerRatio != 1 || c.Tracing.ServiceName != "gatehouse" {
		t.Errorf("defaults: %+v", c.Tracing)
	}
	doc := minimalTOML + `
[tracing]
enabled = true
exporter = "otlp-grpc"
endpoint = "https://otel-collector.monitoring:4317"
sampler_ratio = 0.25
service_name = "edge-gateway"
headers = { "x-honeycomb-team" = "key-123" }
`
	c, err := Parse([]byte(doc), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := Tracing{Enabled: true, Exporter: TracingOTLPGRPC, Endpoint: "https://otel-collector.monitoring:4317", SamplerRatio: 0.25,
		ServiceName: "edge-gateway", Headers: map[string]string{"x-honeycomb-team": "key-123"}}
	if diff := cmp.Diff(want, c.Tracing); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	if strings.Contains(c.String(), "key-123") {
		t.Errorf("the printed configuration shows a tracing header value")
	}
}

func TestValidateTracing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Tracing)
		want   []string
	}{
		{"off without endpoint", func(*Tracing) {}, nil},
		{"https endpoint", func(tr *Tracing) { tr.Enabled, tr.Endpoint = true, "https://collector:4318" }, nil},
		{"http endpoint with insecure", func(tr *Tracing) { tr.Enabled, tr.Endpoint, tr.Insecure = true, "http://127.0.0.1:4318", true }, nil},
		{"path for OTLP/HTTP", func(tr *Tracing) { tr.Enabled, tr.Endpoint = true, "https://collector/otlp/v1/traces" }, nil},
		{"enabled without endpoint", func(tr *Tracing) { tr.Enabled = true },
			[]string{`tracing.endpoint: required when tracing.enabled is true (the collector's URL, e.g. "https://otel-collector:4318")`}},
		{"http without insecure", func(tr *Tracing) { tr.Enabled, tr.Endpoint = true, "http://collector:4318" },
			[]string{"tracing.endpoint: is http:// (spans would travel unencrypted): use https, or set tracing.insecure = true for a collector on the same host"}},
		{"host:port without scheme", func(tr *Tracing) { tr.Enabled, tr.Endpoint = true, "collector:4317" },
			[]string{`tracing.endpoint: must be an absolute URL such as "https://otel-collector:4318"`}},
		{"other scheme", func(tr *Tracing) { tr.Endpoint = "grpc://collector:4317" },
			[]string{"tracing.endpoint: scheme must be https (or http with tracing.insecure = true)"}},
		{"credentials in the URL", func(tr *Tracing) { tr.Endpoint = "https://u:p@collector:4318" },
			[]string{"tracing.endpoint: must not carry user info, a query or a fragment (send credentials with tracing.headers)"}},
		{"gRPC with a path", func(tr *Tracing) { tr.Exporter, tr.Endpoint = TracingOTLPGRPC, "https://collector:4317/v1/traces" },
			[]string{"tracing.endpoint: an OTLP/gRPC endpoint has no path"}},
		{"unknown exporter", func(tr *Tracing) { tr.Exporter = "jaeger" },
			[]string{`tracing.exporter: "jaeger" is not one of "otlp-http", "otlp-grpc"`}},
		{"ratio above 1", func(tr *Tracing) { tr.SamplerRatio = 1.5 }, []string{"tracing.sampler_ratio: must be between 0 and 1"}},
		{"negative ratio", func(tr *Tracing) { tr.SamplerRatio = -0.1 }, []string{"tracing.sampler_ratio: must be between 0 and 1"}},
		{"empty service name", func(tr *Tracing) { tr.ServiceName = " " }, []string{"tracing.service_name: must not be empty"}},
		{"bad header name", func(tr *Tracing) { tr.Headers = map[string]string{"bad name": "v"} },
			[]string{`tracing.headers: "bad name" is not an HTTP header name`}},
		{"header value with a line break", func(tr *Tracing) { tr.Headers = map[string]string{"x-key": "a\r\nb"} },
			[]string{"tracing.headers.x-key: must not contain line breaks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.modify(&c.Tracing)
			if diff := cmp.Diff(tc.want, errLines(c.Validate())); diff != "" {
				t.Errorf("Validate() (-want +got):\n%s", diff)
			}
		})
	}
}
