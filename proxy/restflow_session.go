package proxy

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/session"
)

// The REST flow API's endpoints outside the login step: abort, logout and
// the current session.

// handleRESTAbort ends the current flow, if any:
// POST {base}/public/authentication/abort/.
func (g *Gateway) handleRESTAbort(w http.ResponseWriter, r *http.Request) {
	c := g.restCredentials(r)
	if c.handle != "" {
		if c.needsCSRFCheck() && !sameOriginRequest(r) {
			g.restFail(w, r, nil, restCSRF)
			return
		}
		if err := g.opts.Sessions.DeleteFlow(r.Context(), flowSecret(c.handle)); err != nil {
			g.restFail(w, r, nil, restStoreErr(err))
			return
		}
		g.logger.Info("rest flow aborted", "event", "rest_flow_abort", "flow_id", flowID(c.handle))
	}
	g.clearFlowCookie(w, r)
	g.restWrite(w, http.StatusOK, &restDoc{Meta: g.restMeta("")})
}

// handleRESTLogout ends the session and any pending flow, revokes the
// refresh token at the AS, and returns the AS's end-session URL when it has
// one: POST {base}/public/authentication/logout/.
func (g *Gateway) handleRESTLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := g.restCredentials(r)
	if c.needsCSRFCheck() && !sameOriginRequest(r) {
		g.restFail(w, r, nil, restCSRF)
		return
	}
	if c.handle != "" {
		if err := g.opts.Sessions.DeleteFlow(ctx, flowSecret(c.handle)); err != nil {
			g.restFail(w, r, nil, restStoreErr(err))
			return
		}
		g.clearFlowCookie(w, r)
	}
	if c.ticketCookie {
		http.SetCookie(w, g.opts.Sessions.ClearCookie())
	}
	if c.ticket == "" {
		g.restWrite(w, http.StatusOK, &restDoc{Meta: g.restMeta("")})
		return
	}
	s, err := g.opts.Sessions.Load(ctx, c.ticket)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) {
			g.restWrite(w, http.StatusOK, &restDoc{Meta: g.restMeta("")})
			return
		}
		g.restFail(w, r, nil, restStoreErr(err))
		return
	}
	if err := g.opts.Sessions.Delete(ctx, s); err != nil {
		g.restFail(w, r, nil, restStoreErr(err))
		return
	}
	lc := g.loginFor(s)
	if err := lc.Revoke(ctx, s.RefreshToken, "refresh_token"); err != nil {
		g.logger.Warn("token revocation failed", "event", "revocation_failed", "sub", s.Subject, "error", err)
	}
	g.logger.Info("logout", "event", "logout", "kind", "rest", "sub", s.Subject)
	// No id_token_hint: the app never holds a token of the AS, and the URL
	// goes to the app. The AS may ask the user to confirm.
	attrs := struct {
		EndSessionURL string `json:"endSessionUrl,omitempty"`
	}{EndSessionURL: lc.EndSessionURL("", "", "")}
	g.restOK(w, "", sessionRef(s), attrs)
}

// restSessionAttributes describe a session to the app.
type restSessionAttributes struct {
	Subject           string   `json:"subject"`
	Issuer            string   `json:"issuer"`
	AuthTime          string   `json:"authTime"`
	SessionExpiresAt  string   `json:"sessionExpiresAt"`
	User              string   `json:"user,omitempty"`
	Email             string   `json:"email,omitempty"`
	PreferredUsername string   `json:"preferredUsername,omitempty"`
	Name              string   `json:"name,omitempty"`
	Groups            []string `json:"groups,omitempty"`
}

func sessionAttributes(s *session.Session) restSessionAttributes {
	auth := time.Unix(s.CreatedAt, 0)
	if at, ok := s.Claims["auth_time"].(float64); ok && at > 0 {
		auth = time.Unix(int64(at), 0)
	}
	return restSessionAttributes{
		Subject: s.Subject, Issuer: s.Issuer, AuthTime: restTime(auth), SessionExpiresAt: restTime(s.Expires()),
	}
}

// handleRESTSession describes the current session, or answers 401:
// GET {base}/protected/session/.
func (g *Gateway) handleRESTSession(w http.ResponseWriter, r *http.Request) {
	s, err := g.currentSession(r)
	if err != nil {
		g.restFail(w, r, nil, restSessionErr(err))
		return
	}
	id, err := identity.FromClaims(s.Claims, g.opts.Claims)
	if err != nil {
		g.restFail(w, r, nil, restNotAuthorized)
		return
	}
	attrs := sessionAttributes(s)
	attrs.User, attrs.Email, attrs.PreferredUsername, attrs.Name, attrs.Groups = id.Subject, id.Email, id.PreferredUsername, id.Name, id.Groups
	g.restOK(w, "", sessionRef(s), attrs)
}
