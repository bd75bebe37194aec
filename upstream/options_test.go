package upstream

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate, PEM
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, file: writeTestPEM(t, "ca.pem", "CERTIFICATE", der)}
}

// issue returns a certificate for 127.0.0.1 (server) or cn (client), and
// its PEM files.
func (ca *testCA) issue(t *testing.T, cn string, client bool) (tls.Certificate, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile := writeTestPEM(t, cn+".crt", "CERTIFICATE", der)
	keyFile := writeTestPEM(t, cn+".key", "PRIVATE KEY", keyDER)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

func writeTestPEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsUpstream starts an https upstream with a certificate of ca that
// answers with the common name of the client's certificate, if any; with
// mTLS it requires one issued by ca.
func tlsUpstream(t *testing.T, ca *testCA, mTLS bool) *url.URL {
	t.Helper()
	cert, _, _ := ca.issue(t, "upstream", false)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			_, _ = io.WriteString(w, "client="+r.TLS.PeerCertificates[0].Subject.CommonName)
			return
		}
		_, _ = io.WriteString(w, "no client certificate")
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if mTLS {
		pool := x509.NewCertPool()
		pool.AddCert(ca.cert)
		up.TLS.ClientCAs, up.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	up.StartTLS()
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	return u
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestUpstreamTLSOptions: an https upstream with a private CA is reached
// only with tls_ca_file (or tls_insecure_skip_verify), and one that
// requires a client certificate only with tls_client_cert_file.
func TestUpstreamTLSOptions(t *testing.T) {
	ca := newTestCA(t)
	_, clientCert, clientKey := ca.issue(t, "gatehouse", true)
	plain, mutual := tlsUpstream(t, ca, false), tlsUpstream(t, ca, true)
	for _, tt := range []struct {
		name       string
		target     *url.URL
		opts       TransportOptions
		wantStatus int
		wantBody   string
	}{
		{"private CA, not trusted", plain, TransportOptions{}, http.StatusBadGateway, ""},
		{"private CA in tls_ca_file", plain, TransportOptions{CAFile: ca.file}, http.StatusOK, "no client certificate"},
		{"insecure skip verify", plain, TransportOptions{InsecureSkipVerify: true}, http.StatusOK, "no client certificate"},
		{"mTLS without a client certificate", mutual, TransportOptions{CAFile: ca.file}, http.StatusBadGateway, ""},
		{"mTLS with the client certificate", mutual, TransportOptions{CAFile: ca.file, ClientCertFile: clientCert, ClientKeyFile: clientKey},
			http.StatusOK, "client=gatehouse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gw := serveRoutes(t, Options{Routes: []Route{{Name: "tls", Target: tt.target, Transport: tt.opts}}})
			status, body := get(t, gw.URL+"/")
			if status != tt.wantStatus || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if _, err := (TransportOptions{CAFile: clientKey}).Build(nil); err == nil {
		t.Error("Build accepted a CA file without a certificate")
	}
}

// TestUpstreamH2C: with H2C the upstream is spoken to in HTTP/2 without
// TLS; without it, in HTTP/1.1.
func TestUpstreamH2C(t *testing.T) {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	up.Config.Protocols = new(http.Protocols)
	up.Config.Protocols.SetHTTP1(true)
	up.Config.Protocols.SetUnencryptedHTTP2(true)
	up.Start()
	t.Cleanup(up.Close)
	target, _ := url.Parse(up.URL)
	for _, h2c := range []bool{false, true} {
		gw := serveRoutes(t, Options{Routes: []Route{{Name: "h2c", Target: target, Transport: TransportOptions{H2C: h2c}}}})
		want := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2c]
		if status, body := get(t, gw.URL+"/"); status != http.StatusOK || body != want {
			t.Errorf("h2c %v: %d %q, want %q", h2c, status, body, want)
		}
	}
}

// TestStaticUpstream: static://NNN answers NNN without any upstream.
func TestStaticUpstream(t *testing.T) {
	for _, tt := range []struct {
		url      string
		status   int
		wantBody string
	}{
		{"static://204", 204, ""},
		{"static://202", 202, "Accepted\n"},
		{"static://503", 503, "Service Unavailable\n"},
	} {
		target, _ := url.Parse(tt.url)
		gw := serveRoutes(t, Options{Routes: []Route{{Name: "static", Target: target}}})
		if status, body := get(t, gw.URL+"/any/path?q=1"); status != tt.status || body != tt.wantBody {
			t.Errorf("%s: %d %q, want %d %q", tt.url, status, body, tt.status, tt.wantBody)
		}
	}
	for _, bad := range []string{"static://99", "static://600", "static://abc"} {
		target, _ := url.Parse(bad)
		if _, err := New(Options{Routes: []Route{{Target: target}}}); err == nil {
			t.Errorf("New accepted %s", bad)
		}
	}
}

// rawGet sends a request line as written, unlike http.Client, which
// cleans the path.
func rawGet(t *testing.T, base, method, target string) int {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, method+" "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFileUpstream: file:///dir serves the directory's files, its
// index.html for a directory, and nothing else: no listing, no dot-file, no
// path or symbolic link out of the directory, GET and HEAD only.
func TestFileUpstream(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "www")
	for name, body := range map[string]string{
		"index.html": "home", "a.txt": "file a", "docs/index.html": "docs", "nolist/x.txt": "x",
		".env": "SECRET=1", ".git/config": "secret", "docs/.htpasswd": "secret",
	} {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "outside.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "outside.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	for _, strip := range []bool{false, true} {
		prefix, target := "/", &url.URL{Scheme: "file", Path: dir}
		if strip {
			prefix = "/static"
		}
		gw := serveRoutes(t, Options{Routes: []Route{{Name: "files", PathPrefix: prefix, StripPrefix: strip, Target: target}}})
		p := strings.TrimSuffix(prefix, "/")
		for _, tt := range []struct {
			path   string
			status int
			body   string
		}{
			{"/a.txt", 200, "file a"},
			{"/", 200, "home"},
			{"/docs/", 200, "docs"},
			{"/nolist/", 404, ""},
			{"/nolist/x.txt", 200, "x"},
			{"/.env", 404, ""},
			{"/.git/config", 404, ""},
			{"/docs/.htpasswd", 404, ""},
			{"/link.txt", 0, ""}, // any error, never the file outside
		} {
			status, body := get(t, gw.URL+p+tt.path)
			switch {
			case tt.status == 0 && (status == 200 || strings.Contains(body, "outside")):
				t.Errorf("strip %v: %s: %d %q: a symbolic link left the directory", strip, tt.path, status, body)
			case tt.status != 0 && (status != tt.status || tt.body != "" && body != tt.body):
				t.Errorf("strip %v: %s: %d %q, want %d %q", strip, tt.path, status, body, tt.status, tt.body)
			}
		}
		for _, raw := range []string{"/../outside.txt", "/%2e%2e/outside.txt", "/..%2foutside.txt", "/%2e%2e%2foutside.txt",
			"/docs/../../outside.txt", "/.%2e/outside.txt", "/..\\outside.txt", "/%2e%2e%5coutside.txt", "/%252e%252e/outside.txt"} {
			if code := rawGet(t, gw.URL, "GET", p+raw); code == 200 {
				t.Errorf("strip %v: GET %s: 200: left the directory", strip, p+raw)
			}
		}
		if code := rawGet(t, gw.URL, "POST", p+"/a.txt"); code != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d, want 405", code)
		}
	}
	if _, err := New(Options{Routes: []Route{{Target: &url.URL{Scheme: "file", Path: filepath.Join(base, "missing")}}}}); err == nil {
		t.Error("New accepted a missing directory")
	}
}

// TestStripPrefix: the route's prefix is removed from the canonical path;
// no spelling of the path makes the stripped path leave the prefix.
func TestStripPrefix(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.EscapedPath())
	}))
	t.Cleanup(up.Close)
	target, _ := url.Parse(up.URL + "/base")
	for _, tt := range []struct {
		prefix string
		path   string
		status int
		want   string
	}{
		{"/app", "/app/x", 200, "/base/x"},
		{"/app", "/app", 200, "/base/"},
		{"/app", "/app/", 200, "/base/"},
		{"/app/", "/app/x/y", 200, "/base/x/y"},
		{"/app", "/app/./x", 200, "/base/x"},
		{"/app", "/app//x", 200, "/base/x"},
		{"/app", "/app/a%2Fb", 200, "/base/a/b"},   // the canonical reading, decoded once
		{"/app", "/app/50%25", 200, "/base/50%25"}, // re-encoded
		{"/app", "/app/../x", 404, ""},             // not under the prefix once cleaned
		{"/app", "/app/x/../../y", 404, ""},
		{"/app", "/app/%2e%2e/x", 404, ""},
		{"/app", "/app/%252e%252e/x", 404, ""}, // ".." once decoded again
		{"/app", "/app/%252e%252e%255cx", 404, ""},
		{"/app", "/app/..%253bx/..%253b/y", 404, ""},
		{"/app", "/apple", 404, ""},
	} {
		gw := serveRoutes(t, Options{Routes: []Route{{Name: "app", PathPrefix: tt.prefix, StripPrefix: true, Target: target}}})
		u, _ := url.Parse(gw.URL)
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET "+tt.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != tt.status || (tt.status == 200 && string(b) != tt.want) {
			t.Errorf("prefix %s, GET %s: %d %q, want %d %q", tt.prefix, tt.path, resp.StatusCode, b, tt.status, tt.want)
		}
	}
}

