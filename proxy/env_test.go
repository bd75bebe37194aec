package proxy_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

const (
	testClientID     = "gatehouse-test"
	testClientSecret = "test-client-secret-0123456789abcdef"
)

// envOptions varies the test environment.
type envOptions struct {
	hooks            devop.Hooks
	useUserinfo      bool
	accessTTL        time.Duration
	store            fullStore
	routes           []proxy.Route // Target is filled in with the recording upstream when nil
	allowed          []string
	now              func() time.Time                          // shared by the AS and the gateway (default time.Now)
	clients          []devop.Client                            // registered at the AS besides the gateway's own client
	rest             proxy.RESTOptions                         // the REST flow API (restflow_test.go)
	users            []devop.User                              // the AS's accounts (default devop.DemoUsers)
	bearer           *bearer.Verifier                          // verifies bearer tokens (access_test.go)
	defaultRules     authz.Rules                               // rules of unmatched forward-auth requests
	trusted          []netip.Prefix                            // trusted proxies
	logger           *slog.Logger                              // the gateway's logger (default: discard)
	events           proxy.EventObserver                       // told every audit event (metrics)
	grantTypes       []string                                  // grants the gateway's own client may use at the AS (grants_test.go)
	deviations       devop.Deviations                          // the AS's deviations from the specifications (deviations_test.go)
	asOutage         *atomic.Bool                              // while true, the AS's token endpoint answers 503 (deviations_test.go)
	bodyTimeout      time.Duration                             // proxy.Options.BodyReadTimeout (reliability_test.go)
	wrapUp           func(http.RoundTripper) http.RoundTripper // proxy.Options.WrapTransport (metrics)
	issuerPath       string                                    // a path of the AS's issuer URL ("/realms/x"; deviations_test.go)
	noRotation       bool                                      // the AS keeps refresh tokens (no rotation)
	logoutWithoutExp bool                                      // login.Options.InsecureLogoutTokenWithoutExp
	endSession       string                                    // RP-initiated logout with this binding ("" disables it; signout_test.go)
	flowLimits       proxy.FlowLimits                          // limits on pending logins (limits_test.go)
	limitObs         proxy.LimitObserver
	asWrap           func(http.Handler) http.Handler       // wraps the AS (to count its requests)
	healthAliases    bool                                  // proxy.Options.HealthAliases (compat_test.go)
	assertionsFor    func(issuer string) *assertion.Signer // signs identity assertions (upstreamidentity_test.go)
	accessLog        *accesslog.Logger                     // proxy.Options.AccessLog (observe_test.go)
	observer         proxy.RequestObserver                 // proxy.Options.Observer (metrics)
	tracer           trace.Tracer                          // proxy.Options.Tracer (tracing_test.go)
	cookieStore      bool                                  // session.Options.CookieStore (cookiestore_test.go)
}

// fullStore is what memstore and redisstore both provide.
type fullStore = session.Backend

// recorder is an upstream that records every request it receives.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(context.Background()))
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "upstream says hello to "+r.Header.Get("X-Forwarded-User"))
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

func (rec *recorder) last() *http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		return nil
	}
	return rec.reqs[len(rec.reqs)-1]
}

func unwrapStore(s fullStore) fullStore {
	if c, ok := s.(*countingStore); ok {
		return c.fullStore
	}
	return s
}

// countingStore counts the sessions created, so tests can assert none was.
type countingStore struct {
	fullStore
	created   atomic.Int64
	flows     atomic.Int64 // pending logins stored
	flowBytes atomic.Int64 // their sealed size
}

func (c *countingStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if strings.HasPrefix(key, "s:") {
		c.created.Add(1)
	}
	if strings.HasPrefix(key, "f:") {
		c.flows.Add(1)
		c.flowBytes.Add(int64(len(key) + len(value)))
	}
	return c.fullStore.Set(ctx, key, value, ttl)
}

type env struct {
	t        *testing.T
	as       *devop.Server
	asURL    string
	gw       *proxy.Gateway
	gwURL    string
	upstream *recorder
	store    *countingStore
	login    *login.Client
	opts     envOptions
	upURL    *url.URL
}

