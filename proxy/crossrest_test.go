package proxy_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// TestRESTDPoPBoundSessionCookieStoreLog: with session.store = "cookie" a
// REST flow API app that proves a DPoP key gets a (server-side) session
// bound to it; a request with that token and no proof is refused 401
// INVALID_DPOP_PROOF, on the REST API and on a protected route, and the
// access log records the refusal as invalid credentials without naming
// the user the token belongs to (the caller proved nothing). The logout
// endpoint needs the proof too (it ended the session without one).
func TestRESTDPoPBoundSessionCookieStoreLog(t *testing.T) {
	logs := &logBuffer{}
	e := newRESTEnv(t, envOptions{cookieStore: true, accessLog: accesslog.New(logs, true)})
	a := e.app()
	proofFor, token := dpopBoundLogin(t, e, a)
	proof := func(method, path, token string) string { return proofFor(method, e.gwURL+path, token) }
	if e.store.created.Load() == 0 {
		t.Errorf("the REST session is not a server-side record under the cookie store")
	}
	sessionPath := "/auth/rest/protected/session/"
	if resp, d := a.call(http.MethodGet, sessionPath, "", "", "Authorization", "DPoP "+token, "DPoP", proof(http.MethodGet, sessionPath, token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("session with a proof: %d %+v", resp.StatusCode, d)
	}
	before := len(logs.lines(t))
	if resp, d := a.call(http.MethodGet, sessionPath, "", "", "Authorization", "DPoP "+token); resp.StatusCode != http.StatusUnauthorized || d.code() != "INVALID_DPOP_PROOF" {
		t.Fatalf("REST call without a proof: %d %+v", resp.StatusCode, d)
	}
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/api/things", nil)
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("Accept", "application/json")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Fatalf("protected route without a proof: %d", r2.StatusCode)
	}
	lines := logs.waitLines(t, before+2)[before:]
	for i, want := range []string{proxy.RouteREST, "app"} {
		l := lines[i]
		if l["route"] != want || l["status"] != float64(401) || l["outcome"] != proxy.OutcomeInvalidCredentials || l["sub"] != "" {
			t.Errorf("refusal %d logged as %v, want route %s, 401, invalid_credentials, no sub", i, l, want)
		}
	}

	// Logout needs the proof too: a stolen token alone must not end the
	// session (and revoke its tokens at the AS).
	logoutPath := restBase + "/logout/"
	for _, hdr := range [][]string{{"Authorization", "DPoP " + token}, {"Authorization", "Bearer " + token}} {
		if resp, d := a.call(http.MethodPost, logoutPath, "", "", hdr...); resp.StatusCode != http.StatusUnauthorized || d.code() != "INVALID_DPOP_PROOF" {
			t.Errorf("logout with %s and no proof: %d %+v, want 401 INVALID_DPOP_PROOF", hdr[1][:5], resp.StatusCode, d)
		}
	}
	if resp, d := a.call(http.MethodGet, sessionPath, "", "", "Authorization", "DPoP "+token, "DPoP", proof(http.MethodGet, sessionPath, token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session after logouts without a proof: %d %+v", resp.StatusCode, d)
	}
	if resp, d := a.call(http.MethodPost, logoutPath, "", "", "Authorization", "DPoP "+token, "DPoP", proof(http.MethodPost, logoutPath, token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout with a proof: %d %+v", resp.StatusCode, d)
	}
	if resp, _ := a.call(http.MethodGet, sessionPath, "", "", "Authorization", "DPoP "+token, "DPoP", proof(http.MethodGet, sessionPath, token)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the session after its logout: %d", resp.StatusCode)
	}
}

// TestRESTDPoPBoundSessionThroughForwardAuth: behind a front proxy
// (forward-auth), an app's DPoP proof names the URL it called, which the
// trusted proxy forwards as X-Forwarded-*: the gateway checks htm and htu
// against that original request, not against its own /oauth2/auth (which
// no client can sign for), and still refuses a proof for another URL.
func TestRESTDPoPBoundSessionThroughForwardAuth(t *testing.T) {
	e := newRESTEnv(t, envOptions{trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	a := e.app()
	proofFor, token := dpopBoundLogin(t, e, a)
	auth := func(proof string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/oauth2/auth", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "app.example.com")
		req.Header.Set("X-Forwarded-Uri", "/api/orders/7?x=1")
		req.Header.Set("X-Forwarded-Method", http.MethodPut)
		req.Header.Set("Authorization", "DPoP "+token)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	original := "https://app.example.com/api/orders/7"
	if got := auth(proofFor(http.MethodPut, original, token)); got != http.StatusAccepted {
		t.Errorf("forward-auth with a proof for the original request: %d, want 202", got)
	}
	for name, proof := range map[string]string{
		"no proof":                 "",
		"proof for /oauth2/auth":   proofFor(http.MethodGet, e.gwURL+"/oauth2/auth", token),
		"proof for another URL":    proofFor(http.MethodPut, "https://app.example.com/api/orders/8", token),
		"proof for another method": proofFor(http.MethodGet, original, token),
		"proof for another host":   proofFor(http.MethodPut, "https://evil.example.com/api/orders/7", token),
	} {
		if got := auth(proof); got != http.StatusUnauthorized {
			t.Errorf("forward-auth, %s: %d, want 401", name, got)
		}
	}
}

// TestRESTDPoPBoundSessionOnAHostRoute: on a route with a host of its own,
// an app's proof names that host (the URL it called), not public_url's.
func TestRESTDPoPBoundSessionOnAHostRoute(t *testing.T) {
	e := newRESTEnv(t, envOptions{routes: []proxy.Route{
		{Name: "api", Host: "api.example.com", PathPrefix: "/"},
		{Name: "app", PathPrefix: "/"},
	}})
	a := e.app()
	proofFor, token := dpopBoundLogin(t, e, a)
	call := func(host, proof string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/things", nil)
		req.Host = host
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call("api.example.com", proofFor(http.MethodGet, "http://api.example.com/things", token)); got != http.StatusOK {
		t.Errorf("host route with a proof for its URL: %d, want 200", got)
	}
	if e.upstream.count() != 1 || e.upstream.last().Header.Get("X-Forwarded-User") == "" {
		t.Errorf("the upstream did not get the request with the user")
	}
	if got := call("api.example.com", proofFor(http.MethodGet, e.gwURL+"/things", token)); got != http.StatusUnauthorized {
		t.Errorf("host route with a proof for public_url's host: %d, want 401", got)
	}
	gwHost := strings.TrimPrefix(e.gwURL, "http://")
	if got := call(gwHost, proofFor(http.MethodGet, e.gwURL+"/things", token)); got != http.StatusOK {
		t.Errorf("a route without a host, proof at public_url: %d, want 200", got)
	}
}

// dpopBoundLogin starts a REST flow with a DPoP proof by a new key, so the
// session is bound to it, logs alice in, and returns a maker of proofs by
// that key (for an absolute URL) and the session token.
func dpopBoundLogin(t *testing.T, e *env, a *app) (proofFor func(method, target, token string) string, token string) {
	t.Helper()
	key, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	proofFor = func(method, target, token string) string {
		t.Helper()
		p, err := key.Proof(method, target, token, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	startPath := restBase + "/applications/app/access/"
	resp, d := a.call(http.MethodPost, startPath, "", "", "DPoP", proofFor(http.MethodPost, e.gwURL+startPath, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("start: %d %+v", resp.StatusCode, d)
	}
	resp, d = a.respond(resp.Header.Get("Access-Token"), urlBody(a.authorize(d, "alice", "login")))
	token = resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || token == "" {
		t.Fatalf("authorization response: %d %+v", resp.StatusCode, d)
	}
	return proofFor, token
}
