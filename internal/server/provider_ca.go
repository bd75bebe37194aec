package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// trustProviderCA makes tr trust the CAs of the PEM bundle caFile
// (provider.ca_file) in addition to the system's, for every call to the
// AS: discovery, JWKS, token, userinfo, revocation and introspection all
// use this transport. An empty caFile changes nothing.
func trustProviderCA(tr *http.Transport, caFile string) error {
	if caFile == "" {
		return nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("provider.ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("provider.ca_file: %s holds no PEM certificate", caFile)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr.TLSClientConfig != nil {
		tc = tr.TLSClientConfig.Clone()
	}
	tc.RootCAs = pool
	tr.TLSClientConfig = tc
	return nil
}
