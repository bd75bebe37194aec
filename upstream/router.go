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
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
)

// Route is one entry of the route table.
type Route struct {
	// Name identifies the route in logs and metrics.
	Name string
	// Host, when set, must equal the request's host (without port, lower case).
	Host string
	// PathPrefix selects requests whose cleaned path starts with it ("/" matches all).
	PathPrefix string
	// Target is the upstream's base URL; its path is joined with the request path.
	Target *url.URL
	// PreserveHost forwards the client's Host header instead of the target's.
	PreserveHost bool
	// Data is the caller's per-route policy, returned with the match.
	Data any

	handler http.Handler
}

// ServeHTTP proxies r to the route's upstream.
func (rt *Route) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.handler.ServeHTTP(w, r) }

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
	// Transport carries requests to upstreams (default NewTransport()).
	Transport http.RoundTripper
	// ErrorHandler answers when the upstream cannot be reached (default: 502
	// with a plain page, 504 on timeout, 499 when the client went away).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, route *Route, err error)
	// Logger receives upstream errors (nil: discard).
	Logger *slog.Logger
}

// Router matches requests to routes.
type Router struct {
	routes []*Route // sorted: host-specific first, then longest prefix first
}

// New builds the route table and one reverse proxy per route.
func New(opts Options) (*Router, error) {
	if len(opts.Routes) == 0 {
		return nil, errors.New("upstream: at least one route is required")
	}
	transport := opts.Transport
	if transport == nil {
		transport = NewTransport()
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	buffers := NewBufferPool()
	rt := &Router{}
	for i := range opts.Routes {
		route := opts.Routes[i]
		if route.Target == nil || (route.Target.Scheme != "http" && route.Target.Scheme != "https") || route.Target.Host == "" {
			return nil, fmt.Errorf("upstream: route %d (%s): target must be an absolute http(s) URL", i, route.Name)
		}
		if route.PathPrefix == "" {
			route.PathPrefix = "/"
		}
		route.Host = strings.ToLower(route.Host)
		r := &route
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

// Match returns the route for host (any case, port ignored) and the cleaned
// request path, or nil. Host-specific routes win over host-less ones, then
// the longest prefix wins. A prefix matches at a path segment boundary:
// "/app" matches "/app" and "/app/x" but not "/apple".
func (rt *Router) Match(host, cleanPath string) *Route {
	bare, stripped := "", false // host without port, computed for the first route with a Host
	for _, r := range rt.routes {
		if r.Host != "" {
			if !stripped {
				bare, stripped = hostOnly(host), true
			}
			if !strings.EqualFold(r.Host, bare) {
				continue
			}
		}
		if prefixMatch(r.PathPrefix, cleanPath) {
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

func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		hostport = hostport[:i]
	}
	return strings.ToLower(strings.Trim(hostport, "[]"))
}

func defaultError(logger *slog.Logger, w http.ResponseWriter, r *http.Request, route *Route, err error) {
	status := http.StatusBadGateway
	switch {
	case errors.Is(err, context.Canceled):
		status = 499 // client closed the request
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	}
	if status != 499 {
		logger.Warn("upstream request failed", "route", route.Name, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, http.StatusText(status))
}
