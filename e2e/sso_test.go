package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
)

const (
	gwClientID     = "gatehouse-e2e"
	gwClientSecret = "e2e-client-secret-0123456789abcdef"
)

var alice = harness.OPUser{Sub: "alice-sub", Email: "alice@example.com", Name: "Alice Example", PreferredUsername: "alice", Groups: []string{"admins", "staff"}}

// world is one scenario's set of real parts.
type world struct {
	op       *harness.OP    // set when the scenario runs against oidc-provider
	hydra    *harness.Hydra // set when it runs against Ory Hydra
	up       *upstream
	browser  *harness.Browser
	gwPort   int
	gwPublic string

	// issuer is the OP's issuer; signIn is where the browser lands when the
	// OP wants the user to sign in (or consent): the issuer for oidc-provider,
	// the login app for Hydra.
	issuer, signIn string
}

// The OPs a scenario can run against (worldOptions.provider).
const (
	oidcProvider = "oidc-provider"
	hydraOP      = "hydra"
)

// providers are the OPs of the scenarios that run against each.
var providers = []string{oidcProvider, hydraOP}

// worldOptions varies a scenario's OP.
type worldOptions struct {
	// provider is oidcProvider (the default) or hydraOP.
	provider  string
	accessTTL time.Duration // 0: the OP's default
	// backchannel registers the gateway's back-channel logout URI at the OP.
	backchannel bool
	// frontchannel registers the gateway's front-channel logout URI (Hydra only).
	frontchannel bool
	// extra are more clients registered at the OP (native apps).
	extra []harness.OPClient
}

// newWorld starts the OP (its client registered for a gateway at gwPort,
// and the extra clients), the upstream and the browser.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "chromium")
	w := &world{gwPort: harness.FreePort(t)}
	w.gwPublic = fmt.Sprintf("http://127.0.0.1:%d", w.gwPort)
	gwClient := harness.OPClient{
		ID: gwClientID, Secret: gwClientSecret,
		RedirectURIs:           []string{w.gwPublic + "/oauth2/callback"},
		PostLogoutRedirectURIs: []string{w.gwPublic + "/"},
	}
	if o.backchannel {
		gwClient.BackchannelLogoutURI = w.gwPublic + "/oauth2/backchannel_logout"
	}
	if o.frontchannel {
		gwClient.FrontchannelLogoutURI = w.gwPublic + "/oauth2/frontchannel_logout"
	}
	clients := append([]harness.OPClient{gwClient}, o.extra...)
	switch o.provider {
	case "", oidcProvider:
		w.op = harness.StartOP(t, harness.OPConfig{AccessTokenTTL: o.accessTTL, Clients: clients, Users: []harness.OPUser{alice}})
		w.issuer, w.signIn = w.op.Issuer, w.op.Issuer
	case hydraOP:
		w.hydra = harness.StartHydra(t, harness.HydraConfig{AccessTokenTTL: o.accessTTL, Clients: clients, Users: []harness.OPUser{alice}})
		w.issuer, w.signIn = w.hydra.Issuer, w.hydra.LoginApp
	default:
		t.Fatalf("unknown provider %q", o.provider)
	}
	w.up = startUpstream(t)
	w.browser = harness.StartBrowser(t)
	return w
}

// events returns the OP's counters (harness.OP.Events; Hydra's in the same names).
func (w *world) events(t *testing.T) map[string]int {
	t.Helper()
	if w.hydra != nil {
		return w.hydra.Events(t)
	}
	return w.op.Events(t)
}

func (w *world) gateway(t *testing.T, c gwConfig) *gateway {
	t.Helper()
	if c.Port == 0 {
		c.Port = w.gwPort
	}
	c.Issuer, c.ClientID, c.ClientSecret, c.UpstreamURL = w.issuer, gwClientID, gwClientSecret, w.up.URL
	return startGateway(t, c)
}

// replicas starts two gateways with c, replica A at the world's port and
// B at another, both serving the world's public URL (as behind a load
// balancer; cookies are per host, not per port, so the browser carries
// its session to both).
func (w *world) replicas(t *testing.T, c gwConfig) (a, b *gateway) {
	t.Helper()
	a = w.gateway(t, c)
	c.Port, c.PublicURL = harness.FreePort(t), w.gwPublic
	return a, w.gateway(t, c)
}

