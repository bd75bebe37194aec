package upstream

import (
	"net"
	"net/http"
	"time"
)

// Defaults of TransportOptions.
const (
	// DefaultResponseHeaderTimeout is how long an upstream may take to send
	// its response headers once the request has been written.
	DefaultResponseHeaderTimeout = 60 * time.Second
	// DefaultIdleConnTimeout is how long an idle keep-alive connection to an
	// upstream is kept open.
	DefaultIdleConnTimeout = 90 * time.Second
)

// TransportOptions are the per-upstream settings of the connection pool
// that carries a route's requests. Routes with equal TransportOptions share
// one pool (one *http.Transport), so the common case of routes that keep
// the defaults costs one pool. The zero value is the default. Fields added
// later (a CA file, h2c) must keep the struct comparable.
type TransportOptions struct {
	// ResponseHeaderTimeout bounds the wait for the upstream's response
	// headers once the request, body included, has been written (default
	// DefaultResponseHeaderTimeout; negative: no limit). A streaming response
	// (server-sent events, a WebSocket upgrade) is unaffected once its
	// headers arrived.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes keep-alive connections to the upstream that
	// were idle this long (default DefaultIdleConnTimeout).
	IdleConnTimeout time.Duration
	// The TLS and protocol options are in transport_tls.go.

	// CAFile names a PEM bundle of the CAs trusted for an https upstream's
	// certificate, instead of the system's roots.
	CAFile string
	// ClientCertFile and ClientKeyFile are the PEM certificate and key
	// presented to the upstream (mutual TLS); re-read when they change.
	ClientCertFile, ClientKeyFile string
	// InsecureSkipVerify accepts any certificate from the upstream.
	InsecureSkipVerify bool
	// H2C speaks HTTP/2 without TLS (prior knowledge) to an http upstream.
	H2C bool
}

// NewTransport returns the HTTP transport used for upstreams with the
// default TransportOptions.
func NewTransport() *http.Transport { return TransportOptions{}.NewTransport() }

// NewTransport returns an HTTP transport for upstreams: bounded dial, TLS
// handshake and response header times, generous keep-alive pools sized for
// a proxy, and HTTP/2 when the upstream offers it over TLS. The benchmark's
// bare proxy uses the same settings, so comparisons measure the gateway, not
// the pool.
func (o TransportOptions) NewTransport() *http.Transport {
	header := o.ResponseHeaderTimeout
	switch {
	case header == 0:
		header = DefaultResponseHeaderTimeout
	case header < 0:
		header = 0
	}
	idle := o.IdleConnTimeout
	if idle <= 0 {
		idle = DefaultIdleConnTimeout
	}
	return &http.Transport{
		Proxy: nil, // never route upstream traffic through an environment proxy
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       idle,
		ResponseHeaderTimeout: header,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
