package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
)

// RequestObserver records every served request (metrics). route is a
// bounded name: an upstream's name or one of the gateway's own endpoints.
type RequestObserver interface {
	ObserveRequest(route, method string, code int, d time.Duration)
	// InFlight is told +1 when a request arrives and -1 when its access
	// log line is written.
	InFlight(delta int)
	// OpenStreams is told +1 when a response becomes a long-lived stream of
	// kind (StreamWebSocket, StreamUpgrade, StreamSSE) and -1 when it ends.
	OpenStreams(kind string, delta int)
}

// Kinds of RequestObserver.OpenStreams.
const (
	StreamWebSocket = "websocket" // an upgraded WebSocket connection
	StreamUpgrade   = "upgrade"   // a connection upgraded to another protocol
	StreamSSE       = "sse"       // a text/event-stream response
)

// noteRequest records, for the access log line and metrics, the upstream
// route the gate chose (when the request is proxied: forward-auth requests
// keep their own route name), the user it authenticated (also when a rule
// then denied access) and the outcome of the decision. It writes to the
// response writer the gateway itself wrapped (see observe); any other
// writer is left alone.
func noteRequest(w http.ResponseWriter, v *verdict, proxied bool, err error) {
	sw, ok := w.(*statusWriter)
	if !ok || v == nil {
		return
	}
	if proxied && v.route != nil {
		sw.route = v.route.Name
		if err == nil {
			sw.upstream = v.route.Target.Host
		}
	}
	if v.sub != "" {
		sw.sub = v.sub
	}
	sw.outcome = decisionOutcome(v, err)
}

// noteSub records the subject of the session or token a request of the
// gateway's own endpoints carried or created.
func noteSub(w http.ResponseWriter, sub string) {
	if sw, ok := w.(*statusWriter); ok && sub != "" {
		sw.sub = sub
	}
}

// noteOutcome records the outcome of an authentication step of the
// gateway's own endpoints (login, logout).
func noteOutcome(w http.ResponseWriter, outcome string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.outcome = outcome
	}
}

func newIDPrefix() string { return rand.Text()[:12] + "-" }

// requestID returns the request's ID: the client's X-Request-Id when the
// client is a trusted proxy and the value is a short token, else a new one:
// a random per-process prefix and a counter, unique across replicas and
// restarts without a random draw per request.
func (g *Gateway) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && g.proxies.trusted(r) && isToken(id) {
		return id
	}
	var b [32]byte // one allocation: the string
	return string(strconv.AppendUint(append(b[:0], g.idPrefix...), g.idSeq.Add(1), 36))
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ownRoutes names the gateway's own endpoints for logs and metrics.
var ownRoutes = map[string]string{
	"/oauth2/start": "oauth2_start", "/oauth2/sign_in": "oauth2_sign_in", "/oauth2/callback": "oauth2_callback", "/oauth2/sign_out": "oauth2_sign_out",
	"/oauth2/userinfo": "oauth2_userinfo", "/oauth2/backchannel_logout": "oauth2_backchannel_logout",
	"/oauth2/frontchannel_logout": "oauth2_frontchannel_logout", "/oauth2/auth": "oauth2_auth",
	"/healthz": "healthz", "/readyz": "readyz",
}

// RouteREST is the route name of every request to the REST flow API.
const RouteREST = "rest"

// RouteJWKS is the route name of the identity assertions' JWK Set
// (JWKSPath), when the gateway serves it.
const RouteJWKS = "jwks"

// routeName returns a bounded name for the request's route when the gate
// did not note one: the gateway's own endpoints by name, the REST flow API
// as RouteREST, else the upstream route the path falls in.
func (g *Gateway) routeName(r *http.Request) string {
	p := r.URL.Path
	if n, ok := ownRoutes[p]; ok {
		return n
	}
	if g.isHealthAlias(p) {
		return p[1:] // "ping", "ready"
	}
	if p == JWKSPath && g.relay.assertions != nil { // the identity assertions' keys (routes.go)
		return RouteJWKS
	}
	if strings.HasPrefix(p, "/oauth2/") {
		if strings.HasPrefix(p, forwardAuthPath+"/") {
			return "oauth2_auth"
		}
		return "oauth2_other"
	}
	if g.rest != nil && (p == g.rest.basePath || strings.HasPrefix(p, g.rest.basePath+"/")) {
		return RouteREST
	}
	if rt := g.gate.routeOf(r); rt != nil {
		return rt.Name
	}
	return "unmatched"
}

// observe wraps next with the request ID, the trace span, the access log
// line and metrics. Every request gets its line, whatever happens: a
// client that goes away (499), a panic (500 when nothing was sent yet; the
// panic is logged with its stack), a connection upgraded to a WebSocket
// (101, logged when it closes). The line carries no query string, cookie,
// token or code.
//
// route, when set, names the route of every request (Observed); traced
// says whether the request gets a span (when tracing is on).
func (g *Gateway) observe(w http.ResponseWriter, r *http.Request, next http.Handler, route string, traced bool) {
	start := time.Now()
	id := g.requestID(r)
	idv := []string{id}            // neither header's value is modified after this
	r.Header["X-Request-Id"] = idv // passed on to the upstream
	w.Header()["X-Request-Id"] = idv
	if g.opts.AccessLog == nil && g.opts.Observer == nil && g.tracer == nil {
		next.ServeHTTP(w, r) // a panic is net/http's: logged, connection closed
		return
	}
	sw := &statusWriter{ResponseWriter: w, obs: g.opts.Observer, upgrade: r.Header.Get("Upgrade"), route: route}
	if sw.obs != nil {
		sw.obs.InFlight(1)
	}
	var span trace.Span
	if g.tracer != nil && traced {
		r, span = g.startSpan(r, id)
	}
	defer g.done(sw, r, id, start, span)
	next.ServeHTTP(sw, r)
}

