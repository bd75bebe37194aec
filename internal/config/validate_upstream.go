package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

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

func checkUpstreamURL(s string) string {
	if upstreamURLKind(s) != upstreamHTTP {
		return checkSpecialURL(s) // upstream_options.go
	}
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
