package authz

import (
	"net/url"
	"strings"
	"testing"
)

func TestCleanPathMatchesServeMux(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"a", "/a"},
		{"/a/b/", "/a/b/"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"//a//b", "/a/b"},
		{"/a/b/..", "/a"},
		{"/a/b/../", "/a/"},
		{"/a;b/../c", "/c"},
	} {
		if got := CleanPath(tc.in); got != tc.want {
			t.Errorf("CleanPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		escaped string
		want    PathViews
	}{
		{"/public/x", PathViews{"/public/x", "/public/x", "/public/x"}},
		{"/public/..;/admin", PathViews{"/public/..;/admin", "/public/..;/admin", "/admin"}},
		{"/public;jsessionid=1/x", PathViews{"/public;jsessionid=1/x", "/public;jsessionid=1/x", "/public/x"}},
		{"/public/%2e%2e/admin", PathViews{"/admin", "/public/%2E%2E/admin", "/admin"}},
		{"/admin/%2e%2e/public", PathViews{"/public", "/admin/%2E%2E/public", "/public"}},
		{"/public/%252e%252e/admin", PathViews{"/public/%2e%2e/admin", "/public/%252e%252e/admin", "/admin"}},
		{"/public/..%5cadmin", PathViews{`/public/..\admin`, "/public/..%5Cadmin", "/admin"}},
		{"/files/100%25", PathViews{"/files/100%", "/files/100%25", "/files/100%"}},
		{"/a%2Fb", PathViews{"/a/b", "/a%2Fb", "/a/b"}},
		{"/caf%C3%A9/%7euser", PathViews{"/café/~user", "/café/~user", "/café/~user"}},
		{"//a/./b/", PathViews{"/a/b/", "/a/b/", "/a/b/"}},
	} {
		got, err := ParsePath(tc.escaped)
		if err != nil || got != tc.want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tc.escaped, got, err, tc.want)
		}
	}
	for _, bad := range []string{"/a%", "/a%zz", "/%g0"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q): no error", bad)
		}
	}
}

// escapedPath returns the readings of the path of a raw request URI as
// sent (url.URL.EscapedPath), without the query.
func escapedPath(t *testing.T, raw string) PathViews {
	t.Helper()
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	v, err := ParsePath(u.EscapedPath())
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", u.EscapedPath(), err)
	}
	return v
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
		v, err := ParsePath(escaped)
		if err != nil {
			return
		}
		for _, r := range v.All() {
			if CleanPath(r) != r || !strings.HasPrefix(r, "/") || strings.Contains(r, "//") ||
				strings.Contains(r+"/", "/../") || strings.Contains(r+"/", "/./") {
				t.Fatalf("ParsePath(%q): reading %q is not clean", escaped, r)
			}
		}
		if !p.SkipAuth("GET", v) {
			return
		}
		for _, r := range v.All() {
			if r != "/healthz" && !strings.HasPrefix(r, "/public/") {
				t.Fatalf("SkipAuth(%q) but its reading %q is outside every pattern", escaped, r)
			}
		}
		// Decoding what the lenient reading left encoded hides no way out.
		if d, err := url.PathUnescape(v.Raw); err == nil && !strings.HasPrefix(CleanPath(d), "/public/") && v.Raw != "/healthz" {
			t.Fatalf("SkipAuth(%q) but the decoded raw reading %q leaves the pattern", escaped, CleanPath(d))
		}
	})
}
