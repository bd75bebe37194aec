package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// providerLogin converts the [provider] keys of docs/grants.md into the
// login options they set: client authentication (reading the key and
// certificate files), endpoints, discovery, plain OAuth 2.0 and PKCE. With
// a client certificate, asTransport presents it to the AS on every call,
// re-read when its files change.
func providerLogin(p config.Provider, asTransport *http.Transport, logger *slog.Logger) (login.Options, error) {
	o := login.Options{
		ClientAuth: login.ClientAuth{Method: p.ClientAuth, KeyID: p.PrivateKeyID},
		Endpoints: login.Endpoints{
			Authorization: p.Endpoints.Authorization, Token: p.Endpoints.Token, JWKS: p.Endpoints.JWKS,
			Userinfo: p.Endpoints.Userinfo, EndSession: p.Endpoints.EndSession,
			Revocation: p.Endpoints.Revocation, Introspection: p.Endpoints.Introspection,
		},
		SkipDiscovery:       !p.UsesDiscovery(),
		PlainOAuth2:         p.Type == config.ProviderOAuth2,
		SubjectClaim:        p.SubjectClaim,
		InsecureDisablePKCE: p.InsecureDisablePKCE,
	}
	if p.PrivateKeyFile != "" {
		pemData, err := os.ReadFile(p.PrivateKeyFile)
		if err != nil {
			return o, fmt.Errorf("provider.private_key_file: %w", err)
		}
		key, err := login.ParsePrivateKey(pemData)
		if err != nil {
			return o, fmt.Errorf("provider.private_key_file %s: %w", p.PrivateKeyFile, err)
		}
		alg, err := login.KeyAlgorithm(key, p.PrivateKeyAlg)
		if err != nil {
			return o, fmt.Errorf("provider.private_key_alg: %w", err)
		}
		o.ClientAuth.PrivateKey, o.ClientAuth.Algorithm = key, alg
	}
	if p.TLSClientCertFile != "" {
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		if _, err := tls.LoadX509KeyPair(p.TLSClientCertFile, p.TLSClientKeyFile); err != nil {
			return o, fmt.Errorf("provider.tls_client_cert_file, provider.tls_client_key_file: %w", err)
		}
		cr, err := NewCertReloader(p.TLSClientCertFile, p.TLSClientKeyFile, logger)
		if err != nil {
			return o, fmt.Errorf("provider.tls_client_cert_file: %w", err)
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if asTransport.TLSClientConfig != nil {
			tc = asTransport.TLSClientConfig.Clone()
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cr.GetCertificate(nil) }
		asTransport.TLSClientConfig = tc
		o.ClientAuth.TLSClientCertificate = true
	}
	return o, nil
}

// routeToken converts an upstream's upstream_token and token_* keys.
func routeToken(u config.Upstream, rt *proxy.Route) {
	rt.UpstreamToken = u.UpstreamToken
	rt.TokenParams = login.TokenParams{Scopes: u.TokenScopes, Resources: u.TokenResources, Audiences: u.TokenAudiences}
}
