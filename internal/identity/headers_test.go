package identity

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStripHeadersSpoofVariants is the regression test for header spoofing:
// a client must not be able to send any identity header under any spelling
// that an upstream could read as the real one.
func TestStripHeadersSpoofVariants(t *testing.T) {
	spoofed := []string{
		"X-Forwarded-User",
		"x-forwarded-user",
		"X-FORWARDED-USER",
		"x_forwarded_user",
		"X_Forwarded_User",
		"X-Forwarded_User",
		"X_Forwarded-User",
		"x-fOrWaRdEd-UsEr",
		"X-FORWARDED-EMAIL",
		"x_forwarded_email",
		"X-Forwarded-Preferred-Username",
		"x_forwarded_preferred_username",
		"X-Forwarded-Preferred_Username",
		"X-Forwarded_Groups",
		"x-forwarded-groups",
		"X-Forwarded-Access-Token",
		"x_forwarded_access_token",
		"X-FORWARDED-ACCESS-TOKEN",
		"X-Forwarded-Id-Token",
		"x_forwarded_id_token",
		"X-FORWARDED-ID_TOKEN",
		"X-Auth-Request-User",
		"x_auth_request_user",
		"X-AUTH-REQUEST-EMAIL",
		"X-Auth-Request-Preferred-Username",
		"x-auth-request-preferred_username",
		"X-Auth-Request-Groups",
		"X_AUTH_REQUEST_GROUPS",
		"X-Auth-Request-Access-Token",
		"x_auth_request_access_token",
		"X-Forwarded-Acce\u017F\u017F-To\u212Aen", // long s and Kelvin sign
		"X-Forwarded-Access-To\u212Aen",
	}
	kept := map[string][]string{
		"Accept":                              {"text/html"},
		"Cookie":                              {"a=b"},
		"X-Forwarded-For":                     {"203.0.113.7"},
		"X-Forwarded-Proto":                   {"https"},
		"X-Forwarded-Host":                    {"app.example.com"},
		"X-Forwarded-Users":                   {"not ours"},
		"X-Forwarded-User-Agent":              {"not ours"},
		"X-Auth-Request-Redirect":             {"/x"},
		"Forwarded-User":                      {"not ours"},
		"XX-Forwarded-User":                   {"not ours"},
		"X--Forwarded-User":                   {"not ours"},
		"X-Forwarded-Preferred-Usernam\u0435": {"not a variant"},
	}
	h := http.Header{}
	for _, name := range spoofed {
		h[name] = []string{"admin"}
	}
	want := http.Header{}
	for name, v := range kept {
		h[name] = v
		want[name] = v
	}
	StripHeaders(h)
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("StripHeaders left the wrong headers (-want +got):\n%s", diff)
	}
}

