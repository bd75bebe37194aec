package canon

import (
	"net/url"
	"os"
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
		{"/admin%00/x", []string{"/admin\x00/x", "/admin"}},
		{"/admin%3f/x", []string{"/admin?/x", "/admin"}},
		{"/admin%23/x", []string{"/admin#/x", "/admin"}},
		{"/admin%ff/x", []string{"/admin\xff/x", "/admin/x"}},
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

// corpusSeeds adds the hostile-request corpus (testdata) to f: each line's
// request-target with add, and its Host with addHost.
func corpusSeeds(f *testing.F, add func(target, host string)) {
	b, err := os.ReadFile("testdata/hostile-requests.txt")
	if err != nil {
		f.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if cols := strings.Split(line, "\t"); len(cols) == 3 && !strings.HasPrefix(line, "#") {
			add(cols[1], cols[0])
		}
	}
}

// FuzzParsePath checks that every reading is clean and absolute, that
// Clean comes first, and that the readings are closed under trimming
// trailing dots and spaces (so no such spelling escapes the route check).
func FuzzParsePath(f *testing.F) {
	corpusSeeds(f, func(target, _ string) {
		if u, err := url.ParseRequestURI(target); err == nil {
			f.Add(u.EscapedPath())
		}
	})
	f.Fuzz(func(t *testing.T, escaped string) {
		p, err := ParsePath(escaped)
		if err != nil {
			return
		}
		rs := p.Readings()
		if len(rs) == 0 || rs[0] != p.Clean {
			t.Fatalf("ParsePath(%q): readings %q do not start with Clean %q", escaped, rs, p.Clean)
		}
		for _, r := range rs {
			if CleanPath(r) != r || !strings.HasPrefix(r, "/") {
				t.Fatalf("ParsePath(%q): reading %q is not clean", escaped, r)
			}
			tr, err := trimSegments(r)
			if err != nil || !slices.Contains(rs, tr) {
				t.Fatalf("ParsePath(%q): reading %q trims to %q (%v), which is not a reading of %q", escaped, r, tr, err, rs)
			}
		}
	})
}

// FuzzHost checks that a host that parses is canonical: parsing it again
// gives itself, in lower case, without a trailing dot or a port.
func FuzzHost(f *testing.F) {
	corpusSeeds(f, func(_, host string) { f.Add(strings.ReplaceAll(host, "{port}", "8080")) })
	f.Fuzz(func(t *testing.T, hostport string) {
		h, port, err := Host(hostport)
		if err != nil || h == "" {
			return
		}
		if h != Lower(h) || strings.HasSuffix(h, ".") || (strings.Contains(h, ":") && !strings.Contains(hostport, "[")) {
			t.Fatalf("Host(%q) = %q: not canonical", hostport, h)
		}
		if port != "" && (port[0] == '0' && port != "0") {
			t.Fatalf("Host(%q): port %q has a leading zero", hostport, port)
		}
		in := h
		if strings.Contains(h, ":") {
			in = "[" + h + "]"
		}
		if h2, p2, err := Host(in); err != nil || h2 != h || p2 != "" {
			t.Fatalf("Host(%q) = %q, but Host(%q) = %q, %q, %v", hostport, h, in, h2, p2, err)
		}
	})
}
