package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// problems collects validation errors, each prefixed with its key path.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Validate reports every problem in c, each prefixed by its full key path
// ("provider.issuer: required", "upstream[1].url: ..."), joined with
// [errors.Join]; upstreams are indexed from 0. It is pure: no I/O, no
// logging, and c is not modified. Call it on a Config from [Parse] or [Load],
// which apply defaults and resolve secrets.
func (c *Config) Validate() error {
	if c == nil {
		return errors.New("config: nil")
	}
	var p problems
	c.Server.validate(&p)
	c.Provider.validate(&p)
	c.Session.validate(&p, c.Server.PublicURL)
	c.Headers.validate(&p)
	validateUpstreams(&p, c.Upstreams)
	validateUpstreamTokens(&p, c.Upstreams)
	c.RESTAPI.validate(&p, c.Provider.ClientID, c.Upstreams)
	validateRules(&p, &c.Authorization, c.Upstreams)
	c.Bearer.validate(&p, c.Provider.ClientID, c.Upstreams)
	c.Limits.validate(&p)
	return errors.Join(p...)
}

func (s *Server) validate(p *problems) {
	if s.Listen == "" {
		p.add("server.listen", "required")
	} else if err := checkHostPort(s.Listen); err != nil {
		p.add("server.listen", "%v", err)
	}
	if s.PublicURL == "" {
		p.add("server.public_url", "required")
	} else if msg := checkBaseURL(s.PublicURL, false); msg != "" {
		p.add("server.public_url", "%s", msg)
	}
	for i, e := range s.TrustedProxies {
		if msg := checkTrustedProxy(e); msg != "" {
			p.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%s", msg)
		}
	}
	for i, e := range s.AllowedRedirectDomains {
		if msg := checkRedirectDomain(e); msg != "" {
			p.add(fmt.Sprintf("server.allowed_redirect_domains[%d]", i), "%s", msg)
		}
	}
	checkOneOf(p, "server.log_format", s.LogFormat, "text", "json")
	checkOneOf(p, "server.log_level", s.LogLevel, "debug", "info", "warn", "error")
	checkPositive(p, "server.shutdown_timeout", s.ShutdownTimeout)
	checkPositive(p, "server.read_header_timeout", s.ReadHeaderTimeout)
	checkPositive(p, "server.idle_timeout", s.IdleTimeout)
	checkPositive(p, "server.body_read_timeout", s.BodyReadTimeout)
	if d := s.AccessLogFlushInterval.Duration; d < 0 || d > 10*time.Second {
		p.add("server.access_log_flush_interval", "must be between 0s (write each line at once) and 10s")
	}
	if s.GCMinHeapMiB < 0 || s.GCMinHeapMiB > 1<<20 {
		p.add("server.gc_min_heap_mib", "must be between 0 (Go's default garbage collection) and 1048576 (MiB)")
	}
	if s.MetricsListen != "" {
		if err := checkHostPort(s.MetricsListen); err != nil {
			p.add("server.metrics_listen", "%v", err)
		} else if s.MetricsListen == s.Listen {
			p.add("server.metrics_listen", "must differ from server.listen")
		}
	}
	if s.Pprof && s.MetricsListen == "" {
		p.add("server.pprof", "needs server.metrics_listen: the profiler is served on the metrics listener only")
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		p.add("server.tls_cert_file", "tls_cert_file and tls_key_file go together: set both or neither")
	}
}

// reservedAuthParams are the authorization request parameters Gatehouse sets
// itself (RFC 6749 §4.1.1, OpenID Connect Core 1.0 §3.1.2.1, RFC 7636 §4.3),
// or that would override them (RFC 9101 request objects) or move the response
// away from the callback's query (response_mode).
var reservedAuthParams = []string{
	"client_id", "code_challenge", "code_challenge_method", "nonce",
	"redirect_uri", "request", "request_uri", "response_mode",
	"response_type", "scope", "state",
}

