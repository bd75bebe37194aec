package proxy

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
)

// RequestObserver records every served request (metrics). route is a
// bounded name: an upstream's name or one of the gateway's own endpoints.
type RequestObserver interface {
	ObserveRequest(route, method string, code int, d time.Duration)
}

// noteRequest records, for the access log line and metrics, the upstream
// route the gate chose (when the request is proxied: forward-auth requests
// keep their own route name) and the user it authenticated. It writes to
// the response writer the gateway itself wrapped (see observe); any other
// writer is left alone.
func noteRequest(w http.ResponseWriter, v *verdict, proxied bool) {
	sw, ok := w.(*statusWriter)
	if !ok || v == nil {
		return
	}
	if proxied && v.route != nil {
		sw.route = v.route.Name
	}
	if v.fwd != nil {
		sw.sub = v.fwd.id.Subject
	}
}

func newIDPrefix() string { return rand.Text()[:12] + "-" }

// statusWriter remembers the status code, and what the gate noted about the
// request, for the access log and metrics. Unwrap lets
// http.ResponseController reach Flush and Hijack (streaming, websockets).
type statusWriter struct {
	http.ResponseWriter
	status int
	route  string // set by the gate; "" for the gateway's own endpoints
	sub    string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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

// routeName returns a bounded name for the request's route.
func (g *Gateway) routeName(r *http.Request) string {
	if n, ok := ownRoutes[r.URL.Path]; ok {
		return n
	}
	if g.isHealthAlias(r.URL.Path) {
		return r.URL.Path[1:] // "ping", "ready"
	}
	if strings.HasPrefix(r.URL.Path, "/oauth2/") {
		return "oauth2_other"
	}
	if rt := g.gate.routeOf(r); rt != nil {
		return rt.Name
	}
	return "unmatched"
}

// observe wraps next with the request ID, the access log line and metrics.
// The line carries no query string, cookie, token or code.
func (g *Gateway) observe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	id := g.requestID(r)
	idv := []string{id}            // neither header's value is modified after this
	r.Header["X-Request-Id"] = idv // passed on to the upstream
	w.Header()["X-Request-Id"] = idv
	if g.opts.AccessLog == nil && g.opts.Observer == nil {
		next.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	d := time.Since(start)
	route := sw.route
	if route == "" {
		route = g.routeName(r)
	}
	if g.opts.Observer != nil {
		g.opts.Observer.ObserveRequest(route, r.Method, sw.status, d)
	}
	if g.opts.AccessLog != nil {
		g.opts.AccessLog.Log(accesslog.Entry{Time: start.Add(d), RequestID: id, Route: route, Method: r.Method,
			Path: r.URL.Path, Status: sw.status, Duration: d, Sub: sw.sub})
	}
}
