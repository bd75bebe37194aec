package proxy

import (
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/canon"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/lru"
)

// forwardAuthPath is the forward-auth endpoint. Under it, the path that
// follows is the original request's (Envoy's ext_authz path_prefix).
const forwardAuthPath = "/oauth2/auth"

// original is the request a front proxy asks about in a forward-auth
// request.
type original struct {
	gr gateRequest
	// hostport is the original host with its port, canonical.
	hostport string
	// trusted is set when the forward-auth request comes from a proxy in
	// server.trusted_proxies: only then are the original's headers read,
	// and only then does the answer carry tokens.
	trusted bool
	// uri is the original request URI (path and query), "" when unknown.
	uri string
	// url is the absolute original URL, for the return-to of a login.
	url string
	// envoy is set for Envoy's ext_authz, which wants 200 to allow.
	envoy bool
	// redirect is set when the front proxy passes the answer on to the
	// browser (Traefik, Envoy), so a login redirect can work; nginx's
	// auth_request cannot (it accepts only 2xx, 401 and 403).
	redirect bool
}

// forwardAuth answers a proxy's question whether a request may pass
// (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz): the gate
// decides about the original request, read from trusted headers.
type forwardAuth struct {
	base
	gate      *gate
	sso       *sso
	publicURL *url.URL
	proxies   trustedProxies
	// warnUntrusted logs once that forwarded headers came from an
	// untrusted peer (a likely misconfiguration).
	warnUntrusted sync.Once
	// hostRules is set when a route has a host: then an X-Original-URL
	// without X-Forwarded-Host is worth a warning (warnOriginalHost, once).
	hostRules        bool
	warnOriginalHost sync.Once
	// queries holds the compiled rules of forward-auth queries
	// (forwardauth_query.go); nil for a query without rules.
	queries *lru.Cache[string, *queryRules]
}

