package upstream

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/canon"
)

// stripPrefix returns r with the route's PathPrefix removed from its path,
// for a route with StripPrefix. It strips from the canonical path (the path
// decoded once and cleaned, canon.CleanPath: the reading the gateway routed
// and authorized), never from the spelling the client sent, so that no
// "..", encoded slash or letter case can make the stripped path point
// elsewhere than the path that was authorized. The result is sent
// re-encoded (url.URL.EscapedPath). ok is false when the path is not under
// the prefix, or when the stripped path, decoded once more, would have a
// ".." segment (defence in depth for upstreams that decode twice: the
// gateway refuses such paths before they reach a route).
//
// The request is copied shallowly; its headers are shared, as the reverse
// proxy copies them anyway.
func (rt *Route) stripPrefix(r *http.Request) (_ *http.Request, ok bool) {
	p := canon.CleanPath(r.URL.Path)
	if rt.CaseSensitivePaths {
		ok = prefixMatch(rt.PathPrefix, p)
	} else {
		ok = prefixMatch(rt.lowerPrefix, canon.Lower(p))
	}
	if !ok {
		return r, false
	}
	rest := p[len(strings.TrimSuffix(rt.PathPrefix, "/")):] // keeps its leading "/"
	if rest == "" {
		rest = "/"
	}
	if dotDotAfterDecoding(rest) {
		return r, false
	}
	out := new(http.Request)
	*out = *r
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	out.URL = &u
	return out, true
}

// dotDotAfterDecoding reports whether p, decoded once more (and with "\"
// read as "/" and ";" parameters dropped), has a segment of two or more
// dots only.
func dotDotAfterDecoding(p string) bool {
	if !strings.ContainsAny(p, "%\\;.") {
		return false
	}
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.ReplaceAll(p, "\\", "/")
	for seg := range strings.SplitSeq(p, "/") {
		seg, _, _ = strings.Cut(seg, ";")
		seg = strings.TrimRight(seg, " ")
		if len(seg) >= 2 && strings.Trim(seg, ".") == "" {
			return true
		}
	}
	return false
}
