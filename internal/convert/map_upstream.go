package convert

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// route is one [[upstream]] table being written.
type route struct {
	name   string
	prefix string
	http   bool // proxied over http or https (not a static response or directory)
	https  bool
	// legacy: from oauth2-proxy's upstreams option, to which the legacy
	// upstream options apply (the alpha config sets them per upstream).
	legacy  bool
	t       *table
	comment string
	// What the report says of the upstream once the route is kept.
	status Status
	note   string
	keys   []string
}

// upstreamSpec is one oauth2-proxy upstream, from the legacy upstreams
// option or the alpha config's upstreamConfig.upstreams.
type upstreamSpec struct {
	option   string // for the report
	source   string
	uri      string
	path     string // alpha: the route's path; legacy: from the URI
	static   bool
	code     int
	insecure *bool
	passHost *bool
	timeout  string
	rewrite  string
}

func (s upstreamSpec) legacy() bool { return s.option == "upstreams" }

// label names the upstream in the report.
func (s upstreamSpec) label() string {
	if s.uri == "" {
		return s.option
	}
	return s.uri
}

// upstreamMapper maps the upstreams (oauth2-proxy's upstreams option and
// the alpha config's upstreamConfig) to [[upstream]] routes, and the legacy
// options that apply to each of them.
type upstreamMapper struct{ *converter }

// mapUpstreams writes one [[upstream]] per oauth2-proxy upstream.
func (c upstreamMapper) mapUpstreams() {
	specs := c.alpha.upstreamSpecs()
	if v, ok := c.get("upstreams"); ok {
		ph := c.on("pass_host_header", true)
		insecure := c.on("ssl_upstream_insecure_skip_verify", false)
		for _, s := range v.list {
			specs = append(specs, upstreamSpec{option: "upstreams", source: v.source, uri: s, passHost: &ph, insecure: &insecure})
		}
	}
	names := map[string]bool{}
	prefixes := map[string]string{} // path_prefix in lower case: the upstream
	for _, s := range specs {
		r := c.upstreamRoute(s)
		if r == nil {
			continue
		}
		if first, dup := prefixes[strings.ToLower(r.prefix)]; dup {
			// oauth2-proxy refuses two upstreams at one path too.
			c.reportAt(s.option, s.source, Changed, fmt.Sprintf("%s is not written: it has the path %s of %s; write this route by hand "+
				"(another path, or a host)", s.label(), r.prefix, first))
			continue
		}
		prefixes[strings.ToLower(r.prefix)] = s.label()
		c.reportAt(s.option, s.source, r.status, r.note, r.keys...)
		base, n := r.name, 2
		for names[r.name] {
			r.name = fmt.Sprintf("%s-%d", base, n)
			n++
		}
		names[r.name] = true
		r.t.lines = append([]line{{key: "name", val: r.name}}, r.t.lines...)
		c.upstreams = append(c.upstreams, r)
	}
	if len(c.upstreams) == 0 {
		t := &table{}
		t.set("name", "forward-auth", "", false)
		t.set("path_prefix", "/", "", false)
		t.set("url", "http://127.0.0.1:1", "", false)
		c.upstreams = append(c.upstreams, &route{name: "forward-auth", prefix: "/", http: true, t: t,
			comment: "No upstream was configured: oauth2-proxy only answered forward-auth (nginx auth_request,\n" +
				"ingress-nginx auth-url). Gatehouse needs one route; in forward-auth mode its url is never contacted."})
		c.reportAt("upstreams", "not set", Changed, "forward-auth only: a placeholder [[upstream]] is written (its url is never contacted)", "upstream")
	}

	if t := c.str("upstream_timeout"); t != "" {
		for _, r := range c.upstreams {
			if r.http && !r.t.has("timeout") {
				r.t.set("timeout", t, "upstream_timeout", false)
			}
		}
		c.report("upstream_timeout", Mapped, "time to the response headers", "upstream.timeout")
	}
	c.report("flush_interval", Builtin, "streaming responses are flushed as they come")
	if !c.on("proxy_websockets", true) {
		c.report("proxy_websockets", Changed, "WebSocket upgrades are always proxied")
	} else {
		c.report("proxy_websockets", Builtin, "")
	}
	c.reportLegacyTLS()
	c.reportLegacyHost()
}

