package authz

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// CleanPath returns p, a request path already percent-decoded once, cleaned
// as net/http's ServeMux cleans request paths: a leading "/" added, "." and
// ".." segments resolved, repeated slashes collapsed, and a trailing slash
// kept. The query is never part of p.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// PathViews are the readings of one request path that servers are known to
// act on. The gateway routes on Clean. A request skips authentication only
// when every reading is under a skip_auth pattern, and the gateway refuses
// a request whose readings fall into different routes: whichever reading
// the upstream acts on, the gateway has applied that reading's rules.
type PathViews struct {
	// Clean is the path percent-decoded once and cleaned (CleanPath), as
	// net/http reads it.
	Clean string
	// Raw is the path with encoded ".", "/", "\", ";" and "%" left encoded
	// (the rest decoded), cleaned: the reading of routers that match the
	// escaped path, for which "/admin/%2e%2e/public" is under /admin.
	Raw string
	// Lenient is the path decoded twice (when that decodes), with "\"
	// read as "/" and the parameters after ";" dropped from every segment,
	// cleaned: the reading of servers such as Tomcat ("/public/..;/admin"
	// is /admin), IIS, and those that decode twice.
	Lenient string
}

// ParsePath returns the readings of escaped, a request path as sent
// (url.URL.EscapedPath: percent-encoded, without the query). It fails when
// escaped is not a valid percent-encoding.
func ParsePath(escaped string) (PathViews, error) {
	once, err := url.PathUnescape(escaped)
	if err != nil {
		return PathViews{}, fmt.Errorf("authz: malformed path: %w", err)
	}
	return PathViews{Clean: CleanPath(once), Raw: CleanPath(partialUnescape(escaped)), Lenient: lenient(once)}, nil
}

// All returns the three readings.
func (v PathViews) All() [3]string { return [3]string{v.Clean, v.Raw, v.Lenient} }

// partialUnescape decodes s except the escapes of ".", "/", "\", ";" and
// "%", which it keeps (in upper case). s must be a valid encoding.
func partialUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+2 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		c, ok := unhex2(s[i+1], s[i+2])
		switch {
		case !ok:
			b.WriteByte(s[i])
			continue
		case c == '.' || c == '/' || c == '\\' || c == ';' || c == '%':
			b.WriteString(strings.ToUpper(s[i : i+3]))
		default:
			b.WriteByte(c)
		}
		i += 2
	}
	return b.String()
}

func unhex2(a, b byte) (byte, bool) {
	h, ok1 := unhex(a)
	l, ok2 := unhex(b)
	return h<<4 | l, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// lenient returns the Lenient reading of p, a path decoded once.
func lenient(p string) string {
	if strings.IndexByte(p, '%') >= 0 {
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if strings.IndexByte(p, ';') >= 0 {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if j := strings.IndexByte(s, ';'); j >= 0 {
				segs[i] = s[:j]
			}
		}
		p = strings.Join(segs, "/")
	}
	return CleanPath(p)
}

// skipPattern is a parsed SkipAuth entry.
type skipPattern struct {
	method string // "" for any
	path   string // exact path, or the prefix (ending in "/") when prefix is set
	prefix bool
}

// parseSkipPattern parses a SkipAuth entry: an optional upper-case method
// and a space, then a path that starts with "/", is clean (CleanPath leaves
// it unchanged), and has no "?", "#", ";", "\" or "%"; a path ending in
// "/*" is a prefix.
func parseSkipPattern(s string) (skipPattern, error) {
	var sp skipPattern
	p := s
	if m, rest, ok := strings.Cut(s, " "); ok {
		if !isMethod(m) {
			return sp, fmt.Errorf("%q: the method %q is not an upper-case method name", s, m)
		}
		sp.method, p = m, rest
	}
	if strings.HasSuffix(p, "/*") {
		sp.prefix = true
		p = strings.TrimSuffix(p, "*")
	}
	switch {
	case !strings.HasPrefix(p, "/"):
		return sp, fmt.Errorf("%q: the path must start with \"/\"", s)
	case strings.ContainsAny(p, "?#;\\%*"):
		return sp, fmt.Errorf("%q: the path must not contain \"?\", \"#\", \";\", \"\\\", \"%%\", or \"*\" other than a final \"/*\"", s)
	case strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return sp, fmt.Errorf("%q: the path must not contain white space or control characters", s)
	case CleanPath(p) != p:
		return sp, fmt.Errorf("%q: the path is not clean (no \".\" or \"..\" segments, no \"//\"); write %q", s, CleanPath(p))
	case sp.prefix && p == "/":
		return sp, fmt.Errorf(`%q would skip authentication everywhere; use auth = "public" instead`, s)
	}
	sp.path = p
	return sp, nil
}

func (sp skipPattern) matches(method, p string) bool {
	if sp.method != "" && sp.method != method {
		return false
	}
	if sp.prefix {
		return strings.HasPrefix(p, sp.path)
	}
	return p == sp.path
}

// SkipAuth reports whether a request with method for a path with readings
// v needs no authentication: some pattern must match every reading.
func (p *Policy) SkipAuth(method string, v PathViews) bool {
	for _, sp := range p.skip {
		if sp.matches(method, v.Clean) && sp.matches(method, v.Raw) && sp.matches(method, v.Lenient) {
			return true
		}
	}
	return false
}
