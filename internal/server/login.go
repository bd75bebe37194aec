package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/certreload"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// asTransport returns the transport of every call to the AS: Go's default,
// through the environment's egress proxy, presenting the provider's client
// certificate (tls_client_cert_file, RFC 8705) when one is set, re-read
// when its files change.
func asTransport(p config.Provider, logger *slog.Logger) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment                  // calls to the AS may need an egress proxy
	if err := trustProviderCA(tr, p.CAFile); err != nil { // provider_ca.go
		return nil, err
	}
	if p.TLSClientCertFile == "" {
		return tr, nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := tls.LoadX509KeyPair(p.TLSClientCertFile, p.TLSClientKeyFile); err != nil {
		return nil, fmt.Errorf("provider.tls_client_cert_file, provider.tls_client_key_file: %w", err)
	}
	cr, err := certreload.New(p.TLSClientCertFile, p.TLSClientKeyFile, logger)
	if err != nil {
		return nil, fmt.Errorf("provider.tls_client_cert_file: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr.TLSClientConfig != nil {
		tc = tr.TLSClientConfig.Clone()
	}
	tc.GetClientCertificate = cr.GetClientCertificate
	tr.TLSClientConfig = tc
	return tr, nil
}
