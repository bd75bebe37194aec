package convert

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// route is one [[upstream]] table being written.
type route struct {
	name   string
	prefix string
	http   bool // proxied over http or https (not a static response or directory)
	https  bool
	// preserveHost: oauth2-proxy passed the client's Host (pass_host_header).
	preserveHost bool
	t            *table
	comment      string
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

// mapUpstreams writes one [[upstream]] per oauth2-proxy upstream.
func (c *converter) mapUpstreams() {
	specs := c.alphaUpstreams()
	if v, ok := c.get("upstreams"); ok {
		for _, s := range v.list {
			ph := c.on("pass_host_header", true)
			specs = append(specs, upstreamSpec{option: "upstreams", source: v.source, uri: s, passHost: &ph})
		}
	}
	names := map[string]bool{}
	for _, s := range specs {
		r := c.upstreamRoute(s)
		if r == nil {
			continue
		}
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
	if c.on("ssl_upstream_insecure_skip_verify", false) {
		if c.pending("ssl_upstream_insecure_skip_verify", c.opts["ssl_upstream_insecure_skip_verify"].source,
			"Meanwhile give the upstream a certificate the system trusts (or its CA in SSL_CERT_FILE), or use http on a private network.") {
			for _, r := range c.upstreams {
				if r.https {
					r.t.set("tls_insecure_skip_verify", true, "ssl_upstream_insecure_skip_verify: MUST NOT stay in production", false)
				}
			}
		}
	}
	if c.anyPreserveHost() {
		if c.pending("pass_host_header", c.sourceOr("pass_host_header", "default true"),
			"Meanwhile the upstream receives its own host in Host and the client's in X-Forwarded-Host.") {
			for _, r := range c.upstreams {
				if r.http && r.preserveHost {
					r.t.set("preserve_host", true, "pass_host_header (oauth2-proxy's default)", false)
				}
			}
		}
	} else {
		c.report("pass_host_header", Builtin, "the upstream receives its own host in Host")
	}
}

func (c *converter) anyPreserveHost() bool {
	for _, r := range c.upstreams {
		if r.http && r.preserveHost {
			return true
		}
	}
	return false
}

// upstreamRoute converts one upstream, or reports why it cannot.
func (c *converter) upstreamRoute(s upstreamSpec) *route {
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
			c.reportAt(s.option, s.source, Builtin, s.uri+" (oauth2-proxy's \"no upstream\"):")
			return nil
		}
		if !c.pending("file://", s.source, fmt.Sprintf("Meanwhile serve %s from a small web server behind an [[upstream]].", s.uri)) {
			return nil
		}
		path, dir := "/", strings.SplitN(s.uri, "#", 2)
		if len(dir) == 2 {
			path = dir[1]
		}
		t := &table{}
		t.set("path_prefix", strings.TrimSuffix(path, "/")+"/", "", false)
		t.set("url", dir[0], s.option+" "+s.uri, false)
		return &route{name: "files", prefix: path, t: t}
	case "unix":
		c.reportAt(s.option, s.source, NoEquivalent, s.uri+": Gatehouse reaches upstreams over TCP: let the application listen on 127.0.0.1")
		return nil
	default:
		c.reportAt(s.option, s.source, Changed, fmt.Sprintf("%q: unknown scheme; write its [[upstream]] by hand", s.uri))
		return nil
	}
	prefix := s.path
	if prefix == "" {
		prefix = u.Path
	}
	if strings.HasPrefix(prefix, "^") {
		c.reportAt(s.option, s.source, Changed, "the path "+prefix+" is a regular expression: routes are path prefixes; write this route by hand")
		return nil
	}
	if prefix == "" {
		prefix = "/"
	}
	if prefix != "/" {
		prefix = strings.TrimSuffix(prefix, "/")
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
	r := &route{name: routeName(u.Hostname()), prefix: prefix, http: true, https: u.Scheme == "https", t: t}
	if s.insecure != nil && *s.insecure {
		if c.pending("ssl_upstream_insecure_skip_verify", s.source, "Meanwhile give "+u.Host+" a certificate the system trusts, or use http on a private network.") {
			t.set("tls_insecure_skip_verify", true, "insecureSkipTLSVerify: MUST NOT stay in production", false)
		}
	}
	r.preserveHost = s.passHost == nil || *s.passHost
	c.reportAt(s.option, s.source, Mapped, note, "upstream")
	return r
}

func (c *converter) staticRoute(s upstreamSpec, code int) *route {
	if !c.pending("static://", s.source, fmt.Sprintf("Meanwhile answer with %d from nginx, or from a small web server behind an [[upstream]].", code)) {
		return nil
	}
	prefix := s.path // alpha config; the legacy static:// is always "/"
	if prefix == "" {
		prefix = "/"
	}
	t := &table{}
	t.set("path_prefix", prefix, "", false)
	t.set("url", fmt.Sprintf("static://%d", code), s.option+" "+s.uri, false)
	return &route{name: "static", prefix: prefix, t: t}
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
