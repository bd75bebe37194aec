package proxy

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/ui"
)

// headerAuthRequestRedirect is oauth2-proxy's request header naming the
// return URL of a login, where rd is not given (nginx sets it to
// $request_uri on its /oauth2/ location; ingress-nginx on its auth
// subrequest). It is validated exactly like rd.
const headerAuthRequestRedirect = "X-Auth-Request-Redirect"

// handleSignInPage answers GET /oauth2/sign_in?rd=URL with the sign-in
// page. The return URL is rd, else X-Auth-Request-Redirect, each validated
// as /oauth2/start validates rd (an invalid one is skipped, logged at
// debug); "/" without either.
func (so *sso) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	rd := so.returns.requested(r)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", so.pages.CSP(""))
	h.Set("X-Frame-Options", "DENY")
	// The form goes to the public URL's /oauth2/start, where the login
	// flow's browser binding is set on the host of the callback: the page
	// may be shown on another host (nginx's "error_page 401 =
	// /oauth2/sign_in" serves it at the original URL).
	so.pages.Render(w, r, http.StatusOK, ui.SignIn, &ui.Data{Title: "Sign in", SignIn: so.publicURL.JoinPath(startPath).String(), RD: rd})
}
