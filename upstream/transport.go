package upstream

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns the HTTP transport used for every upstream: bounded
// dial and TLS handshake times, generous keep-alive pools sized for a proxy,
// and HTTP/2 when the upstream offers it over TLS. The benchmark's bare proxy
// uses the same settings, so comparisons measure the gateway, not the pool.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // never route upstream traffic through an environment proxy
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