// TestUpstreamClientCertificateReload: a client certificate rotated in
// place (as cert-manager does) is presented on the next connection,
// without a restart.
func TestUpstreamClientCertificateReload(t *testing.T) {
	ca := newTestCA(t)
	cert, _, _ := ca.issue(t, "upstream", false)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close") // every request is a new handshake
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	up.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	up.StartTLS()
	t.Cleanup(up.Close)
	target, _ := url.Parse(up.URL)

	_, certFile, keyFile := ca.issue(t, "first", true)
	gw := serveRoutes(t, Options{Routes: []Route{{Name: "mtls", Target: target,
		Transport: TransportOptions{CAFile: ca.file, ClientCertFile: certFile, ClientKeyFile: keyFile}}}})
	if status, body := get(t, gw.URL+"/"); status != http.StatusOK || body != "first" {
		t.Fatalf("before the rotation: %d %q", status, body)
	}
	_, newCert, newKey := ca.issue(t, "second", true)
	for _, f := range [][2]string{{newCert, certFile}, {newKey, keyFile}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1]+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f[1]+".new", f[1]); err != nil {
			t.Fatal(err)
		}
	}
	// The files are looked at no more than once a second.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, body := get(t, gw.URL+"/")
		if status == http.StatusOK && body == "second" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the rotation: %d %q, want the new certificate", status, body)
		}
	}
}