func TestStripHeadersThenSet(t *testing.T) {
	h := http.Header{}
	h.Set("X-Forwarded-User", "admin")
	h["x_forwarded_groups"] = []string{"admins"}
	h.Set("X-Auth-Request-Email", "ceo@example.com")
	StripHeaders(h)
	Identity{Subject: "u1", Email: "u1@example.com"}.Headers().Set(h)
	want := http.Header{
		HeaderUser:  {"u1"},
		HeaderEmail: {"u1@example.com"},
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
}

func TestIsIdentityHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"X-Forwarded-User", true},
		{"x_auth_request_access_token", true},
		{"X-Auth-Request-Preferred-Username", true},
		{"", false},
		{"X", false},
		{"X-Forwarded-Use", false},
		{"X-Forwarded-For", false},
		{"X-Forwarded-User ", false},
		{" X-Forwarded-User", false},
		{"X-Forwarded-User\x00", false},
		{"X-Forwarded.User", false},
		{"X-Auth-Request-Preferred-Usernames", false},
		{"X-Forwarded-Us\xffr", false},
		{"X-Forwarded-Us\u0130r", false},     // İ is i, so "usir"
		{"X-Forwarded-\u0130dentity", false}, // not one of ours
		{"X-Forwarded-U\u017Fer", true},
		{"\u0130-Forwarded-User", false},
		{"X-Forwarded-Access-Token" + strings.Repeat("\u212A", 40), false},
	}
	for _, tc := range tests {
		if got := IsIdentityHeader(tc.name); got != tc.want {
			t.Errorf("IsIdentityHeader(%q) = %v, want %v", tc.name, got, tc.want)
		}
		if got := isIdentityHeaderReference(tc.name); got != tc.want {
			t.Errorf("isIdentityHeaderReference(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSetHeaders(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		want http.Header
	}{
		{
			name: "all fields",
			id: Identity{Subject: "u1", Email: "jane@example.com", EmailVerified: true,
				PreferredUsername: "jane", Name: "Jane Doe", Groups: []string{"staff", "admins"}},
			want: http.Header{
				HeaderUser:              {"u1"},
				HeaderEmail:             {"jane@example.com"},
				HeaderPreferredUsername: {"jane"},
				HeaderGroups:            {"staff,admins"},
			},
		},
		{
			name: "empty fields are not sent",
			id:   Identity{Subject: "u1"},
			want: http.Header{HeaderUser: {"u1"}},
		},
		{
			name: "UTF-8 values are kept",
			id:   Identity{Subject: "josé", PreferredUsername: "Ñúñez", Groups: []string{"équipe"}},
			want: http.Header{
				HeaderUser:              {"josé"},
				HeaderPreferredUsername: {"Ñúñez"},
				HeaderGroups:            {"équipe"},
			},
		},
		{
			name: "unsafe values are dropped",
			id: Identity{Subject: "u1", Email: "a@example.com\r\nX-Forwarded-User: admin",
				PreferredUsername: "admin\x00"},
			want: http.Header{HeaderUser: {"u1"}},
		},
		{
			name: "unsafe subject drops the header",
			id:   Identity{Subject: "u1\n", Email: "a@example.com"},
			want: http.Header{HeaderEmail: {"a@example.com"}},
		},
		{
			name: "whitespace-padded values are dropped",
			id:   Identity{Subject: "u1", PreferredUsername: "admin ", Email: " a@example.com"},
			want: http.Header{HeaderUser: {"u1"}},
		},
		{
			name: "groups with commas or control characters are left out",
			id: Identity{Subject: "u1", Groups: []string{
				"staff", "x,admins", "a\r\nb", "", " admins", "admins ", "tab\t", "dev ops", "ok"}},
			want: http.Header{
				HeaderUser:   {"u1"},
				HeaderGroups: {"staff,dev ops,ok"},
			},
		},
		{
			name: "no safe group deletes the header",
			id:   Identity{Subject: "u1", Groups: []string{"a,b", "\x00"}},
			want: http.Header{HeaderUser: {"u1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Start from stale values: every header must be replaced or removed.
			h := http.Header{}
			for _, k := range []string{HeaderUser, HeaderEmail, HeaderPreferredUsername, HeaderGroups} {
				h[k] = []string{"stale", "stale2"}
			}
			tc.id.Headers().Set(h)
			if diff := cmp.Diff(tc.want, h); diff != "" {
				t.Errorf("SetHeaders mismatch (-want +got):\n%s", diff)
			}

			// SetAuthRequest sets the same values under its names.
			rename := strings.NewReplacer("X-Forwarded-", "X-Auth-Request-")
			want := http.Header{}
			for k, v := range tc.want {
				want[rename.Replace(k)] = v
			}
			h = http.Header{}
			tc.id.Headers().SetAuthRequest(h)
			if diff := cmp.Diff(want, h); diff != "" {
				t.Errorf("SetAuthRequestHeaders mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetHeadersRoundTrip(t *testing.T) {
	// What Headers.Set sends must reach an upstream unchanged through a real
	// HTTP/1.1 connection: a value net/http refuses or a receiver trims
	// would be a bug.
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	defer srv.Close()

	id := Identity{Subject: "u1", Email: "jos\u00e9@example.com", PreferredUsername: "a\vb",
		Groups: []string{"g1", "g\x7f", "g 2", "\u00e9quipe", "x,y"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	id.Headers().Set(req.Header)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-got

	want := map[string]string{
		HeaderUser:              "u1",
		HeaderEmail:             "jos\u00e9@example.com",
		HeaderPreferredUsername: "",
		HeaderGroups:            "g1,g 2,\u00e9quipe",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("upstream got %s %q, want %q", k, got, v)
		}
	}
}

// browserHeaders is a typical header set of a browser navigation behind a
// load balancer.
func browserHeaders() http.Header {
	return http.Header{
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Encoding":           {"gzip, deflate, br, zstd"},
		"Accept-Language":           {"en-US,en;q=0.5"},
		"Cache-Control":             {"no-cache"},
		"Connection":                {"keep-alive"},
		"Cookie":                    {"_gatehouse=abc; theme=dark"},
		"Pragma":                    {"no-cache"},
		"Priority":                  {"u=0, i"},
		"Sec-Fetch-Dest":            {"document"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Site":            {"none"},
		"Sec-Fetch-User":            {"?1"},
		"Upgrade-Insecure-Requests": {"1"},
		"User-Agent":                {"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"},
		"X-Forwarded-For":           {"203.0.113.7"},
		"X-Forwarded-Proto":         {"https"},
		"X-Forwarded-Host":          {"app.example.com"},
		"X-Request-Id":              {"8f14e45f-ceea-467f-a0e6-1c9b2a8b9f5e"},
	}
}

func TestStripHeadersDoesNotAllocate(t *testing.T) {
	h := browserHeaders()
	if n := testing.AllocsPerRun(100, func() { StripHeaders(h) }); n != 0 {
		t.Errorf("StripHeaders on a browser header set: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { IsIdentityHeader("x_auth_request_preferred_username") }); n != 0 {
		t.Errorf("IsIdentityHeader on a match: %v allocations, want 0", n)
	}
}

func BenchmarkStripHeaders(b *testing.B) {
	b.Run("browser", func(b *testing.B) {
		h := browserHeaders()
		b.ReportAllocs()
		for b.Loop() {
			StripHeaders(h)
		}
	})
	b.Run("spoofed", func(b *testing.B) {
		// The browser set plus two spoofed headers, put back each time.
		h := browserHeaders()
		user, groups := []string{"admin"}, []string{"admins"}
		b.ReportAllocs()
		for b.Loop() {
			h["X-Forwarded-User"] = user
			h["x_forwarded_groups"] = groups
			StripHeaders(h)
		}
	})
}
