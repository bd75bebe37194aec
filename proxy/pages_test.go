package proxy_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

var forbiddenSignOutRe = regexp.MustCompile(`<form method="post" action="([^"]*)"><button type="submit" class="secondary" id="sign-out">`)

// jsonGet is a GET of an API client (Accept: application/json).
func jsonGet(t *testing.T, c *http.Client, rawURL string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	bodyOf(resp)
	resp.Body.Close()
	return resp
}

var (
	signInFormRe = regexp.MustCompile(`<form method="get" action="([^"]*)">`)
	signInRDRe   = regexp.MustCompile(`<input type="hidden" name="rd" value="([^"]*)">`)
)

// signInTarget returns where the sign-in page's form goes: its action with
// its rd field, or "" when page has no such form.
func signInTarget(page string) string {
	m := signInFormRe.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="sign-in"`) {
		return ""
	}
	target := html.UnescapeString(m[1])
	if rd := signInRDRe.FindStringSubmatch(page); rd != nil {
		target += "?" + url.Values{"rd": {html.UnescapeString(rd[1])}}.Encode()
	}
	return target
}

// link returns the unescaped href of the element with id in page, or "".
func link(page, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" href="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestForbiddenPageNamesUserAndOffersAnotherAccount: the 403 page says who
// is signed in, signs out with a same-origin POST, and "Use another
// account" starts a login with prompt=select_account that returns to the
// page refused.
func TestForbiddenPageNamesUserAndOffersAnotherAccount(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{
		{Name: "admin", PathPrefix: "/admin", Rules: authz.Rules{AllowedGroups: []string{"admins"}}},
		{Name: "app", PathPrefix: "/"},
	}})
	c := e.browser()
	e.loginAs(c, "/", "bob") // bob is not an admin
	resp := e.get(c, e.gwURL+"/admin/report?id=7")
	page := bodyOf(resp)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if !strings.Contains(page, "Signed in as bob@example.com") {
		t.Errorf("the 403 page does not name the user:\n%s", page)
	}
	if m := forbiddenSignOutRe.FindStringSubmatch(page); m == nil || m[1] != "/oauth2/sign_out" {
		t.Errorf("no sign-out form posting to /oauth2/sign_out:\n%s", page)
	}
	other := link(page, "use-another-account")
	u, err := url.Parse(other)
	if err != nil || u.Path != "/oauth2/start" || u.Query().Get("prompt") != "select_account" || u.Query().Get("rd") != "/admin/report?id=7" {
		t.Fatalf("use another account = %q, want /oauth2/start with prompt=select_account and rd=/admin/report?id=7", other)
	}
	// The link reaches the AS with a prompt to sign in again (the
	// development AS advertises prompt_values_supported without
	// select_account, so login; and consent, for offline_access) and
	// returns to the refused page.
	resp = e.get(c, e.gwURL+other)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), e.asURL) ||
		loc.Query().Get("prompt") != "login consent" {
		t.Fatalf("use another account: %d %q, want a redirect to the AS with prompt=login consent", resp.StatusCode, resp.Header.Get("Location"))
	}
	cb := e.loginAtAS(c, loc.String(), "alice", "login")
	resp = e.get(c, cb)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/admin/report?id=7" {
		t.Errorf("after another account: %d %q, want the refused page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The sign-out form's POST is accepted (same origin).
	req, _ := http.NewRequest(http.MethodPost, e.gwURL+"/oauth2/sign_out", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("sign-out from the 403 page: status %d", resp.StatusCode)
	}

	// An API client's 403 stays JSON, without the user.
	c2 := e.browser()
	e.loginAs(c2, "/", "bob")
	resp = jsonGet(t, c2, e.gwURL+"/admin/")
	if body := bodyOf(resp); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/json" || strings.Contains(body, "bob@") {
		t.Errorf("API 403: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestOnlySelectAccountPromptIsPassed: /oauth2/start passes no other prompt
// a link could ask for (prompt=none would make the AS answer at once).
func TestOnlySelectAccountPromptIsPassed(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp := e.get(e.browser(), e.gwURL+"/oauth2/start?prompt=none&rd=/x")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("prompt") != "consent" {
		t.Errorf("prompt=none: %d %q, want the default prompt", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestUserinfo401PageHasSignInButton: a browser without a session at
// /oauth2/userinfo gets a page with a button that signs in and returns.
func TestUserinfo401PageHasSignInButton(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	resp := e.get(c, e.gwURL+"/oauth2/userinfo")
	page := bodyOf(resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := signInTarget(page); got != "/oauth2/start?rd=%2Foauth2%2Fuserinfo" {
		t.Fatalf("sign-in button %q:\n%s", got, page)
	}
	resp = e.get(c, e.gwURL+signInTarget(page))
	resp = e.get(c, e.loginAtAS(c, resp.Header.Get("Location"), "alice", "login"))
	if resp.Header.Get("Location") != "/oauth2/userinfo" {
		t.Errorf("after sign-in: %q, want /oauth2/userinfo", resp.Header.Get("Location"))
	}
	// API clients keep their JSON.
	resp = jsonGet(t, e.browser(), e.gwURL+"/oauth2/userinfo")
	if body := bodyOf(resp); !strings.Contains(body, `"error":"unauthorized"`) {
		t.Errorf("API 401: %s", body)
	}
}

// TestStartAgainKeepsThePageAskedFor: "Start again" after a failed login
// returns to the page first asked for: the flow's when it is known (the
// AS refused), the browser's last one when the flow is gone (a callback
// used twice, or expired).
func TestStartAgainKeepsThePageAskedFor(t *testing.T) {
	e := newEnv(t, envOptions{})
	t.Run("AS error", func(t *testing.T) {
		c := e.browser()
		resp := e.get(c, e.gwURL+"/reports/q3?x=1")
		resp = e.get(c, e.loginAtAS(c, resp.Header.Get("Location"), "alice", "deny"))
		if got := link(bodyOf(resp), "start-again"); got != "/oauth2/start?rd=%2Freports%2Fq3%3Fx%3D1" {
			t.Errorf("start again = %q:\n%s", got, bodyOf(resp))
		}
	})
	t.Run("flow gone", func(t *testing.T) {
		c := e.browser()
		cb := e.authorize(c, "/reports/q4", "alice")
		if resp := e.get(c, cb); resp.StatusCode != http.StatusFound {
			t.Fatalf("first use: %d", resp.StatusCode)
		}
		resp := e.get(c, cb) // the flow is used up
		if got := link(bodyOf(resp), "start-again"); resp.StatusCode != http.StatusBadRequest || got != "/oauth2/start?rd=%2Freports%2Fq4" {
			t.Errorf("start again = %d %q:\n%s", resp.StatusCode, got, bodyOf(resp))
		}
	})
	t.Run("nothing known", func(t *testing.T) {
		resp := e.get(e.browser(), e.gwURL+"/oauth2/callback?state=unknown&code=x")
		if got := link(bodyOf(resp), "start-again"); got != "/oauth2/start" {
			t.Errorf("start again = %q", got)
		}
	})
}

// TestPagesSpeakTheBrowsersLanguage: the gateway's pages follow
// Accept-Language.
func TestPagesSpeakTheBrowsersLanguage(t *testing.T) {
	e := newEnv(t, envOptions{})
	for lang, want := range map[string]string{"de-DE,de;q=0.9": "Nicht gefunden", "fr": "Introuvable", "it-IT": "Non trovato", "": "Not found"} {
		resp := e.get(e.browser(), e.gwURL+"/oauth2/nowhere", "Accept-Language", lang)
		if page := bodyOf(resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "<h1>"+want+"</h1>") {
			t.Errorf("Accept-Language %q: %d, want %q:\n%s", lang, resp.StatusCode, want, page)
		}
	}
	resp := e.get(e.browser(), e.gwURL+"/oauth2/sign_out", "Accept-Language", "fr")
	if page := bodyOf(resp); !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "Déconnexion effectuée") && !strings.Contains(page, "Vous êtes déconnecté") {
		t.Errorf("signed-out page in French:\n%s", page)
	}
}

// TestForwardAuthPagesKeepTheOriginalURL: behind forward-auth (Traefik),
// the 403 page names the user and "Use another account" starts on
// public_url's host and returns to the original URL; the 401 page's "Sign
// in" does the same.
func TestForwardAuthPagesKeepTheOriginalURL(t *testing.T) {
	e := newEnv(t, envOptions{routes: faRoutes(), trusted: loopback})
	fa := e.gwURL + "/oauth2/auth?redirect=false"
	original := e.gwURL + "/admin/x?y=1"

	resp := e.send(e.browser(), "GET", fa, cat(e.traefik("GET", "/admin/x?y=1"), htmlAccept)...)
	if got := signInTarget(bodyOf(resp)); resp.StatusCode != http.StatusUnauthorized || got != e.gwURL+"/oauth2/start?rd="+url.QueryEscape(original) {
		t.Errorf("401: %d, sign in %q", resp.StatusCode, got)
	}

	c := e.browser()
	e.loginAs(c, "/", "bob") // not an admin
	resp = e.send(c, "GET", fa, cat(e.traefik("GET", "/admin/x?y=1"), htmlAccept)...)
	page := bodyOf(resp)
	want := e.gwURL + "/oauth2/start?" + url.Values{"prompt": {"select_account"}, "rd": {original}}.Encode()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Signed in as bob@example.com") || link(page, "use-another-account") != want {
		t.Errorf("403: %d, use another account %q, want %q:\n%s", resp.StatusCode, link(page, "use-another-account"), want, page)
	}
}
