package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/lru"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// errSessionEnded is returned when a session cannot continue (refresh refused).
var errSessionEnded = errors.New("proxy: session ended")

// gate decides who may pass: it picks the route of a canonical request,
// authenticates the user (a session, refreshed when needed; an access token
// of the AS; HTTP Basic credentials for the password grant) and applies the
// authorization rules.
type gate struct {
	base
	router        *upstream.Router
	routes        []*route // every route, in the order of Options.Routes
	fallback      *route   // the policy of forward-auth requests no route matches
	sessions      *session.Manager
	claims        identity.Mapping
	refreshBefore time.Duration
	clients       *clientSet
	bearer        *bearerAuth
	limitObs      LimitObserver
	sso           *sso     // sends browsers to log in
	rest          *restAPI // nil when the REST flow API is disabled
	// derived holds the identity derived from each cached version of a
	// session (sessionIdentity).
	derived *lru.Cache[sessionVersion, *forward]
	// proofs checks the DPoP proofs of sessions bound to a key (restdpop.go).
	proofs *proofChecker
	// passIDToken is whether some route sends the session's ID token
	// upstream (Route.PassIDToken). Only then do the derived identities
	// keep it: an ID token is often 1 KB or more, and derived holds an
	// entry for each of up to derivedCacheSize sessions.
	passIDToken bool
}

// sessionVersion names one version of a session (session.Session.Version).
type sessionVersion struct {
	id      string
	version uint64
}

// derivedCacheSize bounds the identities kept for cached session versions;
// a version that lost its entry only costs deriving the identity again.
const derivedCacheSize = 10000

// verdict is what the gate decided for a request allowed to pass.
type verdict struct {
	route *upstream.Route // nil for the fallback policy
	pol   *route
	// fwd is who the user is; nil when the request passes without
	// authentication (a public route or a skip_auth path).
	fwd *forward
	// bearer is set when the user was authenticated by an AS access token.
	bearer bool
	// sub is the authenticated user's subject, also when a rule denied
	// access (for the access log).
	sub string
	// sess is the session the request was authenticated with, if any: with
	// the cookie store, a refresh or recorded activity rewrites its cookies
	// on the response (writeSession).
	sess *session.Session
}

// denial is the error of a request an authorization rule refuses.
type denial struct {
	rule   string
	bearer bool
	// user names who is signed in (e-mail address, else subject) when the
	// request came with a session; "" otherwise.
	user string
}

func (d *denial) Error() string { return "proxy: access denied by " + d.rule }

// handleGate decides whether a request may pass to its upstream.
func (g *gate) handleGate(w http.ResponseWriter, r *http.Request) {
	var v verdict
	gr, err := canonicalRequest(r.Method, r.Host, r.URL.EscapedPath())
	if err == nil {
		err = g.traceDecide(r, &gr, &v)
	}
	noteRequest(w, &v, true, err)
	g.writeSession(w, r, &v)
	if err != nil {
		g.refuse(w, r, &v, err)
		return
	}
	r.Host = gr.hostport // what the upstream sees as X-Forwarded-Host
	if v.fwd == nil {
		v.route.ServeHTTP(w, r)
		return
	}
	ctx := context.WithValue(r.Context(), forwardKey{}, v.fwd)
	v.route.ServeHTTP(w, r.WithContext(ctx))
}

// decide is the gate, for proxied and forward-auth requests alike: it picks
// the route for the canonical host and every reading of the path (see
// canon.Path and upstream.Router.Match), applies public and skip_auth,
// authenticates (session, refreshed when needed, or bearer token), and
// applies the authorization rules. A request whose readings fall into
// different routes is refused, and so is a forward-auth request whose
// original path is unknown when the host's rules depend on the path. It
// fills in v (the caller's, so that it needs no allocation) as far as it
// got: the route (or the fallback) is set whenever one was chosen, also
// with an error.
func (g *gate) decide(r *http.Request, gr *gateRequest, v *verdict) error {
	*v = verdict{pol: g.fallback}
	if gr.hasPath {
		readings := gr.path.Readings()
		route, ok := g.router.Match(gr.host, readings[0])
		for _, p := range readings[1:] {
			if !ok {
				break
			}
			var other *upstream.Route
			other, ok = g.router.Match(gr.host, p)
			ok = ok && other == route
		}
		if !ok {
			g.audit(slog.LevelInfo, "request refused: ambiguous path", audit.Event{Kind: audit.AccessDenied}, slog.String("rule", "path"), slog.String("path", gr.path.Clean))
			return errInvalidPath
		}
		v.route = route
	} else if gr.forwardAuth {
		route, err := g.routeWithoutPath(gr.host)
		if err != nil {
			return err
		}
		v.route = route
	}
	switch {
	case v.route != nil:
		v.pol = v.route.Data.(*route)
	case !gr.forwardAuth:
		return errNotFound
	}
	if v.pol.Auth == AuthPublic || (gr.hasPath && v.pol.policy.SkipAuth(gr.method, &gr.path)) {
		return nil
	}
	if v.route != nil && v.route.Host != "" && !gr.forwardAuth && g.proofs != nil && r.Header.Get("DPoP") != "" {
		r = g.proofs.atHost(r, gr.hostport) // restdpop.go
	}
	fwd, claims, err := g.authenticate(r, v)
	if err != nil {
		return err
	}
	v.sub = fwd.id.Subject
	d := v.pol.policy.Decide(gr.method, authz.Subject{
		Email: fwd.id.Email, EmailVerified: fwd.id.EmailVerified, Groups: fwd.id.Groups, Claims: claims,
	})
	if !d.Allowed() {
		g.audit(slog.LevelInfo, "access denied", audit.Event{Kind: audit.AccessDenied, Route: v.pol.Name}, slog.String("sub", fwd.id.Subject),
			slog.String("rule", d.Rule), slog.String("method", gr.method), slog.String("path", gr.path.Clean), slog.String("credential", credentialKind(v.bearer)))
		dn := &denial{rule: d.Rule, bearer: v.bearer}
		if !v.bearer && v.pol.Auth != AuthPasswordGrant {
			dn.user = cmp.Or(fwd.id.Email, fwd.id.Subject)
		}
		return dn
	}
	v.fwd = fwd
	return nil
}

