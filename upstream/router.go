// Package upstream routes requests to the applications behind the gateway:
// a table of routes chosen by host and longest path prefix, each served by a
// net/http/httputil.ReverseProxy with a Rewrite hook. It knows nothing of
// sessions or identity: the caller supplies the Rewrite step that sets them.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/canon"
)

// Route is one entry of the route table.
type Route struct {
	// Name identifies the route in logs and metrics.
	Name string
	// Host, when set, must equal the request's canonical host (canon.Host:
	// lower case, no trailing dot, no port).
	Host string
	// PathPrefix selects requests whose cleaned path starts with it ("/"
	// matches all), at a segment boundary.
	PathPrefix string
	// CaseSensitivePaths says the upstream tells "/Admin" from "/admin".
	// By default it is assumed not to (Express, ASP.NET and IIS do not), so
	// a path that matches PathPrefix only with letter case ignored makes
	// the match ambiguous (see Router.Match).
	CaseSensitivePaths bool
	// Target is the upstream's base URL; its path is joined with the request path.
	Target *url.URL
	// PreserveHost forwards the client's Host header instead of the target's.
	PreserveHost bool
	// StripPrefix removes PathPrefix from the path before the request is
	// forwarded (or served from a directory): see strip.go.
	StripPrefix bool
	// Transport configures the connection pool to the upstream; routes with
	// equal options share one pool.
	Transport TransportOptions
	// BodyReadTimeout, when positive, bounds the time to read the client's
	// request body while it is sent upstream (a slow client then gets a
	// RequestBodyError); zero means no limit, as uploads can be long.
	BodyReadTimeout time.Duration
	// Data is the caller's per-route policy, returned with the match.
	Data any

	lowerPrefix string // PathPrefix with ASCII letters in lower case
	handler     http.Handler
}

// ServeHTTP proxies r to the route's upstream.
func (rt *Route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.StripPrefix {
		var ok bool
		if r, ok = rt.stripPrefix(r); !ok { // strip.go
			http.NotFound(w, r)
			return
		}
	}
	r, cb := watchBody(w, r, rt.BodyReadTimeout)
	rt.handler.ServeHTTP(w, r)
	cb.release()
}

// Options configures a Router.
type Options struct {
	// Routes is the route table. Required, at least one.
	Routes []Route
	// Rewrite runs after the outbound URL is set; it sets headers for the upstream.
	Rewrite func(pr *httputil.ProxyRequest, route *Route)
	// ModifyResponse, when set, sees every upstream response before it is
	// copied to the client (httputil.ReverseProxy.ModifyResponse); an error
	// makes ErrorHandler answer instead.
	ModifyResponse func(resp *http.Response, route *Route) error
	// Transport, when set, carries the requests of every route, whatever
	// its TransportOptions (for tests and benchmarks). By default each
	// distinct Route.Transport gets its own TransportOptions.NewTransport().
	Transport http.RoundTripper
	// WrapTransport, when set, wraps each route's transport (metrics, a
	// check before anything is sent).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// ErrorHandler answers when the upstream cannot be reached (default: 502
	// with a plain page, 504 on timeout, 499 when the client went away, 400
	// or 408 for a request body the client could not send). err is a
	// *RequestBodyError when the client's body could not be read.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, route *Route, err error)
	// Logger receives upstream errors (nil: discard).
	Logger *slog.Logger
}

// Router matches requests to routes.
type Router struct {
	routes []*Route // sorted: host-specific first, then longest prefix first
	// upperPrefix is set when a case-insensitive route's prefix has an
	// upper-case letter: then even a lower-case path needs the second,
	// case-ignoring match.
	upperPrefix bool
}

