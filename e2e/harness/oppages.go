package harness

import (
	"testing"
)

// The pages of oidc-provider's devInteractions and rpInitiatedLogout (oidc-provider 9):
//
//	login:   <form action=/interaction/UID method=post>
//	           <input type=hidden name=prompt value=login>
//	           <input type=text name=login> <input type=password name=password>
//	           <button type=submit>Sign-in</button></form>
//	consent: <form ...><input type=hidden name=prompt value=consent>
//	           <button type=submit>Continue</button></form>
//	both:    <a href=/interaction/UID/abort>[ Cancel ]</a> (the RP gets error=access_denied)
//	logout:  <form id=op.logoutForm method=post action=/session/end/confirm>...</form>
//	           <button form=op.logoutForm name=logout value=yes>Yes, sign me out</button>
//	error:   <title>oops! something went wrong</title>
const (
	opPromptField   = `form input[name="prompt"]`
	opLoginField    = `input[name="login"]`
	opPasswordField = `input[name="password"]`
	opLoginSubmit   = `form:has(input[name="prompt"][value="login"]) button[type="submit"]`
	opConsentSubmit = `form:has(input[name="prompt"][value="consent"]) button[type="submit"]`
	opAbortLink     = `a[href$="/abort"]`
	opLogoutYes     = `button[name="logout"][value="yes"]`
	opErrorTitle    = "oops! something went wrong"
)

// OPLogin signs in on the OP's login page, which the tab must show or be on its way to:
// it fills the login and password, submits, and then consents if the OP asks for consent.
// It returns once the page after the OP (the redirect_uri's, usually) has loaded.
func (tab *Tab) OPLogin(t testing.TB, login, password string) {
	t.Helper()
	tab.OPSignIn(t, login, password)
	if currentOPPrompt(t, tab) == "consent" {
		tab.OPConsent(t)
	}
}

// OPSignIn signs in on the OP's login page like OPLogin but leaves the consent page, if the
// OP shows one, unanswered (for OPDeny).
func (tab *Tab) OPSignIn(t testing.TB, login, password string) {
	t.Helper()
	if prompt := opPrompt(t, tab, "OP login"); prompt != "login" {
		tab.fail(t, "OP login: the OP shows its %s page, not its login page", prompt)
	}
	tab.Fill(t, opLoginField, login)
	tab.Fill(t, opPasswordField, password)
	tab.clickAndWaitNewDocument(t, "OP login: sign in", opLoginSubmit)
	failOnOPError(t, tab, "OP login")
}

// OPConsent accepts the OP's consent page ("Continue"), which the tab must show or be on its
// way to, and waits for the next page. OPLogin calls it when the OP asks; call it directly
// when the OP already has a session and asks for consent only (prompt=consent).
func (tab *Tab) OPConsent(t testing.TB) {
	t.Helper()
	if prompt := opPrompt(t, tab, "OP consent"); prompt != "consent" {
		tab.fail(t, "OP consent: the OP shows its %s page, not its consent page", prompt)
	}
	tab.clickAndWaitNewDocument(t, "OP consent: continue", opConsentSubmit)
	failOnOPError(t, tab, "OP consent")
}

// OPDeny cancels the OP's consent (or login) page with its "[ Cancel ]" link, and waits for
// the next page: the OP sends error=access_denied to the client's redirect_uri.
func (tab *Tab) OPDeny(t testing.TB) {
	t.Helper()
	opPrompt(t, tab, "OP deny")
	tab.clickAndWaitNewDocument(t, "OP deny: cancel", opAbortLink)
	failOnOPError(t, tab, "OP deny")
}

// OPConfirmLogout answers "Yes, sign me out" on the OP's RP-initiated logout page (the OP
// always asks), and waits for the next page: the post_logout_redirect_uri's, or the OP's
// own "Sign-out Success" page.
func (tab *Tab) OPConfirmLogout(t testing.TB) {
	t.Helper()
	tab.clickAndWaitNewDocument(t, "OP logout: confirm", opLogoutYes)
	failOnOPError(t, tab, "OP logout")
}

// opPrompt, currentOPPrompt and failOnOPError read the OP's pages for the
// OP* methods above. Like pollEval they are functions taking the tab, so
// that Tab's methods stay the actions tests call.

// opPrompt waits for an OP interaction page and returns its prompt, "login" or "consent".
func opPrompt(t testing.TB, tab *Tab, what string) string {
	t.Helper()
	failOnOPError(t, tab, what)
	return pollEval[string](t, tab, what+": wait for an OP interaction page",
		`(document.readyState === 'complete' && document.querySelector(`+jsString(opPromptField)+`)?.value) || null`)
}

// currentOPPrompt returns the prompt of the loaded page, or "" if it is no OP interaction page.
func currentOPPrompt(t testing.TB, tab *Tab) string {
	t.Helper()
	return pollEval[string](t, tab, "read the OP prompt",
		`document.querySelector(`+jsString(opPromptField)+`)?.value ?? ''`)
}

// failOnOPError fails the test if the tab shows the OP's error page, quoting it.
func failOnOPError(t testing.TB, tab *Tab, what string) {
	t.Helper()
	page := pollEval[struct{ Title, Text string }](t, tab, what+": read the page",
		`document.readyState === 'complete' ? {title: document.title, text: document.body?.innerText ?? ''} : null`)
	if page.Title == opErrorTitle {
		tab.fail(t, "%s: the OP shows an error:\n%s", what, page.Text)
	}
}
