package proxy

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/canon"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// errInvalidHost refuses a request whose host is not a host name or an
// address: no route could be chosen for it with confidence.
var errInvalidHost = &httpError{Status: http.StatusBadRequest, Code: "invalid_host", Title: "Request refused",
	Detail: "The request's host name is malformed and was refused."}

// errInvalidPath refuses a path that an upstream could route differently
// from the gateway ("/public/..;/admin" reaches /admin on Tomcat,
// "/ADMIN/x" and "/admin./x" reach /admin on IIS).
var errInvalidPath = &httpError{Status: http.StatusBadRequest, Code: "invalid_path", Title: "Request refused",
	Detail: "The request path is ambiguous and was refused."}

// gateRequest is the request the gate decides about, in canonical form:
// the request itself when proxying, the original request when answering
// forward-auth. Every decision (route, skip_auth, rules, forward-auth) reads
// this, and only this; canonicalRequest makes it.
type gateRequest struct {
	method string
	// host is the canonical host (canon.Host): lower case, no trailing
	// dot, no port.
	host string
	// hostport is host with the request's port, if any: what the upstream
	// receives as X-Forwarded-Host.
	hostport string
	// path holds the readings of the path; valid when hasPath.
	path canon.Path
	// hasPath is false when the original path is unknown (a forward-auth
	// request without a trusted original URI): then the gate decides only
	// when the host's rules do not depend on the path.
	hasPath bool
	// forwardAuth makes an unmatched path fall back to the default policy
	// instead of 404.
	forwardAuth bool
}

// canonicalRequest returns the canonical form of a request for method,
// hostport (a Host header value) and escapedPath (url.URL.EscapedPath; ""
// when unknown). It is the one place where the gateway reads a request's
// host and path for a decision.
func canonicalRequest(method, hostport, escapedPath string) (gateRequest, error) {
	host, port, err := canon.Host(hostport)
	if err != nil {
		return gateRequest{}, errInvalidHost
	}
	gr := gateRequest{method: method, host: host, hostport: joinHostPort(hostport, host, port)}
	if escapedPath != "" {
		if gr.path, err = canon.ParsePath(escapedPath); err != nil {
			return gateRequest{}, errInvalidPath
		}
		gr.hasPath = true
	}
	return gr, nil
}

// canonicalHostport returns hostport with its host in canonical form and
// its port kept ("ADMIN.example.com.:443" is "admin.example.com:443"), or
// hostport itself when it does not parse.
func canonicalHostport(hostport string) string {
	host, port, err := canon.Host(hostport)
	if err != nil {
		return hostport
	}
	return joinHostPort(hostport, host, port)
}

// joinHostPort returns host and port (canon.Host's results for orig) as
// one Host value: orig itself, without allocating, when it already is.
func joinHostPort(orig, host, port string) string {
	if strings.IndexByte(host, ':') >= 0 { // IPv6
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	if len(orig) == len(host)+1+len(port) && strings.HasPrefix(orig, host) && orig[len(host)] == ':' && strings.HasSuffix(orig, port) {
		return orig
	}
	return host + ":" + port
}

// errNoOriginalURI refuses a forward-auth request that does not say which
// path it asks about, for a host whose rules depend on the path: answering
// for "/" could allow what the rules of "/admin" refuse.
var errNoOriginalURI = &httpError{Status: http.StatusForbidden, Code: "forward_auth_no_uri", Title: "Access denied",
	Detail: "The proxy in front of this application did not say which page was asked for, so access cannot be decided."}

// routeWithoutPath returns the route of a forward-auth request for host
// whose original path is unknown: nil (the default rules) when no route
// serves the host; the route when the first route that serves the host
// (Match's order) is for "/" and has no skip_auth, so that it takes every
// path; otherwise errNoOriginalURI, because the rules depend on the path.
func (g *gate) routeWithoutPath(host string) (*upstream.Route, error) {
	for _, rt := range g.router.Routes() {
		if rt.Host != "" && rt.Host != host {
			continue
		}
		if rt.PathPrefix == "/" && !rt.Data.(*route).policy.HasSkipAuth() {
			return rt, nil
		}
		// Info, as every denial: any client can send such requests, and
		// the denial is counted (gatehouse_access_denied_total).
		g.audit(slog.LevelInfo, "forward-auth request without a trusted original URI for a host whose rules depend on the path: denied; send X-Forwarded-Uri (or X-Original-URL) from a proxy in server.trusted_proxies",
			audit.Event{Kind: audit.AccessDenied}, slog.String("rule", "forward_auth_no_uri"), slog.String("host", host))
		return nil, errNoOriginalURI
	}
	return nil, nil
}

// routeOf returns the route of r read canonically (its Clean path), for
// labels such as a log line's route; nil when there is none. It decides
// nothing: the gate does (decide).
func (g *gate) routeOf(r *http.Request) *upstream.Route {
	gr, err := canonicalRequest(r.Method, r.Host, r.URL.EscapedPath())
	if err != nil {
		return nil
	}
	rt, _ := g.router.Match(gr.host, gr.path.Clean)
	return rt
}
