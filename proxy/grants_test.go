package proxy_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

var gatewayGrants = []string{devop.GrantClientCredentials, devop.GrantPassword, devop.GrantTokenExchange}

// apiGet sends an API request (no text/html) with optional headers.
func (e *env) apiGet(c *http.Client, path string, hdr ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.gwURL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	bodyOf(resp)
	resp.Body.Close()
	return resp
}

// bearerOf returns the token of an "Authorization: Bearer" header.
func bearerOf(h http.Header) string {
	tok, _ := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	return tok
}

// TestClientCredentialsUpstream: a legacy application calls an API through
// the gateway, which presents its own token, fetched once for all requests.
func TestClientCredentialsUpstream(t *testing.T) {
	e := newEnv(t, envOptions{grantTypes: gatewayGrants, routes: []proxy.Route{
		{Name: "api", PathPrefix: "/api", Auth: proxy.AuthPublic, UpstreamToken: proxy.UpstreamTokenClientCredentials,
			TokenParams: login.TokenParams{Scopes: []string{"orders.read"}, Resources: []string{"https://orders.example/"}}},
		{Name: "app", PathPrefix: "/", UpstreamToken: proxy.UpstreamTokenClientCredentials, PassAccessToken: true},
	}})
	c := &http.Client{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if resp := e.apiGet(c, "/api/orders", "Authorization", "Bearer client-sent-token"); resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := e.as.Stats().ClientCredentialsGrants; n != 1 {
		t.Errorf("%d client credentials grants for 20 requests, want 1", n)
	}
	tok := bearerOf(e.upstream.last().Header)
	info, ok := e.as.TokenInfo(tok)
	want := devop.TokenInfo{ClientID: testClientID, Subject: testClientID, Scopes: []string{"orders.read"},
		Audience: []string{"https://orders.example/"}, GrantType: devop.GrantClientCredentials, Expiry: info.Expiry}
	if diff := cmp.Diff(want, info); !ok || diff != "" {
		t.Errorf("the upstream's token (-want +got):\n%s", diff)
	}

	// Besides the user's token: the user's goes where pass_access_token
	// says, the gateway's in Authorization.
	resp := e.loginAs(e.browser(), "/home", "alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h := e.upstream.last().Header
	uinfo, _ := e.as.TokenInfo(h.Get("X-Forwarded-Access-Token"))
	ginfo, _ := e.as.TokenInfo(bearerOf(h))
	if uinfo.Username != "alice" || ginfo.GrantType != devop.GrantClientCredentials {
		t.Errorf("X-Forwarded-Access-Token of %+v, Authorization of %+v; want alice's and the gateway's", uinfo, ginfo)
	}
}

// TestTokenExchangeUpstream: the upstream gets a token meant for it,
// exchanged once per user's token, and never the user's own token.
func TestTokenExchangeUpstream(t *testing.T) {
	e := newEnv(t, envOptions{grantTypes: gatewayGrants, routes: []proxy.Route{
		{Name: "orders", PathPrefix: "/", UpstreamToken: proxy.UpstreamTokenExchange,
			TokenParams: login.TokenParams{Audiences: []string{"orders-api"}, Scopes: []string{"openid", "email"}}},
	}})
	b := e.browser()
	if resp := e.loginAs(b, "/orders", "bob"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	first := bearerOf(e.upstream.last().Header)
	for range 3 {
		e.get(b, e.gwURL+"/orders")
	}
	if got := bearerOf(e.upstream.last().Header); got != first {
		t.Error("the exchanged token changed between requests")
	}
	if n := e.as.Stats().TokenExchanges; n != 1 {
		t.Errorf("%d token exchanges for one session, want 1", n)
	}
	info, ok := e.as.TokenInfo(first)
	if !ok || info.Username != "bob" || info.GrantType != devop.GrantTokenExchange || !cmp.Equal(info.Audience, []string{"orders-api"}) {
		t.Errorf("the upstream's token: %+v", info)
	}
	if h := e.upstream.last().Header; h.Get("X-Forwarded-Access-Token") != "" || len(h.Values("Authorization")) != 1 {
		t.Errorf("the upstream got more than the exchanged token: %v", h)
	}
}

// TestUpstreamTokenUnavailable: when the AS refuses the grant, the request
// fails with 502 and never reaches the upstream without its token.
func TestUpstreamTokenUnavailable(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, envOptions{ // the gateway's client may not use client credentials
		logger: slog.New(slog.NewTextHandler(&logs, nil)),
		routes: []proxy.Route{{Name: "api", PathPrefix: "/", Auth: proxy.AuthPublic, UpstreamToken: proxy.UpstreamTokenClientCredentials}},
	})
	resp := e.apiGet(&http.Client{}, "/x")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(bodyOf(resp), "upstream_token_unavailable") {
		t.Errorf("status %d body %s, want 502 upstream_token_unavailable", resp.StatusCode, bodyOf(resp))
	}
	if e.upstream.count() != 0 {
		t.Error("the upstream was reached without its token")
	}
	if !strings.Contains(logs.String(), "event=upstream_token_failed") || !strings.Contains(logs.String(), "unauthorized_client") {
		t.Errorf("log: %s", logs.String())
	}
}

// TestUpstreamTokenNone strips a client's Authorization header.
func TestUpstreamTokenNone(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{{Name: "static", PathPrefix: "/", Auth: proxy.AuthPublic, UpstreamToken: proxy.UpstreamTokenNone}}})
	e.apiGet(&http.Client{}, "/x", "Authorization", "Bearer smuggled")
	if h := e.upstream.last().Header.Get("Authorization"); h != "" {
		t.Errorf("the upstream got Authorization %q", h)
	}
}

