// Package proxy is the http.Handler users hit: the SSO step's endpoints
// under /oauth2/, the gate that decides who may pass, identity propagation to
// the upstream, health endpoints and error pages.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Auth modes of a route.
const (
	// AuthSession requires a session; browsers are sent to log in.
	AuthSession = vocab.AuthSession
	// AuthPublic lets everyone through (identity headers are still stripped).
	AuthPublic = vocab.AuthPublic
	// AuthBearer requires an access token of the AS ("Authorization:
	// Bearer", RFC 6750); sessions are not accepted.
	AuthBearer = vocab.AuthBearer
	// AuthSessionOrBearer accepts a session (cookie, or session ticket as
	// bearer token) or an access token of the AS.
	AuthSessionOrBearer = vocab.AuthSessionOrBearer
	// AuthPasswordGrant requires HTTP Basic credentials, exchanged at the AS
	// with the resource owner password grant (password.go).
	AuthPasswordGrant = vocab.AuthPasswordGrant
)

// Route is an upstream and the policy the gate applies to it.
type Route struct {
	Name       string
	Host       string
	PathPrefix string
	// CaseSensitivePaths says the upstream tells "/Admin" from "/admin"
	// (see upstream.Route).
	CaseSensitivePaths bool
	Target             *url.URL
	// Auth is AuthSession (default), AuthPublic, AuthBearer,
	// AuthSessionOrBearer or AuthPasswordGrant.
	Auth string
	// Rules are the route's authorization rules (effective: any global
	// default already merged in).
	Rules authz.Rules
	// PassAccessToken sets X-Forwarded-Access-Token.
	PassAccessToken bool
	// PassAuthorization sets "Authorization: Bearer <access token>".
	PassAuthorization bool
	// PreserveHost forwards the client's Host header.
	PreserveHost bool
	// Transport configures the connection pool to the upstream: response
	// header timeout (504 when it passes), idle keep-alive timeout.
	Transport upstream.TransportOptions
	// BodyReadTimeout, when positive, bounds the time to read a proxied
	// request body (408 when it passes); zero means no limit.
	BodyReadTimeout time.Duration
	// UpstreamToken is the token the upstream receives (grants.go):
	// UpstreamTokenUser (or ""), UpstreamTokenClientCredentials,
	// UpstreamTokenExchange or UpstreamTokenNone.
	UpstreamToken string
	// TokenParams are requested with UpstreamToken's grant and, for
	// AuthPasswordGrant, with the password grant.
	TokenParams login.TokenParams

	policy *authz.Policy // Rules, compiled by New
	tokens routeTokens   // UpstreamToken's and AuthPasswordGrant's token sources, built by New
}