func credentialKind(bearer bool) string {
	if bearer {
		return "bearer"
	}
	return "session"
}

// authenticate establishes who makes the request, as the route's auth mode
// allows: a session (AuthSession), an access token of the AS (AuthBearer),
// or either (AuthSessionOrBearer), where an "Authorization: Bearer" value
// that is a session ticket is a session. It returns the identity and the
// verified claims the rules look at.
func (g *gate) authenticate(r *http.Request, v *verdict) (*forward, map[string]any, error) {
	mode := v.pol.Auth
	if mode == AuthSession {
		return g.sessionIdentity(v.keep(g.currentSession(r)))
	}
	if mode == AuthPasswordGrant { // password.go
		return g.passwordIdentity(r, v.pol)
	}
	tok, err := bearerCredential(r)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case tok == "" && mode == AuthBearer:
		return nil, nil, errNoToken
	case tok == "":
		return g.sessionIdentity(v.keep(g.currentSession(r)))
	case g.sessions.IsTicket(tok):
		if mode == AuthBearer { // never sent to the AS: it is the gateway's own credential
			return nil, nil, fmt.Errorf("%w: a session token on a bearer-only route", errBadToken)
		}
		return g.sessionIdentity(v.keep(g.loadSession(r, tok)))
	}
	v.bearer = true
	return g.bearer.tokenIdentity(r.Context(), tok)
}

// keep notes the session a request was authenticated with.
func (v *verdict) keep(s *session.Session, err error) (*session.Session, error) {
	v.sess = s
	return s, err
}

// writeSession writes the session's cookies on the response when it was
// saved during the request (the cookie store: a refresh, recorded activity,
// a reseal under the current secret), whether the request then passes or
// not: the refreshed tokens must reach the browser either way. Set-Cookie
// is set before the upstream's response headers are copied in.
func (g *gate) writeSession(w http.ResponseWriter, r *http.Request, v *verdict) {
	if v.sess != nil {
		g.sessions.WriteSession(w, r, v.sess)
	}
}

// passesIDToken reports whether some route sends the ID token upstream.
func passesIDToken(routes []*route) bool {
	return slices.ContainsFunc(routes, func(rt *route) bool { return rt.PassIDToken != "" })
}

// sessionIdentity returns the identity of a loaded session. It is derived
// from the claims once per cached version of the session (see
// session.Session.Version), not on every request.
func (g *gate) sessionIdentity(s *session.Session, err error) (*forward, map[string]any, error) {
	if err != nil {
		return nil, nil, err
	}
	key := sessionVersion{s.ID, s.Version()}
	if key.version != 0 {
		if fwd, ok := g.derived.Get(key, time.Time{}); ok {
			return fwd, s.Claims, nil
		}
	}
	id, err := identity.FromClaims(s.Claims, g.claims)
	if err != nil { // a stored session always has a subject; treat damage as logged out
		return nil, nil, errSessionEnded
	}
	fwd := newForward(id, s.AccessToken)
	if g.passIDToken {
		fwd.idToken = s.IDToken
	}
	fwd.dpopKey = sessionKey(s)
	if key.version != 0 {
		g.derived.Add(key, fwd, time.Time{})
	}
	return fwd, s.Claims, nil
}