// backchannelLogoutEnds has the OP end alice's OP session and notify the
// gateway, and fails unless the browser in tab, at afterURL, is then sent
// to the OP and the upstream is not reached.
func (w *world) backchannelLogoutEnds(t *testing.T, tab *harness.Tab, afterURL string) {
	t.Helper()
	sent, failed := w.op.BackchannelLogout(t, alice.Sub)
	if sent < 1 || failed != 0 {
		t.Fatalf("the OP sent %d back-channel logouts, %d failed", sent, failed)
	}
	n := w.up.count()
	tab.Navigate(t, afterURL)
	if got := tab.URL(t); !strings.HasPrefix(got, w.op.Issuer) {
		t.Errorf("after back-channel logout the browser is at %q, want the OP", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after the back-channel logout")
	}
}

// forEachProvider runs the scenario against each OP, as a subtest named
// after it.
func forEachProvider(t *testing.T, scenario func(t *testing.T, provider string)) {
	for _, p := range providers {
		t.Run(p, func(t *testing.T) { scenario(t, p) })
	}
}

// checkRevoked checks, at Hydra, that the last refresh token it issued
// (the gateway's, after its login and refreshes) is no longer active. At
// oidc-provider the events say it.
func (w *world) checkRevoked(t *testing.T) {
	t.Helper()
	if w.hydra == nil {
		return
	}
	rts := w.hydra.IssuedRefreshTokens()
	if len(rts) == 0 {
		t.Fatal("hydra issued no refresh token")
	}
	if w.hydra.Active(t, rts[len(rts)-1]) {
		t.Errorf("the refresh token is still active at hydra after sign-out")
	}
}

// loggedInTab opens a tab at url (on a gateway), logs in at the OP as alice
// and waits to land back on url.
func (w *world) loggedInTab(t *testing.T, url, name string) *harness.Tab {
	t.Helper()
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, name)
	tab.Navigate(t, url)
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, url)
	return tab
}

// navigateStays sends the browser in tab to u and stops the test unless
// the gateway served u, with no detour to the OP (when says at what point,
// for the message).
func navigateStays(t *testing.T, tab *harness.Tab, u, when string) {
	t.Helper()
	tab.Navigate(t, u)
	if got := tab.URL(t); got != u {
		t.Fatalf("%s: the browser went to %q, want it served %s", when, got, u)
	}
}

// screenshotOnFailure saves the tab's page when the test fails and prints where.
func screenshotOnFailure(t *testing.T, tab *harness.Tab, name string) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshot of the final page: %s", tab.Screenshot(t, name))
		}
	})
}

func TestE2EDeepLinkLogin(t *testing.T) {
	forEachProvider(t, testDeepLinkLogin)
}

func testDeepLinkLogin(t *testing.T, provider string) {
	w := newWorld(t, worldOptions{provider: provider})
	gw := w.gateway(t, gwConfig{})
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, "deep-link-final")
	tab.SetExtraHeaders(t, map[string]string{
		"X-Forwarded-User": "mallory", "X-Forwarded-Email": "mallory@evil.example", "X_Forwarded_Groups": "admins",
	})
	deep := gw.URL + "/reports/2026/q3?view=full"
	tab.Navigate(t, deep)
	tab.OPLogin(t, "alice", "any-password")
	tab.WaitURLPrefix(t, deep)
	if got := tab.URL(t); got != deep {
		t.Errorf("landed on %q, want the deep link %q", got, deep)
	}
	if text := tab.Text(t); !contains(text, "Hello alice@example.com", "/reports/2026/q3?view=full") {
		t.Errorf("page text %q", text)
	}
	h := w.up.last(t)
	for k, v := range map[string]string{
		"X-Forwarded-User": "alice-sub", "X-Forwarded-Email": "alice@example.com",
		"X-Forwarded-Groups": "admins,staff", "X-Forwarded-Preferred-Username": "alice",
	} {
		if h.Get(k) != v {
			t.Errorf("upstream %s = %q, want %q", k, h.Get(k), v)
		}
	}
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, "mallory") {
				t.Errorf("the browser's injected header reached the upstream: %s: %s", k, v)
			}
		}
	}
}

func TestE2ETwoReplicasShareRedis(t *testing.T) {
	w := newWorld(t, worldOptions{})
	redistest.Require(t)
	rds := redistest.Start(t)
	// Both replicas serve the same public URL (as behind a load balancer);
	// cookies are per host, not per port, so the browser carries the session to both.
	a, b := w.replicas(t, gwConfig{Store: "redis", RedisURL: rds.URL})
	tab := w.loggedInTab(t, a.URL+"/via-a", "replicas-final")

	navigateStays(t, tab, b.URL+"/via-b", "replica B")
	if h := w.up.last(t); h.Get("X-Forwarded-User") != "alice-sub" || h.Get("X-Test-Request-URI") != "/via-b" {
		t.Errorf("through B the upstream saw %q at %q", h.Get("X-Forwarded-User"), h.Get("X-Test-Request-URI"))
	}

	a.restart(t)
	navigateStays(t, tab, a.URL+"/after-restart", "after restarting A")
	if h := w.up.last(t); h.Get("X-Forwarded-User") != "alice-sub" {
		t.Errorf("after restart the upstream saw user %q", h.Get("X-Forwarded-User"))
	}
}

