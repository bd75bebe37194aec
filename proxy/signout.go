package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/ui"
	"github.com/gatehouse-dev/gatehouse/session"
)

// Sign-out is a state change (the session ends, the refresh token is
// revoked, with RP-initiated logout the user is logged out at the AS), so
// it is a POST that only a same-origin page may send (logout CSRF): GET
// shows a confirmation page whose button sends it. Front-channel logout
// (frontchannel.go) stays a GET, as its specification requires.
var (
	errCrossSiteSignOut = &httpError{Status: http.StatusForbidden, Code: "cross_site_sign_out", Title: "Sign-out refused",
		Detail: "This sign-out request came from another site. Sign out with the button on the sign-out page.", Retry: "/oauth2/sign_out"}
	errSignOutByPost = &httpError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Title: "Sign out by POST",
		Detail: "Sign out with POST /oauth2/sign_out."}
	errBadSignOutForm = &httpError{Status: http.StatusBadRequest, Code: "invalid_request", Title: "Malformed request",
		Detail: "The sign-out form could not be read.", Retry: "/oauth2/sign_out"}
)

// maxSignOutForm bounds the body of a sign-out POST (its one field is rd).
const maxSignOutForm = 8 << 10

// newSignOutOrigins returns the cross-origin check of sign-out POSTs
// (http.CrossOriginProtection): a browser's POST passes when its
// Sec-Fetch-Site is "same-origin" or "none", or, from an older browser
// without Sec-Fetch-Site, when its Origin is the request's own host or the
// public URL's origin. A request with neither header passes: it does not
// come from a browser (an API client, curl), and CSRF needs a browser,
// which sends at least one of them on every cross-site POST.
func newSignOutOrigins(public *url.URL) (*http.CrossOriginProtection, error) {
	c := http.NewCrossOriginProtection()
	if err := c.AddTrustedOrigin(public.Scheme + "://" + public.Host); err != nil {
		return nil, fmt.Errorf("proxy: public URL as a trusted origin: %w", err)
	}
	return c, nil
}

