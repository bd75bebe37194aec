package proxy

import (
	"context"
	"net/http"
	"time"
)

// oauth2-proxy's health paths: with Options.HealthAliases the gateway
// answers them as /healthz and /readyz, before any route (an upstream's own
// /ping is then unreachable through the gateway, as with oauth2-proxy).
const (
	pingPath  = "/ping"
	readyPath = "/ready"
)

// handleHealthz answers 200 while the process serves: GET /healthz (liveness).
func (g *Gateway) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 only when the provider metadata is loaded, the
// session store answers and the gateway is not draining: GET /readyz.
func (g *Gateway) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fail := func(why string) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + why + "\n"))
	}
	select {
	case <-g.draining:
		fail("shutting down")
		return
	default:
	}
	if !g.opts.Login.Ready() {
		fail("provider metadata not loaded")
		return
	}
	if g.opts.StoreReady != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := g.opts.StoreReady(ctx); err != nil {
			fail("session store unreachable")
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}
