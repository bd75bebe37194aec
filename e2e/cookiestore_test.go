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
	a := w.gateway(t, gwConfig{Store: "cookie"})
	b := w.gateway(t, gwConfig{Port: harness.FreePort(t), PublicURL: w.gwPublic, Store: "cookie"})
	tab := w.loggedInTab(t, a.URL+"/via-a", "cookie-replicas-final")

	tab.Navigate(t, b.URL+"/via-b")
	if got := tab.URL(t); got != b.URL+"/via-b" {
		t.Fatalf("replica B sent the browser to %q instead of serving it", got)
	}
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
		tab.Navigate(t, gw.URL+"/after-restart")
		if got := tab.URL(t); got != gw.URL+"/after-restart" {
			t.Fatalf("after the restart %s sent the browser to %q", gw.URL, got)
		}
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
		tab.Navigate(t, gw.URL+fmt.Sprintf("/page-%d", round))
		if got := tab.URL(t); got != gw.URL+fmt.Sprintf("/page-%d", round) {
			t.Fatalf("round %d: the browser went to %q, want to stay logged in", round, got)
		}
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
	a := w.gateway(t, gwConfig{Store: "cookie", RedisURL: rds.URL})
	b := w.gateway(t, gwConfig{Port: harness.FreePort(t), PublicURL: w.gwPublic, Store: "cookie", RedisURL: rds.URL})
	tab := w.loggedInTab(t, a.URL+"/before", "cookie-backchannel-final")
	tab.Navigate(t, b.URL+"/before-b")
	if got := tab.URL(t); got != b.URL+"/before-b" {
		t.Fatalf("replica B sent the browser to %q before the logout", got)
	}

	sent, failed := w.op.BackchannelLogout(t, alice.Sub)
	if sent < 1 || failed != 0 {
		t.Fatalf("the OP sent %d back-channel logouts, %d failed", sent, failed)
	}
	n := w.up.count()
	tab.Navigate(t, b.URL+"/after")
	if got := tab.URL(t); !strings.HasPrefix(got, w.op.Issuer) {
		t.Errorf("after back-channel logout replica B let the browser to %q, want the OP", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after the back-channel logout")
	}
	if strings.Contains(a.log(), "revocations live in each replica's memory only") {
		t.Errorf("the gateway warned about lost logout features with Redis configured")
	}
}