// New builds the route table and one reverse proxy per route.
func New(opts Options) (*Router, error) {
	if len(opts.Routes) == 0 {
		return nil, errors.New("upstream: at least one route is required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transports := make(map[TransportOptions]http.RoundTripper) // one pool per distinct options
	transportFor := func(o TransportOptions) (http.RoundTripper, error) {
		if t, ok := transports[o]; ok {
			return t, nil
		}
		var t http.RoundTripper = opts.Transport
		if t == nil {
			ht, err := o.Build(logger) // transport_tls.go
			if err != nil {
				return nil, err
			}
			t = ht
		}
		if opts.WrapTransport != nil {
			t = opts.WrapTransport(t)
		}
		transports[o] = t
		return t, nil
	}
	buffers := NewBufferPool()
	rt := &Router{}
	for i := range opts.Routes {
		route := opts.Routes[i]
		local, err := localHandler(route.Target) // local.go: static:// and file://
		if err != nil {
			return nil, fmt.Errorf("upstream: route %d (%s): %w", i, route.Name, err)
		}
		if local == nil && (route.Target == nil || (route.Target.Scheme != "http" && route.Target.Scheme != "https") || route.Target.Host == "") {
			return nil, fmt.Errorf("upstream: route %d (%s): target must be an absolute http(s) URL, static://NNN or file:///dir", i, route.Name)
		}
		if route.PathPrefix == "" {
			route.PathPrefix = "/"
		}
		route.Host = strings.ToLower(route.Host)
		route.lowerPrefix = canon.Lower(route.PathPrefix)
		if !route.CaseSensitivePaths && route.lowerPrefix != route.PathPrefix {
			rt.upperPrefix = true
		}
		r := &route
		if local != nil {
			r.handler = local
			rt.routes = append(rt.routes, r)
			continue
		}
		transport, err := transportFor(route.Transport)
		if err != nil {
			return nil, fmt.Errorf("upstream: route %d (%s): %w", i, route.Name, err)
		}
		var modify func(*http.Response) error
		if opts.ModifyResponse != nil {
			modify = func(resp *http.Response) error { return opts.ModifyResponse(resp, r) }
		}
		r.handler = &httputil.ReverseProxy{
			ModifyResponse: modify,
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(r.Target)
				if r.PreserveHost {
					pr.Out.Host = pr.In.Host
				}
				if opts.Rewrite != nil {
					opts.Rewrite(pr, r)
				}
			},
			Transport:  transport,
			BufferPool: buffers,
			// FlushInterval stays 0: ReverseProxy itself flushes after every
			// write the responses that stream (server-sent events, and any
			// response of unknown length, such as a chunked long poll). -1
			// would do so for every response, a fixed-length one included,
			// at the cost of an extra write system call and a timer
			// goroutine per request.
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
				err = bodyError(req, err)
				if opts.ErrorHandler != nil {
					opts.ErrorHandler(w, req, r, err)
					return
				}
				defaultError(logger, w, req, r, err)
			},
		}
		rt.routes = append(rt.routes, r)
	}
	sort.SliceStable(rt.routes, func(i, j int) bool {
		a, b := rt.routes[i], rt.routes[j]
		if (a.Host != "") != (b.Host != "") {
			return a.Host != ""
		}
		return len(a.PathPrefix) > len(b.PathPrefix)
	})
	return rt, nil
}

// Match returns the route for host, the request's canonical host
// (canon.Host), and p, one reading of its path (canon.Path), or nil.
// Host-specific routes win over host-less ones, then the longest prefix
// wins. A prefix matches at a path segment boundary: "/app" matches "/app"
// and "/app/x" but not "/apple".
//
// The route is chosen twice: once with letter case as it is, and once with
// ASCII letter case ignored for the routes whose upstream ignores it (not
// CaseSensitivePaths). ok is false when the two differ ("/ADMIN/x" is
// under a route "/admin" for a case-insensitive upstream, but not
// literally): the caller must refuse the request rather than guess which
// of the two the upstream will act on.
func (rt *Router) Match(host, p string) (route *Route, ok bool) {
	route = rt.match(host, p, "")
	if !rt.upperPrefix && !hasUpper(p) {
		return route, true // ignoring case changes nothing
	}
	return route, rt.match(host, p, canon.Lower(p)) == route
}

// match returns the first route for host and p; with folded (p in lower
// case) set, case-insensitive routes compare their lower-case prefix with
// it.
func (rt *Router) match(host, p, folded string) *Route {
	for _, r := range rt.routes {
		if r.Host != "" && r.Host != host {
			continue
		}
		if folded != "" && !r.CaseSensitivePaths {
			if prefixMatch(r.lowerPrefix, folded) {
				return r
			}
		} else if prefixMatch(r.PathPrefix, p) {
			return r
		}
	}
	return nil
}

// Routes returns the route table in match order.
func (rt *Router) Routes() []*Route { return rt.routes }

func prefixMatch(prefix, p string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// IsTimeout reports whether err is a timeout: a context deadline, or a
// network or transport timeout (net.Error), such as the response header
// timeout of TransportOptions.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func defaultError(logger *slog.Logger, w http.ResponseWriter, r *http.Request, route *Route, err error) {
	status := http.StatusBadGateway
	var be *RequestBodyError
	switch {
	case errors.Is(err, context.Canceled):
		status = 499 // client closed the request
	case errors.As(err, &be) && IsTimeout(be.Err):
		status = http.StatusRequestTimeout
	case errors.As(err, &be):
		status = http.StatusBadRequest
	case IsTimeout(err):
		status = http.StatusGatewayTimeout
	}
	if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		logger.Warn("upstream request failed", "route", route.Name, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, http.StatusText(status))
}
