package metrics

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/upstream"
)

// ASTransport times every call to the authorization server. The endpoint
// label is derived from the URL path (discovery, jwks, token, userinfo,
// revocation, introspection, other), so it stays bounded.
func (m *Metrics) ASTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := rt.RoundTrip(r)
		outcome := "error"
		if err == nil {
			outcome = statusClass(resp.StatusCode)
		}
		m.as.WithLabelValues(asEndpoint(r.URL.Path), outcome).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

func asEndpoint(p string) string {
	p = strings.ToLower(p)
	switch {
	case strings.Contains(p, ".well-known"):
		return "discovery"
	case strings.Contains(p, "introspect"):
		return "introspection"
	case strings.Contains(p, "revo"):
		return "revocation"
	case strings.Contains(p, "userinfo") || strings.HasSuffix(p, "/me"):
		return "userinfo"
	case strings.Contains(p, "token"):
		return "token"
	case strings.Contains(p, "jwk") || strings.Contains(p, "cert") || strings.HasSuffix(p, "/keys"):
		return "jwks"
	}
	return "other"
}

// UpstreamTransport times every upstream call up to its response headers,
// labelled by the upstream's host (a configured, bounded set) and the status
// class: "error" when the upstream could not be reached or timed out,
// "client" when the client spoiled the request (its body failed, or it left).
func (m *Metrics) UpstreamTransport(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := rt.RoundTrip(r)
		code := "error"
		var be *upstream.RequestBodyError
		switch {
		case err == nil:
			code = statusClass(resp.StatusCode)
		case errors.As(err, &be) || r.Context().Err() != nil: // the client's body failed, or the client left
			code = "client"
		}
		m.upstream.WithLabelValues(r.URL.Host, code).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
