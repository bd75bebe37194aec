package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
)

// TestE2ECookieStoreReplicasWithoutRedis: with session.store = "cookie"
// two replicas that share no store serve one browser's session, and a
// restart keeps it: the session lives in the browser's cookies.
func TestE2ECookieStoreReplicasWithoutRedis(t *testing.T) {
	w := newWorld(t, worldOptions{})
	a, b := w.replicas(t, gwConfig{Store: "cookie"})
	tab := w.loggedInTab(t, a.URL+"/via-a", "cookie-replicas-final")

	navigateStays(t, tab, b.URL+"/via-b", "replica B")
	if h := w.up.last(t); h.Get("X-Forwarded-User") != "alice-sub" || h.Get("X-Forwarded-Email") != "alice@example.com" ||
		h.Get("X-Test-Request-URI") != "/via-b" {
		t.Errorf("through B the upstream saw user %q, email %q at %q", h.Get("X-Forwarded-User"), h.Get("X-Forwarded-Email"), h.Get("X-Test-Request-URI"))
	}
	if strings.Contains(w.up.last(t).Get("Cookie"), "gatehouse") {
		t.Errorf("the upstream got the gateway's cookies: %q", w.up.last(t).Get("Cookie"))
	}

	a.restart(t)
	b.restart(t)
	for _, gw := range []*gateway{a, b} {
		navigateStays(t, tab, gw.URL+"/after-restart", "after the restart")
	}
	if !strings.Contains(a.log(), "revocations live in each replica's memory only") {
		t.Errorf("the gateway did not warn that logout features are lost without Redis")
	}
}

// TestE2ECookieStoreConcurrentRefresh: oidc-provider rotates refresh
// tokens and revokes the grant when a rotated one is used again. A page
// whose access token has expired fires 8 requests at once, all with the
// same (old) cookie: one refresh happens, every request passes, and the
// refreshed tokens in the cookie carry the user through the next expiry.
func TestE2ECookieStoreConcurrentRefresh(t *testing.T) {
	const ttl = 3 * time.Second
	w := newWorld(t, worldOptions{accessTTL: ttl})
	gw := w.gateway(t, gwConfig{Store: "cookie"})
	tab := w.loggedInTab(t, gw.URL+"/start", "cookie-refresh-final")
	before := w.events(t)
	for round := 1; round <= 2; round++ {
		time.Sleep(ttl + 500*time.Millisecond)
		var paths []string
		for i := range 8 {
			paths = append(paths, fmt.Sprintf("/api/%d/%d", round, i))
		}
		for i, status := range tab.FetchAll(t, paths...) {
			if status != 200 {
				t.Errorf("round %d: %s got %d, want 200", round, paths[i], status)
			}
		}
		navigateStays(t, tab, gw.URL+fmt.Sprintf("/page-%d", round), fmt.Sprintf("round %d", round))
	}
	after := w.events(t)
	if n := after["grant.refresh_token"] - before["grant.refresh_token"]; n != 2 {
		t.Errorf("the OP saw %d refresh grants, want 2 (one per expiry)", n)
	}
	if n := after["refresh_token.reuse"] - before["refresh_token.reuse"]; n != 0 {
		t.Errorf("the OP saw %d reused refresh tokens", n)
	}
}

// TestE2ECookieStoreBackchannelLogoutRedis: with the cookie store and
// Redis holding the revocations, the OP's back-channel logout, received by
// one replica, ends the session on the other too.
func TestE2ECookieStoreBackchannelLogoutRedis(t *testing.T) {
	w := newWorld(t, worldOptions{backchannel: true})
	redistest.Require(t)
	rds := redistest.Start(t)
	a, b := w.replicas(t, gwConfig{Store: "cookie", RedisURL: rds.URL})
	tab := w.loggedInTab(t, a.URL+"/before", "cookie-backchannel-final")
	navigateStays(t, tab, b.URL+"/before-b", "replica B before the logout")

	w.backchannelLogoutEnds(t, tab, b.URL+"/after")
	if strings.Contains(a.log(), "revocations live in each replica's memory only") {
		t.Errorf("the gateway warned about lost logout features with Redis configured")
	}
}

