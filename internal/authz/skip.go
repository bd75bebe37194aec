package authz

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/canon"
)

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
	case canon.CleanPath(p) != p:
		return sp, fmt.Errorf("%q: the path is not clean (no \".\" or \"..\" segments, no \"//\"); write %q", s, canon.CleanPath(p))
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
// v needs no authentication: some pattern must match every reading, letter
// case included (a pattern never matches more than it says).
func (p *Policy) SkipAuth(method string, v *canon.Path) bool {
	readings := v.Readings()
	for _, sp := range p.skip {
		if sp.matchesAll(method, readings) {
			return true
		}
	}
	return false
}

func (sp skipPattern) matchesAll(method string, readings []string) bool {
	for _, r := range readings {
		if !sp.matches(method, r) {
			return false
		}
	}
	return true
}

// HasSkipAuth reports whether the policy has skip_auth patterns: whether
// the need to authenticate depends on the path.
func (p *Policy) HasSkipAuth() bool { return len(p.skip) > 0 }
