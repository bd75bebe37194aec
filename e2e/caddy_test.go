package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// docsCaddyfile returns the Caddyfile of docs/integrations.md (its one
// ```caddyfile block), for the site at site, with Gatehouse at gwAddr and
// the application at appAddr instead of the documented addresses, and the
// global options a test needs (no admin endpoint, no automatic HTTPS,
// listening on 127.0.0.1 only).
func docsCaddyfile(t *testing.T, site, gwAddr, appAddr string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```caddyfile\n")
	if len(blocks) != 2 {
		t.Fatalf("docs/integrations.md has %d ```caddyfile blocks, want 1", len(blocks)-1)
	}
	block, _, ok := strings.Cut(blocks[1], "```")
	if !ok {
		t.Fatal("docs/integrations.md: the ```caddyfile block does not end")
	}
	for _, s := range []string{"app.example.com {", "127.0.0.1:4180", "127.0.0.1:8080"} {
		if !strings.Contains(block, s) {
			t.Fatalf("the documented Caddyfile has no %q:\n%s", s, block)
		}
	}
	block = strings.NewReplacer("app.example.com {", site+" {", "127.0.0.1:4180", gwAddr, "127.0.0.1:8080", appAddr).Replace(block)
	return "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n" + block
}

// TestE2ECaddy runs the Caddyfile of docs/integrations.md (Caddy's
// forward_auth) with a real Caddy, the OpenID Provider and Chromium: a
// browser is sent to sign in and lands on the deep link it asked for, the
// application gets the identity headers and never a client's spoofed ones
// nor the gateway's cookies, host and path rules apply, and no spelling of
// the hostile-request corpus reaches the application where the canonical
// request may not.
func TestE2ECaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	caddyPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	w := startSubdomainsWorld(t, caddyPort, gwPort)
	public, op, app, gw := w.public, w.op, w.app, w.gw
	// One site for every host name: the most hostile set-up (Caddy's host
	// matchers would refuse some spellings before the gateway sees them).
	harness.StartCaddy(t, caddyPort, docsCaddyfile(t, fmt.Sprintf("http://:%d", caddyPort),
		strings.TrimPrefix(gw.URL, "http://"), strings.TrimPrefix(app.URL, "http://")))

	client := loopbackClient(caddyPort)
	get := func(t *testing.T, rawURL string, hdr ...string) *http.Response {
		t.Helper()
		return getDiscarding(t, client, rawURL, append([]string{"Accept", "text/html"}, hdr...)...)
	}
	t.Run("UnauthenticatedGoesToTheAS", func(t *testing.T) {
		n := app.count()
		resp := get(t, public+"/reports/q3?view=full&tab=2")
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, op.Issuer) {
			t.Errorf("%d %q, want 302 to the OP", resp.StatusCode, loc)
		}
		// On another host than public_url's, the login starts on public_url's.
		resp = get(t, fmt.Sprintf("http://admin.gatehouse.localhost:%d/x?y=1", caddyPort))
		want := public + "/oauth2/start?rd=" + url.QueryEscape(fmt.Sprintf("http://admin.gatehouse.localhost:%d/x?y=1", caddyPort))
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("%d %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if app.count() != n {
			t.Errorf("the application was reached without a session")
		}
	})
	// Caddy sets X-Forwarded-Method, -Uri, -Host and -Proto itself,
	// replacing the client's: each spoof tries to make an admins-only
	// request look like a public one.
	for _, tc := range []struct{ name, url, header, value string }{
		{"SpoofedForwardedUri", public + "/admin/x", "X-Forwarded-Uri", "/x"},
		{"SpoofedForwardedHost", fmt.Sprintf("http://admin.gatehouse.localhost:%d/x", caddyPort), "X-Forwarded-Host", "www.gatehouse.localhost"},
		{"SpoofedOriginalURL", public + "/admin/x", "X-Original-URL", public + "/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRefused(t, app, tc.url+" with "+tc.header, func() *http.Response { return get(t, tc.url, tc.header, tc.value) })
		})
	}
	t.Run("Spellings", func(t *testing.T) {
		checkSpellings(t, app, strings.TrimPrefix(gw.URL, "http://"), fmt.Sprintf("127.0.0.1:%d", caddyPort), caddyPort)
	})

	b := harness.StartBrowser(t)
	tab := b.NewTab(t)
	screenshotOnFailure(t, tab, "caddy-final")
	tab.SetExtraHeaders(t, map[string]string{
		"X-Forwarded-User": "mallory", "X-Forwarded-Email": "mallory@evil.example", "X_Forwarded_Groups": "root",
		"X-Auth-Request-User": "mallory",
	})
	deep := public + "/reports/q3?view=full&tab=2"
	tab.Navigate(t, deep)
	assertAliceLandsOn(t, tab, deep)
	assertAliceForwarded(t, app.last(t))

	adminsOnly := []string{fmt.Sprintf("http://admin.gatehouse.localhost:%d/x", caddyPort), public + "/admin/panel"}
	assertSees(t, tab, "alice", "Hello alice@example.com", adminsOnly...)
	bobTab := b.NewIsolatedTab(t)
	screenshotOnFailure(t, bobTab, "caddy-bob")
	signIn(t, bobTab, public+"/reports/q4", "bob")
	assertDenied(t, app, bobTab, "bob", "Access denied", "the gateway's 403 page", adminsOnly...)
}
