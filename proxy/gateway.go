// Package proxy is the http.Handler users hit: the SSO step's endpoints
// under /oauth2/, the gate that decides who may pass, identity propagation to
// the upstream, health endpoints and error pages.
package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/lru"
	"github.com/gatehouse-dev/gatehouse/internal/ui"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Gateway is the gateway's HTTP handler. Its work is shared out by job, each
// part given only what it needs, and wired in routes.go: the gate (who may
// pass), sso (login and sign-out), forwardAuth, channelLogout, the REST flow
// API, and relay (the upstream side of proxied requests).
type Gateway struct {
	opts     Options // with defaults applied; its Routes are not read after New
	logger   *slog.Logger
	proxies  trustedProxies
	handler  http.Handler
	idPrefix string
	idSeq    atomic.Uint64
	draining chan struct{}
	tracer   trace.Tracer // nil: tracing is off

	gate        *gate
	sso         *sso
	forwardAuth *forwardAuth
	logout      *channelLogout
	rest        *restAPI // nil when the REST flow API is disabled
	relay       *relay
}

// New returns a Gateway for opts. It does not modify opts (nor the Routes
// it refers to): what it compiles, it compiles into its own copies.
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Pages == nil {
		opts.Pages = ui.Default()
	}
	opts.Routes = slices.Clone(opts.Routes)
	b := base{logger: opts.Logger, events: opts.Events, now: opts.Now, tracer: opts.Tracer, pages: opts.Pages}
	secure := opts.PublicURL.Scheme == "https"
	bindingName := "gatehouse_csrf"
	if secure {
		bindingName = "__Host-" + bindingName
	}
	signOutOrigins, err := newSignOutOrigins(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		opts:     opts,
		logger:   opts.Logger,
		proxies:  trustedProxies(opts.TrustedProxies),
		draining: make(chan struct{}),
		idPrefix: newIDPrefix(),
		tracer:   opts.Tracer,
	}
	clients := &clientSet{def: opts.Login}
	rest, err := newRESTAPI(opts.REST, opts.Routes, opts.Login, opts.PublicURL, secure)
	if err != nil {
		return nil, err
	}
	if rest != nil {
		clients.byID = rest.clientsByID
	}
	routes, fallback, err := compileRoutes(opts.Routes, opts.DefaultRules, opts.Bearer,
		tokenSources{login: opts.Login, refreshBefore: opts.RefreshBefore, logger: opts.Logger, now: opts.Now})
	if err != nil {
		return nil, err
	}
	if err := checkAssertionRoutes(routes, opts.Assertions); err != nil { // upstreamidentity.go
		return nil, err
	}
	g.relay = &relay{
		base:             b,
		assertions:       opts.Assertions,
		assertionHeaders: assertionHeaders(routes), // upstreamidentity.go
		sessions:         opts.Sessions,
		proxies:          g.proxies,
		bindingName:      bindingName,
		ownCookieBases:   []string{cookieBase(opts.Sessions.CookieName()), cookieBase(bindingName)},
	}
	if rest != nil {
		g.relay.flowCookie = rest.flowCookie
	}
	upRoutes := make([]upstream.Route, len(routes))
	for i, rt := range routes {
		upRoutes[i] = upstream.Route{
			Name: rt.Name, Host: rt.Host, PathPrefix: rt.PathPrefix, CaseSensitivePaths: rt.CaseSensitivePaths, Target: rt.Target,
			PreserveHost: rt.PreserveHost, StripPrefix: rt.StripPrefix, Transport: rt.Transport, BodyReadTimeout: rt.BodyReadTimeout, Data: rt,
		}
	}
	router, err := upstream.New(upstream.Options{
		Routes:         upRoutes,
		Rewrite:        g.relay.rewrite,
		ModifyResponse: g.relay.dropOwnSetCookies, // upstreamcookies.go
		Transport:      opts.Transport,
		WrapTransport:  grantTransport(traceUpstreams(opts.Tracer, opts.WrapTransport)),
		ErrorHandler:   g.relay.upstreamError,
		Logger:         opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	limit := &flowGuard{
		base:     b,
		flows:    newFlowLimiter(opts.FlowLimits, opts.FlowTTL),
		proxies:  g.proxies,
		observer: opts.LimitObserver,
		sessions: opts.Sessions,
	}
	g.gate = &gate{
		base:          b,
		router:        router,
		routes:        routes,
		fallback:      fallback,
		sessions:      opts.Sessions,
		claims:        opts.Claims,
		refreshBefore: opts.RefreshBefore,
		clients:       clients,
		bearer:        &bearerAuth{base: b, verifier: opts.Bearer, claims: opts.Claims},
		limitObs:      opts.LimitObserver,
		rest:          rest,
		derived:       lru.New[sessionVersion, *forward](derivedCacheSize),
		proofs:        newProofChecker(opts.Sessions, opts.PublicURL.String(), b.now),
		passIDToken:   passesIDToken(routes),
	}
	g.sso = &sso{
		base:               b,
		login:              opts.Login,
		clients:            clients,
		sessions:           opts.Sessions,
		redirects:          opts.Redirects,
		returns:            &returnURLs{redirects: opts.Redirects, publicURL: opts.PublicURL, secure: secure, logger: b.logger},
		claims:             opts.Claims,
		gate:               g.gate,
		limit:              limit,
		publicURL:          opts.PublicURL,
		callbackURL:        opts.PublicURL.JoinPath("/oauth2/callback").String(),
		secure:             secure,
		bindingName:        bindingName,
		flowTTL:            opts.FlowTTL,
		outliveAccessToken: opts.OutliveAccessToken,
		endAtAS:            opts.EndSessionAtAS,
		endSessionBinding:  opts.EndSessionBinding,
		postLogoutRedirect: opts.PostLogoutRedirectURI,
		signOutOrigins:     signOutOrigins,
	}
	g.gate.sso = g.sso
	g.forwardAuth = &forwardAuth{base: b, gate: g.gate, sso: g.sso, publicURL: opts.PublicURL, proxies: g.proxies,
		queries: lru.New[string, *queryRules](queryRuleCacheSize), hostRules: slices.ContainsFunc(routes, func(rt *route) bool { return rt.Host != "" })}
	g.logout = &channelLogout{base: b, login: opts.Login, clients: clients, sessions: opts.Sessions}
	if rest != nil {
		rest.base = b
		rest.sessions, rest.claims = opts.Sessions, opts.Claims
		rest.gate, rest.sso, rest.limit, rest.clients = g.gate, g.sso, limit, clients
		rest.flows = &restFlows{base: b, sessions: opts.Sessions, apps: rest.apps, cookie: rest.flowCookie,
			secure: secure, maxAttempts: rest.maxAttempts}
	}
	g.rest = rest
	g.handler = g.routes()
	return g, nil
}

// ServeHTTP strips every identity header the client sent, then routes; the
// request gets an ID and, when configured, an access log line and metrics.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	identity.StripHeaders(r.Header)
	g.observe(w, r, g.handler, "", true)
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
	idToken     string // the session's ID token when a route passes it (gate.passIDToken); "" otherwise, and for a bearer or password identity
	assertions  assertionCache
	dpopKey     *login.DPoPKey // the key accessToken is bound to; nil for a bearer token
}