func TestPasswordGrantRoute(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, envOptions{grantTypes: gatewayGrants, logger: slog.New(slog.NewTextHandler(&logs, nil)), routes: []proxy.Route{
		{Name: "legacy", PathPrefix: "/", Auth: proxy.AuthPasswordGrant, PassAuthorization: true},
	}})
	c := &http.Client{}
	basic := func(user, pass string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/report", nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bodyOf(resp)
		resp.Body.Close()
		return resp
	}

	for range 3 {
		if resp := basic("alice", "alice"); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	h := e.upstream.last().Header
	if h.Get("X-Forwarded-User") != "user-alice" || h.Get("X-Forwarded-Email") != "alice@example.com" {
		t.Errorf("identity headers %v", h)
	}
	if info, _ := e.as.TokenInfo(bearerOf(h)); info.Username != "alice" || info.GrantType != devop.GrantPassword {
		t.Errorf("Authorization %q is not alice's password grant token", h.Get("Authorization"))
	}
	if n := e.as.Stats().PasswordGrants; n != 1 {
		t.Errorf("%d password grants for 3 requests, want 1", n)
	}

	t.Run("no credentials", func(t *testing.T) {
		resp := e.apiGet(c, "/report")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("a browser gets the Basic challenge, not a login redirect", func(t *testing.T) {
		resp := e.get(c, e.gwURL+"/report")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("wrong passwords, then blocked", func(t *testing.T) {
		before := e.upstream.count()
		for i := range 5 {
			if resp := basic("bob", "guess-"+string(rune('a'+i))); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("guess %d: status %d, want 401", i, resp.StatusCode)
			}
		}
		resp := basic("bob", "bob")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("right password after 5 failures: status %d, want 429", resp.StatusCode)
		}
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 || n > 15*60 {
			t.Errorf("Retry-After %q, want whole seconds until the block ends", resp.Header.Get("Retry-After"))
		}
		if resp := basic("alice", "alice"); resp.StatusCode != http.StatusOK {
			t.Errorf("another user: status %d, want 200", resp.StatusCode)
		}
		if e.upstream.count() != before+1 {
			t.Error("a refused request reached the upstream")
		}
		if n := e.as.Stats().PasswordGrantFailures; n != 5 {
			t.Errorf("%d failed grants at the AS, want 5 (none while blocked)", n)
		}
	})
	if strings.Contains(logs.String(), "guess-") || strings.Contains(logs.String(), "alice:alice") {
		t.Errorf("a password was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "reason=rate_limited") {
		t.Errorf("no rate limit log line:\n%s", logs.String())
	}
	for _, r := range e.upstream.reqs {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Basic") {
			t.Fatal("the upstream got the Basic credentials")
		}
	}
}

func TestUpstreamTokenOptionsChecked(t *testing.T) {
	e := newEnv(t, envOptions{})
	sessions, err := session.NewManager(session.Options{Store: memstore.New(), Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rt      proxy.Route
		wantErr string
	}{
		{proxy.Route{Name: "a", UpstreamToken: proxy.UpstreamTokenClientCredentials, PassAuthorization: true}, "conflicts"},
		{proxy.Route{Name: "b", UpstreamToken: proxy.UpstreamTokenExchange, Auth: proxy.AuthPublic}, "needs a user"},
		{proxy.Route{Name: "c", UpstreamToken: "service"}, "unknown UpstreamToken"},
		{proxy.Route{Name: "d", UpstreamToken: proxy.UpstreamTokenExchange}, ""},
	} {
		tt.rt.PathPrefix, tt.rt.Target = "/", e.upURL
		_, err := proxy.New(proxy.Options{PublicURL: e.upURL, Login: e.login, Sessions: sessions, Redirects: redirect.New(e.upURL, nil), Routes: []proxy.Route{tt.rt}})
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("route %s: New: %v, want %q", tt.rt.Name, err, tt.wantErr)
		}
	}
}

// TestNewLeavesRoutesAlone: New compiles its own copies of the routes; the
// caller's slice (which cmd may keep, or reuse for a second gateway) is not
// written to, and a second gateway built from it behaves the same.
func TestNewLeavesRoutesAlone(t *testing.T) {
	e := newEnv(t, envOptions{})
	sessions, err := session.NewManager(session.Options{Store: memstore.New(), Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	routes := []proxy.Route{
		{Name: "app", PathPrefix: "/", Target: e.upURL},
		{Name: "api", PathPrefix: "/api/", Target: e.upURL, Auth: proxy.AuthPublic},
	}
	want := slices.Clone(routes)
	for range 2 {
		if _, err := proxy.New(proxy.Options{PublicURL: e.upURL, Login: e.login, Sessions: sessions, Redirects: redirect.New(e.upURL, nil), Routes: routes}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, routes, cmpopts.IgnoreUnexported(proxy.Route{}), cmp.Comparer(func(a, b *url.URL) bool { return a == b })); diff != "" {
			t.Fatalf("New modified Options.Routes (-want +got):\n%s", diff)
		}
	}
}