func (pr *Provider) validate(p *problems) {
	if pr.Issuer == "" {
		p.add("provider.issuer", "required")
	} else if msg := checkBaseURL(pr.Issuer, true); msg != "" {
		p.add("provider.issuer", "%s", msg)
	}
	if pr.ClientID == "" {
		p.add("provider.client_id", "required")
	}
	if pr.PostLogoutRedirectURI != "" {
		if msg := checkBaseURL(pr.PostLogoutRedirectURI, true); msg != "" {
			p.add("provider.post_logout_redirect_uri", "%s", msg)
		}
	}
	if !slices.Contains(login.EndSessionBindings, pr.EndSessionBinding) {
		p.add("provider.end_session_binding", "%q is not one of %s", pr.EndSessionBinding, strings.Join(login.EndSessionBindings, ", "))
	}
	if pr.ClientSecret == "" && pr.needsSecret() {
		p.add("provider.client_secret", "required (or client_secret_file, or %s)", EnvClientSecret)
	}
	switch {
	case pr.Type == ProviderOAuth2: // no OpenID Connect: any scopes, or none
	case len(pr.Scopes) > 0 && !slices.Contains(pr.Scopes, "openid"):
		p.add("provider.scopes", `must contain "openid"`)
	case len(pr.Scopes) == 0:
		p.add("provider.scopes", `required; must contain "openid"`)
	}
	for i, sc := range pr.Scopes {
		key := fmt.Sprintf("provider.scopes[%d]", i)
		switch {
		case sc == "":
			p.add(key, "must not be empty")
		case strings.ContainsFunc(sc, isSpaceOrControl):
			p.add(key, "%q must not contain white space; list each scope separately", sc)
		case slices.Index(pr.Scopes, sc) < i:
			p.add(key, "duplicate scope %q", sc)
		}
	}
	checkPositive(p, "provider.timeout", pr.Timeout)
	for _, name := range slices.Sorted(maps.Keys(pr.ExtraAuthParams)) {
		key := "provider.extra_auth_params." + name
		switch {
		case name == "":
			p.add("provider.extra_auth_params", "a parameter name must not be empty")
		case slices.Contains(reservedAuthParams, name):
			p.add(key, "reserved: Gatehouse sets or forbids this parameter itself")
		}
	}
	checkResponseType(p, pr.ResponseType)
	pr.validateGrants(p)
}

// checkResponseType accepts only the authorization code flow. The implicit
// and hybrid flows return tokens in the front channel (the browser's URL,
// history and Referer); RFC 9700 §2.1.2 says clients should not use them.
func checkResponseType(p *problems, rt string) {
	const key = "provider.response_type"
	if rt == "code" {
		return
	}
	parts := strings.Fields(rt)
	tokens := slices.Contains(parts, "token") || slices.Contains(parts, "id_token")
	switch {
	case tokens && !slices.Contains(parts, "code"):
		p.add(key, `%q is the implicit grant, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`, rt)
	case tokens:
		p.add(key, `%q is a hybrid flow, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`, rt)
	default:
		p.add(key, `%q is not supported; use "code"`, rt)
	}
}

// exampleCookieSecret is the placeholder cookie secret of
// config.example.toml: acceptable for a loopback demo only.
const exampleCookieSecret = "Z2F0ZWhvdXNlLWRlbW8tb25seS1kby1ub3QtdXNlISE="