// lateHandler lets a server start (and know its URL) before its handler exists.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*l.h.Load()).ServeHTTP(w, r)
}
func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, upstream: &recorder{}}
	up := httptest.NewServer(e.upstream)
	t.Cleanup(up.Close)

	asH, gwH := &lateHandler{}, &lateHandler{}
	asSrv := httptest.NewServer(asH)
	t.Cleanup(asSrv.Close)
	gwSrv := httptest.NewServer(gwH)
	t.Cleanup(gwSrv.Close)
	e.asURL, e.gwURL = asSrv.URL, gwSrv.URL

	as, err := devop.New(devop.Options{
		Issuer:              e.asURL + o.issuerPath,
		RotateRefreshTokens: !o.noRotation,
		AccessTokenTTL:      o.accessTTL,
		Now:                 o.now,
		Clients: append([]devop.Client{{
			ID: testClientID, Secret: testClientSecret,
			RedirectURIs: []string{e.gwURL + "/oauth2/callback"}, GrantTypes: o.grantTypes,
			FrontchannelLogoutURI:  e.gwURL + "/oauth2/frontchannel_logout",
			PostLogoutRedirectURIs: []string{e.gwURL + "/"},
		}}, o.clients...),
		Hooks:      o.hooks,
		Deviations: o.deviations,
		Users:      o.users,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.as = as
	asHandler := http.Handler(as)
	if o.asWrap != nil {
		asHandler = o.asWrap(as)
	}
	asH.set(asHandler)
	if o.asOutage != nil {
		asH.set(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o.asOutage.Load() && strings.HasSuffix(r.URL.Path, "/token") {
				http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
				return
			}
			asHandler.ServeHTTP(w, r)
		}))
	}

	e.login = login.New(login.Options{
		Issuer: e.asURL + o.issuerPath, ClientID: testClientID, ClientSecret: testClientSecret,
		Scopes:      []string{"openid", "email", "profile", "groups", "offline_access"},
		UseUserinfo: o.useUserinfo,
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},

		InsecureLogoutTokenWithoutExp: o.logoutWithoutExp,
		Now:                           o.now,
	})
	if err := e.login.Discover(t.Context()); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	base := o.store
	if base == nil {
		base = memstore.New()
	}
	e.store = &countingStore{fullStore: base}
	e.opts = o
	e.upURL, _ = url.Parse(up.URL)
	pub, _ := url.Parse(e.gwURL)
	gw := e.newGateway(pub, e.store)
	e.gw = gw
	gwH.set(gw)
	return e
}

