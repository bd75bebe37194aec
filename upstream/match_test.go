package upstream

import (
	"net/url"
	"testing"
)

// TestMatch covers host and prefix matching, and the second, case-ignoring
// choice that makes a match ambiguous for case-insensitive upstreams.
func TestMatch(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:8080")
	rt, err := New(Options{Routes: []Route{
		{Name: "root", PathPrefix: "/", Target: target},
		{Name: "admin", PathPrefix: "/admin", Target: target},
		{Name: "sap", PathPrefix: "/SAP/bc", Target: target},
		{Name: "api-upper", Host: "cs.example.com", PathPrefix: "/API", Target: target, CaseSensitivePaths: true},
		{Name: "api-lower", Host: "cs.example.com", PathPrefix: "/api", Target: target, CaseSensitivePaths: true},
		{Name: "cs-root", Host: "cs.example.com", PathPrefix: "/", Target: target, CaseSensitivePaths: true},
		{Name: "admin-host", Host: "admin.example.com", PathPrefix: "/", Target: target},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, path string
		want       string
		ok         bool
	}{
		{"app.example.com", "/", "root", true},
		{"app.example.com", "/admin", "admin", true},
		{"app.example.com", "/admin/x", "admin", true},
		{"app.example.com", "/administrator", "root", true},
		{"app.example.com", "/ADMIN/x", "root", false},
		{"app.example.com", "/Admin", "root", false},
		{"app.example.com", "/Administrator", "root", true},
		{"app.example.com", "/SAP/bc/x", "sap", true},
		{"app.example.com", "/sap/bc/x", "root", false},
		{"cs.example.com", "/API/x", "api-upper", true},
		{"cs.example.com", "/api/x", "api-lower", true},
		{"cs.example.com", "/Api/x", "cs-root", true},
		{"admin.example.com", "/ADMIN", "admin-host", true},
		{"ADMIN.example.com", "/", "root", true}, // hosts arrive canonical (canon.Host); no folding here
	} {
		got, ok := rt.Match(tc.host, tc.path)
		name := "<nil>"
		if got != nil {
			name = got.Name
		}
		if name != tc.want || ok != tc.ok {
			t.Errorf("Match(%q, %q) = %s, %v; want %s, %v", tc.host, tc.path, name, ok, tc.want, tc.ok)
		}
	}
}
