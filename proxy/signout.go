package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/session"
)

// handleSignOut ends the session: GET or POST /oauth2/sign_out?rd=URL.
// The refresh token is revoked at the AS when it has a revocation endpoint
// (RFC 7009). With RP-initiated logout enabled and an end_session_endpoint
// at the AS, the browser is then sent there (OpenID Connect RP-Initiated
// Logout 1.0) with id_token_hint, post_logout_redirect_uri and state.
func (g *Gateway) handleSignOut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	http.SetCookie(w, g.opts.Sessions.ClearCookie())
	var idToken string
	if ticket := g.opts.Sessions.TicketFromRequest(r); ticket != "" {
		s, err := g.opts.Sessions.Load(ctx, ticket)
		switch {
		case err == nil:
			if err := g.opts.Sessions.Delete(ctx, s); err != nil {
				g.failErr(w, r, storeErr(err))
				return
			}
			if err := g.loginFor(s).Revoke(ctx, s.RefreshToken, "refresh_token"); err != nil {
				g.logger.Warn("token revocation failed", "event", "revocation_failed", "sub", s.Subject, "error", err)
			}
			g.logger.Info("logout", "event", "logout", "kind", "local", "sub", s.Subject)
			idToken = s.IDToken
		case !errors.Is(err, session.ErrNotFound):
			g.failErr(w, r, storeErr(err))
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if g.opts.EndSessionAtAS && idToken != "" {
		if u := g.opts.Login.EndSessionURL(idToken, g.postLogoutRedirectURI(), randomState()); u != "" {
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
	}
	if rd, err := g.opts.Redirects.Validate(r.URL.Query().Get("rd")); err == nil {
		http.Redirect(w, r, rd, http.StatusFound)
		return
	}
	if !wantsHTML(r) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"signed_out"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = signedOutPage.Execute(w, nil)
}

// postLogoutRedirectURI is where the AS returns the browser after logout.
func (g *Gateway) postLogoutRedirectURI() string {
	if g.opts.PostLogoutRedirectURI != "" {
		return g.opts.PostLogoutRedirectURI
	}
	return g.opts.PublicURL.String() + "/"
}

func randomState() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleUserinfo returns the session's identity as JSON: GET /oauth2/userinfo.
func (g *Gateway) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	s, err := g.currentSession(r)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) || errors.Is(err, errSessionEnded) {
			g.fail(w, r, errUnauthorized)
			return
		}
		g.failErr(w, r, storeErr(err))
		return
	}
	id, err := identity.FromClaims(s.Claims, g.opts.Claims)
	if err != nil {
		g.fail(w, r, errUnauthorized)
		return
	}
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

var signedOutPage = template.Must(template.New("out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out · Gatehouse</title>
<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}
main{background:#fff;padding:2rem 2.5rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
a{color:#2f6fde}</style></head>
<body><main><h1>You are signed out</h1><p><a href="/">Sign in again</a></p></main></body></html>
`))
