package proxy

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
	"github.com/gatehouse-dev/gatehouse/session"
)

// jtiMemory is how long a logout token ID is remembered when the token's
// own expiry is sooner or unknown.
const jtiMemory = 10 * time.Minute

// channelLogout ends sessions the AS names: back-channel logout (a signed
// logout token) and front-channel logout (a browser in an iframe).
type channelLogout struct {
	base
	login    *login.Client
	clients  *clientSet
	sessions *session.Manager
}

// handleBackchannelLogout ends every session the AS names:
// POST /oauth2/backchannel_logout with a logout_token (OpenID Connect
// Back-Channel Logout 1.0 §2.5). Each token is honoured once (jti). The
// answer is 200, or 400 with a JSON error body; it is never cached.
func (cl *channelLogout) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	reject := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		switch he := classify(r, err); {
		case he == errClientGone:
			w.WriteHeader(he.Status)
		case isClientFault(he): // too large, too slow, malformed
			reject(he.Status, "invalid_request", he.Detail)
		default:
			reject(http.StatusBadRequest, "invalid_request", "the body must be a form")
		}
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		reject(http.StatusBadRequest, "invalid_request", "logout_token is required")
		return
	}
	ctx := r.Context()
	lt, err := cl.clients.logoutClient(raw).VerifyLogoutToken(ctx, raw)
	if err != nil {
		if errors.Is(err, login.ErrNotReady) {
			reject(http.StatusServiceUnavailable, "temporarily_unavailable", "provider metadata not loaded")
			return
		}
		cl.audit(slog.LevelWarn, "back-channel logout rejected", audit.Event{Kind: audit.LogoutRejected, Channel: "backchannel"}, slog.Any("error", err))
		reject(http.StatusBadRequest, "invalid_request", "the logout token is not valid")
		return
	}
	fresh, err := cl.sessions.FirstUse(ctx, lt.Issuer, lt.JTI, max(time.Until(lt.Expiry), 0)+jtiMemory)
	switch {
	case errors.Is(err, session.ErrNoReplayMemory):
		reject(http.StatusNotImplemented, "not_supported", "the session store cannot remember logout tokens")
		return
	case err != nil:
		cl.failErr(w, r, storeErr(err))
		return
	}
	if !fresh {
		cl.audit(slog.LevelWarn, "back-channel logout rejected", audit.Event{Kind: audit.LogoutRejected, Channel: "backchannel", Reason: "replayed_jti"})
		reject(http.StatusBadRequest, "invalid_request", "the logout token was already used")
		return
	}
	n, err := cl.endSessions(r, lt.Issuer, lt.SID, lt.Subject)
	if err != nil {
		cl.failErr(w, r, storeErr(err))
		return
	}
	cl.audit(slog.LevelInfo, "back-channel logout", audit.Event{Kind: audit.Logout, Channel: "backchannel"}, slog.String("sub", lt.Subject), slog.Int("sessions", n))
	noteSub(w, lt.Subject)
	noteOutcome(w, OutcomeLogout)
	w.WriteHeader(http.StatusOK)
}

// endSessions ends the sessions of an OP session (sid) or, without one, of a subject.
func (cl *channelLogout) endSessions(r *http.Request, iss, sid, sub string) (int, error) {
	if sid != "" {
		return cl.sessions.EndBySID(r.Context(), iss, sid)
	}
	return cl.sessions.EndBySubject(r.Context(), iss, sub)
}

// unverifiedAudience returns a JWT's aud claim without verifying anything;
// nil when it cannot be read (the gateway's own client then refuses the
// token).
func unverifiedAudience(raw string) []string {
	tok, err := jwt.ParseSigned(raw, logoutTokenAlgs)
	if err != nil {
		return nil
	}
	var c jwt.Claims
	if tok.UnsafeClaimsWithoutVerification(&c) != nil {
		return nil
	}
	return c.Audience
}

// logoutTokenAlgs are the algorithms unverifiedAudience reads tokens of:
// the asymmetric ones an AS signs with (the verification that follows
// applies the AS's own allowlist).
var logoutTokenAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(vocab.AsymmetricAlgs))
	for i, n := range vocab.AsymmetricAlgs {
		out[i] = jose.SignatureAlgorithm(n)
	}
	return out
}()

// handleFrontchannelLogout ends the sessions of an OP session:
// GET /oauth2/frontchannel_logout?iss=...&sid=... (OpenID Connect
// Front-Channel Logout 1.0 §2), rendered in an iframe by the AS. Without
// iss and sid the browser's own session (if its cookie is sent) is ended.
func (cl *channelLogout) handleFrontchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	iss, sid := q.Get("iss"), q.Get("sid")
	switch {
	case iss != "" && sid != "":
		if iss != cl.login.Issuer() {
			cl.fail(w, r, &httpError{Status: http.StatusBadRequest, Code: "issuer_mismatch", Title: "Logout not accepted", Detail: "The logout request names another issuer."})
			return
		}
		n, err := cl.endSessions(r, iss, sid, "")
		if err != nil {
			cl.failErr(w, r, storeErr(err))
			return
		}
		cl.audit(slog.LevelInfo, "front-channel logout", audit.Event{Kind: audit.Logout, Channel: "frontchannel"}, slog.Int("sessions", n))
	default: // no iss and sid (optional in §2): the browser's own session
		n := 0
		if t := cl.sessions.TicketFromRequest(r); t != "" {
			if s, err := cl.sessions.Load(r.Context(), t); err == nil {
				if err := cl.sessions.Delete(r.Context(), s); err != nil {
					cl.failErr(w, r, storeErr(err))
					return
				}
				n = 1
			}
		}
		cl.sessions.ClearCookies(w, r)
		cl.audit(slog.LevelInfo, "front-channel logout", audit.Event{Kind: audit.Logout, Channel: "frontchannel"}, slog.Int("sessions", n))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Logged out</title>\n"))
}
