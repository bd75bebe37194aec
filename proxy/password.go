package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/grants"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// basicChallenge asks for HTTP Basic credentials (RFC 7617).
const basicChallenge = `Basic realm="gatehouse", charset="UTF-8"`

// The answers of a route with AuthPasswordGrant. None says whether the user
// name exists.
var (
	errBasicRequired = &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Title: "Sign-in required",
		Detail: "This resource requires a user name and password (HTTP Basic).", Challenge: basicChallenge}
	errBasicRejected = &httpError{Status: http.StatusUnauthorized, Code: "invalid_credentials", Title: "Sign-in failed",
		Detail: "The user name or password is wrong.", Challenge: basicChallenge}
	errBasicRateLimited = &httpError{Status: http.StatusTooManyRequests, Code: "too_many_failed_logins", Title: "Too many failed sign-ins",
		Detail: "Too many wrong passwords were given for this user name. Please try again later."}
)

// passwordIdentity authenticates a request to a route with
// AuthPasswordGrant: its HTTP Basic credentials go to the AS with the
// resource owner password grant (RFC 6749 §4.3; see grants.Password for the
// cache and the rate limit), and the identity is what the AS vouches for.
// The password is never logged, stored, or forwarded to the upstream.
func (g *gate) passwordIdentity(r *http.Request, pol *route) (*forward, map[string]any, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || len(r.Header.Values("Authorization")) != 1 {
		return nil, nil, errBasicRequired
	}
	res, err := pol.tokens.password.Login(r.Context(), user, pass)
	switch {
	case err == nil:
	case errors.Is(err, grants.ErrRateLimited):
		observeLimit(g.limitObs, LimitPasswordAttempts)
		g.audit(slog.LevelWarn, "password grant refused", audit.Event{Kind: audit.LoginFailed, Reason: "rate_limited", Route: pol.Name}, slog.String("user", user))
		pe := *errBasicRateLimited
		if rl, ok := errors.AsType[*grants.RateLimitError](err); ok {
			pe.RetryAfter = rl.RetryAfter
		}
		return nil, nil, &pe
	case errors.Is(err, grants.ErrInvalidCredentials):
		g.audit(slog.LevelInfo, "password grant refused", audit.Event{Kind: audit.LoginFailed, Reason: "invalid_credentials", Route: pol.Name}, slog.String("user", user))
		return nil, nil, errBasicRejected
	case errors.Is(err, login.ErrNotReady):
		return nil, nil, fmt.Errorf("%w: %w", errProviderDown, err)
	default:
		return nil, nil, fmt.Errorf("%w: password grant: %w", errProviderFailed, err)
	}
	id, err := identity.FromClaims(res.Claims, g.claims)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: password grant: %w", errProviderFailed, err)
	}
	return newForward(id, res.AccessToken), res.Claims, nil
}
