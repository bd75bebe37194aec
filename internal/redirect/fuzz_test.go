package redirect

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzValidate checks that whatever Validate accepts is, as net/url and as a
// browser read it, either a path on the current origin or a URL on an allowed
// host, and holds nothing a browser would drop or reinterpret.
func FuzzValidate(f *testing.F) {
	for _, tc := range openRedirectCases {
		f.Add(tc.in)
	}
	for _, s := range []string{
		"http://localhost:8080/x", "https://a.b.example.org:443/", "/%2e%2e/%2f/x",
		"https://app.example.net:00443/", "/a/b/../../..//x", "HTTP://localhost:8080",
	} {
		f.Add(s)
	}
	validators := []*Validator{
		testValidator(f),
		New(mustParse(f, "http://localhost:8080"), []string{"app.example.net"}),
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i, v := range validators {
			got, err := v.Validate(s)
			if err != nil {
				if got != "" {
					t.Fatalf("validator %d: Validate(%q) = %q with error %v", i, s, got, err)
				}
				continue
			}
			if got != s {
				t.Fatalf("validator %d: Validate(%q) = %q, want the input unchanged", i, s, got)
			}
			checkSafe(t, i, got)
		}
	})
}

// checkSafe is the property: a reference implementation of "safe", written
// independently of Validate.
func checkSafe(t *testing.T, validator int, got string) {
	t.Helper()
	for _, c := range []byte(got) {
		if c < 0x20 || c == 0x7f || c == ' ' || c == '\\' || c >= 0x80 {
			t.Fatalf("validator %d: accepted %q, which contains byte %q", validator, got, c)
		}
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatalf("validator %d: accepted %q, which url.Parse rejects: %v", validator, got, err)
	}
	if u.Scheme == "" && u.Host == "" {
		for _, p := range []string{u.Path, u.EscapedPath(), got} {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
				t.Fatalf("validator %d: accepted %q, path %q is not a path on this origin", validator, got, p)
			}
		}
		if d, err := url.PathUnescape(u.EscapedPath()); err == nil && strings.ContainsAny(d, "\\\r\n\t\x00") {
			t.Fatalf("validator %d: accepted %q, whose decoded path %q is unsafe", validator, got, d)
		}
		// Resolved as a browser does (RFC 3986 §5.2, dot segments
		// removed), it stays on this origin and does not turn into
		// "//host" should something re-emit its path.
		base := &url.URL{Scheme: "https", Host: "auth.example.com", Path: "/gatehouse/"}
		r := base.ResolveReference(u)
		if r.Host != base.Host || strings.HasPrefix(r.EscapedPath(), "//") {
			t.Fatalf("validator %d: accepted %q, which resolves to %q", validator, got, r)
		}
		return
	}
	if u.User != nil || u.Opaque != "" {
		t.Fatalf("validator %d: accepted %q with userinfo or opaque part", validator, got)
	}
	// Browsers find the host after "scheme://" whatever follows, so the
	// accepted value must spell it out the way net/url read it.
	if !strings.HasPrefix(strings.ToLower(got), u.Scheme+"://"+strings.ToLower(u.Host)) {
		t.Fatalf("validator %d: accepted %q, host %q not right after scheme://", validator, got, u.Host)
	}
	host, port := strings.ToLower(u.Hostname()), strings.TrimLeft(u.Port(), "0")
	if !allowedHost(validator, u.Scheme, host, port) {
		t.Fatalf("validator %d: accepted %q on host %q port %q", validator, got, host, port)
	}
}

func allowedHost(validator int, scheme, host, port string) bool {
	if validator == 1 {
		return scheme == "http" && host == "localhost" && port == "8080" ||
			scheme == "https" && host == "app.example.net" && (port == "" || port == "443")
	}
	if scheme != "https" {
		return false
	}
	def := port == "" || port == "443"
	switch {
	case host == "auth.example.com", host == "app.example.net":
		return def
	case host == "admin.example.net":
		return port == "8443"
	case host == "example.org" || strings.HasSuffix(host, ".example.org"):
		return def
	case strings.HasSuffix(host, ".any.example.com"):
		return true
	}
	return false
}
