package redirect

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testValidator is the Validator of the tests: public origin
// https://auth.example.com, all of example.org, app.example.net on 443 and
// admin.example.net on 8443.
func testValidator(t testing.TB) *Validator {
	return New(mustParse(t, "https://auth.example.com/gatehouse"),
		[]string{".example.org", "app.example.net", "admin.example.net:8443", "*.any.example.com:*"})
}

// openRedirectCases are the security regression cases of
// TestOpenRedirectMatrix; FuzzValidate starts from them. want is the accepted
// value, or "" when the value must be rejected.
var openRedirectCases = []struct {
	name, in, want string
}{
	// Accepted.
	{"root", "/", "/"},
	{"path query fragment", "/app/x?y=1#z", "/app/x?y=1#z"},
	{"same origin", "https://auth.example.com/after", "https://auth.example.com/after"},
	{"same origin explicit default port", "https://auth.example.com:443/x", "https://auth.example.com:443/x"},
	{"same origin upper case", "HTTPS://AUTH.EXAMPLE.COM/x", "HTTPS://AUTH.EXAMPLE.COM/x"},
	{"same origin no path", "https://auth.example.com", "https://auth.example.com"},
	{"allowed domain apex", "https://example.org/", "https://example.org/"},
	{"allowed subdomain", "https://deep.sub.example.org/x?y", "https://deep.sub.example.org/x?y"},
	{"allowed exact host", "https://app.example.net/x", "https://app.example.net/x"},
	{"allowed exact host with port", "https://admin.example.net:8443/", "https://admin.example.net:8443/"},
	{"allowed any port", "https://a.any.example.com:9000/", "https://a.any.example.com:9000/"},
	{"encoded slash inside path", "/a%2fb", "/a%2fb"},
	{"encoded space in query", "/search?q=a%20b", "/search?q=a%20b"},
	{"colon in path", "/path/with:colon", "/path/with:colon"},
	{"encoded UTF-8", "/caf%C3%A9", "/caf%C3%A9"},
	{"double slash in query", "/x?next=//evil.com", "/x?next=//evil.com"},
	{"dot segments staying on path", "/a/../b/./c", "/a/../b/./c"},
	{"stray percent in query", "/x?a=100%", "/x?a=100%"},

	// Empty and long.
	{"empty", "", ""},
	{"too long", "/" + strings.Repeat("a", MaxLength), ""},

	// Network-path references and backslashes.
	{"scheme relative", "//evil.com", ""},
	{"triple slash", "///evil.com", ""},
	{"scheme relative dot dot", "//..", ""}, // found by FuzzValidate
	{"encoded scheme relative dot dot", "/%2f..", ""},
	{"slash backslash", `/\evil.com`, ""},
	{"backslash slash", `\/evil.com`, ""},
	{"double backslash", `\\evil.com`, ""},
	{"backslash in path", `/a\b`, ""},
	{"dot segment to network path", "/..//evil.com", ""},
	{"dot segment then slash", "/.//evil.com", ""},

	// Schemes.
	{"https without slashes", "https:evil.com", ""},
	{"http single slash", "http:/evil.com", ""},
	{"https single slash", "https:/evil.com", ""},
	{"http triple slash", "http:///evil.com", ""},
	{"javascript", "javascript:alert(1)", ""},
	{"javascript mixed case", "JaVaScRiPt:alert(1)", ""},
	{"javascript with tab", "java\tscript:alert(1)", ""},
	{"javascript with newline", "java\nscript:alert(1)", ""},
	{"data", "data:text/html,<script>alert(1)</script>", ""},
	{"data base64", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", ""},
	{"vbscript", "vbscript:msgbox(1)", ""},
	{"file", "file:///etc/passwd", ""},
	{"ftp allowed host", "ftp://example.org/", ""},
	{"relative without slash", "app/x", ""},
	{"query only", "?next=/x", ""},
	{"fragment only", "#x", ""},
	{"encoded colon", "javascript%3aalert(1)", ""},

	// Percent-encoding.
	{"encoded double slash", "/%2f%2fevil.com", ""},
	{"encoded double slash upper", "/%2F%2Fevil.com", ""},
	{"encoded second slash", "/%2F/evil.com", ""},
	{"encoded at start", "%2f%2fevil.com", ""},
	{"encoded backslash", "/%5cevil.com", ""},
	{"double encoded backslash", "/%255cevil.com", ""},
	{"double encoded slashes", "/%252f%252fevil.com", ""},
	{"encoded dot segment", "/%2e%2e//evil.com", ""},
	{"encoded CRLF", "/foo%0d%0aSet-Cookie:x=1", ""},
	{"encoded CRLF in query", "/foo?a=%0D%0ASet-Cookie:x=1", ""},
	{"encoded NUL", "/foo%00", ""},
	{"encoded tab", "/%09/evil.com", ""},
	{"encoded DEL", "/foo%7f", ""},
	{"malformed escape", "/%zz", ""},
	{"encoded four times", "/x?u=%25252541", "/x?u=%25252541"},
	{"encoded five times", "/x?u=%2525252541", ""},
	{"deeply nested encoding", "/%" + strings.Repeat("25", 1000) + "2f", ""},
	{"truncated escape", "/%", ""},

	// Control characters and spaces.
	{"CRLF", "/foo\r\nSet-Cookie:x=1", ""},
	{"NUL", "/foo\x00", ""},
	{"tab inside", "/\t/evil.com", ""},
	{"tab before", "\t//evil.com", ""},
	{"space at start", " /foo", ""},
	{"space then scheme relative", " //evil", ""},
	{"trailing space", "/foo ", ""},
	{"space inside", "/a b", ""},
	{"form feed", "\f/x", ""},
	{"DEL", "/x\x7f", ""},

	// Look-alikes and non-ASCII.
	{"fullwidth solidus", "/／evil.com", ""},
	{"fraction slash", "/⁄evil.com", ""},
	{"division slash", "/∕evil.com", ""},
	{"fullwidth reverse solidus", "/＼evil.com", ""},
	{"fullwidth solidus in host", "https://evil.com／.example.org/", ""},
	{"IDN host", "https://exämple.org/", ""},
	{"right-to-left override", "/\u202e/moc.live", ""},
	{"invalid UTF-8", "/\xff", ""},

	// Hosts.
	{"other host", "https://evil.com", ""},
	{"public host as prefix", "https://auth.example.com.evil.com", ""},
	{"fragment with at", "https://evil.com#@auth.example.com", ""},
	{"query with at", "https://evil.com?@auth.example.com", ""},
	{"userinfo", "https://auth.example.com@evil.com", ""},
	{"userinfo on allowed host", "https://user:pass@auth.example.com/", ""},
	{"backslash userinfo", `https://evil.com\@auth.example.com`, ""},
	{"encoded at", "https://evil.com%40auth.example.com/", ""},
	{"encoded dot in host", "https://evil%2ecom/", ""},
	{"trailing dot", "https://auth.example.com./", ""},
	{"empty host", "https://:443/", ""},
	{"IPv6 literal", "https://[::1]/", ""},
	{"IPv4 as number", "https://2130706433/", ""},
	{"suffix without dot", "https://notexample.org/", ""},
	{"allowed domain as prefix", "https://example.org.evil.com/", ""},
	{"subdomain of exact entry", "https://sub.app.example.net/", ""},
	{"underscore bypass", "https://evil_example.org/", ""},

	// Ports and schemes of allowed hosts.
	{"same host other port", "https://auth.example.com:8443/", ""},
	{"same host http", "http://auth.example.com/", ""},
	{"allowed domain over http", "http://app.example.net/", ""},
	{"allowed host other port", "https://app.example.net:444/", ""},
	{"port-restricted entry default port", "https://admin.example.net/", ""},
	{"port out of range", "https://app.example.net:65536/", ""},
	{"port zero", "https://app.example.net:0/", ""},
	{"non-numeric port", "https://app.example.net:https/", ""},
}

func TestOpenRedirectMatrix(t *testing.T) {
	v := testValidator(t)
	for _, tc := range openRedirectCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Validate(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Validate(%q) = %q, want an error", tc.in, got)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Validate(%q) error %v does not wrap ErrInvalid", tc.in, err)
				}
				if got != "" {
					t.Errorf("Validate(%q) = %q with an error, want \"\"", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Validate(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestValidateHTTPPublicURL(t *testing.T) {
	v := New(mustParse(t, "http://localhost:8080"), []string{"app.example.net", ".dev.localhost:*", ".example.org:*"})
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"same origin over http", "http://localhost:8080/x", true},
		{"same origin upper case", "http://LOCALHOST:8080/x", true},
		{"same origin leading zero port", "http://localhost:08080/x", true},
		{"other port", "http://localhost/x", false},
		{"https is another origin", "https://localhost:8080/x", false},
		{"allowed domain needs https", "http://app.example.net/", false},
		{"allowed domain over https", "https://app.example.net/", true},
		{"allowed name under localhost over http", "http://app.dev.localhost:8080/x", true},
		{"allowed name under localhost, another port", "http://app.dev.localhost:9000/x", true},
		{"name under localhost not allowed", "http://app.other.localhost:8080/x", false},
		{"allowed domain on any port still needs https", "http://app.example.org:8080/x", false},
		{"a host merely ending in localhost", "http://evillocalhost:8080/x", false},
		{"path", "/x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Validate(tc.in)
			if ok := err == nil; ok != tc.ok {
				t.Errorf("Validate(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestValidateWithoutPublicURL(t *testing.T) {
	v := New(nil, nil)
	if _, err := v.Validate("/x"); err != nil {
		t.Errorf("Validate(/x): %v", err)
	}
	for _, in := range []string{"https://auth.example.com/", "http://localhost/"} {
		if _, err := v.Validate(in); err == nil {
			t.Errorf("Validate(%q) accepted with no public URL and no allowed domains", in)
		}
	}
}

func TestValidateIPv6PublicURL(t *testing.T) {
	v := New(mustParse(t, "https://[2001:db8::1]:8443/"), []string{"[2001:db8::2]"})
	for in, ok := range map[string]bool{
		"https://[2001:db8::1]:8443/x":  true,
		"https://[2001:DB8::1]:8443/x":  true,
		"https://[2001:db8::1]/x":       false,
		"https://[2001:db8::2]/x":       true,
		"https://[2001:db8::2]:443/x":   true,
		"https://[2001:db8::2]:8443/x":  false,
		"https://[2001:db8::1%25eth0]/": false,
	} {
		if _, err := v.Validate(in); (err == nil) != ok {
			t.Errorf("Validate(%q) error = %v, want ok %v", in, err, ok)
		}
	}
}

func TestValidateErrorOmitsLongValue(t *testing.T) {
	v := testValidator(t)
	host := strings.Repeat("evil", 30) + ".com"
	for _, in := range []string{
		"/" + strings.Repeat("a", MaxLength),
		"https://" + host + "/",
		strings.Repeat("j", 100) + ":alert(1)",
	} {
		_, err := v.Validate(in)
		if err == nil {
			t.Fatalf("Validate(%q) accepted", in)
		}
		if strings.Contains(err.Error(), "aaaaaaaaaaaaaaaa") || strings.Contains(err.Error(), host) ||
			strings.Contains(err.Error(), "jjjjjjjjjjjjjjjj") {
			t.Errorf("error %q contains the long value", err)
		}
	}
}

func TestCheckAllowedDomain(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"app.example.com", true},
		{"APP.Example.com", true},
		{".example.com", true},
		{"*.example.com", true},
		{"app.example.com:8443", true},
		{".example.com:*", true},
		{"[2001:db8::1]", true},
		{"[2001:db8::1]:8443", true},
		{"", false},
		{".", false},
		{"..example.com", false},
		{"example.com.", false},
		{"https://example.com", false},
		{"example.com/path", false},
		{"example.com:0", false},
		{"example.com:99999", false},
		{"example.com:x", false},
		{"user@example.com", false},
		{"exämple.com", false},
		{".[2001:db8::1]", false},
		{"[example.com]", false},
		{"[2001:db8::1", false},
		{"[2001:db8::1]x", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := CheckAllowedDomain(tc.in)
			if ok := err == nil; ok != tc.ok {
				t.Errorf("CheckAllowedDomain(%q) = %v, want ok %v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestRemoveDotSegments(t *testing.T) {
	// Examples from RFC 3986 §5.4, applied to absolute paths.
	tests := map[string]string{
		"/a/b/c/./../../g":    "/a/g",
		"/mid/content=5/../6": "/mid/6",
		"/..//evil":           "//evil",
		"/.//evil":            "//evil",
		"/a/..":               "/",
		"/a/.":                "/a/",
		"/../../x":            "/x",
		"/x/..//y":            "//y",
		"/a.b/c..d":           "/a.b/c..d",
	}
	for in, want := range tests {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := map[string]string{
		"":          "",
		"/a":        "/a",
		"%2f":       "/",
		"%2F%5c":    `/\`,
		"%":         "%",
		"%%2f":      "%/",
		"%zz%41":    "%zzA",
		"100%":      "100%",
		"%252f":     "%2f",
		"a%0D%0Ab%": "a\r\nb%",
	}
	for in, want := range tests {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	v := testValidator(b)
	for _, bc := range []struct{ name, in string }{
		{"path", "/app/some/page?x=1&y=%20z#frag"},
		{"allowed host", "https://app.example.net/x?y=1"},
		{"nested encoding", "/%" + strings.Repeat("25", 1020) + "2f"},
		{"dot segments", "/" + strings.Repeat("./", 1020)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.Validate(bc.in)
			}
		})
	}
}
