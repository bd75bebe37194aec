package proxy_test

import (
	"net/http"
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
