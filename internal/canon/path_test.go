package canon

import (
	"slices"
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
		want    [3]string
	}{
		{"/public/x", [3]string{"/public/x", "/public/x", "/public/x"}},
		{"/public/..;/admin", [3]string{"/public/..;/admin", "/public/..;/admin", "/admin"}},
		{"/public;jsessionid=1/x", [3]string{"/public;jsessionid=1/x", "/public;jsessionid=1/x", "/public/x"}},
		{"/public/%2e%2e/admin", [3]string{"/admin", "/public/%2E%2E/admin", "/admin"}},
		{"/admin/%2e%2e/public", [3]string{"/public", "/admin/%2E%2E/public", "/public"}},
		{"/public/%252e%252e/admin", [3]string{"/public/%2e%2e/admin", "/public/%252e%252e/admin", "/admin"}},
		{"/public/..%5cadmin", [3]string{`/public/..\admin`, "/public/..%5Cadmin", "/admin"}},
		{"/files/100%25", [3]string{"/files/100%", "/files/100%25", "/files/100%"}},
		{"/a%2Fb", [3]string{"/a/b", "/a%2Fb", "/a/b"}},
		{"/caf%C3%A9/%7euser", [3]string{"/café/~user", "/café/~user", "/café/~user"}},
		{"//a/./b/", [3]string{"/a/b/", "/a/b/", "/a/b/"}},
	} {
		p, err := ParsePath(tc.escaped)
		got := [3]string{p.Clean, p.Raw, p.Lenient}
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

// TestPathReadings covers the readings servers that ignore trailing dots
// and spaces (IIS, ASP.NET) act on, and the segments no server agrees on.
func TestPathReadings(t *testing.T) {
	for _, tc := range []struct {
		escaped string
		want    []string
	}{
		{"/admin/x", []string{"/admin/x"}},
		{"/static/app.js", []string{"/static/app.js"}},
		{"/admin./x", []string{"/admin./x", "/admin/x"}},
		{"/admin%2e/x", []string{"/admin./x", "/admin/x", "/admin%2E/x"}},
		{"/admin%20/x", []string{"/admin /x", "/admin/x"}},
		{"/admin.%20./x", []string{"/admin. ./x", "/admin/x"}},
		{"/a/b.", []string{"/a/b.", "/a/b"}},
		{"/public/..;/admin", []string{"/public/..;/admin", "/admin"}},
		{"/ADMIN/x", []string{"/ADMIN/x"}},
	} {
		p, err := ParsePath(tc.escaped)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tc.escaped, err)
			continue
		}
		if got := p.Readings(); !slices.Equal(got, tc.want) {
			t.Errorf("ParsePath(%q).Readings() = %q, want %q", tc.escaped, got, tc.want)
		}
	}
	for _, bad := range []string{"/a/.../b", "/a/%2e%2e%2e/b", "/a/.%20/b", "/a/%20/b", "/public/..%20/admin"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q): no error for a segment of only dots and spaces", bad)
		}
	}
}

func TestHost(t *testing.T) {
	for _, tc := range []struct{ in, host, port string }{
		{"", "", ""},
		{"admin.example.com", "admin.example.com", ""},
		{"ADMIN.Example.COM", "admin.example.com", ""},
		{"admin.example.com.", "admin.example.com", ""},
		{"ADMIN.example.com.:443", "admin.example.com", "443"},
		{"admin.example.com:0443", "admin.example.com", "443"},
		{"admin.example.com:", "admin.example.com", ""},
		{"127.0.0.1:8080", "127.0.0.1", "8080"},
		{"[::1]:8080", "::1", "8080"},
		{"[0:0::1]", "::1", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"my_host.internal", "my_host.internal", ""},
	} {
		h, p, err := Host(tc.in)
		if err != nil || h != tc.host || p != tc.port {
			t.Errorf("Host(%q) = %q, %q, %v; want %q, %q", tc.in, h, p, err, tc.host, tc.port)
		}
	}
	for _, bad := range []string{
		"admin.example.com..", "admin..example.com", ".admin.example.com", ".", "a b", "admin.example.com:x",
		"admin.example.com:65536", "admin.example.com:+80", "[::1", "[fe80::1%eth0]", "[127.0.0.1]", "a/b",
		"a\\b", "admin.example.com:443:443", "a@b", "a%2eb", "ex\x00ample.com", strings.Repeat("a", 64) + ".com",
	} {
		if h, p, err := Host(bad); err == nil {
			t.Errorf("Host(%q) = %q, %q; want an error", bad, h, p)
		}
	}
}
