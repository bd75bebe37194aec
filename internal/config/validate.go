package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	validateUpstreamOptions(&p, c) // upstream_options.go
	c.RESTAPI.validate(&p, c.Provider.ClientID, c.Upstreams)
	validateRules(&p, &c.Authorization, c.Upstreams)
	c.Bearer.validate(&p, c.Provider.ClientID, c.Upstreams)
	c.Limits.validate(&p)
	c.Tracing.validate(&p)
	c.UI.validate(&p)
	return errors.Join(p...)
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
