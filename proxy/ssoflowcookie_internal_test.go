package proxy

import (
	"strings"
	"testing"
)

// TestFlowCookieName: a flow cookie is scoped to the callback's path, so on
// https it takes the "__Secure-" prefix ("__Host-" requires Path=/, and a
// browser would drop it), and the gateway keeps it from upstreams.
func TestFlowCookieName(t *testing.T) {
	for _, tc := range []struct {
		binding string
		secure  bool
		prefix  string
	}{
		{"__Host-gatehouse_csrf", true, "__Secure-gatehouse_csrf_f_"},
		{"gatehouse_csrf", false, "gatehouse_csrf_f_"},
	} {
		so := &sso{bindingName: tc.binding, secure: tc.secure}
		c := so.flowCookie("some-state", "v", 600)
		if !strings.HasPrefix(c.Name, tc.prefix) || c.Path != "/oauth2/callback" || c.Secure != tc.secure || !c.HttpOnly {
			t.Errorf("binding %q: flow cookie %s", tc.binding, c.String())
		}
		if so.flowCookieName("other-state") == c.Name {
			t.Errorf("two states share the cookie name %q", c.Name)
		}
		rl := &relay{ownCookieBases: []string{cookieBase("gatehouse"), cookieBase(tc.binding)}}
		if !rl.ownCookieName(c.Name) {
			t.Errorf("%q is not one of the gateway's own cookies", c.Name)
		}
	}
}
