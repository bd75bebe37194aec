package canon

import (
	"errors"
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

// Path is the set of readings of one request path that servers are known
// to act on. The gateway routes and logs on Clean. A request skips
// authentication only when every reading is under a skip_auth pattern, and
// the gateway refuses a request whose readings fall into different routes:
// whichever reading the upstream acts on, the gateway has applied that
// reading's rules.
//
// The readings are Clean, Raw and Lenient, and each of them with the
// trailing dots and spaces of every segment removed, as Windows (IIS,
// ASP.NET) and some Java containers do ("/admin./x" and "/admin%20/x" are
// "/admin/x" there). Letter case is not a reading of its own: routes
// compare it (see upstream.Router.Match), because it depends on the route.
type Path struct {
	// Clean is the path percent-decoded once and cleaned (CleanPath), as
	// net/http reads it.
	Clean string
	// Raw is the path with encoded ".", "/", "\", ";" and "%" left encoded
	// (the rest decoded), cleaned: the reading of routers that match the
	// escaped path, for which "/admin/%2e%2e/public" is under /admin.
	Raw string
	// Lenient is the path decoded twice (when that decodes), cut at a
	// decoded NUL, "?" or "#", without bytes that are not UTF-8, with "\"
	// read as "/" and the parameters after ";" dropped from every segment,
	// cleaned: the reading of servers such as Tomcat ("/public/..;/admin"
	// is /admin), IIS, C programs ("/admin%00/x" is /admin), and those that
	// decode twice.
	Lenient string

	all [6]string // the distinct readings, Clean first
	n   int
}

// ErrAmbiguousPath is returned for a path one of whose segments is only
// dots and spaces ("...", ". ."): servers disagree on what it means.
var ErrAmbiguousPath = errors.New("canon: a path segment of only dots and spaces")

// ParsePath returns the readings of escaped, a request path as sent
// (url.URL.EscapedPath: percent-encoded, without the query). It fails when
// escaped is not a valid percent-encoding, or when a reading has a segment
// of only dots and spaces.
func ParsePath(escaped string) (Path, error) {
	once, err := url.PathUnescape(escaped)
	if err != nil {
		return Path{}, fmt.Errorf("canon: malformed path: %w", err)
	}
	p := Path{Clean: CleanPath(once)}
	if !needsReadings(escaped) { // the common case: every reading is Clean
		p.Raw, p.Lenient = p.Clean, p.Clean
		p.all[0], p.n = p.Clean, 1
		return p, nil
	}
	p.Raw, p.Lenient = CleanPath(partialUnescape(escaped)), lenient(once)
	for _, r := range [3]string{p.Clean, p.Raw, p.Lenient} {
		t, err := trimSegments(r)
		if err != nil {
			return Path{}, err
		}
		p.add(r)
		p.add(t)
	}
	return p, nil
}

// needsReadings reports whether escaped may have readings other than its
// cleaned self: it has an escape, a backslash, a semicolon, or a segment
// ending in a dot or a space.
func needsReadings(escaped string) bool {
	return strings.ContainsAny(escaped, "%\\;") || endsSegmentInDotOrSpace(escaped)
}

// endsSegmentInDotOrSpace reports whether a segment of p ends in "." or " ".
func endsSegmentInDotOrSpace(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; (c == '.' || c == ' ') && (i+1 == len(p) || p[i+1] == '/') {
			return true
		}
	}
	return false
}

func (p *Path) add(r string) {
	for _, have := range p.all[:p.n] {
		if have == r {
			return
		}
	}
	p.all[p.n] = r
	p.n++
}

// Readings returns the distinct readings, Clean first. The slice must not
// be modified.
func (p *Path) Readings() []string { return p.all[:p.n] }

// trimSegments returns p, a clean reading, with the trailing dots and
// spaces of every segment removed, cleaned again. A segment of only dots
// and spaces is an error.
func trimSegments(p string) (string, error) {
	if !endsSegmentInDotOrSpace(p) {
		return p, nil
	}
	segs := strings.Split(p, "/")
	changed := false
	for i, s := range segs {
		t := strings.TrimRight(s, ". ")
		if t == s {
			continue
		}
		if t == "" {
			return "", ErrAmbiguousPath
		}
		segs[i], changed = t, true
	}
	if !changed {
		return p, nil
	}
	return CleanPath(strings.Join(segs, "/")), nil
}

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
	// What C strings, servers that decode before they split off the query,
	// and those that drop bytes that are not UTF-8 make of the rest.
	if i := strings.IndexAny(p, "\x00?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.ToValidUTF8(p, "")
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
