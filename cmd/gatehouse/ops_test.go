package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
)

// TestMetricsAfterLoginAndRefresh scrapes /metrics after a login and a
// refresh and checks that the counters moved.
func TestMetricsAfterLoginAndRefresh(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	gwAddr, metricsAddr := freeAddr(t), freeAddr(t)
	asSrv := startDevAS(t, gwAddr, asOptions{Refreshing: true})
	cfg := serveConfig(gwAddr, asSrv.URL, up.URL, `refresh_before = "100s"`) // every request refreshes
	cfg = strings.Replace(cfg, "[provider]", "metrics_listen = \""+metricsAddr+"\"\n[provider]", 1)
	p := writeFile(t, cfg)
	logs, stop := startServe(p)
	defer stop()
	waitReady(t, "http://"+gwAddr)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	for range 2 { // the first logs in, the second refreshes
		req, _ := http.NewRequest(http.MethodGet, "http://"+gwAddr+"/page", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("GET /page: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
		}
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	// Every request refreshes here (refresh_before exceeds the token lifetime),
	// so the landing request after the login already refreshed once.
	for _, c := range []struct {
		series string
		min    float64
	}{
		{`gatehouse_logins_total{reason="",result="success"}`, 1},
		{`gatehouse_refreshes_total{outcome="success"}`, 2},
		{`gatehouse_http_request_duration_seconds_count{code="2xx",method="GET",route="upstream-0"}`, 2},
		{`gatehouse_http_request_duration_seconds_count{code="3xx",method="GET",route="oauth2_callback"}`, 1},
		{`gatehouse_as_request_duration_seconds_count{endpoint="token",outcome="2xx"}`, 3},
		{`gatehouse_as_request_duration_seconds_count{endpoint="discovery",outcome="2xx"}`, 1},
		{`gatehouse_session_store_duration_seconds_count{op="get"}`, 2},
		{`gatehouse_login_flows_started_total`, 1},
	} {
		if v := metricValue(text, c.series); v < c.min {
			t.Errorf("%s = %v, want at least %v", c.series, v, c.min)
		}
	}
	if !strings.Contains(text, `gatehouse_upstream_duration_seconds_count{code="2xx"`) {
		t.Errorf("no upstream latency recorded")
	}
	// What runs, and what is open now: the scrape itself (the metrics
	// listener's requests are observed too); the gateway's requests ended.
	if !strings.Contains(text, `gatehouse_build_info{goversion="`+runtime.Version()+`",revision="`) {
		t.Errorf("no gatehouse_build_info with the Go version")
	}
	for _, series := range []string{"gatehouse_http_requests_in_flight"} {
		if v := metricValue(text, series); v != 1 {
			t.Errorf("%s = %v, want 1 (the scrape)", series, v)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(text, "gatehouse_"))
	}
	// The access log has one line per request, without tokens or query
	// strings. Lines are written in batches; shutdown writes the last one.
	stop()
	log := logs.String()
	if !strings.Contains(log, "msg=request") || !strings.Contains(log, "sub=user-alice") {
		t.Errorf("no access log line with the user:\n%s", log)
	}
	if !strings.Contains(log, "path=/metrics status=200") || !strings.Contains(log, "route=metrics") {
		t.Errorf("no access log line for the scrape of the metrics listener:\n%s", log)
	}
	for _, secret := range []string{"code=", "state=", "access_token", "gh-secret"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// metricValue returns the value of the series (name and labels exactly as
// exposed), or -1 when it is absent.
func metricValue(text, series string) float64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// writeCert writes a self-signed certificate for 127.0.0.1 with serial n.
func writeCert(t *testing.T, dir string, n int64) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: "gatehouse-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	// Write to temporary names and rename, as a rotation would.
	for _, f := range []struct {
		path string
		blk  *pem.Block
	}{{certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der}}, {keyFile, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}}} {
		if err := os.WriteFile(f.path+".new", pem.EncodeToMemory(f.blk), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".new", f.path); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, cert
}

// TestServeTLSWithHTTP2AndCertReload serves HTTPS with HTTP/2 and picks up a
// rotated certificate without a restart.
func TestServeTLSWithHTTP2AndCertReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := writeCert(t, dir, 1)
	gwAddr := freeAddr(t)
	cfg := serveConfig(gwAddr, "http://127.0.0.1:1", "http://127.0.0.1:2", "") // the AS need not answer for /healthz
	cfg = strings.Replace(cfg, `public_url = "http://`+gwAddr+`"`, `public_url = "https://`+gwAddr+`"`+
		"\ntls_cert_file = \""+certFile+"\"\ntls_key_file = \""+keyFile+"\"", 1)
	p := writeFile(t, cfg)
	logs, stop := startServe(p)
	defer stop()

	get := func(trust *x509.Certificate) (*http.Response, error) {
		pool := x509.NewCertPool()
		pool.AddCert(trust)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + gwAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err = get(first); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("HTTPS: %v\n%s", err, logs.String())
	}
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("HTTPS /healthz: %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	time.Sleep(1100 * time.Millisecond) // file times must differ from the first write
	_, _, second := writeCert(t, dir, 2)
	var got int64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := get(second); err == nil {
			got = resp.TLS.PeerCertificates[0].SerialNumber.Int64()
			break
		}
	}
	if got != 2 {
		t.Errorf("after rotation the server presents serial %d, want 2\n%s", got, logs.String())
	}
}

// TestStartsUnreadyDuringASOutage: the gateway starts while the AS is down,
// reports not ready, and becomes ready by itself once the AS answers.
func TestStartsUnreadyDuringASOutage(t *testing.T) {
	gwAddr, asAddr := freeAddr(t), freeAddr(t)
	p := writeFile(t, serveConfig(gwAddr, "http://"+asAddr, "http://127.0.0.1:2", ""))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = run(ctx, []string{"serve", "-config", p}, func(string) string { return "" }, io.Discard, io.Discard)
	}()
	defer func() { cancel(); <-done }()

	status := func(path string) int {
		resp, err := http.Get("http://" + gwAddr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(10 * time.Second); status("/healthz") != http.StatusOK; time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			t.Fatalf("gatehouse exited at start-up: %v", runErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not start while the AS was down")
		}
	}
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz during the AS outage: %d, want 503", got)
	}
	// The AS comes up.
	ln, err := net.Listen("tcp", asAddr)
	if err != nil {
		t.Fatal(err)
	}
	as, err := devop.New(devop.Options{Issuer: "http://" + asAddr,
		Clients: []devop.Client{{ID: "gh", Secret: "gh-secret-0123456789", RedirectURIs: []string{"http://" + gwAddr + "/oauth2/callback"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: as, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	waitReadyWithin(t, "http://"+gwAddr, 15*time.Second)
}

func waitReadyWithin(t *testing.T, base string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s", base, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPprofOnTheMetricsListenerOnly: server.pprof serves the profiler on
// the metrics listener; without it there is none.
func TestPprofOnTheMetricsListenerOnly(t *testing.T) {
	for _, on := range []bool{true, false} {
		addr := freeAddr(t)
		stop, err := serveMetrics(addr, metrics.New(), on, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		stop()
		switch {
		case on && (resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine")):
			t.Errorf("pprof on: %d %.80q", resp.StatusCode, body)
		case !on && resp.StatusCode != http.StatusNotFound:
			t.Errorf("pprof off: %d, want 404", resp.StatusCode)
		}
	}
}
