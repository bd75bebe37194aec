package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// newLogoutWorld is newWorld with the gateway's back-channel logout URI registered at the OP.
func newLogoutWorld(t *testing.T) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	w := &world{gwPort: harness.FreePort(t)}
	w.gwPublic = "http://127.0.0.1:" + strconv.Itoa(w.gwPort)
	w.op = harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{{
			ID: gwClientID, Secret: gwClientSecret,
			RedirectURIs:           []string{w.gwPublic + "/oauth2/callback"},
			PostLogoutRedirectURIs: []string{w.gwPublic + "/"},
			BackchannelLogoutURI:   w.gwPublic + "/oauth2/backchannel_logout",
		}},
		Users: []harness.OPUser{alice},
	})
	w.up = startUpstream(t)
	w.browser = harness.StartBrowser(t)
	return w
}

// TestE2ERPInitiatedLogout: sign-out ends the session here, revokes the
// refresh token and logs the user out at the OP, which returns the browser
// to the gateway; the next visit needs a new login at the OP.
func TestE2ERPInitiatedLogout(t *testing.T) {
	w := newLogoutWorld(t)
	gw := w.gateway(t, gwConfig{ProviderExtra: "rp_initiated_logout = true\n"})
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, "rp-logout-final")
	tab.Navigate(t, gw.URL+"/")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, gw.URL+"/")
	before := w.op.Events(t)

	tab.Navigate(t, gw.URL+"/oauth2/sign_out")
	tab.WaitURLPrefix(t, w.op.Issuer)
	tab.OPConfirmLogout(t)
	// Back at the gateway's "/", which now needs a new login at the OP.
	tab.WaitURLPrefix(t, w.op.Issuer)
	if text := strings.ToLower(tab.Text(t)); !strings.Contains(text, "sign-in") && !strings.Contains(text, "sign in") {
		t.Errorf("after RP-initiated logout the OP shows %q, want its login page", text)
	}
	after := w.op.Events(t)
	if after["end_session.success"] <= before["end_session.success"] {
		t.Errorf("the OP saw no end_session: %v", after)
	}
	if after["revocation"] <= before["revocation"] {
		t.Errorf("the refresh token was not revoked: %v", after)
	}
}

// TestE2EBackchannelLogoutFromOP: the OP ends the user's OP session and
// notifies the gateway; the gateway's session ends with it.
func TestE2EBackchannelLogoutFromOP(t *testing.T) {
	w := newLogoutWorld(t)
	gw := w.gateway(t, gwConfig{})
	tab := w.browser.NewTab(t)
	screenshotOnFailure(t, tab, "backchannel-final")
	tab.Navigate(t, gw.URL+"/before")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, gw.URL+"/before")

	sent, failed := w.op.BackchannelLogout(t, alice.Sub)
	if sent < 1 || failed != 0 {
		t.Fatalf("the OP sent %d back-channel logouts, %d failed", sent, failed)
	}
	n := w.up.count()
	tab.Navigate(t, gw.URL+"/after")
	if got := tab.URL(t); !strings.HasPrefix(got, w.op.Issuer) {
		t.Errorf("after back-channel logout the browser is at %q, want the OP", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after the back-channel logout")
	}
	if !strings.Contains(gw.log(), "back-channel logout") {
		t.Errorf("the gateway logged no back-channel logout")
	}
}
