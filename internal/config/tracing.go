package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Tracing exporters (tracing.exporter).
const (
	TracingOTLPHTTP = "otlp-http" // OTLP/HTTP with protobuf bodies, to endpoint + /v1/traces
	TracingOTLPGRPC = "otlp-grpc" // OTLP over gRPC
)

// Tracing configures OpenTelemetry tracing ([tracing]; off by default). See
// docs/observability.md.
type Tracing struct {
	// Enabled turns tracing on (default false).
	Enabled bool `toml:"enabled"`
	// Exporter is how spans are sent: "otlp-http" (default) or "otlp-grpc".
	Exporter string `toml:"exporter"`
	// Endpoint is the collector's URL: "https://collector:4318" (OTLP/HTTP;
	// "/v1/traces" is appended when the URL has no path) or
	// "https://collector:4317" (gRPC). Required when enabled.
	Endpoint string `toml:"endpoint"`
	// Insecure allows an http:// endpoint (no TLS), for a collector on the
	// same host or pod. Without it, an http:// endpoint is refused.
	Insecure bool `toml:"insecure"`
	// Headers are sent with every export (an API key of a tracing vendor).
	// Their values are secrets: redacted wherever the configuration is
	// printed.
	Headers map[string]string `toml:"headers"`
	// SamplerRatio is the share of new traces recorded, 0 to 1 (default 1).
	// A trace started by a trusted proxy keeps that proxy's decision.
	SamplerRatio float64 `toml:"sampler_ratio"`
	// ServiceName is the service.name of the spans (default "gatehouse").
	ServiceName string `toml:"service_name"`
}

func tracingDefaults() Tracing {
	return Tracing{Exporter: TracingOTLPHTTP, SamplerRatio: 1, ServiceName: "gatehouse"}
}

func (t *Tracing) validate(p *problems) {
	checkOneOf(p, "tracing.exporter", t.Exporter, TracingOTLPHTTP, TracingOTLPGRPC)
	if t.SamplerRatio < 0 || t.SamplerRatio > 1 || t.SamplerRatio != t.SamplerRatio {
		p.add("tracing.sampler_ratio", "must be between 0 and 1")
	}
	if strings.TrimSpace(t.ServiceName) == "" {
		p.add("tracing.service_name", "must not be empty")
	}
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		if !isHeaderName(k) {
			p.add("tracing.headers", "%q is not an HTTP header name", k)
		} else if strings.ContainsAny(t.Headers[k], "\r\n\x00") {
			p.add("tracing.headers."+k, "must not contain line breaks")
		}
	}
	if t.Endpoint == "" {
		if t.Enabled {
			p.add("tracing.endpoint", "required when tracing.enabled is true (the collector's URL, e.g. \"https://otel-collector:4318\")")
		}
		return
	}
	u, err := url.Parse(t.Endpoint)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		p.add("tracing.endpoint", "must be an absolute URL such as \"https://otel-collector:4318\"")
	case u.Scheme != "https" && u.Scheme != "http":
		p.add("tracing.endpoint", "scheme must be https (or http with tracing.insecure = true)")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		p.add("tracing.endpoint", "must not carry user info, a query or a fragment (send credentials with tracing.headers)")
	case u.Scheme == "http" && !t.Insecure:
		p.add("tracing.endpoint", "is http:// (spans would travel unencrypted): use https, or set tracing.insecure = true for a collector on the same host")
	case t.Exporter == TracingOTLPGRPC && u.Path != "" && u.Path != "/":
		p.add("tracing.endpoint", "an OTLP/gRPC endpoint has no path")
	}
}

// isHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// redacted hides the values of the export headers (API keys).
func (t Tracing) redacted() Tracing {
	if t.Headers != nil {
		h := make(map[string]string, len(t.Headers))
		for k, v := range t.Headers {
			h[k] = redactString(v)
		}
		t.Headers = h
	}
	t.Endpoint = redactURL(t.Endpoint)
	return t
}
