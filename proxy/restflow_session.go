package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/session"
)

// The REST flow API's endpoints outside the login step: abort, logout and
// the current session.

// handleRESTAbort ends the current flow, if any:
// POST {base}/public/authentication/abort/.
func (ra *restAPI) handleRESTAbort(w http.ResponseWriter, r *http.Request) {
	c := ra.flows.restCredentials(r)
	if c.handle != "" {
		if c.needsCSRFCheck() && !sameOriginRequest(r) {
			ra.restFail(w, r, nil, restCSRF)
			return
		}
		if err := ra.sessions.DeleteFlow(r.Context(), flowSecret(c.handle)); err != nil {
			ra.restFail(w, r, nil, restStoreErr(err))
			return
		}
		ra.audit(slog.LevelInfo, "rest flow aborted", audit.Event{Kind: audit.RESTFlowAbort}, slog.String("flow_id", flowID(c.handle)))
	}
	ra.flows.clearFlowCookie(w, r)
	ra.restWrite(w, http.StatusOK, &restDoc{Meta: ra.restMeta("")})
}

// handleRESTLogout ends the session and any pending flow, revokes the
// refresh token at the AS, and returns the AS's end-session URL when it has
// one: POST {base}/public/authentication/logout/.
func (ra *restAPI) handleRESTLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := ra.flows.restCredentials(r)
	if c.needsCSRFCheck() && !sameOriginRequest(r) {
		ra.restFail(w, r, nil, restCSRF)
		return
	}
	if c.handle != "" {
		if err := ra.sessions.DeleteFlow(ctx, flowSecret(c.handle)); err != nil {
			ra.restFail(w, r, nil, restStoreErr(err))
			return
		}
		ra.flows.clearFlowCookie(w, r)
	}
	if c.ticketCookie {
		ra.sessions.ClearCookies(w, r)
	}
	if c.ticket == "" {
		ra.restWrite(w, http.StatusOK, &restDoc{Meta: ra.restMeta("")})
		return
	}
	s, err := ra.sessions.Load(ctx, c.ticket)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) {
			ra.restWrite(w, http.StatusOK, &restDoc{Meta: ra.restMeta("")})
			return
		}
		ra.restFail(w, r, nil, restStoreErr(err))
		return
	}
	// A session bound to an app's key ends only with a proof by that key
	// (restdpop.go): its token alone, stolen, must not end it.
	if ra.gate.proofs != nil {
		if err := ra.gate.proofs.checkSessionProof(r, c.ticket, s); err != nil {
			noteOutcome(w, OutcomeInvalidCredentials)
			ra.restFail(w, r, nil, restSessionErr(err))
			return
		}
	}
	if err := ra.sessions.Delete(ctx, s); err != nil {
		ra.restFail(w, r, nil, restStoreErr(err))
		return
	}
	lc := ra.clients.loginFor(s)
	if err := lc.Revoke(ctx, s.RefreshToken, "refresh_token", sessionKeyOption(s)...); err != nil {
		ra.audit(slog.LevelWarn, "token revocation failed", audit.Event{Kind: audit.RevocationFailed}, slog.String("sub", s.Subject), slog.Any("error", err))
	}
	ra.audit(slog.LevelInfo, "logout", audit.Event{Kind: audit.Logout, Channel: "rest"}, slog.String("sub", s.Subject))
	noteSub(w, s.Subject)
	noteOutcome(w, OutcomeLogout)
	// No id_token_hint: the app never holds a token of the AS, and the URL
	// goes to the app. The AS may ask the user to confirm.
	attrs := struct {
		EndSessionURL string `json:"endSessionUrl,omitempty"`
	}{EndSessionURL: lc.EndSessionURL("", "", "")}
	ra.restOK(w, "", sessionRef(s), attrs)
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
func (ra *restAPI) handleRESTSession(w http.ResponseWriter, r *http.Request) {
	s, err := ra.gate.currentSession(r)
	if err != nil {
		noteOutcome(w, refusalOutcome(err))
		ra.restFail(w, r, nil, restSessionErr(err))
		return
	}
	id, err := identity.FromClaims(s.Claims, ra.claims)
	if err != nil {
		ra.restFail(w, r, nil, restNotAuthorized)
		return
	}
	noteSub(w, s.Subject)
	attrs := sessionAttributes(s)
	attrs.User, attrs.Email, attrs.PreferredUsername, attrs.Name, attrs.Groups = id.Subject, id.Email, id.PreferredUsername, id.Name, id.Groups
	ra.restOK(w, "", sessionRef(s), attrs)
}