func (s *Session) validate(p *problems, publicURL string) {
	checkOneOf(p, "session.store", s.Store, StoreMemory, StoreRedis)
	switch {
	case s.CookieName == "":
		p.add("session.cookie_name", "required")
	case strings.IndexFunc(s.CookieName, func(r rune) bool { return !isTokenChar(r) }) >= 0:
		p.add("session.cookie_name", "%q is not a valid cookie name (an RFC 6265 token: letters, digits and !#$%%&'*+-.^_`|~)", s.CookieName)
	case hasPrefixFold(s.CookieName, "__Host-") || hasPrefixFold(s.CookieName, "__Secure-"):
		p.add("session.cookie_name", "%q must not carry a __Host- or __Secure- prefix: Gatehouse adds __Host- itself when public_url is https (__Secure- with cookie_domain)", s.CookieName)
	}
	if s.CookieDomain != "" {
		if msg := checkCookieDomain(s.CookieDomain, publicURL); msg != "" {
			p.add("session.cookie_domain", "%s", msg)
		}
	}
	const genkey = `generate one with "gatehouse genkey"`
	switch {
	case s.CookieSecret == "":
		p.add("session.cookie_secret", "required (or cookie_secret_file, or %s); %s", EnvCookieSecret, genkey)
	case decodeKey(s.CookieSecret) == nil:
		p.add("session.cookie_secret", "must decode (base64) to exactly 32 bytes; %s", genkey)
	case s.CookieSecret == exampleCookieSecret && !isLoopbackURL(publicURL):
		p.add("session.cookie_secret", "is the published example value, fit only for a loopback demo; %s", genkey)
	}
	if s.Lifetime.Duration < time.Minute {
		p.add("session.lifetime", "%v is below the minimum of 1m", s.Lifetime.Duration)
	}
	switch it := s.IdleTimeout.Duration; {
	case it == 0:
	case it < time.Minute:
		p.add("session.idle_timeout", "%v is below the minimum of 1m (0 disables it)", it)
	case it > s.Lifetime.Duration:
		p.add("session.idle_timeout", "%v exceeds session.lifetime (%v)", it, s.Lifetime.Duration)
	}
	if s.RefreshBefore.Duration < 0 {
		p.add("session.refresh_before", "must not be negative")
	}
	if ma := s.CacheMaxAge.Duration; ma < 0 || ma > time.Minute {
		p.add("session.cache_max_age", "%v is outside 0s (no cache) to 1m", ma)
	}
	s.Redis.validate(p, s.Store == StoreRedis)
}

func (r *Redis) validate(p *problems, used bool) {
	if !used {
		if r.URL != "" || len(r.SentinelAddrs) > 0 || len(r.ClusterAddrs) > 0 || r.MasterName != "" {
			p.add("session.redis", `set, but session.store is not "redis"`)
		}
		return
	}
	n := 0
	for _, set := range []bool{r.URL != "", len(r.SentinelAddrs) > 0, len(r.ClusterAddrs) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		p.add("session.redis", "set exactly one of url, sentinel_addrs and cluster_addrs")
	}
	if r.URL != "" {
		if msg := checkRedisURL(r.URL); msg != "" {
			p.add("session.redis.url", "%s", msg)
		}
	}
	for i, a := range r.SentinelAddrs {
		if err := checkHostPort(a); err != nil {
			p.add(fmt.Sprintf("session.redis.sentinel_addrs[%d]", i), "%v", err)
		}
	}
	switch {
	case len(r.SentinelAddrs) > 0 && r.MasterName == "":
		p.add("session.redis.master_name", "required with sentinel_addrs")
	case len(r.SentinelAddrs) == 0 && r.MasterName != "":
		p.add("session.redis.master_name", "used only with sentinel_addrs")
	}
	for i, a := range r.ClusterAddrs {
		if err := checkHostPort(a); err != nil {
			p.add(fmt.Sprintf("session.redis.cluster_addrs[%d]", i), "%v", err)
		}
	}
}

func checkRedisURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "must be a redis:// or rediss:// URL"
	}
	if u.Host == "" {
		return "has no host"
	}
	return ""
}

func (h *Headers) validate(p *problems) {
	for _, f := range []struct{ key, claim string }{
		{"headers.user", h.User},
		{"headers.email", h.Email},
		{"headers.preferred_username", h.PreferredUsername},
		{"headers.groups", h.Groups},
	} {
		switch {
		case f.claim == "":
			p.add(f.key, "required (a claim name)")
		case strings.ContainsFunc(f.claim, isSpaceOrControl):
			p.add(f.key, "claim name %q must not contain white space", f.claim)
		}
	}
}