func newForward(id identity.Identity, accessToken string) *forward {
	return &forward{id: id, headers: id.Headers(), accessToken: accessToken}
}

type forwardKey struct{}

// relay prepares proxied requests and responses: it sets the identity and
// token headers, strips the gateway's own credentials, and answers upstream
// failures.
type relay struct {
	base
	sessions    *session.Manager
	proxies     trustedProxies
	bindingName string
	flowCookie  string // the REST flow cookie; "" when the API is disabled
	assertions  *assertion.Signer
	// assertionHeaders are the headers of every route's identity
	// assertion, removed from every proxied request.
	assertionHeaders []string
	// ownCookieBases are the gateway's cookie names without prefix, lower
	// case; setCookieWarned holds the routes warned about setting one.
	ownCookieBases  []string
	setCookieWarned sync.Map
}

// rewrite sets the outbound headers. It runs for every proxied request.
// The client's identity headers are already gone: ServeHTTP stripped them
// from the inbound request, whose headers Out's are a copy of.
func (rl *relay) rewrite(pr *httputil.ProxyRequest, ur *upstream.Route) {
	rl.stripOwnCookies(pr.Out)
	rl.stripRESTCredentials(pr.Out)
	trusted := rl.proxies.trusted(pr.In)
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
	pol := ur.Data.(*route)
	fwd, _ := pr.In.Context().Value(forwardKey{}).(*forward)
	rl.setUpstreamToken(pr, pol, fwd)             // grants.go
	rl.setUpstreamIdentity(pr, pol, fwd, trusted) // upstreamidentity.go
	if fwd == nil {
		return
	}
	fwd.headers.Set(pr.Out.Header)
	rl.setUserToken(pr.Out, pol, fwd) // dpop.go
}

// trustedProxies are the networks whose X-Forwarded-* headers are believed.
type trustedProxies []netip.Prefix

// trusted reports whether r comes directly from a configured proxy.
func (g trustedProxies) trusted(r *http.Request) bool {
	if len(g) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	return g.trustedAddr(ap.Addr().Unmap())
}
