package proxy_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// post sends a form POST as a browser page would, with the header pairs hdr.
func (e *env) post(c *http.Client, rawURL string, form url.Values, hdr ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", rawURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

// signedIn reports whether c's session still reaches the upstream.
func (e *env) signedIn(c *http.Client) bool {
	e.t.Helper()
	return e.get(c, e.gwURL+"/still-there").StatusCode == http.StatusOK
}

// sameOrigin are the headers of a browser's POST from the gateway's own page.
func (e *env) sameOrigin() []string {
	return []string{"Origin", e.gwURL, "Sec-Fetch-Site", "same-origin"}
}

// TestSignOutCSRF: a cross-site page cannot end the session. A GET of
// /oauth2/sign_out (a link, an image) only shows the confirmation page; a
// POST from another site (Sec-Fetch-Site, or only Origin from an older
// browser; a sibling subdomain too) gets a 403 page. The session lives on
// and its refresh token is not revoked.
func TestSignOutCSRF(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{allowed: []string{"app.example.com"}, logger: logs.logger()})
	c := e.browser()
	e.loginAs(c, "/", "alice")

	resp := e.get(c, e.gwURL+"/oauth2/sign_out?rd=https://app.example.com/bye", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusOK || !strings.Contains(bodyOf(resp), `id="sign-out"`) {
		t.Fatalf("GET sign_out: %d, want the confirmation page:\n%s", resp.StatusCode, bodyOf(resp))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("confirmation page CSP %q: it may be framed (clickjacking)", csp)
	}
	if !e.signedIn(c) {
		t.Fatal("GET /oauth2/sign_out ended the session")
	}
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"CrossSite", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"SameSiteSubdomain", []string{"Origin", "http://evil.127.0.0.1.nip.io", "Sec-Fetch-Site", "same-site"}},
		{"OldBrowserOtherOrigin", []string{"Origin", "https://evil.example"}},
		{"NullOrigin", []string{"Origin", "null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.post(c, e.gwURL+"/oauth2/sign_out", url.Values{"rd": {"https://app.example.com/bye"}}, tc.hdr...)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(bodyOf(resp), "cross_site_sign_out") ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("cross-site POST: %d %q, want a 403 page", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !e.signedIn(c) {
				t.Fatal("a cross-site POST ended the session")
			}
		})
	}
	if n := e.as.Stats().Revocations; n != 0 {
		t.Errorf("%d revocations at the AS, want none", n)
	}
	if n := len(logs.events("logout_rejected")); n != 4 {
		t.Errorf("%d logout_rejected events (metrics), want 4", n)
	}
}

var signOutFormRe = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// TestSignOutConfirmationForm: the confirmation page's form, submitted from
// the gateway's origin, ends the session, revokes the refresh token and
// redirects (303) to the validated rd it kept; an rd that is not allowed is
// not kept.
func TestSignOutConfirmationForm(t *testing.T) {
	e := newEnv(t, envOptions{allowed: []string{"app.example.com"}})
	c := e.browser()
	e.loginAs(c, "/", "alice")

	bad := bodyOf(e.get(c, e.gwURL+"/oauth2/sign_out?rd=https://evil.example/"))
	if strings.Contains(bad, "evil.example") {
		t.Errorf("the page keeps a disallowed rd:\n%s", bad)
	}
	page := bodyOf(e.get(c, e.gwURL+"/oauth2/sign_out?rd=https://app.example.com/bye"))
	m := signOutFormRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-out form:\n%s", page)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	if form.Get("rd") != "https://app.example.com/bye" {
		t.Errorf("the form's rd = %q", form.Get("rd"))
	}
	action, _ := url.Parse(e.gwURL + "/oauth2/sign_out?rd=x")
	action = action.ResolveReference(&url.URL{Path: html.UnescapeString(m[1])})
	resp := e.post(c, action.String(), form, e.sameOrigin()...)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://app.example.com/bye" {
		t.Fatalf("sign-out POST: %d %q, want 303 to rd", resp.StatusCode, resp.Header.Get("Location"))
	}
	if e.signedIn(c) {
		t.Error("the session survived the sign-out")
	}
	if n := e.as.Stats().Revocations; n != 1 {
		t.Errorf("%d revocations at the AS, want 1", n)
	}
	// Signed out, GET shows the result, not the form.
	if resp := e.get(c, e.gwURL+"/oauth2/sign_out"); !strings.Contains(bodyOf(resp), "signed out") {
		t.Errorf("GET after sign-out: %d %s", resp.StatusCode, bodyOf(resp))
	}
}