// refuse answers a request the gate did not let pass.
func (g *gate) refuse(w http.ResponseWriter, r *http.Request, v *verdict, err error) {
	var d *denial
	switch {
	case errors.As(err, &d):
		g.fail(w, r, forbidden(d, startURL(r.URL.RequestURI(), promptSelectAccount)))
	case isUnauthenticated(err):
		if v.pol.Auth == AuthBearer {
			g.fail(w, r, errNoToken)
			return
		}
		g.unauthenticated(w, r)
	default:
		g.failErr(w, r, g.bearer.credentialErr(err))
	}
}

// isUnauthenticated reports whether err means "no valid credentials were
// presented": no session, an ended session, or no bearer token where one
// is required. An invalid bearer token is not: it gets its own 401.
func isUnauthenticated(err error) bool {
	return errors.Is(err, session.ErrNotFound) || errors.Is(err, errSessionEnded) || errors.Is(err, errNoToken)
}

// forbidden returns the 403 page for a denial. A user with a session is
// named, and offered sign-out and switchAccount (a login with
// prompt=select_account that returns to the page refused).
func forbidden(d *denial, switchAccount string) *httpError {
	pe := &httpError{Status: http.StatusForbidden, Code: "forbidden", Title: "Access denied", User: d.user}
	if d.user != "" {
		pe.SwitchAccount = switchAccount
	}
	rule, _, _ := strings.Cut(d.rule, ".")
	switch rule {
	case authz.RuleMethods:
		pe.Detail = "This request method is not allowed here."
	case authz.RuleEmailVerified:
		pe.Detail = "Your e-mail address is not verified at the sign-in service, so it cannot be used to grant access."
	case authz.RuleEmail, authz.RuleAllowedEmails, authz.RuleAllowedEmailDomains:
		pe.Detail = "You are signed in, but your e-mail address is not allowed to use this application."
	case authz.RuleAllowedGroups:
		pe.Detail = "You are signed in, but you are not in a group allowed to use this application."
	default:
		pe.Detail = "You are signed in, but your account lacks an attribute this application requires."
	}
	if d.bearer {
		pe.Challenge = `Bearer realm="gatehouse", error="insufficient_scope"`
	}
	return pe
}

// errLoginForbidden refuses a login that no authorization rules admit.
var errLoginForbidden = &httpError{Status: http.StatusForbidden, Code: "forbidden", Title: "Access denied",
	Detail: "You signed in, but your account is not allowed to use any application behind this gateway."}

// loginAllowed applies the authorization rules at login, before a session
// is created: a user whom neither the default rules nor any route's rules
// (methods aside) admit gets no session.
func (g *gate) loginAllowed(claims map[string]any) error {
	id, err := identity.FromClaims(claims, g.claims)
	if err != nil {
		return nil // createSessionFor reports it
	}
	s := authz.Subject{Email: id.Email, EmailVerified: id.EmailVerified, Groups: id.Groups, Claims: claims}
	d := g.fallback.policy.DecideUser(s)
	if d.Allowed() {
		return nil
	}
	for _, rt := range g.routes {
		if rt.Auth != AuthPublic && rt.Auth != AuthBearer && rt.policy.DecideUser(s).Allowed() {
			return nil
		}
	}
	g.audit(slog.LevelInfo, "login refused by the authorization rules", audit.Event{Kind: audit.AccessDenied, Route: "login"}, slog.String("sub", id.Subject), slog.String("rule", d.Rule))
	return errLoginForbidden
}

// currentSession loads the request's session and keeps it fresh: the access
// token is refreshed when it is about to expire, and activity is recorded for
// the idle timeout.
func (g *gate) currentSession(r *http.Request) (*session.Session, error) {
	return g.loadSession(r, g.sessions.TicketFromRequest(r))
}

// loadSession loads the session of ticket, which r presents, checks the
// proof of possession a session bound to a key needs (restdpop.go), and
// keeps it fresh, as currentSession does.
func (g *gate) loadSession(r *http.Request, ticket string) (*session.Session, error) {
	ctx := r.Context()
	if ticket == "" {
		return nil, session.ErrNotFound
	}
	s, err := g.sessions.Load(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if g.proofs != nil {
		if err := g.proofs.checkSessionProof(r, ticket, s); err != nil {
			return nil, err
		}
	}
	if s, err = g.ensureFresh(ctx, s); err != nil {
		return nil, err
	}
	if err := g.sessions.Touch(ctx, s); err != nil {
		g.logger.Warn("session touch failed", "error", err)
	}
	return s, nil
}

// unauthenticated sends a browser to log in and returns the original URL
// afterwards; API clients get 401 with a JSON body and WWW-Authenticate.
func (g *gate) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if !wantsHTML(r) {
		if g.rest != nil { // the REST flow API's document: next step and where to start
			g.rest.restUnauthorized(w, r)
			return
		}
		g.fail(w, r, errUnauthorized)
		return
	}
	if err := g.sso.startLogin(w, r, r.URL.RequestURI()); err != nil {
		g.failErr(w, r, err)
	}
}
