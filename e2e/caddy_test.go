package e2e

import (
	"fmt"
	"io"
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
	public := fmt.Sprintf("http://www.gatehouse.localhost:%d", caddyPort)
	op := harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{{ID: gwClientID, Secret: gwClientSecret, RedirectURIs: []string{public + "/oauth2/callback"}}},
		Users:   []harness.OPUser{alice, bob},
	})
	app := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: gwPort, PublicURL: public, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL:  app.URL,
		ServerExtra:  "trusted_proxies = [\"127.0.0.1\"]\nallowed_redirect_domains = [\".gatehouse.localhost:*\"]",
		SessionExtra: `cookie_domain = "gatehouse.localhost"`,
		Extra:        spellingRoutes(app.URL),
	})
	// One site for every host name: the most hostile set-up (Caddy's host
	// matchers would refuse some spellings before the gateway sees them).
	harness.StartCaddy(t, caddyPort, docsCaddyfile(t, fmt.Sprintf("http://:%d", caddyPort),
		strings.TrimPrefix(gw.URL, "http://"), strings.TrimPrefix(app.URL, "http://")))

	client := loopbackClient(caddyPort)
	get := func(t *testing.T, rawURL string, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
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
			n := app.count()
			resp := get(t, tc.url, tc.header, tc.value)
			if resp.StatusCode == http.StatusOK || app.count() != n {
				t.Errorf("%s with %s: %d; the application was reached: %v", tc.url, tc.header, resp.StatusCode, app.count() != n)
			}
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
	tab.OPLogin(t, "alice", "any-password")
	tab.WaitURLPrefix(t, deep)
	if got := tab.URL(t); got != deep {
		t.Errorf("landed on %q, want the deep link %q", got, deep)
	}
	if text := tab.Text(t); !contains(text, "Hello alice@example.com", "/reports/q3?view=full&tab=2") {
		t.Errorf("page text %q", text)
	}
	h := app.last(t)
	for k, v := range map[string]string{
		"X-Forwarded-User": "alice-sub", "X-Forwarded-Email": "alice@example.com",
		"X-Forwarded-Groups": "admins,staff", "X-Forwarded-Preferred-Username": "alice",
	} {
		if h.Get(k) != v {
			t.Errorf("application %s = %q, want %q", k, h.Get(k), v)
		}
	}
	assertNoSpoofedValues(t, h)
	if c := h.Get("Cookie"); strings.Contains(c, "gatehouse") {
		t.Errorf("the application received the gateway's cookies: %q", c)
	}

	for _, u := range []string{fmt.Sprintf("http://admin.gatehouse.localhost:%d/x", caddyPort), public + "/admin/panel"} {
		tab.Navigate(t, u)
		if text := tab.Text(t); !strings.Contains(text, "Hello alice@example.com") {
			t.Errorf("alice at %s sees %q", u, text)
		}
	}
	bobTab := b.NewIsolatedTab(t)
	screenshotOnFailure(t, bobTab, "caddy-bob")
	bobTab.Navigate(t, public+"/reports/q4")
	bobTab.OPLogin(t, "bob", "x")
	bobTab.WaitURLPrefix(t, public+"/reports/q4")
	for _, u := range []string{fmt.Sprintf("http://admin.gatehouse.localhost:%d/x", caddyPort), public + "/admin/panel"} {
		n := app.count()
		bobTab.Navigate(t, u)
		if text := bobTab.Text(t); !strings.Contains(text, "Access denied") {
			t.Errorf("bob at %s sees %q, want the gateway's 403 page", u, text)
		}
		if app.count() != n {
			t.Errorf("the application was reached by bob at %s", u)
		}
	}
}
