package proxy_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/proxy"
)

// TestStripPrefixThroughTheGate: a route with strip_prefix forwards the
// canonical path without its prefix and says the prefix in
// X-Forwarded-Prefix; no spelling of the path reaches the upstream outside
// the prefix it was authorized for, or with a ".." left for an upstream to
// resolve.
func TestStripPrefixThroughTheGate(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{
		{Name: "app", PathPrefix: "/app", Auth: proxy.AuthPublic, StripPrefix: true},
		{Name: "private", PathPrefix: "/"},
	}, trusted: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}) // not the test client
	for _, tt := range []struct {
		path string
		want string // the path the upstream receives; "" when the request must not reach it
	}{
		{"/app/x", "/x"},
		{"/app", "/"},
		{"/app/a/b?q=1", "/a/b"},
		{"/app/a%2Fb", "/a/b"},
		{"/app/50%25", "/50%25"},
		{"/app/../private", ""},
		{"/app/%2e%2e/private", ""},
		{"/app/%2E%2E%2Fprivate", ""},
		{"/app/..%2fprivate", ""},
		{"/app/%252e%252e/private", ""},
		{"/app/..;/private", ""},
		{"/app/.%2e/private", ""},
		{"/app/..%5cprivate", ""},
		{"/app%2f..%2fprivate", ""},
		{"/APP/x", ""},
		{"/app./x", ""},
		{"/app%20/x", ""},
		{"//app/x", ""},
	} {
		before := e.upstream.count()
		resp, _ := e.rawExchange(t, "GET "+tt.path+" HTTP/1.1\r\nHost: "+strings.TrimPrefix(e.gwURL, "http://")+
			"\r\nX-Forwarded-Prefix: /evil\r\nConnection: close\r\n\r\n")
		reached := e.upstream.count() > before
		switch {
		case tt.want == "" && reached:
			got := e.upstream.last()
			t.Errorf("GET %s reached the upstream as %s (status %d)", tt.path, got.URL.EscapedPath(), resp.StatusCode)
		case tt.want != "" && !reached:
			t.Errorf("GET %s: %d, did not reach the upstream", tt.path, resp.StatusCode)
		case tt.want != "":
			got := e.upstream.last()
			if p := got.URL.EscapedPath(); p != tt.want {
				t.Errorf("GET %s: the upstream got %s, want %s", tt.path, p, tt.want)
			}
			if fp := got.Header.Values("X-Forwarded-Prefix"); len(fp) != 1 || fp[0] != "/app" {
				t.Errorf("GET %s: X-Forwarded-Prefix %q, want /app", tt.path, fp)
			}
		}
		if tt.want == "" && resp.StatusCode == http.StatusOK {
			t.Errorf("GET %s: 200 from the private route without a session", tt.path)
		}
	}
	// A route without strip_prefix forwards the path as it was.
	e2 := newEnv(t, envOptions{routes: []proxy.Route{{Name: "app", PathPrefix: "/app", Auth: proxy.AuthPublic}}})
	resp := e2.get(e2.browser(), e2.gwURL+"/app/x")
	if u, _ := url.Parse(e2.upstream.last().URL.String()); resp.StatusCode != http.StatusOK || u.Path != "/app/x" {
		t.Errorf("without strip_prefix: %d %s", resp.StatusCode, u.Path)
	}
}
