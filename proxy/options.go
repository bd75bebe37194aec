package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/internal/ui"
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
	// StripPrefix removes PathPrefix from the forwarded path (see
	// upstream.Route) and sets X-Forwarded-Prefix to it.
	StripPrefix bool
	// PassIDToken sends the session's ID token: PassIDTokenHeader
	// (X-Forwarded-Id-Token) or PassIDTokenAuthorization ("Authorization:
	// Bearer <ID token>"); "" sends none (upstreamidentity.go).
	PassIDToken string
	// AssertionHeader, when set, is the header of a signed identity
	// assertion (Options.Assertions signs it); AssertionAudience is its aud.
	AssertionHeader   string
	AssertionAudience string
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
	// Tracer, when set, traces every request (tracing.go): a server span
	// per request, a span for the gate's decision, a client span with a W3C
	// traceparent for each upstream call. Nil turns tracing off.
	Tracer trace.Tracer
	// Events, when set, is told every audit event the gateway logs
	// (metrics).
	Events EventObserver
	// REST configures the REST flow API for mobile and desktop apps
	// (restflow.go); the zero value disables it.
	REST RESTOptions
	// DefaultRules are the authorization rules of forward-auth requests for
	// which no route matches.
	DefaultRules authz.Rules
	// Assertions signs the identity assertions of the routes with an
	// AssertionHeader and serves the keys at /.well-known/jwks.json; nil
	// when no signing key is configured.
	Assertions *assertion.Signer
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
	// HealthAliases answers GET /ping as /healthz and GET /ready as
	// /readyz (oauth2-proxy's health paths) instead of routing them to an
	// upstream.
	HealthAliases bool
	// BodyReadTimeout bounds the time to read the request body of the
	// gateway's own endpoints (back-channel logout, sign-out, the REST flow
	// API): 408 when it passes (default 10s; negative: no limit). Their
	// bodies are also limited to MaxBodyBytes (413).
	BodyReadTimeout time.Duration
	Logger          *slog.Logger
	// Pages renders the HTML pages browsers get (errors, sign-in,
	// sign-out); nil means ui.Default(), the unbranded pages.
	Pages *ui.Pages
	// Now returns the current time (default time.Now).
	Now func() time.Time
}