// handleSignOutPage answers GET /oauth2/sign_out?rd=URL. With a session, a
// browser gets a page whose button POSTs the sign-out (keeping a valid rd)
// and an API client 405; without one, the result of a sign-out: a redirect
// to rd, or the "signed out" page (JSON for API clients). Nothing changes.
func (so *sso) handleSignOutPage(w http.ResponseWriter, r *http.Request) {
	rd, _ := so.redirects.Validate(r.URL.Query().Get("rd"))
	html := wantsHTML(r)
	if so.sessions.TicketFromRequest(r) == "" {
		so.signedOut(w, r, rd, html)
		return
	}
	if !html {
		w.Header().Set("Allow", http.MethodPost)
		so.fail(w, r, errSignOutByPost)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", so.pages.CSP(""))
	h.Set("X-Frame-Options", "DENY") // no clickjacking of the button
	// The form's action is relative, so that it works wherever the
	// gateway's /oauth2/ paths are mounted (its own host or an
	// application's, behind forward-auth).
	so.pages.Render(w, r, http.StatusOK, ui.SignOut, &ui.Data{Title: "Sign out?", SignOut: "sign_out", RD: rd})
}

// handleSignOut ends the session: POST /oauth2/sign_out, with rd=URL in the
// form or the query. A cross-site browser request is refused (403). The
// refresh token is revoked at the AS when it has a revocation endpoint (RFC
// 7009). With RP-initiated logout enabled and an end_session_endpoint at the
// AS, the browser is then sent there (OpenID Connect RP-Initiated Logout
// 1.0; endSessionAtAS); otherwise to rd, else shown the "signed out" page.
func (so *sso) handleSignOut(w http.ResponseWriter, r *http.Request) {
	html := acceptsHTML(r)
	if err := so.signOutOrigins.Check(r); err != nil {
		so.audit(slog.LevelInfo, "cross-site sign-out refused", audit.Event{Kind: audit.LogoutRejected, Channel: "local", Reason: "cross_site"},
			slog.String("origin", r.Header.Get("Origin")), slog.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
		so.failAs(w, r, errCrossSiteSignOut, html)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSignOutForm)
	if err := r.ParseForm(); err != nil {
		so.failAs(w, r, errBadSignOutForm, html)
		return
	}
	rdRaw := r.URL.Query().Get("rd")
	if r.PostForm.Has("rd") {
		rdRaw = r.PostForm.Get("rd")
	}
	rd, _ := so.redirects.Validate(rdRaw)
	ctx := r.Context()
	so.sessions.ClearCookies(w, r)
	var idToken string
	if ticket := so.sessions.TicketFromRequest(r); ticket != "" {
		s, err := so.sessions.Load(ctx, ticket)
		switch {
		case err == nil:
			if err := so.sessions.Delete(ctx, s); err != nil {
				so.failErr(w, r, storeErr(err))
				return
			}
			if err := so.clients.loginFor(s).Revoke(ctx, s.RefreshToken, "refresh_token", sessionKeyOption(s)...); err != nil {
				so.audit(slog.LevelWarn, "token revocation failed", audit.Event{Kind: audit.RevocationFailed}, slog.String("sub", s.Subject), slog.Any("error", err))
			}
			so.audit(slog.LevelInfo, "logout", audit.Event{Kind: audit.Logout, Channel: "local"}, slog.String("sub", s.Subject))
			noteSub(w, s.Subject)
			noteOutcome(w, OutcomeLogout)
			idToken = s.IDToken
		case !errors.Is(err, session.ErrNotFound):
			so.failErr(w, r, storeErr(err))
			return
		}
	}
	if so.endAtAS && idToken != "" && so.endSessionAtAS(w, r, idToken) {
		return
	}
	so.signedOut(w, r, rd, html)
}

// signedOut answers a completed sign-out: a redirect to rd when it is set
// (validated), else the "signed out" page, or JSON for API clients.
func (so *sso) signedOut(w http.ResponseWriter, r *http.Request, rd string, html bool) {
	w.Header().Set("Cache-Control", "no-store")
	if rd != "" {
		http.Redirect(w, r, rd, http.StatusSeeOther)
		return
	}
	if !html {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"signed_out"}` + "\n"))
		return
	}
	w.Header().Set("Content-Security-Policy", so.pages.CSP(""))
	so.pages.Render(w, r, http.StatusOK, ui.SignedOut, &ui.Data{Title: "You are signed out", SignIn: "/"})
}

// endSessionAtAS sends the browser to the AS's end_session_endpoint with
// the binding configured (login.EndSessionPost by default: a form that a
// nonce'd script submits at once, so the ID token never appears in a URL).
// It reports false, having written nothing, when the AS has no such
// endpoint.
func (so *sso) endSessionAtAS(w http.ResponseWriter, r *http.Request, idToken string) bool {
	w.Header().Set("Cache-Control", "no-store")
	switch so.endSessionBinding {
	case login.EndSessionGet, login.EndSessionGetWithoutHint:
		if so.endSessionBinding == login.EndSessionGetWithoutHint {
			idToken = ""
		}
		u := so.login.EndSessionURL(idToken, so.postLogoutRedirectURI(), randomState())
		if u == "" {
			return false
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return true
	}
	ep, params := so.login.EndSessionRequest(idToken, so.postLogoutRedirectURI(), randomState())
	if ep == "" {
		return false
	}
	// The logout request is a form that a nonce'd script submits at once;
	// without JavaScript the user presses the button.
	page := &ui.Data{Title: "Signing out…", EndSession: ui.EndSession{Action: ep}, Nonce: randomState()}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		page.EndSession.Fields = append(page.EndSession.Fields, ui.Field{Name: k, Value: params.Get(k)})
	}
	h := w.Header()
	h.Set("Content-Security-Policy", so.pages.CSP(page.Nonce))
	h.Set("X-Frame-Options", "DENY")
	so.pages.Render(w, r, http.StatusOK, ui.SigningOut, page)
	return true
}

// acceptsHTML reports whether r, of any method, comes from a browser page
// (a form submission) rather than a script or an API client: it accepts
// text/html and is not an XHR.
func acceptsHTML(r *http.Request) bool {
	return !strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// postLogoutRedirectURI is where the AS returns the browser after logout.
func (so *sso) postLogoutRedirectURI() string {
	if so.postLogoutRedirect != "" {
		return so.postLogoutRedirect
	}
	return so.publicURL.String() + "/"
}

func randomState() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleUserinfo returns the session's identity as JSON: GET /oauth2/userinfo.
func (g *gate) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	s, err := g.currentSession(r)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) || errors.Is(err, errSessionEnded) {
			noteOutcome(w, OutcomeUnauthenticated)
			g.fail(w, r, errUnauthorized)
			return
		}
		g.failErr(w, r, storeErr(err))
		return
	}
	id, err := identity.FromClaims(s.Claims, g.claims)
	if err != nil {
		g.fail(w, r, errUnauthorized)
		return
	}
	noteSub(w, id.Subject)
	noteOutcome(w, OutcomeAllowed)
	groups := id.Groups
	if groups == nil {
		groups = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"user": id.Subject, "email": id.Email, "preferredUsername": id.PreferredUsername,
		"groups": groups, "name": id.Name, "sessionExpiresAt": s.Expires().UTC().Format("2006-01-02T15:04:05Z"),
	})
}