func validateUpstreams(p *problems, ups []Upstream) {
	if len(ups) == 0 {
		p.add("upstream", "at least one [[upstream]] is required")
		return
	}
	type route struct{ host, prefix string }
	names := map[string]int{}
	routes := map[route]int{}
	folded := map[route]int{} // path_prefix in lower case
	for i, u := range ups {
		key := fmt.Sprintf("upstream[%d]", i)
		if u.Name != "" {
			if !isName(u.Name) {
				p.add(key+".name", "%q must contain only a-z, 0-9 and '-'", u.Name)
			} else if j, dup := names[u.Name]; dup {
				p.add(key+".name", "%q is already the name of upstream[%d]", u.Name, j)
			} else {
				names[u.Name] = i
			}
		}
		if u.Host != "" {
			if msg := checkHost(u.Host); msg != "" {
				p.add(key+".host", "%s", msg)
			}
		}
		if msg := checkPathPrefix(u.PathPrefix); msg != "" {
			p.add(key+".path_prefix", "%s", msg)
		}
		r := route{u.Host, u.PathPrefix}
		if j, dup := routes[r]; dup {
			p.add(key, "same host (%q) and path_prefix (%q) as upstream[%d]", u.Host, u.PathPrefix, j)
		} else if j, dup := folded[route{u.Host, strings.ToLower(u.PathPrefix)}]; dup && !(u.CaseSensitivePaths && ups[j].CaseSensitivePaths) {
			p.add(key+".path_prefix", "%q differs from upstream[%d]'s %q only in letter case; set case_sensitive_paths = true on both if the application tells them apart", u.PathPrefix, j, ups[j].PathPrefix)
		} else {
			routes[r] = i
			folded[route{u.Host, strings.ToLower(u.PathPrefix)}] = i
		}
		if u.URL == "" {
			p.add(key+".url", "required")
		} else if msg := checkUpstreamURL(u.URL); msg != "" {
			p.add(key+".url", "%s", msg)
		}
		checkOneOf(p, key+".auth", u.Auth, vocab.AuthModes...)
		for _, d := range []struct {
			key string
			d   Duration
		}{{"timeout", u.Timeout}, {"idle_timeout", u.IdleTimeout}, {"body_read_timeout", u.BodyReadTimeout}} {
			if d.d.Duration < 0 {
				p.add(key+"."+d.key, "must not be negative (zero: the default)")
			}
		}
	}
}

// checkBaseURL checks public_url (allowPath false) or an issuer (allowPath
// true): an absolute http(s) URL without query, fragment or user info, https
// unless the host is loopback.
func checkBaseURL(s string, allowPath bool) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "must be an absolute http or https URL"
	case u.User != nil:
		return "must not contain user info"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment"
	case !allowPath && u.Path != "" && u.Path != "/":
		return "must not have a path (serving under a path prefix is not supported)"
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		u.Scheme = "https"
		return fmt.Sprintf("must use https (http is allowed only for a loopback host such as 127.0.0.1 or localhost); try %q", u.String())
	}
	return ""
}

func checkUpstreamURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return "must be an absolute http or https URL"
	case u.User != nil:
		return "must not contain user info"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment"
	}
	return ""
}

// isLoopbackURL reports whether s parses as a URL whose host is loopback.
// checkCookieDomain checks a session.cookie_domain: a host name (no IP
// address: browsers set no Domain cookie for one), equal to or a parent of
// public_url's host (the callback on that host sets the cookie; a browser
// refuses any other domain), and not a public suffix ("com", "co.uk",
// "github.io"), which would share the cookie with every site under it.
func checkCookieDomain(d, publicURL string) string {
	if msg := checkHost(d); msg != "" {
		return msg
	}
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return fmt.Sprintf("%q is an IP address; a cookie domain must be a host name (leave it empty for a host-only cookie)", d)
	}
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return fmt.Sprintf("%q is a public suffix: the session cookie would go to every site under it", d)
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return "" // server.public_url reports its own problem
	}
	if h := strings.ToLower(u.Hostname()); h != d && !strings.HasSuffix(h, "."+d) {
		return fmt.Sprintf("%q is not server.public_url's host %q or a parent domain of it: browsers would refuse the cookie", d, h)
	}
	return ""
}

func isLoopbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && isLoopback(u.Hostname())
}

// isLoopback reports whether host is "localhost", a name under it
// ("app.localhost": loopback by RFC 6761 §6.3, and what browsers resolve
// them to) or a loopback IP address (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || len(host) > len(".localhost") && strings.EqualFold(host[len(host)-len(".localhost"):], ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q must be host:port", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q has an invalid port", s)
	}
	return nil
}

