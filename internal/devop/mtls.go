package devop

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"
)

// authenticateTLS authenticates a tls_client_auth client (RFC 8705 §2) by
// the certificate it presented in the TLS handshake: one with exactly the
// registered SHA-256 hash (Client.TLSCertSHA256), or one that chains to
// Options.ClientCAs for client authentication and has the registered
// subject DN (Client.TLSSubjectDN). Every failure is invalid_client; the log
// says why.
func (s *Server) authenticateTLS(r *http.Request, c *Client) (*Client, *oauthError) {
	fail := func(why string) (*Client, *oauthError) {
		s.log.Info("devop: client certificate rejected", "client_id", c.ID, "reason", why)
		return nil, invalidClient("Client authentication failed.")
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return fail("no client certificate (the server must request one: tls.RequestClientCert)")
	}
	leaf := r.TLS.PeerCertificates[0]
	now := s.now()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fail("the certificate is outside its validity period")
	}
	if c.TLSCertSHA256 != "" {
		sum := sha256.Sum256(leaf.Raw)
		if !secretEqual(hex.EncodeToString(sum[:]), strings.ToLower(c.TLSCertSHA256)) {
			return fail("the certificate's SHA-256 hash is not the registered one")
		}
		return c, nil
	}
	inter := x509.NewCertPool()
	for _, cert := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(cert)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         s.opts.ClientCAs,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fail("the certificate does not chain to ClientCAs for client authentication")
	}
	if leaf.Subject.String() != c.TLSSubjectDN {
		return fail("the certificate's subject is not the registered DN")
	}
	return c, nil
}
