package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/session"
)

// errSessionEnded is returned when a session cannot continue (refresh refused).
var errSessionEnded = errors.New("proxy: session ended")

// handleGate decides whether a request may pass to its upstream.
func (g *Gateway) handleGate(w http.ResponseWriter, r *http.Request) {
	route := g.router.Match(r.Host, r.URL.Path)
	if route == nil {
		g.fail(w, r, errNotFound)
		return
	}
	pol := route.Data.(*Route)
	if pol.Auth == AuthPublic {
		route.ServeHTTP(w, r)
		return
	}
	s, err := g.currentSession(r)
	if err != nil {
		if errors.Is(err, session.ErrNotFound) || errors.Is(err, errSessionEnded) {
			g.unauthenticated(w, r)
			return
		}
		g.failErr(w, r, storeErr(err))
		return
	}
	id, err := identity.FromClaims(s.Claims, g.opts.Claims)
	if err != nil { // a stored session always has a subject; treat damage as logged out
		g.unauthenticated(w, r)
		return
	}
	ctx := context.WithValue(r.Context(), forwardKey{}, &forward{id: id, accessToken: s.AccessToken})
	route.ServeHTTP(w, r.WithContext(ctx))
}

// currentSession loads the request's session and keeps it fresh: the access
// token is refreshed when it is about to expire, and activity is recorded for
// the idle timeout.
func (g *Gateway) currentSession(r *http.Request) (*session.Session, error) {
	ticket := g.opts.Sessions.TicketFromRequest(r)
	if ticket == "" {
		return nil, session.ErrNotFound
	}
	ctx := r.Context()
	s, err := g.opts.Sessions.Load(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if s, err = g.ensureFresh(ctx, s); err != nil {
		return nil, err
	}
	if err := g.opts.Sessions.Touch(ctx, s); err != nil {
		g.logger.Warn("session touch failed", "error", err)
	}
	return s, nil
}

// unauthenticated sends a browser to log in and returns the original URL
// afterwards; API clients get 401 with a JSON body and WWW-Authenticate.
func (g *Gateway) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if !wantsHTML(r) {
		g.fail(w, r, errUnauthorized)
		return
	}
	if err := g.startLogin(w, r, r.URL.RequestURI()); err != nil {
		g.failErr(w, r, err)
	}
}

// stripOwnCookies removes the gateway's cookies from a request to an
// upstream: the session ticket is a credential the application never needs.
func (g *Gateway) stripOwnCookies(r *http.Request) {
	raw := r.Header.Get("Cookie")
	name := g.opts.Sessions.CookieName()
	if raw == "" || (!strings.Contains(raw, name) && !strings.Contains(raw, g.bindingName)) {
		return
	}
	var kept []string
	for _, c := range r.Cookies() {
		if c.Name != name && c.Name != g.bindingName {
			kept = append(kept, c.Name+"="+c.Value)
		}
	}
	r.Header.Del("Cookie")
	if len(kept) > 0 {
		r.Header.Set("Cookie", strings.Join(kept, "; "))
	}
}