// done writes the access log line and records the metrics of a request
// once its handler returned or panicked. A panic other than
// http.ErrAbortHandler is a bug: it is logged with its stack and answered
// with 500 when nothing was sent; when something was, the connection is
// aborted (re-panicking with http.ErrAbortHandler, as ReverseProxy does
// when a response it streams breaks off).
func (g *Gateway) done(sw *statusWriter, r *http.Request, id string, start time.Time, span trace.Span) {
	p := recover()
	if p != nil && p != http.ErrAbortHandler { //nolint:errorlint // ErrAbortHandler is panicked as is
		g.logger.Error("panic serving request; answered 500", "request_id", id, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
		if sw.status == 0 && !sw.hijacked {
			g.gate.fail(sw, r, errInternal)
			p = nil // answered: the connection stays usable
		} else {
			p = http.ErrAbortHandler
		}
	}
	switch {
	case sw.hijacked && sw.status == 0:
		sw.status = http.StatusSwitchingProtocols
	case sw.hijacked:
	case (p != nil || sw.status == 0) && r.Context().Err() == context.Canceled: //nolint:errorlint // the server's own cancellation
		// The client closed the connection before the response was
		// complete: the handler aborted (ReverseProxy, when a streamed
		// copy fails) or sent nothing. A handler that returned normally
		// sent its whole response, however soon the client left after.
		sw.status = statusClientGone
	case sw.status == 0 && p != nil: // aborted before anything was sent
		sw.status = http.StatusInternalServerError
	case sw.status == 0:
		sw.status = http.StatusOK
	}
	if sw.stream != "" && sw.obs != nil {
		sw.obs.OpenStreams(sw.stream, -1)
	}
	d := time.Since(start)
	route := sw.route
	if route == "" {
		route = g.routeName(r)
	}
	if sw.obs != nil {
		sw.obs.ObserveRequest(route, r.Method, sw.status, d)
		sw.obs.InFlight(-1)
	}
	var traceID string
	if span != nil {
		traceID = endSpan(span, r, route, sw)
	}
	if g.opts.AccessLog != nil {
		e := accesslog.Entry{Time: start.Add(d), RequestID: id, Host: r.Host, Method: r.Method,
			Path: r.URL.Path, Status: sw.status, Bytes: sw.sent(), Duration: d, Route: route, Upstream: sw.upstream,
			UserAgent: r.UserAgent(), Sub: sw.sub, Outcome: sw.outcome, TraceID: traceID, ClientIP: g.proxies.clientAddr(r)}
		g.opts.AccessLog.Log(e)
	}
	if p != nil {
		panic(p)
	}
}

// RouteMetrics is the route name of the metrics listener's requests.
const RouteMetrics = "metrics"

// Observed returns h with what every request of the gateway gets: a
// request ID, an access log line and the request metrics, under route. It
// serves the metrics listener (RouteMetrics), whose requests (scrapes,
// profiles) are logged and counted but not traced.
func (g *Gateway) Observed(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.observe(w, r, h, route, false)
	})
}

// statusClientGone is the status logged for a client that went away
// before the response was complete (nginx's 499).
const statusClientGone = 499

// Outcomes of the gate's decisions and of the gateway's own authentication
// endpoints, in the access log.
const (
	OutcomeAllowed            = "allowed"             // authenticated, and the rules allow
	OutcomePublic             = "public"              // a public route or a skip_auth path: no authentication
	OutcomeDenied             = "denied"              // authenticated, but a rule denies (403)
	OutcomeUnauthenticated    = "unauthenticated"     // no valid session: sent to log in, or 401
	OutcomeInvalidCredentials = "invalid_credentials" // a bearer token or password refused (401)
	OutcomeLimited            = "limited"             // a limit refused the request (429)
	OutcomeInvalidRequest     = "invalid_request"     // no route, or a malformed host or path
	OutcomeError              = "error"               // the store or the AS failed
	OutcomeLogin              = "login"               // a session was created
	OutcomeLoginFailed        = "login_failed"        // a login did not complete
	OutcomeLogout             = "logout"              // a session was ended
)

// decisionOutcome names what the gate decided (err is decide's result).
func decisionOutcome(v *verdict, err error) string {
	switch {
	case err == nil && v.fwd == nil:
		return OutcomePublic
	case err == nil:
		return OutcomeAllowed
	case isDenial(err):
		return OutcomeDenied
	case isUnauthenticated(err):
		return OutcomeUnauthenticated
	}
	return failureOutcome(err)
}

// refusalOutcome names why a request's credentials were refused (err is
// not nil), as the gate would: a REST call that checks the session itself.
func refusalOutcome(err error) string {
	if isUnauthenticated(err) {
		return OutcomeUnauthenticated
	}
	return failureOutcome(err)
}

func isDenial(err error) bool {
	_, ok := errors.AsType[*denial](err)
	return ok
}

// failureOutcome names a failed authentication or request by the status
// of its answer.
func failureOutcome(err error) string {
	if isInvalidCredential(err) {
		return OutcomeInvalidCredentials
	}
	he, ok := errors.AsType[*httpError](err)
	if !ok {
		return OutcomeError
	}
	switch {
	case he.Status == http.StatusUnauthorized:
		return OutcomeInvalidCredentials
	case he.Status == http.StatusForbidden:
		return OutcomeDenied
	case he.Status == http.StatusTooManyRequests:
		return OutcomeLimited
	case he.Status < 500:
		return OutcomeInvalidRequest
	}
	return OutcomeError
}