func TestE2EParallelTabs(t *testing.T) {
	w := newWorld(t, worldOptions{})
	gw := w.gateway(t, gwConfig{})
	one, two := w.browser.NewTab(t), w.browser.NewTab(t)
	screenshotOnFailure(t, one, "tab-one")
	screenshotOnFailure(t, two, "tab-two")
	one.Navigate(t, gw.URL+"/one")
	two.Navigate(t, gw.URL+"/two")
	// Both tabs now show the OP's login page for their own request.
	one.OPLogin(t, "alice", "x")
	one.WaitURLPrefix(t, gw.URL+"/one")
	two.OPLogin(t, "alice", "x")
	two.WaitURLPrefix(t, gw.URL+"/two")
	for _, tc := range []struct {
		tab  *harness.Tab
		path string
	}{{one, "/one"}, {two, "/two"}} {
		if text := tc.tab.Text(t); !contains(text, "Hello alice@example.com", tc.path) {
			t.Errorf("tab %s shows %q", tc.path, text)
		}
	}
}

func TestE2ETransparentRefresh(t *testing.T) {
	forEachProvider(t, testTransparentRefresh)
}

func testTransparentRefresh(t *testing.T, provider string) {
	const ttl = 3 * time.Second
	w := newWorld(t, worldOptions{provider: provider, accessTTL: ttl})
	gw := w.gateway(t, gwConfig{})
	tab := w.loggedInTab(t, gw.URL+"/start", "refresh-final")
	before := w.events(t)["grant.refresh_token"]
	// Two expiries in a row: the second refresh only works if the rotated
	// refresh token from the first was stored (the OP rejects reuse).
	for i := 1; i <= 2; i++ {
		time.Sleep(ttl + 500*time.Millisecond)
		path := fmt.Sprintf("/after-expiry-%d", i)
		navigateStays(t, tab, gw.URL+path, fmt.Sprintf("after expiry %d (a transparent refresh)", i))
		// The identity stays whole: the claims of the refreshed ID token (or
		// of the first one, when the OP sends none) are the user's.
		if h := w.up.last(t); h.Get("X-Forwarded-User") != "alice-sub" || h.Get("X-Forwarded-Email") != "alice@example.com" || h.Get("X-Forwarded-Groups") != "admins,staff" {
			t.Fatalf("after expiry %d upstream user %q, email %q, groups %q", i, h.Get("X-Forwarded-User"), h.Get("X-Forwarded-Email"), h.Get("X-Forwarded-Groups"))
		}
	}
	if got := w.events(t)["grant.refresh_token"] - before; got != 2 {
		t.Errorf("the OP saw %d refresh grants, want 2", got)
	}
	if w.hydra != nil {
		// Hydra rotated the refresh token at each refresh: the first two are spent.
		rts := w.hydra.IssuedRefreshTokens()
		if len(rts) != 3 {
			t.Fatalf("hydra issued %d refresh tokens, want 3", len(rts))
		}
		for i, want := range []bool{false, false, true} {
			if got := w.hydra.Active(t, rts[i]); got != want {
				t.Errorf("refresh token %d active = %v at hydra, want %v", i+1, got, want)
			}
		}
	}
}

func TestE2ELogout(t *testing.T) {
	forEachProvider(t, testLogout)
}

func testLogout(t *testing.T, provider string) {
	w := newWorld(t, worldOptions{provider: provider})
	gw := w.gateway(t, gwConfig{})
	tab := w.loggedInTab(t, gw.URL+"/", "logout-final")
	tab.SignOut(t, gw.URL+"/oauth2/sign_out")
	if text := tab.Text(t); !strings.Contains(text, "signed out") {
		t.Errorf("sign-out page: %q", text)
	}
	n := w.up.count()
	tab.Navigate(t, gw.URL+"/private")
	if got := tab.URL(t); !strings.HasPrefix(got, w.signIn) {
		t.Errorf("after logout the browser is at %q, want the OP", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after logout")
	}
	if ev := w.events(t); ev["revocation"] < 1 {
		t.Errorf("the refresh token was not revoked at the OP: %v", ev)
	}
	w.checkRevoked(t)
}

func TestE2EConsentDenied(t *testing.T) {
	w := newWorld(t, worldOptions{})
	gw := w.gateway(t, gwConfig{})
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, "denied-final")
	tab.Navigate(t, gw.URL+"/wanted")
	tab.OPSignIn(t, "alice", "x")
	if page := strings.ToLower(tab.Text(t)); !strings.Contains(page, "authorize") && !strings.Contains(page, "consent") {
		t.Fatalf("after signing in the OP shows no consent page: %q", page)
	}
	tab.OPDeny(t) // at the consent page
	tab.WaitURLPrefix(t, gw.URL+"/oauth2/callback")
	if text := tab.Text(t); !contains(text, "Access was denied", "access_denied") {
		t.Errorf("error page: %q", text)
	}
	if w.up.count() != 0 {
		t.Errorf("the upstream was reached")
	}
	resp, err := http.Get(gw.URL + "/oauth2/userinfo")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("userinfo without session: %d", resp.StatusCode)
		}
	}
}