func checkTrustedProxy(s string) string {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Sprintf("%q is not a valid CIDR", s)
		}
		if m := pfx.Masked(); m != pfx {
			return fmt.Sprintf("%q has host bits set; did you mean %q?", s, m.String())
		}
		return ""
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Sprintf("%q is not an IP address or CIDR", s)
	}
	return ""
}

func checkRedirectDomain(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%q must be a host name without scheme", s)
	case strings.HasPrefix(s, "*."):
		return fmt.Sprintf("%q: write %q to allow every subdomain", s, s[1:])
	case strings.ContainsAny(s, "/?#"):
		return fmt.Sprintf("%q must be a host name without path", s)
	}
	host, port := splitDomainPort(s)
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return fmt.Sprintf("%q: write an IPv6 address in brackets, as in %q", s, "["+host+"]")
	}
	if _, err := netip.ParseAddr(strings.Trim(strings.TrimPrefix(host, "."), "[]")); err == nil && strings.HasPrefix(s, ".") {
		return fmt.Sprintf("%q: an IP address has no subdomains", s)
	}
	if port != "" && port != "*" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Sprintf("%q has an invalid port (a number, or * for any port)", s)
		}
	}
	if msg := checkHost(strings.TrimPrefix(host, ".")); msg != "" {
		return msg
	}
	return ""
}

// splitDomainPort splits an allowed redirect domain's optional ":port" or
// ":*" off ("app.example.com:8443", "[::1]:8080"); an IPv6 address without
// brackets has none.
func splitDomainPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i >= 0 {
			host, rest := s[:i+1], s[i+1:]
			if p, ok := strings.CutPrefix(rest, ":"); ok {
				return host, p
			}
			return host, rest
		}
		return s, ""
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		return h, p
	}
	return s, ""
}

// checkHost accepts a lower-case DNS host name or an IP address, without port.
func checkHost(s string) string {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		if a.Zone() != "" {
			return fmt.Sprintf("%q must not have a zone", s)
		}
		return ""
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return fmt.Sprintf("%q must not have a port", s)
	}
	if s != strings.ToLower(s) {
		return fmt.Sprintf("%q must be lower case", s)
	}
	if len(s) > 253 {
		return fmt.Sprintf("%q is not a valid host name", s)
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.IndexFunc(label, func(r rune) bool {
				return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
			}) >= 0 {
			return fmt.Sprintf("%q is not a valid host name", s)
		}
	}
	return ""
}

func checkPathPrefix(s string) string {
	switch {
	case !strings.HasPrefix(s, "/"):
		return fmt.Sprintf("%q must start with \"/\"", s)
	case strings.ContainsAny(s, "?#"):
		return fmt.Sprintf("%q must not have a query or fragment", s)
	case strings.ContainsFunc(s, isSpaceOrControl):
		return fmt.Sprintf("%q must not contain white space", s)
	}
	segs := strings.Split(s[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "." || seg == "..":
			return fmt.Sprintf("%q must not contain a %q segment", s, seg)
		case seg == "" && i != len(segs)-1:
			return fmt.Sprintf("%q must not contain an empty segment (\"//\")", s)
		case strings.HasSuffix(seg, "."):
			return fmt.Sprintf("%q must not have a segment ending in \".\" (servers that drop trailing dots read it as another path)", s)
		}
	}
	return ""
}

func checkOneOf(p *problems, key, v string, allowed ...string) {
	if slices.Contains(allowed, v) {
		return
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = strconv.Quote(a)
	}
	p.add(key, "%q is not one of %s", v, strings.Join(q, ", "))
}

func checkPositive(p *problems, key string, d Duration) {
	if d.Duration <= 0 {
		p.add(key, "must be positive")
	}
}

func isName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
	}) < 0
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x1680 ||
		(r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}

// isTokenChar reports whether r is an RFC 9110 §5.6.2 tchar, the characters
// of an RFC 6265 cookie name.
func isTokenChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
