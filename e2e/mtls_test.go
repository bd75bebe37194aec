package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// selfSignedCert writes a self-signed EC certificate and its key as PEM
// files and returns their paths and the parsed certificate. server makes a
// certificate for 127.0.0.1 that is its own root.
func selfSignedCert(t *testing.T, name string, server bool) (certFile, keyFile string, cert *x509.Certificate, pair tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert, pair
}

// TestE2EMTLSBoundLogin: the OP serves https with mutual TLS (RFC 8705);
// the gateway authenticates with self_signed_tls_client_auth (its
// certificate registered in its JWKS) on every call, and the OP binds the
// tokens to that certificate. The twin: the upstream's token is refused by
// the OP's userinfo endpoint without the gateway's certificate (and
// accepted with it).
func TestE2EMTLSBoundLogin(t *testing.T) {
	harness.Require(t, "node", "chromium")
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	serverCert, serverKey, _, _ := selfSignedCert(t, "op", true)
	clientCert, clientKey, cert, pair := selfSignedCert(t, "gatehouse", false)
	t.Setenv("SSL_CERT_FILE", serverCert) // the gateway process trusts the OP's certificate

	port := harness.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	x5t := sha256.Sum256(cert.Raw)
	op := harness.StartOP(t, harness.OPConfig{
		TLS:   &harness.OPTLS{CertFile: serverCert, KeyFile: serverKey},
		Users: []harness.OPUser{alice},
		Clients: []harness.OPClient{{
			ID: "gatehouse-e2e-mtls", AuthMethod: "self_signed_tls_client_auth", CertificateBound: true,
			JWKS: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
				Key: cert.PublicKey, Certificates: []*x509.Certificate{cert}, CertificateThumbprintSHA256: x5t[:], Use: "sig",
			}}},
			RedirectURIs: []string{public + "/oauth2/callback"}, PostLogoutRedirectURIs: []string{public + "/"},
		}},
	})
	up := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: port, Issuer: op.Issuer, ClientID: "gatehouse-e2e-mtls", UpstreamURL: up.URL,
		ProviderExtra: fmt.Sprintf("client_auth = \"self_signed_tls_client_auth\"\ntls_client_cert_file = %q\ntls_client_key_file = %q\nuse_userinfo = true\n", clientCert, clientKey),
		Extra:         fmt.Sprintf("\n[[upstream]]\nname = \"api\"\npath_prefix = \"/api\"\nurl = %q\npass_authorization = true\n", up.URL),
	})
	tab := harness.StartBrowser(t).NewTab(t)
	screenshotOnFailure(t, tab, "mtls-login")
	tab.Navigate(t, gw.URL+"/api/accounts")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, gw.URL+"/api/accounts")

	ev := op.Events(t)
	if ev["grant.authorization_code"] != 1 || ev["userinfo"] != 1 || ev["pushed_authorization_request.success"] != 1 {
		t.Errorf("OP events %v: want one pushed request, one code exchange and one userinfo call", ev)
	}
	tok, ok := strings.CutPrefix(up.last(t).Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		t.Fatalf("upstream Authorization %q", up.last(t).Get("Authorization"))
	}
	pool := x509.NewCertPool()
	serverPEM, _ := os.ReadFile(serverCert)
	pool.AppendCertsFromPEM(serverPEM)
	userinfo := func(certs []tls.Certificate) int {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12,
		}}}
		req, _ := http.NewRequest(http.MethodGet, op.Issuer+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := userinfo(nil); st != http.StatusUnauthorized {
		t.Errorf("the certificate-bound token without the certificate: %d, want 401", st)
	}
	if st := userinfo([]tls.Certificate{pair}); st != http.StatusOK {
		t.Errorf("the certificate-bound token with the gateway's certificate: %d, want 200", st)
	}
}
