package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestE2ERPInitiatedLogout: sign-out ends the session here, revokes the
// refresh token and logs the user out at the OP, which returns the browser
// to the gateway; the next visit needs a new login at the OP.
//
// oidc-provider serves POST at its end_session_endpoint only with
// enableHttpPostMethods, which it allows only with SameSite=None session
// cookies (a cross-site POST carries no Lax cookie); this OP keeps its
// defaults, so the gateway uses end_session_binding "get_without_hint": the
// ID token stays out of the URL all the same. The POST binding is tested
// against the development AS (proxy TestRPInitiatedLogoutKeepsIDTokenOutOfURLs).
func TestE2ERPInitiatedLogout(t *testing.T) {
	forEachProvider(t, testRPInitiatedLogout)
}

func testRPInitiatedLogout(t *testing.T, provider string) {
	w := newWorld(t, worldOptions{provider: provider, backchannel: true})
	binding := "post" // Hydra serves POST at its logout endpoint
	if provider == oidcProvider {
		binding = "get_without_hint"
	}
	gw := w.gateway(t, gwConfig{ProviderExtra: fmt.Sprintf("rp_initiated_logout = true\nend_session_binding = %q\n", binding)})
	tab := w.loggedInTab(t, gw.URL+"/", "rp-logout-final")
	before := w.events(t)

	tab.SignOut(t, gw.URL+"/oauth2/sign_out")
	tab.WaitURLPrefix(t, w.signIn)
	tab.OPConfirmLogout(t)
	// Back at the gateway's "/", which now needs a new login at the OP.
	tab.WaitURLPrefix(t, w.signIn)
	if text := strings.ToLower(tab.Text(t)); !strings.Contains(text, "sign-in") && !strings.Contains(text, "sign in") {
		t.Errorf("after RP-initiated logout the OP shows %q, want its login page", text)
	}
	after := w.events(t)
	if after["end_session.success"] <= before["end_session.success"] {
		t.Errorf("the OP saw no end_session: %v", after)
	}
	if after["revocation"] <= before["revocation"] {
		t.Errorf("the refresh token was not revoked: %v", after)
	}
	w.checkRevoked(t)
}

// TestE2EBackchannelLogoutFromOP: the OP ends the user's OP session and
// notifies the gateway; the gateway's session ends with it.
func TestE2EBackchannelLogoutFromOP(t *testing.T) {
	w := newWorld(t, worldOptions{backchannel: true})
	gw := w.gateway(t, gwConfig{})
	tab := w.loggedInTab(t, gw.URL+"/before", "backchannel-final")

	w.backchannelLogoutEnds(t, tab, gw.URL+"/after")
	if !strings.Contains(gw.log(), "back-channel logout") {
		t.Errorf("the gateway logged no back-channel logout")
	}
}
