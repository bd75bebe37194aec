package proxy

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// refreshTimeout bounds one refresh at the AS, independent of the request
// that triggered it (other requests may be waiting on the same refresh).
const refreshTimeout = 15 * time.Second

// ensureFresh returns s with an access token that is valid for at least
// RefreshBefore, refreshing it when needed. Refreshes of one session are
// single-flight within this process; waiting follows ctx.
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
	ch := g.refreshes.DoChan(s.ID, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return g.refresh(rctx, s)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return g.refreshFailed(s, res.Err)
		}
		return res.Val.(*session.Session), nil
	}
}

func (g *gate) needsRefresh(s *session.Session) bool {
	return s.AccessExpiry != 0 && time.Unix(s.AccessExpiry, 0).Sub(g.now()) < g.refreshBefore
}

// refreshLockTTL bounds how long one replica may hold a session's refresh
// lock; a waiter on another replica gives up waiting after it.
const refreshLockTTL = refreshTimeout + 5*time.Second

// errRefreshBusy: another replica kept the refresh lock and no fresh tokens appeared.
var errRefreshBusy = errors.New("proxy: refresh lock busy")

// refresh refreshes s exactly once across all replicas. Without a Locker it
// is single-flight within this process only. With one, the replica that
// takes the lock refreshes and announces it; the others wait for the
// announcement (or the lock's expiry) and re-read the session.
func (g *gate) refresh(ctx context.Context, s *session.Session) (*session.Session, error) {
	if g.locker == nil {
		return g.refreshHeld(ctx, s)
	}
	for range 2 {
		woken, cancel := g.waiters.add(s.ID)
		unlock, ok, err := g.locker.TryLock(ctx, "l:"+s.ID, refreshLockTTL)
		if err != nil {
			cancel()
			return nil, err
		}
		if ok {
			cancel()
			cur, err := g.refreshHeld(ctx, s)
			if err == nil || errors.Is(err, errSessionEnded) {
				g.announceRefresh(ctx, s.ID)
			}
			if uerr := unlock(context.WithoutCancel(ctx)); uerr != nil {
				g.logger.Warn("refresh lock release failed", "error", uerr)
			}
			return cur, err
		}
		t := time.NewTimer(refreshLockTTL)
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cur, err := g.sessions.Reload(ctx, s)
		if err != nil {
			if errors.Is(err, session.ErrNotFound) {
				return nil, errSessionEnded
			}
			return nil, err
		}
		if !g.needsRefresh(cur) {
			return cur, nil
		}
	}
	return nil, errRefreshBusy
}

func (g *gate) announceRefresh(ctx context.Context, id string) {
	if g.notifier == nil {
		return
	}
	if err := g.notifier.Publish(context.WithoutCancel(ctx), refreshedPrefix+id); err != nil {
		g.logger.Warn("refresh announcement failed", "error", err)
	}
}

// refreshHeld re-reads the session (another request may have refreshed it
// meanwhile), then uses the refresh token and stores the result. The caller
// holds the refresh lock.
func (g *gate) refreshHeld(ctx context.Context, s *session.Session) (*session.Session, error) {
	cur, err := g.sessions.Reload(ctx, s)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) {
			return nil, errSessionEnded
		}
		return nil, err
	}
	if !g.needsRefresh(cur) {
		return cur, nil
	}
	res, err := g.clients.loginFor(cur).Refresh(ctx, cur.RefreshToken, cur.Issuer, cur.Subject)
	if err != nil {
		if errors.Is(err, login.ErrInvalidGrant) || errors.Is(err, login.ErrRefused) || errors.Is(err, login.ErrIDToken) {
			g.logger.Info("session ended: refresh refused", "event", "refresh_failed", "sub", cur.Subject, "reason", reasonOf(err))
			if derr := g.sessions.Delete(ctx, cur); derr != nil {
				g.logger.Warn("session delete failed", "error", derr)
			}
			return nil, errSessionEnded
		}
		return nil, err
	}
	cur.AccessToken, cur.RefreshToken = res.AccessToken, res.RefreshToken
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
	if err := g.sessions.Save(ctx, cur); err != nil {
		return nil, err
	}
	g.logger.Info("access token refreshed", "event", "refresh", "sub", cur.Subject)
	return cur, nil
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
	g.logger.Warn("refresh failed; keeping the session", "event", "refresh_failed", "sub", s.Subject, "reason", reasonOf(err), "error", err)
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
	case errors.Is(err, errRefreshBusy):
		return "lock_busy"
	default:
		return "token_endpoint"
	}
}