// newGateway builds a gateway replica in front of the recording upstream,
// on store, and starts its notification listener.
func (e *env) newGateway(pub *url.URL, store fullStore) *proxy.Gateway {
	t := e.t
	t.Helper()
	sessions, err := session.NewManager(session.Options{Store: store, Secret: []byte("0123456789abcdef0123456789abcdef"), Now: e.opts.now,
		CacheMaxAge: -1, CookieStore: e.opts.cookieStore}) // no local cache: every request reads the store
	if err != nil {
		t.Fatal(err)
	}
	routes := append([]proxy.Route(nil), e.opts.routes...)
	if routes == nil {
		routes = []proxy.Route{{Name: "app", PathPrefix: "/"}}
	}
	for i := range routes {
		if routes[i].Target == nil {
			routes[i].Target = e.upURL
		}
	}
	gw, err := proxy.New(proxy.Options{
		PublicURL: pub, Login: e.login, Sessions: sessions, Routes: routes,
		Redirects: redirect.New(pub, e.opts.allowed),
		Now:       e.opts.now, REST: e.opts.rest,
		Bearer: e.opts.bearer, DefaultRules: e.opts.defaultRules, TrustedProxies: e.opts.trusted, Logger: e.opts.logger, Events: e.opts.events,
		BodyReadTimeout: e.opts.bodyTimeout, WrapTransport: e.opts.wrapUp,
		EndSessionAtAS: e.opts.endSession != "", EndSessionBinding: e.opts.endSession,
		FlowLimits: e.opts.flowLimits, LimitObserver: e.opts.limitObs, HealthAliases: e.opts.healthAliases,
		Assertions: e.assertions(),
		AccessLog:  e.opts.accessLog, Observer: e.opts.observer, Tracer: e.opts.tracer,
		StoreReady: func(ctx context.Context) error {
			if p, ok := unwrapStore(store).(interface{ Ping(context.Context) error }); ok {
				return p.Ping(ctx)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sessions.Run(ctx) }() // other replicas' refresh announcements
	t.Cleanup(func() { cancel(); <-done })
	return gw
}

func (e *env) assertions() *assertion.Signer {
	if e.opts.assertionsFor == nil {
		return nil
	}
	return e.opts.assertionsFor(e.gwURL)
}

// replica starts another gateway on store (default: the same store as the
// first one) and returns its URL. Logins go through the first gateway.
func (e *env) replica(store fullStore) string {
	e.t.Helper()
	if store == nil {
		store = e.store
	}
	h := &lateHandler{}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	pub, _ := url.Parse(e.gwURL)
	h.set(e.newGateway(pub, store))
	return srv.URL
}

// browser returns a client with a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (e *env) get(c *http.Client, rawURL string, hdr ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", rawURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return string(b)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenRe   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// authorize starts a login at path, logs in at the development AS as user
// and returns the callback URL the AS redirects the browser to (not yet
// followed).
func (e *env) authorize(c *http.Client, path, user string) string {
	e.t.Helper()
	resp := e.get(c, e.gwURL+path)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.asURL) {
		e.t.Fatalf("GET %s: want 302 to the AS, got %d %q", path, resp.StatusCode, resp.Header.Get("Location"))
	}
	return e.loginAtAS(c, resp.Header.Get("Location"), user, "login")
}

// loginAtAS fills the AS's login form (action "login" or "deny") and
// returns the redirect to the gateway's callback, not followed.
func (e *env) loginAtAS(c *http.Client, authURL, user, action string) string {
	e.t.Helper()
	return e.loginAtASFor(c, authURL, user, action, e.gwURL+"/oauth2/callback")
}

// loginAtASFor fills the AS's login form (action "login" or "deny") and
// returns the redirect to redirectURI, not followed.
func (e *env) loginAtASFor(c *http.Client, authURL, user, action, redirectURI string) string {
	e.t.Helper()
	resp := e.get(c, authURL)
	page := bodyOf(resp)
	m := formAction.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		e.t.Fatalf("AS login page: status %d, no form:\n%s", resp.StatusCode, page)
	}
	form := url.Values{"username": {user}, "password": {user}, "action": {action}}
	for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	target, _ := url.Parse(authURL)
	formURL := target.ResolveReference(&url.URL{Path: html.UnescapeString(m[1])})
	if strings.HasPrefix(m[1], "http") {
		formURL, _ = url.Parse(html.UnescapeString(m[1]))
	}
	resp, err := c.PostForm(formURL.String(), form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, redirectURI) {
		e.t.Fatalf("AS login: want a redirect to %s, got %d %q", redirectURI, resp.StatusCode, loc)
	}
	return loc
}

// loginAs performs a complete login and returns the response of the request
// to the original path (served by the upstream).
func (e *env) loginAs(c *http.Client, path, user string) *http.Response {
	e.t.Helper()
	cb := e.authorize(c, path, user)
	resp := e.get(c, cb)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("callback: want 302, got %d: %s", resp.StatusCode, bodyOf(resp))
	}
	loc := resp.Header.Get("Location")
	if loc != path {
		e.t.Fatalf("callback redirected to %q, want %q", loc, path)
	}
	return e.get(c, e.gwURL+loc)
}

// assertNoSession checks that a failed callback created no session and the
// upstream was never reached.
func (e *env) assertNoSession(c *http.Client) {
	e.t.Helper()
	if n := e.store.created.Load(); n != 0 {
		e.t.Errorf("%d session(s) were created, want none", n)
	}
	if n := e.upstream.count(); n != 0 {
		e.t.Errorf("the upstream was reached %d time(s), want never", n)
	}
	u, _ := url.Parse(e.gwURL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "gatehouse" {
			e.t.Errorf("a session cookie was set")
		}
	}
}