// reportLegacyTLS reports ssl_upstream_insecure_skip_verify, which
// upstreamRoute carried over to each https upstream of the upstreams option.
func (c upstreamMapper) reportLegacyTLS() {
	const o = "ssl_upstream_insecure_skip_verify"
	switch {
	case !c.on(o, false):
		c.report(o, Builtin, "upstream certificates are verified")
	case c.legacyRoutesWith("tls_insecure_skip_verify"):
		c.report(o, Mapped, "on each https upstream, and warned about at every start: it MUST NOT stay in production; "+
			"set tls_ca_file to the upstream's CA instead", "upstream.tls_insecure_skip_verify")
	default:
		c.report(o, Builtin, "no https upstream: nothing to write")
	}
}

// reportLegacyHost reports pass_host_header (oauth2-proxy's default is
// true), which upstreamRoute carried over to each upstream of the
// upstreams option.
func (c upstreamMapper) reportLegacyHost() {
	const o = "pass_host_header"
	switch {
	case c.legacyRoutesWith("preserve_host"):
		c.reportAt(o, c.sourceOr(o, "default true"), Mapped, "the upstream receives the client's Host (in canonical form: "+
			"lower case, no trailing dot); X-Forwarded-Host is that host either way", "upstream.preserve_host")
	case !c.on(o, true):
		c.report(o, Builtin, "the upstream receives its own host in Host (Gatehouse's default)")
	default:
		c.report(o, Builtin, "no proxied upstream: nothing to write")
	}
}

// legacyRoutesWith reports whether a route of the upstreams option has key.
func (c upstreamMapper) legacyRoutesWith(key string) bool {
	return slices.ContainsFunc(c.upstreams, func(r *route) bool { return r.legacy && r.t.has(key) })
}

// setProxied sets key on every route proxied over http or https: static://
// and file:// routes send nothing anywhere, so the keys about what the
// upstream receives are errors there.
func (c *converter) setProxied(key string, val any, comment string) {
	for _, r := range c.upstreams {
		if r.http {
			r.t.set(key, val, comment, false)
		}
	}
}

// upstreamRoute converts one upstream, or reports why it cannot.
func (c upstreamMapper) upstreamRoute(s upstreamSpec) *route {
	if s.static {
		code := s.code
		if code == 0 {
			code = 200
		}
		return c.staticRoute(s, code)
	}
	u, err := url.Parse(s.uri)
	if err != nil {
		c.reportAt(s.option, s.source, Changed, fmt.Sprintf("%q is not a URL: write its [[upstream]] by hand", s.uri))
		return nil
	}
	switch u.Scheme {
	case "http", "https":
	case "static":
		code, err := strconv.Atoi(u.Host)
		if err != nil {
			code = 200 // as oauth2-proxy
		}
		return c.staticRoute(s, code)
	case "file":
		if u.Path == "/dev/null" {
			// oauth2-proxy's idiom for "no upstream" in forward-auth set-ups.
			c.reportAt(s.option, s.source, Builtin, s.uri+" is oauth2-proxy's \"no upstream\"")
			return nil
		}
		return c.fileRoute(s, u)
	case "unix":
		c.reportAt(s.option, s.source, NoEquivalent, s.uri+": Gatehouse reaches upstreams over TCP: let the application listen on 127.0.0.1")
		return nil
	default:
		c.reportAt(s.option, s.source, Changed, fmt.Sprintf("%q: unknown scheme; write its [[upstream]] by hand", s.uri))
		return nil
	}
	prefix, ok := c.routePrefix(s, u.Path)
	if !ok {
		return nil
	}
	target := u.Scheme + "://" + u.Host
	note := ""
	if s.path != "" && u.Path != "" && u.Path != "/" {
		// Alpha config: the URI's path is prepended, as in Gatehouse.
		target += strings.TrimSuffix(u.Path, "/")
	} else if u.Path != "" && u.Path != "/" {
		note = "the URL's path " + u.Path + " selected the requests (path_prefix); Gatehouse would prepend it, so url has none"
	}
	if s.rewrite != "" {
		c.reportAt(s.option+".rewriteTarget", s.source, NoEquivalent, "regular-expression rewrites have no equivalent: the path goes to the upstream as requested")
	}
	t := &table{}
	t.set("path_prefix", prefix, "", false)
	t.set("url", target, s.option+" "+s.uri, false)
	if s.timeout != "" {
		t.set("timeout", s.timeout, "timeout", false)
	}
	r := &route{name: routeName(u.Hostname()), prefix: prefix, http: true, https: u.Scheme == "https", legacy: s.legacy(), t: t}
	keys := []string{"upstream"}
	if s.passHost == nil || *s.passHost {
		comment := "passHostHeader (default true): the client's Host"
		if s.legacy() {
			comment = "pass_host_header (oauth2-proxy's default): the client's Host"
			if _, set := c.get("pass_host_header"); set {
				comment = "pass_host_header: the client's Host"
			}
		} else {
			keys = append(keys, "upstream.preserve_host")
		}
		t.set("preserve_host", true, comment, false)
	}
	if s.insecure != nil && *s.insecure && r.https {
		comment := "ssl_upstream_insecure_skip_verify: MUST NOT stay in production (tls_ca_file instead)"
		if !s.legacy() {
			comment = "insecureSkipTLSVerify: MUST NOT stay in production (tls_ca_file instead)"
			keys = append(keys, "upstream.tls_insecure_skip_verify")
			note = strings.TrimSpace(note + " insecureSkipTLSVerify is warned about at every start; set tls_ca_file to the upstream's CA instead")
		}
		t.set("tls_insecure_skip_verify", true, comment, false)
	}
	r.status, r.note, r.keys = Mapped, note, keys
	return r
}