// handleAuth answers a front proxy's forward-auth request: nginx
// auth_request (GET /oauth2/auth?redirect=false), Traefik ForwardAuth
// (/oauth2/auth) and Envoy ext_authz (/oauth2/auth + the original path).
// The gate decides about the original request exactly as when proxying
// (route, skip_auth, session with refresh or bearer token, rules):
//
//   - allowed: 202 (200 for Envoy) with the identity headers, both the
//     X-Forwarded-* and the X-Auth-Request-* names, for the proxy to copy
//     onto the request it forwards;
//   - no valid credentials: a browser navigation through Traefik or Envoy
//     is sent to the AS (302); any other request gets 401;
//   - denied by a rule: 403 (and an audit log line); the rules of the
//     forward-auth query (allowed_groups, allowed_emails,
//     allowed_email_domains) only narrow the route's, and a query the
//     gateway cannot apply in full is refused (forwardauth_query.go).
//
// The original method, host and URI come from X-Forwarded-Method,
// X-Forwarded-Host and X-Forwarded-Uri only when the request comes from a
// trusted proxy (server.trusted_proxies); otherwise they are ignored, and
// without an original path neither a route nor skip_auth applies: the
// default policy does.
func (fa *forwardAuth) handleAuth(w http.ResponseWriter, r *http.Request) {
	o, err := fa.originalRequest(r)
	if err != nil {
		fa.failErr(w, r, asForwardAuthRefusal(err))
		return
	}
	ov := o.view(r)
	qr, err := fa.queryRules(r, o) // forwardauth_query.go
	if err != nil {
		noteOutcome(w, OutcomeDenied)
		fa.fail(w, ov, errForwardAuthQuery)
		return
	}
	if o.trusted && o.url != "" {
		// A DPoP-bound session token's proof names the request the
		// client made (restdpop.go).
		r = withProofTarget(r, o.gr.method, o.url)
	}
	var v verdict
	err = fa.gate.traceDecide(r, &o.gr, &v)
	if err == nil {
		err = fa.applyQueryRules(qr, o, &v)
	}
	noteRequest(w, &v, false, err)
	// With the cookie store a refresh rewrites the session cookies: the
	// front proxy must pass this Set-Cookie on to the browser (nginx:
	// auth_request_set and add_header, docs/integrations.md).
	fa.gate.writeSession(w, r, &v)
	numberSetCookies(w.Header())
	if err != nil {
		fa.refuseForwardAuth(w, r, ov, o, &v, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if fwd := v.fwd; fwd != nil {
		fwd.headers.Set(h)
		fwd.headers.SetAuthRequest(h)
		// A token of the AS goes only to a trusted proxy, which passes it
		// to the application: any other caller holding a session cookie or
		// session token (a script on the origin, a mobile app) would walk
		// away with it.
		if o.trusted && v.pol.PassAccessToken && fwd.accessToken != "" {
			h.Set(identity.HeaderAccessToken, fwd.accessToken)
			h.Set(identity.HeaderAuthRequestAccessToken, fwd.accessToken)
		}
		if o.trusted && v.pol.PassAuthorization && fwd.accessToken != "" {
			h.Set("Authorization", "Bearer "+fwd.accessToken)
		}
	}
	if o.envoy {
		w.WriteHeader(http.StatusOK) // ext_authz allows on 200 only
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// numberSetCookies repeats the second and later Set-Cookie lines of a
// forward-auth answer (the cookie store's chunks) as X-Auth-Request-Set-Cookie-1,
// -2, ...: nginx's $upstream_http_set_cookie holds the first line only, so
// auth_request_set can pick up the others by these names.
func numberSetCookies(h http.Header) {
	for i, line := range h["Set-Cookie"] {
		if i > 0 {
			h["X-Auth-Request-Set-Cookie-"+strconv.Itoa(i)] = []string{line}
		}
	}
}

// refuseForwardAuth answers a forward-auth request the gate refused. ov is
// the original request's view (method, host, URL), for content negotiation.
func (fa *forwardAuth) refuseForwardAuth(w http.ResponseWriter, r, ov *http.Request, o original, v *verdict, err error) {
	var d *denial
	switch {
	case errors.As(err, &d):
		fa.fail(w, ov, forbidden(d, fa.switchAccountURL(o.url)))
	case isUnauthenticated(err):
		switch {
		case v.pol.Auth == AuthBearer:
			fa.fail(w, ov, errNoToken)
		case o.redirect && o.url != "" && wantsHTML(ov) && !strings.EqualFold(ov.Host, fa.publicURL.Host):
			// The browser gets this answer from the protected host: a
			// login started here would bind its flow to a cookie of that
			// host, which the callback on public_url's host never sees.
			// So the login starts on public_url's host.
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, ov, fa.loginURL(o.url), http.StatusFound)
		case o.redirect && o.url != "" && wantsHTML(ov):
			if err := fa.sso.startLogin(w, ov, o.url); err != nil {
				fa.failErr(w, ov, err)
			}
		case wantsHTML(ov): // nginx: its error_page 401 sends the browser to Location
			w.Header().Set("Location", fa.loginURL(o.url))
			fa.fail(w, ov, errUnauthorized.with(func(e *httpError) { e.SignIn, e.SignInRD = fa.publicURL.JoinPath(startPath).String(), o.url }))
		default:
			w.Header().Set("Location", fa.loginURL(o.url))
			fa.gate.unauthenticated(w, ov)
		}
	default:
		fa.failErr(w, ov, asForwardAuthRefusal(fa.gate.bearer.credentialErr(err)))
	}
}

// asForwardAuthRefusal turns a 400 (a malformed or ambiguous original
// request) into a 403: nginx's auth_request accepts only 2xx, 401 and
// 403 and answers any other status with 500, which would let a client
// cause a 5xx at will.
func asForwardAuthRefusal(err error) error {
	var pe *httpError
	if errors.As(err, &pe) && pe.Status == http.StatusBadRequest {
		refused := *pe
		refused.Status = http.StatusForbidden
		return &refused
	}
	return err
}

// loginURL returns the absolute URL that starts a login returning to
// returnTo (validated by /oauth2/start), for the Location header of a 401:
// nginx's "auth_request_set $login $upstream_http_location; error_page 401
// =302 $login;" redirects there, with the return URL properly escaped.
func (fa *forwardAuth) loginURL(returnTo string) string {
	u := fa.publicURL.JoinPath("/oauth2/start")
	if returnTo != "" {
		u.RawQuery = url.Values{"rd": {returnTo}}.Encode()
	}
	return u.String()
}

// switchAccountURL returns the absolute URL that starts a login with
// prompt=select_account returning to returnTo: like loginURL, it starts on
// public_url's host, where the callback finds the flow's cookie.
func (fa *forwardAuth) switchAccountURL(returnTo string) string {
	u := fa.publicURL.JoinPath(startPath)
	q := url.Values{"prompt": {promptSelectAccount}}
	if returnTo != "" {
		q.Set("rd", returnTo)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// errForwardAuthUntrusted refuses Envoy's path form of forward-auth
// (/oauth2/auth/<original path>) from a peer that is not a trusted proxy.
var errForwardAuthUntrusted = &httpError{Status: http.StatusForbidden, Code: "forward_auth_untrusted", Title: "Access denied",
	Detail: "This endpoint answers only the proxies the gateway is configured to trust."}

// errAmbiguousOriginal refuses a forward-auth request whose headers name
// two different original requests (X-Forwarded-Host and the host of
// X-Original-URL, or X-Forwarded-Uri and its path).
var errAmbiguousOriginal = &httpError{Status: http.StatusBadRequest, Code: "invalid_request", Title: "Request refused",
	Detail: "The proxy's headers describe two different requests."}

// originalRequest reads what a forward-auth request says about the
// original request, in canonical form. The original method, host and URI
// are read only from a trusted proxy (server.trusted_proxies):
// X-Forwarded-Method, X-Forwarded-Host and X-Forwarded-Uri (nginx,
// Traefik), or X-Original-Method and X-Original-URL (ingress-nginx);
// where both name a host or a path, they must agree. Envoy's path form is
// accepted only from a trusted proxy. A header that does not parse is an
// error.
func (fa *forwardAuth) originalRequest(r *http.Request) (original, error) {
	trusted := fa.proxies.trusted(r)
	o := original{trusted: trusted}
	method, hostport, escaped := r.Method, r.Host, ""
	proto := fa.publicURL.Scheme
	h := r.Header
	xfu, xfm := h.Get("X-Forwarded-Uri"), h.Get("X-Forwarded-Method")
	xou, xom := h.Get("X-Original-Url"), h.Get("X-Original-Method")
	switch {
	case strings.HasPrefix(r.URL.Path, forwardAuthPath+"/"):
		// Envoy: the request line is the original's, behind the prefix.
		if !trusted {
			fa.audit(slog.LevelInfo, "forward-auth path form from a peer not in server.trusted_proxies refused",
				audit.Event{Kind: audit.AccessDenied}, slog.String("rule", "forward_auth_untrusted"), slog.String("peer", r.RemoteAddr))
			return o, errForwardAuthUntrusted
		}
		o.envoy, o.redirect = true, true
		escaped = strings.TrimPrefix(r.URL.EscapedPath(), forwardAuthPath)
		o.uri = escaped
		if r.URL.RawQuery != "" {
			o.uri += "?" + r.URL.RawQuery
		}
	case trusted:
		if p := h.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			proto = p
		}
		if xou != "" {
			u, err := url.Parse(xou)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
				return o, errInvalidPath
			}
			proto, hostport, escaped, o.uri = u.Scheme, u.Host, u.EscapedPath(), u.RequestURI()
			if escaped == "" {
				escaped = "/"
			}
		}
		xfh := firstValue(h.Get("X-Forwarded-Host"))
		if xou != "" && xfh == "" && fa.hostRules {
			fa.warnOriginalHost.Do(func() {
				fa.audit(slog.LevelWarn, "forward-auth requests carry X-Original-URL without X-Forwarded-Host while routes have host rules: "+
					"X-Original-URL's host is the client's Host header, not the host the proxy chose its server by; "+
					"have the proxy send X-Forwarded-Host $host (ingress-nginx: auth-proxy-set-headers, docs/integrations.md)",
					audit.Event{Kind: audit.ConfigWarning}, slog.String("peer", r.RemoteAddr))
			})
		}
		if xfh != "" {
			// nginx's $host has no port: X-Forwarded-Port ($server_port)
			// completes it, for the return URL of a login.
			xfh = withPort(xfh, firstValue(h.Get("X-Forwarded-Port")), proto)
			switch {
			case xou == "":
				hostport = xfh
			case sameHost(xfh, hostport):
			case sameHostName(xfh, hostport):
				// ingress-nginx: X-Forwarded-Host $host (no port) beside
				// X-Original-URL $scheme://$http_host$request_uri; the
				// port is X-Original-URL's.
			default:
				return o, errAmbiguousOriginal
			}
		}
		if xfu != "" {
			u, err := url.ParseRequestURI(xfu)
			if err != nil {
				return o, errInvalidPath
			}
			p := u.EscapedPath()
			if p == "" {
				p = "/"
			}
			if xou != "" && p != escaped {
				return o, errAmbiguousOriginal
			}
			escaped, o.uri = p, u.RequestURI()
		}
		if m := cmp.Or(xfm, xom); m != "" {
			if !isMethodToken(m) || (xfm != "" && xom != "" && xfm != xom) {
				return o, errInvalidPath
			}
			method = m
		}
		o.redirect = xfm != "" && xfu != "" && r.URL.Query().Get("redirect") != "false"
	case xfu != "" || xfm != "" || xou != "" || xom != "":
		fa.warnUntrusted.Do(func() {
			fa.audit(slog.LevelWarn, "a forward-auth request carries X-Forwarded-Uri, X-Forwarded-Method, X-Original-URL or X-Original-Method from a peer not in server.trusted_proxies; they are ignored",
				audit.Event{Kind: audit.UntrustedForwardedHeaders}, slog.String("peer", r.RemoteAddr))
		})
	}
	gr, err := canonicalRequest(method, hostport, escaped)
	if err != nil {
		return o, err
	}
	gr.forwardAuth = true
	o.gr, o.hostport = gr, gr.hostport
	if o.uri != "" {
		o.url = proto + "://" + o.hostport + o.uri
	}
	return o, nil
}

// withPort returns hostport with port appended when it has none and port
// is a port number other than proto's default.
func withPort(hostport, port, proto string) string {
	if port == "" || (proto == "https" && port == "443") || (proto == "http" && port == "80") {
		return hostport
	}
	if _, p, err := canon.Host(hostport); err != nil || p != "" {
		return hostport
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return hostport
	}
	return hostport + ":" + port
}

// sameHost reports whether two Host values name the same host and port.
func sameHost(a, b string) bool {
	return canonicalHostport(a) == canonicalHostport(b)
}

// sameHostName reports whether a, a Host value without a port, names the
// host of b (with or without a port).
func sameHostName(a, b string) bool {
	ha, pa, err := canon.Host(a)
	if err != nil || pa != "" {
		return false
	}
	hb, _, err := canon.Host(b)
	return err == nil && ha == hb
}

// view returns r as the original request: its method, host and URL, with
// r's headers (cookies, Accept, Authorization come from the client).
func (o original) view(r *http.Request) *http.Request {
	v := r.WithContext(r.Context())
	v.Method, v.Host = o.gr.method, o.hostport
	if o.uri != "" {
		if u, err := url.ParseRequestURI(o.uri); err == nil {
			v.URL = u
		}
	}
	return v
}

// firstValue returns the first element of a comma-separated header value.
func firstValue(s string) string {
	s, _, _ = strings.Cut(s, ",")
	return strings.TrimSpace(s)
}

// isMethodToken reports whether m is an HTTP method token (RFC 9110 §9.1).
func isMethodToken(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
