package proxy

import (
	"net/http"
	"strings"

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
	rd := so.returnTo(r)
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

// returnTo chooses the return URL of a login started by r, as oauth2-proxy
// does: the rd query parameter, else the X-Auth-Request-Redirect header;
// the first that the redirect validator accepts wins, and one it refuses
// is skipped (logged at debug, with the validator's reason, never the
// value). It returns "" when neither is acceptable (startLogin then uses
// "/").
//
// A path ("/reports?q=1") asked for on a host other than the public URL's
// (a sign-in page served at an application's URL on its own host) is made
// absolute on that host when the result is acceptable (that host is in
// server.allowed_redirect_domains), so that the login returns there.
func (so *sso) returnTo(r *http.Request) string {
	for _, c := range []struct{ source, value string }{
		{"rd", r.URL.Query().Get("rd")},
		{headerAuthRequestRedirect, r.Header.Get(headerAuthRequestRedirect)},
	} {
		if c.value == "" {
			continue
		}
		if abs := so.onRequestHost(r, c.value); abs != "" {
			if v, err := so.redirects.Validate(abs); err == nil {
				return v
			}
		}
		v, err := so.redirects.Validate(c.value)
		if err == nil {
			return v
		}
		so.logger.Debug("return-to URL ignored", "source", c.source, "path", r.URL.Path, "error", err)
	}
	return ""
}

// onRequestHost returns the path reference p as an absolute URL on r's
// host, when that host is not the public URL's; "" otherwise.
func (so *sso) onRequestHost(r *http.Request, p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || r.Host == "" || sameHost(r.Host, so.publicURL.Host) {
		return ""
	}
	return so.publicURL.Scheme + "://" + r.Host + p
}
