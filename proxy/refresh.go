package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// ensureFresh returns s with an access token that is valid for at least
// RefreshBefore, refreshing it when needed. The session package makes the
// refresh single-flight in this process and across replicas
// (session.Manager.Refresh); waiting follows ctx.
func (g *gate) ensureFresh(ctx context.Context, s *session.Session) (*session.Session, error) {
	if !g.needsRefresh(s) {
		return s, nil
	}
	if s.RefreshToken == "" {
		if g.now().Unix() >= s.AccessExpiry {
			return nil, errSessionEnded
		}
		return s, nil
	}
	cur, err := g.sessions.Refresh(ctx, s, g.needsRefresh, g.renew)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return g.refreshFailed(s, err)
	}
	return cur, nil
}

func (g *gate) needsRefresh(s *session.Session) bool {
	return s.AccessExpiry != 0 && time.Unix(s.AccessExpiry, 0).Sub(g.now()) < g.refreshBefore
}

// renew uses cur's refresh token at the AS and puts the new tokens in cur
// (session.Manager.Refresh saves it). A refusal ends the session: it is
// deleted, and the error wraps session.ErrNotFound.
func (g *gate) renew(ctx context.Context, cur *session.Session) error {
	res, err := g.clients.loginFor(cur).Refresh(ctx, cur.RefreshToken, cur.Issuer, cur.Subject, sessionKeyOption(cur)...)
	if err != nil {
		if errors.Is(err, login.ErrInvalidGrant) || errors.Is(err, login.ErrRefused) || errors.Is(err, login.ErrIDToken) {
			g.audit(slog.LevelInfo, "session ended: refresh refused", audit.Event{Kind: audit.RefreshFailed, Reason: reasonOf(err)}, slog.String("sub", cur.Subject))
			if derr := g.sessions.Delete(ctx, cur); derr != nil {
				g.logger.Warn("session delete failed", "error", derr)
			}
			return fmt.Errorf("%w: refresh refused: %w", session.ErrNotFound, err)
		}
		return err
	}
	cur.AccessToken, cur.RefreshToken = res.AccessToken, res.RefreshToken
	if err := bindSession(cur, res); err != nil {
		return err
	}
	cur.AccessExpiry = 0
	if !res.Expiry.IsZero() {
		cur.AccessExpiry = res.Expiry.Unix()
	}
	if res.IDToken != "" {
		cur.IDToken, cur.Claims = res.IDToken, keptClaims(res.Claims)
		if res.SID != "" {
			cur.SID = res.SID
		}
	}
	g.audit(slog.LevelInfo, "access token refreshed", audit.Event{Kind: audit.Refresh}, slog.String("sub", cur.Subject))
	return nil
}

// errRefreshUnavailable: the access token has expired and the AS cannot
// renew it for now (unreachable, timing out, 5xx). The session is kept.
var errRefreshUnavailable = &httpError{Status: http.StatusServiceUnavailable, Code: "provider_unavailable",
	Title: "Sign-in service unavailable", RetryAfter: providerRetryAfter,
	Detail: "The sign-in service cannot renew your session right now. You stay signed in; please try again in a moment."}

// refreshFailed decides what a failed refresh means for the request: an
// ended session logs out; a transient failure keeps the session and serves
// the request while the current access token is still valid, and answers
// 503 with Retry-After once it has expired.
func (g *gate) refreshFailed(s *session.Session, err error) (*session.Session, error) {
	if errors.Is(err, errSessionEnded) || errors.Is(err, session.ErrNotFound) {
		return nil, errSessionEnded
	}
	if errors.Is(err, session.ErrUnavailable) {
		return nil, err
	}
	g.audit(slog.LevelWarn, "refresh failed; keeping the session", audit.Event{Kind: audit.RefreshFailed, Reason: reasonOf(err)}, slog.String("sub", s.Subject), slog.Any("error", err))
	if g.now().Unix() < s.AccessExpiry {
		return s, nil
	}
	return nil, errRefreshUnavailable
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, login.ErrInvalidGrant):
		return "invalid_grant"
	case errors.Is(err, login.ErrRefused):
		return "refused"
	case errors.Is(err, login.ErrIDToken):
		return "id_token_invalid"
	case errors.Is(err, login.ErrNotReady):
		return "provider_not_ready"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, session.ErrRefreshBusy):
		return "lock_busy"
	default:
		return "token_endpoint"
	}
}
