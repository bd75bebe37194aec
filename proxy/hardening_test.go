package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/proxy"
)

// TestRoutingHeadersNeverReachUpstream: a client's X-Original-URL,
// X-Rewrite-URL, X-Original-URI, X-Forwarded-Prefix and X-Real-IP (in any
// case, with "_" for "-") never reach the upstream, which could route on
// them to a path the gateway never authorized. X-Real-IP is the peer's
// address; a trusted proxy's X-Forwarded-Prefix and X-Real-IP pass.
func TestRoutingHeadersNeverReachUpstream(t *testing.T) {
	spoof := []string{
		"X-Original-URL", "/admin/delete",
		"x-rewrite-url", "/admin/delete",
		"X_Original_URL", "/admin/delete",
		"X-Original-URI", "/admin/delete",
		"X-Forwarded-Prefix", "/admin",
		"X_Forwarded_Prefix", "/admin",
		"X-Real-IP", "10.9.9.9",
		"x_real_ip", "10.9.9.9",
	}
	routes := []proxy.Route{{Name: "public", PathPrefix: "/", Auth: proxy.AuthPublic}}
	for _, tc := range []struct {
		name                 string
		trusted              bool
		wantPrefix, wantReal string
	}{
		{name: "Untrusted", wantReal: "127.0.0.1"},
		{name: "TrustedProxy", trusted: true, wantPrefix: "/admin", wantReal: "10.9.9.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := envOptions{routes: routes}
			if tc.trusted {
				o.trusted = loopback
			}
			e := newEnv(t, o)
			resp := e.get(e.browser(), e.gwURL+"/page", spoof...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := e.upstream.last().Header
			for name, vals := range got {
				switch http.CanonicalHeaderKey(name) {
				case "X-Forwarded-Prefix", "X-Real-Ip":
					continue
				}
				for _, v := range vals {
					if v == "/admin/delete" || v == "/admin" || v == "10.9.9.9" {
						t.Errorf("the client's %s: %s reached the upstream", name, v)
					}
				}
			}
			if v := got.Values("X-Forwarded-Prefix"); tc.wantPrefix == "" && len(v) != 0 || tc.wantPrefix != "" && (len(v) != 1 || v[0] != tc.wantPrefix) {
				t.Errorf("X-Forwarded-Prefix = %q, want %q", v, tc.wantPrefix)
			}
			if v := got.Values("X-Real-Ip"); len(v) != 1 || v[0] != tc.wantReal {
				t.Errorf("X-Real-IP = %q, want %q", v, tc.wantReal)
			}
		})
	}
}

// TestUpstreamCannotSetGatewayCookies: an upstream's Set-Cookie for the
// gateway's own cookies (session, flow binding, their prefixed, re-cased and
// numbered variants) never reaches the browser: no session fixation through
// the application. Its other cookies pass, and the drop is logged once per
// route.
func TestUpstreamCannotSetGatewayCookies(t *testing.T) {
	own := []string{
		"gatehouse=planted; Path=/; HttpOnly",
		"__Host-gatehouse=planted; Path=/; Secure",
		"__Secure-gatehouse=planted; Path=/; Secure; Domain=127.0.0.1",
		"Gatehouse=planted",
		"gatehouse_0=planted",
		"gatehouse_12=planted",
		"gatehouse_csrf=planted",
		"__Host-gatehouse_csrf=planted; Path=/; Secure",
		" gatehouse=planted",
	}
	app := []string{"app=1; Path=/", "gatehouse_pref=dark", "gatehousex=2"}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range append(append([]string(nil), own...), app...) {
			w.Header().Add("Set-Cookie", c)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	target, _ := url.Parse(up.URL)
	logs := &logBuffer{}
	e := newEnv(t, envOptions{logger: logs.logger(), routes: []proxy.Route{
		{Name: "public", PathPrefix: "/public", Auth: proxy.AuthPublic, Target: target},
		{Name: "app", PathPrefix: "/", Target: target},
	}})
	c := e.browser()
	for range 2 {
		resp := e.get(c, e.gwURL+"/public/x")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("public: %d", resp.StatusCode)
		}
		if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, app) {
			t.Errorf("public route: Set-Cookie = %q, want only %q", got, app)
		}
	}
	if got := e.sessionCookie(c); strings.Contains(got, "planted") {
		t.Errorf("a planted cookie reached the browser: %q", got)
	}
	resp := e.loginAs(c, "/x", "alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("app: %d", resp.StatusCode)
	}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, app) {
		t.Errorf("session route: Set-Cookie = %q, want only %q", got, app)
	}
	if ck := e.sessionCookie(c); strings.Contains(ck, "planted") {
		t.Errorf("a planted cookie reached the browser: %q", ck)
	}
	ev := logs.events("upstream_set_own_cookie")
	routes := map[any]int{}
	for _, rec := range ev {
		routes[rec["route"]]++
	}
	if routes["public"] != 1 || routes["app"] != 1 || len(ev) != 2 {
		t.Errorf("warnings: %v, want one per route", routes)
	}
}
