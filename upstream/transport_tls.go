package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/certreload"
)

// Build returns the transport for o: NewTransport's, with o's CA bundle,
// client certificate, certificate checking and h2c applied. It fails when a
// file cannot be read or holds no certificate. logger receives the client
// certificate's reloads.
func (o TransportOptions) Build(logger *slog.Logger) (*http.Transport, error) {
	t := o.NewTransport()
	if o.CAFile != "" || o.ClientCertFile != "" || o.InsecureSkipVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s: no PEM certificate", o.CAFile)
			}
			tc.RootCAs = pool
		}
		if o.ClientCertFile != "" {
			if _, err := tls.LoadX509KeyPair(o.ClientCertFile, o.ClientKeyFile); err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			if logger == nil {
				logger = slog.New(slog.DiscardHandler)
			}
			cr, err := certreload.New(o.ClientCertFile, o.ClientKeyFile, logger.With("upstream_client_certificate", o.ClientCertFile))
			if err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			tc.GetClientCertificate = cr.GetClientCertificate
		}
		tc.InsecureSkipVerify = o.InsecureSkipVerify //nolint:gosec // opt-in, warned about at start-up
		t.TLSClientConfig = tc
	}
	if o.H2C {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true) // HTTP/2 with prior knowledge, never HTTP/1
		t.Protocols = &p
	}
	return t, nil
}
