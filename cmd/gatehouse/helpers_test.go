package main

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
)

// asOptions says how startDevAS runs the development AS.
type asOptions struct {
	// TLS serves over TLS with httptest's own certificate.
	TLS bool
	// Refreshing issues access tokens for 90s and rotates refresh tokens
	// (with refresh_before = "100s" every request refreshes).
	Refreshing bool
	// Wrap, if set, wraps the AS's handler.
	Wrap func(http.Handler) http.Handler
}

// startDevAS runs the development AS, which signs alice in without a
// question, for one client ("gh") whose redirect URI is on gwAddr. It is
// closed when the test ends.
func startDevAS(t *testing.T, gwAddr string, o asOptions) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if o.TLS {
		scheme = "https://"
	}
	opts := devop.Options{
		Issuer: scheme + srv.Listener.Addr().String(),
		Clients: []devop.Client{{ID: "gh", Secret: "gh-secret-0123456789",
			RedirectURIs: []string{"http://" + gwAddr + "/oauth2/callback"}}},
		AutoApproveUser: "alice",
	}
	if o.Refreshing {
		opts.AccessTokenTTL, opts.RotateRefreshTokens = 90*time.Second, true
	}
	as, err := devop.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = as
	if o.Wrap != nil {
		srv.Config.Handler = o.Wrap(as)
	}
	if o.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// startAS runs the development AS for one client whose redirect URI is on gwAddr.
func startAS(t *testing.T, gwAddr string) *httptest.Server {
	t.Helper()
	return startDevAS(t, gwAddr, asOptions{})
}

// tlsAS runs the development AS over TLS (httptest's own certificate) and
// returns it and a file with its certificate, the CA to trust.
func tlsAS(t *testing.T, gwAddr string) (*httptest.Server, string) {
	t.Helper()
	srv := startDevAS(t, gwAddr, asOptions{TLS: true})
	ca := filepath.Join(t.TempDir(), "as-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

// startServe runs `gatehouse serve -config configFile` in the background,
// with an empty environment, and returns its log and a function that
// stops it and waits for it to return (calling it again does nothing).
func startServe(configFile string) (*lockedBuffer, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	logs := &lockedBuffer{}
	go func() {
		errc <- run(ctx, []string{"serve", "-config", configFile}, func(string) string { return "" }, io.Discard, logs)
	}()
	return logs, sync.OnceFunc(func() { cancel(); <-errc })
}