// TestSignOutAPIClient: a POST without Origin and Sec-Fetch-Site comes from
// no browser (CSRF needs one) and signs out, answering JSON; a GET with a
// session from an API client gets 405 with Allow: POST.
func TestSignOutAPIClient(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/oauth2/sign_out", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("API GET: %d, Allow %q, want 405 and POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	req, _ = http.NewRequest(http.MethodPost, e.gwURL+"/oauth2/sign_out", nil)
	req.Header.Set("Accept", "application/json")
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || body["status"] != "signed_out" {
		t.Errorf("API POST: %d %v %v", resp.StatusCode, body, err)
	}
	if e.signedIn(c) {
		t.Error("the session survived the sign-out")
	}
}

var (
	endSessionFormRe = regexp.MustCompile(`<form method="post" action="([^"]*)" id="end-session">`)
	scriptNonceRe    = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

// TestRPInitiatedLogoutKeepsIDTokenOutOfURLs: with RP-initiated logout, the
// sign-out answers with a form that POSTs the logout request (id_token_hint
// included) to the AS's end_session_endpoint, submitted by a script the
// page's CSP allows by nonce; no URL carries the ID token. The development
// AS accepts it and returns the browser to the gateway. The "get" binding
// (for ASes without POST support) redirects with the hint in the query;
// "get_without_hint" without it.
func TestRPInitiatedLogoutKeepsIDTokenOutOfURLs(t *testing.T) {
	t.Run("PostBinding", func(t *testing.T) {
		e := newEnv(t, envOptions{endSession: "post"})
		c := e.browser()
		e.loginAs(c, "/", "alice")
		resp := e.post(c, e.gwURL+"/oauth2/sign_out", nil, e.sameOrigin()...)
		page := bodyOf(resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Fatalf("sign-out: %d to %q, want 200 with a form", resp.StatusCode, resp.Header.Get("Location"))
		}
		m := endSessionFormRe.FindStringSubmatch(page)
		if m == nil || html.UnescapeString(m[1]) != e.login.EndSessionEndpoint() {
			t.Fatalf("no form to the end_session_endpoint %s:\n%s", e.login.EndSessionEndpoint(), page)
		}
		form := url.Values{}
		for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
			form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
		}
		if form.Get("id_token_hint") == "" || form.Get("client_id") != testClientID ||
			form.Get("post_logout_redirect_uri") != e.gwURL+"/" || form.Get("state") == "" {
			t.Errorf("logout form fields: %v", form)
		}
		n := scriptNonceRe.FindStringSubmatch(page)
		csp := resp.Header.Get("Content-Security-Policy")
		if n == nil || !strings.Contains(csp, "script-src 'nonce-"+n[1]+"'") || strings.Contains(csp, "script-src 'unsafe-inline'") {
			t.Errorf("the submitting script is not allowed by nonce: CSP %q, script %v", csp, n)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q: the page holds an ID token", cc)
		}
		// The browser submits it.
		resp = e.post(c, html.UnescapeString(m[1]), form, "Origin", e.gwURL, "Sec-Fetch-Site", "cross-site")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.gwURL+"/?") || !strings.Contains(loc, "state="+url.QueryEscape(form.Get("state"))) {
			t.Fatalf("AS logout: %d %q, want a redirect back to the gateway with state", resp.StatusCode, loc)
		}
		if got := e.as.Stats().Logouts; got != 1 {
			t.Errorf("%d logouts at the AS, want 1", got)
		}
	})
	for _, tc := range []struct {
		binding  string
		wantHint bool
	}{{"get", true}, {"get_without_hint", false}} {
		t.Run("Binding="+tc.binding, func(t *testing.T) {
			e := newEnv(t, envOptions{endSession: tc.binding})
			c := e.browser()
			e.loginAs(c, "/", "alice")
			resp := e.post(c, e.gwURL+"/oauth2/sign_out", nil, e.sameOrigin()...)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), e.login.EndSessionEndpoint()) {
				t.Fatalf("sign-out: %d %q, want 303 to the end_session_endpoint", resp.StatusCode, resp.Header.Get("Location"))
			}
			q := loc.Query()
			if (q.Get("id_token_hint") != "") != tc.wantHint || q.Get("client_id") != testClientID {
				t.Errorf("logout URL query %v: id_token_hint wanted: %v", q, tc.wantHint)
			}
			resp = e.get(c, loc.String())
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.gwURL+"/") {
				t.Errorf("AS logout: %d %q, want a redirect back to the gateway", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}
