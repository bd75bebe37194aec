package authz

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/canon"
)

// escapedPath returns the readings of the path of a raw request URI as
// sent (url.URL.EscapedPath), without the query.
func escapedPath(t *testing.T, raw string) *canon.Path {
	t.Helper()
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	v, err := canon.ParsePath(u.EscapedPath())
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", u.EscapedPath(), err)
	}
	return &v
}

// TestSkipAuthPathTricks feeds raw request URIs (as a client sends them)
// through the gateway's parsing and checks that no trick reaches a
// protected path through a skip_auth pattern.
func TestSkipAuthPathTricks(t *testing.T) {
	p, err := New(Rules{SkipAuth: []string{"/public/*", "/healthz", "OPTIONS /api/*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, raw string
		skip              bool
	}{
		{"PrefixMatch", "GET", "/public/app.css", true},
		{"PrefixDirectory", "GET", "/public/", true},
		{"PrefixWithoutSlash", "GET", "/public", false},
		{"SimilarPrefix", "GET", "/publicity/x", false},
		{"Exact", "GET", "/healthz", true},
		{"ExactTrailingSlash", "GET", "/healthz/", false},
		{"ExactSubpath", "GET", "/healthz/x", false},
		{"DotDotOut", "GET", "/public/../admin", false},
		{"DotDotIn", "GET", "/admin/../public/x", true},
		{"DoubleSlash", "GET", "//public/x", true},
		{"DoubleSlashInside", "GET", "/public//x", true},
		{"DoubleSlashEscape", "GET", "/public//../admin", false},
		{"EncodedDotDot", "GET", "/public/%2e%2e/admin", false},
		{"EncodedDotDotUpper", "GET", "/public/%2E%2E/admin", false},
		{"DoubleEncodedDotDot", "GET", "/public/%252e%252e/admin", false},
		{"EncodedSlash", "GET", "/public%2f..%2fadmin", false},
		{"SemicolonDotDot", "GET", "/public/..;/admin", false},
		{"SemicolonParam", "GET", "/public;x/../admin", false},
		{"SemicolonHarmless", "GET", "/public/x;v=1", true},
		{"Backslash", "GET", `/public/..%5cadmin`, false},
		{"QueryLooksLikePath", "GET", "/admin?/public/x", false},
		{"QueryDotDot", "GET", "/public/x?../../admin", true},
		{"EncodedQuestionMark", "GET", "/admin%3f/public/x", false},
		{"Fragment", "GET", "/admin#/public/x", false},
		{"MethodPattern", "OPTIONS", "/api/things", true},
		{"MethodPatternOtherMethod", "GET", "/api/things", false},
		{"NullByte", "GET", "/public%00/../admin", false},
		{"EncodedDotDotIntoSkip", "GET", "/admin/%2e%2e/public/x", false},
		{"DotDotIntoSkipLiteral", "GET", "/admin/../public/x", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.SkipAuth(tc.method, escapedPath(t, tc.raw)); got != tc.skip {
				t.Errorf("SkipAuth(%s %s) = %v, want %v", tc.method, tc.raw, got, tc.skip)
			}
		})
	}
}

// FuzzSkipAuth checks that whatever the path, a skipped request is one
// that every reading places under a skip pattern, and that the readings
// are clean.
func FuzzSkipAuth(f *testing.F) {
	for _, s := range []string{"/public/x", "/public/../admin", "/public/..;/admin", "//public", "/public/%2e%2e/a",
		"/public/..%5ca", "/healthz", "/public;/x", "", "public", "/public/%", "/public/%252e%252e/", "/admin/%2e%2e/public/x"} {
		f.Add(s)
	}
	p, err := New(Rules{SkipAuth: []string{"/public/*", "/healthz"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		v, err := canon.ParsePath(escaped)
		if err != nil {
			return
		}
		for _, r := range v.Readings() {
			if canon.CleanPath(r) != r || !strings.HasPrefix(r, "/") || strings.Contains(r, "//") ||
				strings.Contains(r+"/", "/../") || strings.Contains(r+"/", "/./") {
				t.Fatalf("ParsePath(%q): reading %q is not clean", escaped, r)
			}
		}
		if !p.SkipAuth("GET", &v) {
			return
		}
		for _, r := range v.Readings() {
			if r != "/healthz" && !strings.HasPrefix(r, "/public/") {
				t.Fatalf("SkipAuth(%q) but its reading %q is outside every pattern", escaped, r)
			}
		}
		// Decoding what the lenient reading left encoded hides no way out.
		if d, err := url.PathUnescape(v.Raw); err == nil && !strings.HasPrefix(canon.CleanPath(d), "/public/") && v.Raw != "/healthz" {
			t.Fatalf("SkipAuth(%q) but the decoded raw reading %q leaves the pattern", escaped, canon.CleanPath(d))
		}
	})
}
