package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// echoUpstream answers with the request's Host, path and headers as JSON.
func echoUpstream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"host": r.Host, "path": r.URL.EscapedPath(), "header": r.Header})
}

type echoed struct {
	Host   string      `json:"host"`
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
}

// TestServeUpstreamOptions runs gatehouse with every upstream option of
// internal/config/upstream_options.go, against an AS over TLS with a
// private CA (provider.ca_file), and checks what each upstream receives.
func TestServeUpstreamOptions(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(echoUpstream))
	t.Cleanup(plain.Close)
	private := httptest.NewTLSServer(http.HandlerFunc(echoUpstream)) // its CA: tls_ca_file
	t.Cleanup(private.Close)
	dir := t.TempDir()
	privateCA := filepath.Join(dir, "upstream-ca.pem")
	keyFile := filepath.Join(dir, "assertion.pem")
	www := filepath.Join(dir, "www")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, data := range map[string][]byte{
		privateCA:                            pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: private.Certificate().Raw}),
		keyFile:                              pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		filepath.Join(www, "index.html"):     []byte("static home"),
		filepath.Join(www, ".htpasswd"):      []byte("secret"),
		filepath.Join(www, "css", "app.css"): []byte("body{}"),
	} {
		_ = os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gwAddr := freeAddr(t)
	as, asCA := tlsAS(t, gwAddr)
	cfg := fmt.Sprintf(`
[server]
listen = %[1]q
public_url = "http://%[1]s"
signing_keys = [%[2]q]
[provider]
issuer = %[3]q
client_id = "gh"
client_secret = "gh-secret-0123456789"
ca_file = %[4]q
[session]
cookie_secret = %[5]q
[[upstream]]
url = %[6]q
[[upstream]]
name = "legacy"
path_prefix = "/legacy"
url = %[6]q
preserve_host = true
[[upstream]]
path_prefix = "/health"
auth = "public"
url = "static://204"
[[upstream]]
path_prefix = "/static"
url = "file://%[7]s"
strip_prefix = true
[[upstream]]
path_prefix = "/dashboard"
url = %[6]q
pass_id_token = "authorization"
strip_prefix = true
[[upstream]]
name = "orders"
path_prefix = "/orders"
url = %[6]q
identity_assertion = true
[[upstream]]
path_prefix = "/internal"
url = %[8]q
tls_ca_file = %[9]q
[[upstream]]
name = "old-tls"
path_prefix = "/old"
url = %[8]q
tls_insecure_skip_verify = true
`, gwAddr, keyFile, as.URL, asCA, testSecret, plain.URL, www, private.URL, privateCA)
	p := writeFile(t, cfg)

	_, errOut, err := runCmd(t, t.Context(), nil, "check-config", "-config", p)
	if err != nil || !strings.Contains(errOut, "warning: upstream[7] (old-tls): tls_insecure_skip_verify = true") {
		t.Errorf("check-config: %v, want the insecure upstream named:\n%s", err, errOut)
	}

	logs, stop := startServe(p)
	defer stop()
	waitReady(t, "http://"+gwAddr) // discovery over TLS with provider.ca_file
	if !strings.Contains(logs.String(), "upstream[7] (old-tls): tls_insecure_skip_verify") {
		t.Errorf("no start-up warning naming the insecure upstream:\n%s", logs.String())
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "tls_insecure_skip_verify") && !strings.Contains(line, "level=WARN") {
			t.Errorf("the insecure upstream is not a warning: %s", line)
		}
	}

	jar, _ := cookiejar.New(nil)
	// The browser trusts the AS's certificate, as the user's would.
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: as.Client().Transport}
	get := func(path string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+gwAddr+path, nil)
		req.Header.Set("Accept", "text/html")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	echo := func(path string, hdr ...string) echoed {
		t.Helper()
		status, body := get(path, hdr...)
		var e echoed
		if err := json.Unmarshal([]byte(body), &e); status != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %d %q", path, status, body)
		}
		return e
	}

	if got := echo("/app"); got.Header.Get("X-Forwarded-User") != "user-alice" { // logs in through the TLS AS
		t.Fatalf("login: %+v", got)
	}
	if got := echo("/legacy/page"); got.Host != gwAddr || got.Header.Get("X-Forwarded-Host") != gwAddr {
		t.Errorf("preserve_host: Host %q, X-Forwarded-Host %q, want %q", got.Host, got.Header.Get("X-Forwarded-Host"), gwAddr)
	}
	if got := echo("/app"); got.Host == gwAddr {
		t.Errorf("without preserve_host the upstream got the client's Host %q", got.Host)
	}
	if status, body := get("/health"); status != http.StatusNoContent || body != "" {
		t.Errorf("static://204: %d %q", status, body)
	}
	if status, body := get("/static/"); status != http.StatusOK || body != "static home" {
		t.Errorf("file:// index: %d %q", status, body)
	}
	if status, body := get("/static/css/app.css"); status != http.StatusOK || body != "body{}" {
		t.Errorf("file:// file: %d %q", status, body)
	}
	if status, _ := get("/static/.htpasswd"); status != http.StatusNotFound {
		t.Errorf("file:// dot-file: %d, want 404", status)
	}
	got := echo("/dashboard/api/v1", "Authorization", "Bearer forged")
	idToken := strings.TrimPrefix(got.Header.Get("Authorization"), "Bearer ")
	if got.Path != "/api/v1" || got.Header.Get("X-Forwarded-Prefix") != "/dashboard" || idToken == "forged" || strings.Count(idToken, ".") != 2 {
		t.Errorf("pass_id_token, strip_prefix: path %q, prefix %q, Authorization %q", got.Path, got.Header.Get("X-Forwarded-Prefix"), got.Header.Get("Authorization"))
	}
	if got := echo("/internal/x"); got.Path != "/internal/x" {
		t.Errorf("tls_ca_file upstream: %+v", got)
	}
	if got := echo("/old/x"); got.Path != "/old/x" {
		t.Errorf("tls_insecure_skip_verify upstream: %+v", got)
	}

	// The identity assertion, verified as an upstream would, with go-oidc
	// and the gateway's JWKS.
	tok := echo("/orders/1", "X-Gatehouse-Assertion", "forged").Header.Get("X-Gatehouse-Assertion")
	v := oidc.NewVerifier("http://"+gwAddr, oidc.NewRemoteKeySet(t.Context(), "http://"+gwAddr+"/.well-known/jwks.json"),
		&oidc.Config{ClientID: "orders", SupportedSigningAlgs: []string{oidc.ES256, oidc.EdDSA}})
	idt, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("the assertion does not verify: %v (%q)", err, tok)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil || idt.Subject != "user-alice" || claims.Email != "alice@example.com" {
		t.Errorf("assertion claims: sub %q, %+v, %v", idt.Subject, claims, err)
	}
	stop()
	for _, secret := range []string{idToken, tok} {
		if strings.Contains(logs.String(), secret) {
			t.Error("a token is in the log")
		}
	}
}

// TestProviderCAFileIsNeeded: without provider.ca_file, the AS's private
// certificate is refused, and the gateway stays unready.
func TestProviderCAFileIsNeeded(t *testing.T) {
	gwAddr := freeAddr(t)
	as, _ := tlsAS(t, gwAddr)
	p := writeFile(t, serveConfig(gwAddr, as.URL, "http://127.0.0.1:2", ""))
	logs, stop := startServe(p)
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "certificate signed by unknown authority"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no certificate error logged:\n%s", logs.String())
		}
	}
	resp, err := http.Get("http://" + gwAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz: %d, want 503", resp.StatusCode)
	}
}