// Options configures a Gateway.
type Options struct {
	// PublicURL is where users reach the gateway; the callback is PublicURL + "/oauth2/callback".
	PublicURL *url.URL
	Login     *login.Client
	Sessions  *session.Manager
	Routes    []Route
	// Redirects validates return-to URLs.
	Redirects *redirect.Validator
	// Claims maps claims to identity headers.
	Claims identity.Mapping
	// TrustedProxies are the networks whose X-Forwarded-* headers are believed.
	TrustedProxies []netip.Prefix
	// RefreshBefore refreshes an access token this long before it expires (default 60s).
	RefreshBefore time.Duration
	// FlowTTL bounds a pending login (default 10m).
	FlowTTL time.Duration
	// FlowLimits bounds the pending logins anonymous clients can create
	// (flowlimit.go); the zero value is the defaults.
	FlowLimits FlowLimits
	// LimitObserver, when set, is told each time a limit acts (metrics).
	LimitObserver LimitObserver
	// Locker, when set, makes refreshes single-flight across replicas and
	// remembers back-channel logout token IDs (jti).
	Locker session.Locker
	// Notifier, when set, wakes requests waiting for another replica's refresh.
	Notifier session.Notifier
	// OutliveAccessToken keeps a session without a refresh token for its
	// whole lifetime; by default it ends when the access token expires.
	OutliveAccessToken bool
	// EndSessionAtAS enables RP-initiated logout: sign-out then redirects to
	// the AS's end_session_endpoint.
	EndSessionAtAS bool
	// PostLogoutRedirectURI is where the AS sends the browser after
	// RP-initiated logout (default PublicURL + "/"); register it at the AS.
	PostLogoutRedirectURI string
	// EndSessionBinding is how the RP-initiated logout request travels:
	// login.EndSessionPost (default, also for ""), login.EndSessionGet or
	// login.EndSessionGetWithoutHint.
	EndSessionBinding string
	// AccessLog writes one line per request (request ID, route, method, path,
	// status, duration, user); never a query string, cookie or token. Nil
	// disables it.
	AccessLog *accesslog.Logger
	// Observer, when set, records every request (metrics).
	Observer RequestObserver
	// REST configures the REST flow API for mobile and desktop apps
	// (restflow.go); the zero value disables it.
	REST RESTOptions
	// DefaultRules are the authorization rules of forward-auth requests for
	// which no route matches.
	DefaultRules authz.Rules
	// Bearer verifies the AS's access tokens; required when a route has
	// AuthBearer or AuthSessionOrBearer.
	Bearer *bearer.Verifier
	// StoreReady reports whether the session store answers (for /readyz).
	StoreReady func(ctx context.Context) error
	// Transport, when set, carries the requests to every upstream, whatever
	// the routes' Transport options (tests, benchmarks). By default each
	// distinct Route.Transport gets its own pool.
	Transport http.RoundTripper
	// WrapTransport, when set, wraps each upstream transport (metrics).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// BodyReadTimeout bounds the time to read the request body of the
	// gateway's own endpoints (back-channel logout, sign-out, the REST flow
	// API): 408 when it passes (default 10s; negative: no limit). Their
	// bodies are also limited to MaxBodyBytes (413).
	BodyReadTimeout time.Duration
	Logger          *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Gateway is the gateway's HTTP handler.
type Gateway struct {
	opts        Options
	logger      *slog.Logger
	now         func() time.Time
	callbackURL string
	secure      bool
	bindingName string
	router      *upstream.Router
	handler     http.Handler
	refreshes   singleflight.Group
	waiters     waiters
	idPrefix    string
	idSeq       atomic.Uint64
	draining    chan struct{}
	rest        *restAPI // nil when the REST flow API is disabled
	access      accessControl
	// ownCookieBases are the gateway's cookie names without prefix, lower
	// case; setCookieWarned holds the routes warned about setting one.
	ownCookieBases  []string
	setCookieWarned sync.Map
	// signOutOrigins refuses cross-site sign-out POSTs (signout.go).
	signOutOrigins *http.CrossOriginProtection
	flows          *flowLimiter
}

// New returns a Gateway for opts.
func New(opts Options) (*Gateway, error) {
	if opts.PublicURL == nil || opts.Login == nil || opts.Sessions == nil || opts.Redirects == nil {
		return nil, errors.New("proxy: PublicURL, Login, Sessions and Redirects are required")
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = 60 * time.Second
	}
	if opts.EndSessionBinding != "" && !slices.Contains(login.EndSessionBindings, opts.EndSessionBinding) {
		return nil, fmt.Errorf("proxy: EndSessionBinding %q is not one of %v", opts.EndSessionBinding, login.EndSessionBindings)
	}
	if opts.FlowTTL <= 0 {
		opts.FlowTTL = 10 * time.Minute
	}
	if opts.BodyReadTimeout == 0 {
		opts.BodyReadTimeout = DefaultBodyReadTimeout
	}
	g := &Gateway{
		opts:        opts,
		logger:      opts.Logger,
		now:         opts.Now,
		callbackURL: opts.PublicURL.JoinPath("/oauth2/callback").String(),
		secure:      opts.PublicURL.Scheme == "https",
		bindingName: "gatehouse_csrf",
		draining:    make(chan struct{}),
		idPrefix:    newIDPrefix(),
		flows:       newFlowLimiter(opts.FlowLimits, opts.FlowTTL),
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.secure {
		g.bindingName = "__Host-" + g.bindingName
	}
	so, err := newSignOutOrigins(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	g.signOutOrigins = so
	g.ownCookieBases = []string{cookieBase(opts.Sessions.CookieName()), cookieBase(g.bindingName)}
	routes := make([]upstream.Route, len(opts.Routes))
	for i := range opts.Routes {
		rt := &opts.Routes[i]
		if rt.Auth == "" {
			rt.Auth = AuthSession
		}
		routes[i] = upstream.Route{
			Name: rt.Name, Host: rt.Host, PathPrefix: rt.PathPrefix, CaseSensitivePaths: rt.CaseSensitivePaths, Target: rt.Target,
			PreserveHost: rt.PreserveHost, Transport: rt.Transport, BodyReadTimeout: rt.BodyReadTimeout, Data: rt,
		}
	}
	router, err := upstream.New(upstream.Options{
		Routes:         routes,
		Rewrite:        g.rewrite,
		ModifyResponse: g.dropOwnSetCookies, // upstreamcookies.go
		Transport:      opts.Transport,
		WrapTransport:  grantTransport(opts.WrapTransport),
		ErrorHandler:   g.upstreamError,
		Logger:         g.logger,
	})
	if err != nil {
		return nil, err
	}
	g.router = router
	if err := g.initREST(); err != nil {
		return nil, err
	}
	if err := g.initAccess(); err != nil {
		return nil, err
	}
	if err := g.initGrants(); err != nil {
		return nil, err
	}
	g.handler = g.routes()
	return g, nil
}

// ServeHTTP strips every identity header the client sent, then routes; the
// request gets an ID and, when configured, an access log line and metrics.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	identity.StripHeaders(r.Header)
	g.observe(w, r, g.handler)
}

// Drain makes /readyz report unready, so load balancers stop sending new
// requests before shutdown.
func (g *Gateway) Drain() {
	select {
	case <-g.draining:
	default:
		close(g.draining)
	}
}

// forward is what the gate hands to the upstream rewrite step. It is
// shared by the requests of one cached session version and never modified.
type forward struct {
	id          identity.Identity
	headers     identity.Headers // id's header values
	accessToken string
}

func newForward(id identity.Identity, accessToken string) *forward {
	return &forward{id: id, headers: id.Headers(), accessToken: accessToken}
}

type forwardKey struct{}

// rewrite sets the outbound headers. It runs for every proxied request.
// The client's identity headers are already gone: ServeHTTP stripped them
// from the inbound request, whose headers Out's are a copy of.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest, route *upstream.Route) {
	g.stripOwnCookies(pr.Out)
	g.stripRESTCredentials(pr.Out)
	trusted := g.trusted(pr.In)
	setRoutingHeaders(pr, trusted) // upstreamheaders.go
	if xff := pr.In.Header["X-Forwarded-For"]; trusted && len(xff) > 0 {
		pr.Out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
	if trusted {
		for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := pr.In.Header.Get(h); v != "" {
				pr.Out.Header.Set(h, v)
			}
		}
	}
	pol := route.Data.(*Route)
	fwd, _ := pr.In.Context().Value(forwardKey{}).(*forward)
	g.setUpstreamToken(pr, pol, fwd) // grants.go
	if fwd == nil {
		return
	}
	fwd.headers.Set(pr.Out.Header)
	if pol.PassAccessToken && fwd.accessToken != "" {
		pr.Out.Header.Set(identity.HeaderAccessToken, fwd.accessToken)
	}
	if pol.PassAuthorization && fwd.accessToken != "" {
		pr.Out.Header.Set("Authorization", "Bearer "+fwd.accessToken)
	}
}

// trusted reports whether r comes directly from a configured proxy.
func (g *Gateway) trusted(r *http.Request) bool {
	if len(g.opts.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range g.opts.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
