// Package certreload serves a TLS certificate from PEM files and re-reads
// them when they change, for the gateway's listener and for its client
// certificate at the authorization server (RFC 8705).
package certreload

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Reloader serves a certificate from PEM files and re-reads them when
// they change (cert-manager and similar rotate them in place). A failed
// reload keeps the previous certificate and is logged.
type Reloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	every             time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// New loads the certificate and key from their PEM files.
func New(certFile, keyFile string, logger *slog.Logger) (*Reloader, error) {
	c := &Reloader{certFile: certFile, keyFile: keyFile, logger: logger, every: time.Second}
	stamp, err := c.fileStamp()
	if err != nil {
		return nil, err
	}
	if err := c.load(stamp); err != nil {
		return nil, err
	}
	return c, nil
}

// fileStamp identifies the files' current versions.
func (c *Reloader) fileStamp() (string, error) {
	var stamp string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("server.tls: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

func (c *Reloader) load(stamp string) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("server.tls_cert_file, server.tls_key_file: %w", err)
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

// GetCertificate is tls.Config.GetCertificate. It looks at the files at most
// once a second.
func (c *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= c.every {
		c.checked = now
		if stamp, err := c.fileStamp(); err == nil && stamp != c.stamp {
			if err := c.load(stamp); err != nil {
				c.logger.Error("TLS certificate reload failed; keeping the previous one", "error", err)
			} else {
				c.logger.Info("TLS certificate reloaded", "file", c.certFile)
			}
		}
	}
	return c.cert, nil
}

// GetClientCertificate is tls.Config.GetClientCertificate: it presents the
// same certificate to servers that ask for one.
func (c *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.GetCertificate(nil)
}

// ServerConfig is a TLS server configuration (TLS 1.2 or later, HTTP/2 by
// ALPN) that serves the reloaded certificate.
func (c *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
