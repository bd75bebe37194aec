package proxy

import (
	"net/http"
	"strings"
)

// routes lists every endpoint the gateway serves itself and which part of
// the gateway answers it. Everything else goes through the gate to an
// upstream. http.ServeMux matches on the cleaned path and redirects unclean
// ones ("/a/../b", "//x"), so the gate only ever sees clean paths.
func (g *Gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/start", g.sso.handleStart)
	mux.HandleFunc("GET /oauth2/callback", g.sso.handleCallback)
	mux.HandleFunc("GET /oauth2/sign_in", g.sso.handleSignInPage) // oauth2-proxy's (signin.go)
	mux.HandleFunc("GET /oauth2/sign_out", g.sso.handleSignOutPage)
	mux.HandleFunc("POST /oauth2/sign_out", g.sso.handleSignOut)
	mux.HandleFunc("GET /oauth2/userinfo", g.gate.handleUserinfo)
	mux.HandleFunc("POST /oauth2/backchannel_logout", g.logout.handleBackchannelLogout)
	mux.HandleFunc("GET /oauth2/frontchannel_logout", g.logout.handleFrontchannelLogout)
	// forward-auth: nginx auth_request, Traefik ForwardAuth (Envoy: below)
	mux.HandleFunc(forwardAuthPath, g.forwardAuth.handleAuth)
	mux.HandleFunc("/oauth2/", g.handleUnknown) // the prefix is reserved for the gateway
	mux.HandleFunc("GET /healthz", g.handleHealthz)
	mux.HandleFunc("GET /readyz", g.handleReadyz)
	if g.opts.HealthAliases { // oauth2-proxy's health paths, answered here, never by an upstream
		mux.HandleFunc("GET "+pingPath, g.handleHealthz)
		mux.HandleFunc("GET "+readyPath, g.handleReadyz)
	}
	g.rest.restRoutes(mux) // the REST flow API under its base path, when enabled
	mux.HandleFunc("/", g.gate.handleGate)
	own := []string{"/oauth2", "/healthz", "/readyz"}
	if a := g.relay.assertions; a != nil { // the identity assertions' keys (upstreamidentity.go)
		mux.Handle("GET "+JWKSPath, a)
		own = append(own, JWKSPath)
	}
	if g.rest != nil {
		own = append(own, g.rest.basePath)
	}
	gateHandler, authHandler := g.gate.handleGate, g.forwardAuth.handleAuth
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		// Envoy ext_authz appends the original path to forwardAuthPath; it
		// must reach handleAuth as sent (not redirected when unclean), to be
		// cleaned as the original request's path.
		if strings.HasPrefix(p, forwardAuthPath+"/") {
			authHandler(w, r)
			return
		}
		// Most requests go to an upstream: a clean path outside the
		// gateway's own prefixes is one the mux would send to handleGate
		// anyway, so it goes there directly.
		if isCleanPath(p) && !hasAnyPrefix(p, own) && !g.isHealthAlias(p) {
			gateHandler(w, r)
			return
		}
		g.guardBody(w, r) // the gateway's own endpoints read bodies in bounded time and size
		mux.ServeHTTP(w, r)
	})
}

// isCleanPath reports whether p is absolute and path.Clean would leave it
// as it is (but for a trailing slash, which ServeMux keeps too): no empty,
// "." or ".." segment.
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' || i+1 == len(p) {
			continue
		}
		seg := p[i+1:]
		if j := strings.IndexByte(seg, '/'); j >= 0 {
			seg = seg[:j]
		}
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isHealthAlias reports whether p is one of oauth2-proxy's health paths
// and the gateway answers them (Options.HealthAliases).
func (g *Gateway) isHealthAlias(p string) bool {
	return g.opts.HealthAliases && (p == pingPath || p == readyPath)
}

func (g *Gateway) handleUnknown(w http.ResponseWriter, r *http.Request) {
	g.gate.fail(w, r, errNotFound)
}