// routePrefix is the path_prefix of an upstream: the alpha config's path,
// or the path of the legacy upstream's URL. ok is false (and the upstream
// reported) for a regular expression.
func (c upstreamMapper) routePrefix(s upstreamSpec, urlPath string) (prefix string, ok bool) {
	prefix = s.path
	if prefix == "" {
		prefix = urlPath
	}
	if strings.HasPrefix(prefix, "^") {
		c.reportAt(s.option, s.source, Changed, "the path "+prefix+" is a regular expression: routes are path prefixes; write this route by hand")
		return "", false
	}
	if prefix == "" {
		prefix = "/"
	}
	if prefix != "/" {
		prefix = strings.TrimSuffix(prefix, "/")
	}
	return prefix, true
}

// staticRoute converts a static:// upstream (legacy: always at "/") or an
// alpha config upstream with static: true.
func (c upstreamMapper) staticRoute(s upstreamSpec, code int) *route {
	if code < 200 || code > 599 {
		c.reportAt(s.option, s.source, Changed, fmt.Sprintf("status %d: a static upstream answers 200 to 599; write its [[upstream]] by hand", code))
		return nil
	}
	prefix := "/" // the legacy static:// is always "/"
	if !s.legacy() {
		var ok bool
		if prefix, ok = c.routePrefix(s, ""); !ok {
			return nil
		}
	}
	t := &table{}
	t.set("path_prefix", prefix, "", false)
	t.set("url", fmt.Sprintf("static://%d", code), strings.TrimSpace(s.option+" "+s.uri), false)
	return &route{name: "static", prefix: prefix, legacy: s.legacy(), t: t, status: Mapped,
		note: fmt.Sprintf("static://%d: the body is the status text, not \"Authenticated\"", code), keys: []string{"upstream"}}
}

// fileRoute converts a file:// upstream: oauth2-proxy served the directory
// at the URL's #fragment (legacy; else at the directory's own path) or at
// the alpha config's path, with that path stripped.
func (c upstreamMapper) fileRoute(s upstreamSpec, u *url.URL) *route {
	dir := path.Clean(u.Path)
	switch {
	case u.Host != "" && u.Host != "localhost", !strings.HasPrefix(u.Path, "/"):
		c.reportAt(s.option, s.source, Changed, fmt.Sprintf("%q does not name an absolute directory: write its [[upstream]] by hand "+
			"(url = \"file:///dir\")", s.uri))
		return nil
	case dir == "/":
		c.reportAt(s.option, s.source, Changed, fmt.Sprintf("%q would serve the whole file system, which Gatehouse refuses: "+
			"write an [[upstream]] with url = \"file:///DIR\" for the directory of the files", s.uri))
		return nil
	}
	at := s.path
	if at == "" && s.legacy() {
		at = u.Fragment
	}
	prefix, ok := c.routePrefix(upstreamSpec{option: s.option, source: s.source, path: at}, u.Path)
	if !ok {
		return nil
	}
	t := &table{}
	t.set("path_prefix", prefix, "", false)
	t.set("url", (&url.URL{Scheme: "file", Path: dir}).String(), s.option+" "+s.uri, false)
	if prefix != "/" {
		t.set("strip_prefix", true, "as oauth2-proxy: the path after path_prefix is looked up in the directory", false)
	}
	return &route{name: "files", prefix: prefix, legacy: s.legacy(), t: t, status: Changed,
		note: "files of " + dir + " at " + prefix + ": a directory is served by its index.html and never listed " +
			"(oauth2-proxy listed it); paths with a segment starting with \".\" are 404", keys: []string{"upstream"}}
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// routeName makes an upstream name from a host name.
func routeName(host string) string {
	if net.ParseIP(host) != nil {
		return "app"
	}
	n := strings.Trim(nonName.ReplaceAllString(strings.ToLower(host), "-"), "-")
	if n == "" {
		return "app"
	}
	return n
}
