package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/ui"
)

// screenshotDir is where TestE2EPagesAccessible saves a PNG of each page
// when GATEHOUSE_UI_SCREENSHOTS names a directory (docs/ui: make
// ui-screenshots).
func screenshotDir() string { return os.Getenv("GATEHOUSE_UI_SCREENSHOTS") }

// checkPageSays fails the test unless the page in tab (what, for the
// message) says each of want, and checks it as checkPage does.
func checkPageSays(t *testing.T, tab *harness.Tab, name, what string, want ...string) {
	t.Helper()
	if text := tab.Text(t); !contains(text, want...) {
		t.Fatalf("%s: %q", what, text)
	}
	checkPage(t, tab, name)
}

// checkPage runs axe-core on the tab's page, fails the test for any
// violation, and saves the page's screenshot as name.png when asked to.
func checkPage(t *testing.T, tab *harness.Tab, name string) {
	t.Helper()
	for _, v := range tab.Axe(t) {
		t.Errorf("%s: axe: %s", name, v)
	}
	if dir := screenshotDir(); dir != "" {
		tab.ScreenshotTo(t, filepath.Join(dir, name+".png"))
	}
}

// TestE2EPagesAccessible opens every page the gateway renders in Chromium,
// as a user meets it, and checks it with axe-core (WCAG 2 A/AA and best
// practices): 0 violations. The pages are the real gateway's, against the
// real OpenID Provider.
func TestE2EPagesAccessible(t *testing.T) {
	w := newWorld(t, worldOptions{})
	gw := w.gateway(t, gwConfig{Extra: `
[[upstream]]
name = "admin"
path_prefix = "/admin"
url = "` + w.up.URL + `"
allowed_groups = ["auditors"]
`})
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, "pages-final")
	tab.SetViewport(t, 900, 620)

	// 404: the reserved prefix.
	tab.Navigate(t, gw.URL+"/oauth2/nowhere")
	checkPageSays(t, tab, "not-found", "404 page", "Not found")

	// 401 with the sign-in button: /oauth2/userinfo without a session.
	tab.Navigate(t, gw.URL+"/oauth2/userinfo")
	checkPageSays(t, tab, "sign-in", "401 page", "Sign in")

	// 400 with "Start again": a callback whose login is unknown.
	tab.Navigate(t, gw.URL+"/oauth2/callback?state=expired&code=x")
	checkPageSays(t, tab, "start-again", "400 page", "Start again")

	// The signed-out page (no session).
	tab.Navigate(t, gw.URL+"/oauth2/sign_out")
	checkPageSays(t, tab, "signed-out", "signed-out page", "signed out")

	// 403 naming the user, who is not an auditor.
	tab.Navigate(t, gw.URL+"/admin/report")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, gw.URL+"/admin/report")
	checkPageSays(t, tab, "forbidden", "403 page", "Access denied", "alice@example.com", "Use another account", "Sign out")

	// The sign-out confirmation (with a session), then its button.
	tab.Navigate(t, gw.URL+"/oauth2/sign_out")
	checkPageSays(t, tab, "sign-out", "sign-out page", "Sign out?")

	// The 403's "Sign out" button ends the session (a same-origin POST).
	tab.Navigate(t, gw.URL+"/admin/report")
	tab.WaitURLPrefix(t, gw.URL+"/admin/report")
	tab.Click(t, "#sign-out")
	tab.WaitURLPrefix(t, gw.URL+"/oauth2/sign_out")
	if text := tab.Text(t); !strings.Contains(text, "signed out") {
		t.Errorf("after the 403's sign-out: %q", text)
	}

}

// TestE2EPageTemplatesAccessible checks every template of internal/ui, in
// every language and with every element a page can show (signed-in user,
// all buttons, branding with a footer), with axe-core in Chromium. It
// covers what the gateway shows only mid-flow: the page that submits
// RP-initiated logout (its script is blocked here, so that it stays).
func TestE2EPageTemplatesAccessible(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "chromium")
	plain := ui.Default()
	branded, err := ui.New(ui.Options{
		ProductName: "Acme Portal", PrimaryColor: "#ffcc00", BackgroundColor: "#102030",
		FooterLinks: []ui.Link{{Text: "Privacy", URL: "/privacy"}, {Text: "Help", URL: "/help"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" { // axe must find what is wrong here
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html><head><title>x</title></head><body><img src="/x.png"><a href="/"></a></body></html>`))
			return
		}
		pages := plain
		if r.URL.Query().Has("branded") {
			pages = branded
		}
		w.Header().Set("Content-Security-Policy", pages.CSP("")) // no script runs: the logout form stays
		name := strings.TrimPrefix(r.URL.Path, "/")
		if !slices.Contains(ui.Names(), name) { // the broken page's image, the favicon
			http.NotFound(w, r)
			return
		}
		d := &ui.Data{Status: http.StatusOK, Title: "Access denied", Detail: "You are signed in, but you are not in a group allowed to use this application.",
			Code: "forbidden", User: "alice@example.com", SignOut: "/oauth2/sign_out", SwitchAccount: "/oauth2/start?prompt=select_account",
			Retry: "/oauth2/start", SignIn: "/oauth2/start", RD: "/",
			EndSession: ui.EndSession{Action: "/logout", Fields: []ui.Field{{Name: "state", Value: "x"}}}, Nonce: "n"}
		switch name {
		case ui.Error:
			d.Status = http.StatusForbidden
		case ui.SignIn:
			d.Status, d.Code, d.Title, d.Detail = http.StatusUnauthorized, "unauthorized", "Sign-in required", "This resource requires a session. Sign in first."
		case ui.SignOut:
			d.Title = "Sign out?"
		case ui.SignedOut:
			d.Title = "You are signed out"
		case ui.SigningOut:
			d.Title = "Signing out…"
		}
		r.Header.Set("Accept-Language", r.URL.Query().Get("lang"))
		pages.Render(w, r, http.StatusOK, name, d)
	}))
	t.Cleanup(srv.Close)
	tab := harness.StartBrowser(t).NewTab(t)
	screenshotOnFailure(t, tab, "templates-final")
	// axe-core finds the faults of a broken page: the check checks.
	tab.Navigate(t, srv.URL+"/broken")
	found := map[string]bool{}
	for _, v := range tab.Axe(t) {
		found[v.ID] = true
	}
	for _, id := range []string{"html-has-lang", "image-alt", "link-name"} {
		if !found[id] {
			t.Errorf("axe did not report %s on a broken page (found %v)", id, found)
		}
	}
	for _, name := range ui.Names()[1:] {
		for _, lang := range []string{"en", "de", "fr", "it"} {
			for _, brand := range []string{"", "&branded"} {
				tab.Navigate(t, srv.URL+"/"+name+"?lang="+lang+brand)
				for _, v := range tab.Axe(t) {
					t.Errorf("%s (%s%s): axe: %s", name, lang, brand, v)
				}
			}
		}
	}
	if dir := screenshotDir(); dir != "" {
		tab.SetViewport(t, 900, 620)
		tab.Navigate(t, srv.URL+"/"+ui.Error+"?lang=de&branded")
		tab.ScreenshotTo(t, filepath.Join(dir, "branded-de.png"))
		tab.Navigate(t, srv.URL+"/"+ui.SigningOut+"?lang=en")
		tab.ScreenshotTo(t, filepath.Join(dir, "signing-out.png"))
	}
}
