package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

func TestSpoofedIdentityHeadersNeverReachUpstream(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{
		{Name: "public", PathPrefix: "/public", Auth: proxy.AuthPublic},
		{Name: "app", PathPrefix: "/", PassAccessToken: true},
	}})
	spoof := []string{
		"X-Forwarded-User", "mallory",
		"x-forwarded-user", "mallory",
		"X_Forwarded_User", "mallory",
		"X-FORWARDED-EMAIL", "mallory@evil.example",
		"X-Forwarded_Groups", "admins",
		"X-Forwarded-Preferred-Username", "mallory",
		"X-Forwarded-Access-Token", "stolen",
		"X-Auth-Request-User", "mallory",
	}
	c := e.browser()
	t.Run("PublicRoute", func(t *testing.T) {
		resp := e.get(c, e.gwURL+"/public/page", spoof...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("public route: %d", resp.StatusCode)
		}
		assertNoSpoof(t, e.upstream.last(), "")
	})
	t.Run("AuthenticatedRoute", func(t *testing.T) {
		e.loginAs(c, "/app", "bob")
		resp := e.get(c, e.gwURL+"/app", spoof...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("app route: %d", resp.StatusCode)
		}
		got := e.upstream.last()
		assertNoSpoof(t, got, "user-bob")
		if at := got.Header.Get("X-Forwarded-Access-Token"); at == "" || at == "stolen" {
			t.Errorf("X-Forwarded-Access-Token = %q, want the session's access token", at)
		}
	})
}

func assertNoSpoof(t *testing.T, r *http.Request, user string) {
	t.Helper()
	for name, vals := range r.Header {
		for _, v := range vals {
			if strings.Contains(v, "mallory") || v == "admins" || v == "stolen" {
				t.Errorf("spoofed header reached the upstream: %s: %s", name, v)
			}
		}
	}
	if got := r.Header.Get("X-Forwarded-User"); got != user {
		t.Errorf("X-Forwarded-User = %q, want %q", got, user)
	}
}

func TestOpenRedirectAfterLogin(t *testing.T) {
	tests := []struct{ name, rd, want string }{
		{"RelativePath", "/dashboard?tab=2", "/dashboard?tab=2"},
		{"ProtocolRelative", "//evil.example/", "/"},
		{"BackslashTrick", "/\\evil.example", "/"},
		{"SchemeWithoutSlashes", "https:evil.example", "/"},
		{"AbsoluteForeign", "https://evil.example/", "/"},
		{"EncodedSlashes", "/%2f%2fevil.example", "/"},
		{"JavaScript", "javascript:alert(1)", "/"},
		{"AllowedDomain", "https://app.example.com/x", "https://app.example.com/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{allowed: []string{"app.example.com"}})
			c := e.browser()
			resp := e.get(c, e.gwURL+"/oauth2/start?rd="+url.QueryEscape(tc.rd))
			cb := e.loginAtAS(c, resp.Header.Get("Location"), "alice", "login")
			resp = e.get(c, cb)
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Errorf("redirected to %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAPIClientGets401NotRedirect(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	for _, tc := range []struct {
		name   string
		method string
		hdr    map[string]string
	}{
		{"JSONAccept", http.MethodGet, map[string]string{"Accept": "application/json"}},
		{"XHR", http.MethodGet, map[string]string{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}},
		{"Post", http.MethodPost, map[string]string{"Accept": "text/html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.gwURL+"/api/things", nil)
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" ||
				json.NewDecoder(resp.Body).Decode(&body) != nil || body["error"] != "unauthorized" {
				t.Errorf("status %d, WWW-Authenticate %q, body %v", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		})
	}
	if e.upstream.count() != 0 {
		t.Errorf("upstream reached without a session")
	}
}

func TestSignOutEndsSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	resp := e.post(c, e.gwURL+"/oauth2/sign_out", nil, e.sameOrigin()...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(bodyOf(resp), "signed out") {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	resp = e.get(c, e.gwURL+"/")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.asURL) {
		t.Errorf("after sign out: %d %q, want a new login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if e.as.Stats().Revocations != 1 {
		t.Errorf("the refresh token was not revoked at the AS")
	}
}

func TestUnknownRouteAndReservedPrefix(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{{Name: "app", PathPrefix: "/app"}}})
	c := e.browser()
	for _, p := range []string{"/elsewhere", "/oauth2/unknown", "/apple"} {
		if resp := e.get(c, e.gwURL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// downStore is a store that cannot be reached.
type downStore struct{ *memstore.Store }

func (downStore) Get(context.Context, string) ([]byte, error) { return nil, session.ErrUnavailable }
func (downStore) Set(context.Context, string, []byte, time.Duration) error {
	return session.ErrUnavailable
}

func TestStoreDownFailsClosed(t *testing.T) {
	e := newEnv(t, envOptions{store: downStore{memstore.New()}})
	c := e.browser()
	resp := e.get(c, e.gwURL+"/", "Cookie", "gatehouse=whatever")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("start with the store down: %d, want 503", resp.StatusCode)
	}
	if e.upstream.count() != 0 {
		t.Errorf("upstream reached")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp := e.get(c, e.gwURL+p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	e.gw.Drain()
	if resp := e.get(c, e.gwURL+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %d", resp.StatusCode)
	}
}

// TestOwnCookiesNeverReachUpstream: the session ticket and the login binding
// cookie are removed from every Cookie line (HTTP/2 clients send several);
// the application's own cookies pass.
func TestOwnCookiesNeverReachUpstream(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	own := e.sessionCookie(c) // gatehouse=...; gatehouse_csrf=...
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/app", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Add("Cookie", "app=1")
	req.Header.Add("Cookie", own)
	req.Header.Add("Cookie", "theme=dark; other=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := strings.Join(e.upstream.last().Header.Values("Cookie"), " | ")
	if got != "app=1; theme=dark; other=2" {
		t.Errorf("upstream Cookie = %q, want only the application's cookies", got)
	}
}
