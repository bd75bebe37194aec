package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// providerLogin is what the [provider] keys become: the compiled login
// options (config.Compile loads the private_key_jwt key) and the transport
// to the AS (with the client certificate).
func providerLogin(p config.Provider) (login.Options, *http.Transport, error) {
	c := &config.Config{Provider: p, Session: config.Session{CookieSecret: config.Secrets(base64.StdEncoding.EncodeToString(make([]byte, 32)))}}
	rt, err := config.Compile(c)
	if err != nil {
		return login.Options{}, nil, err
	}
	tr, err := asTransport(p, nil)
	return rt.Login, tr, err
}

func TestProviderLogin(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := writePEM(t, "key.pem", "PRIVATE KEY", keyDER)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gw"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	certFile := writePEM(t, "cert.pem", "CERTIFICATE", certDER)

	no := false
	p := config.Provider{
		ClientAuth: "private_key_jwt", PrivateKeyFile: keyFile, PrivateKeyID: "k1",
		TLSClientCertFile: certFile, TLSClientKeyFile: keyFile,
		Type: config.ProviderOAuth2, SubjectClaim: "id", Discovery: &no, InsecureDisablePKCE: true,
		Endpoints: config.Endpoints{Token: "https://as.example/token", Userinfo: "https://as.example/user"},
	}
	o, tr, err := providerLogin(p)
	if err != nil {
		t.Fatal(err)
	}
	a := o.ClientAuth
	if a.Method != login.AuthPrivateKeyJWT || a.PrivateKey == nil || a.Algorithm != login.AlgES256 || a.KeyID != "k1" || !a.TLSClientCertificate {
		t.Errorf("ClientAuth = %+v", a)
	}
	if !o.SkipDiscovery || !o.PlainOAuth2 || o.SubjectClaim != "id" || !o.InsecureDisablePKCE || o.Endpoints.Userinfo != "https://as.example/user" {
		t.Errorf("Options = %+v", o)
	}
	cert, err := tr.TLSClientConfig.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || len(cert.Certificate) != 1 {
		t.Errorf("client certificate: %v", err)
	}

	for _, tt := range []struct {
		name    string
		modify  func(p *config.Provider)
		wantErr string
	}{
		{"missing key file", func(p *config.Provider) { p.PrivateKeyFile = filepath.Join(t.TempDir(), "none.pem") }, "provider.private_key_file"},
		{"certificate as key", func(p *config.Provider) { p.PrivateKeyFile = certFile }, "unsupported PEM block"},
		{"algorithm of another key type", func(p *config.Provider) { p.PrivateKeyAlg = "RS256" }, "provider.private_key_alg"},
		{"key that does not match the certificate", func(p *config.Provider) {
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.MarshalPKCS8PrivateKey(other)
			p.TLSClientKeyFile = writePEM(t, "other.pem", "PRIVATE KEY", der)
		}, "provider.tls_client_cert_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			tt.modify(&q)
			if _, _, err := providerLogin(q); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("providerLogin: %v, want %q", err, tt.wantErr)
			}
		})
	}
}
