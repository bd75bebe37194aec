package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The scenarios below are Hydra's own; the shared ones (login, refresh,
// sign-out, RP-initiated logout, the REST flow API) run against both OPs
// through forEachProvider.

// TestE2EHydraFrontchannelLogout: the user signs out at Hydra itself (not
// through the gateway); Hydra loads the gateway's front-channel logout URI
// with iss and sid in an iframe, and the gateway's session ends.
func TestE2EHydraFrontchannelLogout(t *testing.T) {
	w := newWorld(t, worldOptions{provider: hydraOP, frontchannel: true})
	gw := w.gateway(t, gwConfig{})
	tab := w.loggedInTab(t, gw.URL+"/before", "hydra-frontchannel-final")

	// Without id_token_hint Hydra ends the session of its own cookie.
	tab.Navigate(t, w.issuer+"/oauth2/sessions/logout")
	tab.WaitURLPrefix(t, w.signIn+"/logout")
	tab.OPConfirmLogout(t)
	tab.WaitURLPrefix(t, w.signIn+"/logged-out")
	if ev := w.events(t); ev["end_session.success"] != 1 {
		t.Errorf("hydra completed %d logouts, want 1", ev["end_session.success"])
	}
	waitFor(t, "the gateway's front-channel logout", func() bool {
		return strings.Contains(gw.log(), `msg="front-channel logout" event=logout kind=frontchannel`)
	})

	n := w.up.count()
	tab.Navigate(t, gw.URL+"/after")
	if got := tab.URL(t); !strings.HasPrefix(got, w.signIn+"/login") {
		t.Errorf("after Hydra's logout the browser is at %q, want Hydra's login page", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after the front-channel logout")
	}
}

// TestE2EHydraBackchannelLogoutWithoutExp: an administrator ends the user's
// login session at Hydra, which sends a logout token to the gateway's
// back-channel logout URI. Hydra 2.3's logout tokens carry no exp (an older
// draft of Back-Channel Logout 1.0, which requires it since its final
// version), so the gateway refuses the token and logs why; the session at
// the gateway stays until it is refreshed, signed out or expires.
func TestE2EHydraBackchannelLogoutWithoutExp(t *testing.T) {
	w := newWorld(t, worldOptions{provider: hydraOP, backchannel: true})
	gw := w.gateway(t, gwConfig{})
	tab := w.loggedInTab(t, gw.URL+"/before", "hydra-backchannel-final")

	w.endHydraLoginSession(t)
	waitFor(t, "the gateway's answer to Hydra's logout token", func() bool {
		return strings.Contains(gw.log(), "back-channel logout rejected")
	})
	for _, line := range strings.Split(gw.log(), "\n") {
		if strings.Contains(line, "back-channel logout rejected") {
			t.Logf("the gateway: %s", line)
		}
	}
	if strings.Contains(gw.log(), `msg="back-channel logout" event=logout`) {
		t.Errorf("the gateway accepted a logout token without exp")
	}
	tab.Navigate(t, gw.URL+"/after")
	if got := tab.URL(t); got != gw.URL+"/after" {
		t.Errorf("after the refused logout token the browser is at %q, want the application", got)
	}
}

// TestE2EHydraBackchannelLogout: with provider.insecure_logout_token_without_exp,
// the logout token Hydra sends when its login session ends (without exp)
// ends the gateway's session: the next visit goes to Hydra's sign-in.
func TestE2EHydraBackchannelLogout(t *testing.T) {
	w := newWorld(t, worldOptions{provider: hydraOP, backchannel: true})
	gw := w.gateway(t, gwConfig{ProviderExtra: "insecure_logout_token_without_exp = true\n"})
	tab := w.loggedInTab(t, gw.URL+"/before", "hydra-backchannel-accepted-final")

	w.endHydraLoginSession(t)
	waitFor(t, "the gateway's back-channel logout", func() bool {
		return strings.Contains(gw.log(), `msg="back-channel logout" event=logout`)
	})
	n := w.up.count()
	tab.Navigate(t, gw.URL+"/after")
	if got := tab.URL(t); !strings.HasPrefix(got, w.signIn) {
		t.Errorf("after Hydra's logout token the browser is at %q, want Hydra's sign-in", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached after the back-channel logout")
	}
}

// endHydraLoginSession ends alice's one login session at Hydra through
// its admin API; Hydra delivers its logout token before it answers.
func (w *world) endHydraLoginSession(t *testing.T) {
	t.Helper()
	sids := w.hydra.LoginSessionIDs(t, alice.Sub)
	if len(sids) != 1 {
		t.Fatalf("hydra has %d login sessions for alice, want 1", len(sids))
	}
	w.hydra.RevokeLoginSession(t, sids[0])
}

// waitFor polls cond until it holds, for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EHydraConsentRevoked: an administrator revokes the user's consent
// at Hydra, which deletes the gateway's tokens. At the next refresh Hydra
// answers invalid_grant, and the gateway ends the session and sends the
// browser to sign in again instead of serving with the old identity.
func TestE2EHydraConsentRevoked(t *testing.T) {
	const ttl = 3 * time.Second
	w := newWorld(t, worldOptions{provider: hydraOP, accessTTL: ttl})
	gw := w.gateway(t, gwConfig{})
	tab := w.loggedInTab(t, gw.URL+"/before", "hydra-consent-revoked-final")

	w.hydra.AdminCall(t, http.MethodDelete, "/admin/oauth2/auth/sessions/consent?subject="+url.QueryEscape(alice.Sub)+"&client="+gwClientID, nil, nil, http.StatusNoContent)
	if rts := w.hydra.IssuedRefreshTokens(); w.hydra.Active(t, rts[len(rts)-1]) {
		t.Fatalf("the refresh token is still active after the consent was revoked")
	}
	time.Sleep(ttl + 500*time.Millisecond)
	n := w.up.count()
	tab.Navigate(t, gw.URL+"/after")
	if got := tab.URL(t); !strings.HasPrefix(got, w.signIn) {
		t.Errorf("after the revocation the browser is at %q, want Hydra's sign-in", got)
	}
	if w.up.count() != n {
		t.Errorf("the upstream was reached with a revoked grant")
	}
	if ev := w.events(t); ev["grant.error.refresh_token"] != 1 {
		t.Errorf("hydra refused %d refreshes, want 1: %v", ev["grant.error.refresh_token"], ev)
	}
}