// nginxCookieLines are docs/integrations.md's lines for the cookie store in
// nginx's location /: a refresh during the auth subrequest rewrites the
// session cookies, which nginx passes on to the browser.
const nginxCookieLines = `
      auth_request_set $gatehouse_cookie_0 $upstream_http_set_cookie;
      auth_request_set $gatehouse_cookie_1 $upstream_http_x_auth_request_set_cookie_1;
      auth_request_set $gatehouse_cookie_2 $upstream_http_x_auth_request_set_cookie_2;
      auth_request_set $gatehouse_cookie_3 $upstream_http_x_auth_request_set_cookie_3;
      auth_request_set $gatehouse_cookie_4 $upstream_http_x_auth_request_set_cookie_4;
      add_header Set-Cookie $gatehouse_cookie_0 always;
      add_header Set-Cookie $gatehouse_cookie_1 always;
      add_header Set-Cookie $gatehouse_cookie_2 always;
      add_header Set-Cookie $gatehouse_cookie_3 always;
      add_header Set-Cookie $gatehouse_cookie_4 always;
`

// TestE2ENginxCookieStore: nginx auth_request in front of the application,
// the gateway with the cookie store. The access token expires; the refresh
// happens in the auth subrequest, and nginx passes the new cookie on: after
// a restart of the gateway (which forgets its refresh grace records), the
// browser's cookie holds the rotated refresh token, and the next expiry
// refreshes again instead of presenting a spent one. (Without the lines
// above, the second expiry sends the browser to the OP.)
func TestE2ENginxCookieStore(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	const ttl = 3 * time.Second
	nginxPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", nginxPort)
	op := harness.StartOP(t, harness.OPConfig{
		AccessTokenTTL: ttl,
		Clients:        []harness.OPClient{{ID: gwClientID, Secret: gwClientSecret, RedirectURIs: []string{public + "/oauth2/callback"}}},
		Users:          []harness.OPUser{alice},
	})
	app := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: gwPort, PublicURL: public, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL: app.URL, Store: "cookie",
		ServerExtra: `trusted_proxies = ["127.0.0.1"]`,
	})
	server := strings.Replace(fmt.Sprintf(nginxServer, gwPort, app.URL),
		"      auth_request /_gatehouse/auth;\n", "      auth_request /_gatehouse/auth;\n"+nginxCookieLines, 1)
	harness.StartNginx(t, nginxPort, nginxHTTP, server)

	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	screenshotOnFailure(t, tab, "nginx-cookie-final")
	tab.Navigate(t, public+"/start")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, public+"/start")
	before := op.Events(t)
	for round := 1; round <= 2; round++ {
		time.Sleep(ttl + 500*time.Millisecond)
		path := fmt.Sprintf("/after-expiry-%d", round)
		navigateStays(t, tab, public+path, fmt.Sprintf("after expiry %d (a transparent refresh)", round))
		if h := app.last(t); h.Get("X-Forwarded-User") != "alice-sub" {
			t.Fatalf("after expiry %d the application saw user %q", round, h.Get("X-Forwarded-User"))
		}
		gw.restart(t) // forget the refresh grace: only the browser's cookie carries the session on
	}
	after := op.Events(t)
	if n := after["grant.refresh_token"] - before["grant.refresh_token"]; n != 2 {
		t.Errorf("the OP saw %d refresh grants, want 2", n)
	}
	if n := after["refresh_token.reuse"] - before["refresh_token.reuse"]; n != 0 {
		t.Errorf("the OP saw %d reused refresh tokens: nginx did not pass the refreshed cookie on", n)
	}
}
