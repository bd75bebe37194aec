package upstream

import (
	"net/url"
	"testing"
)

// BenchmarkMatch matches a request against a table of a few host-specific and
// host-less routes, as a typical gateway configuration has.
func BenchmarkMatch(b *testing.B) {
	target, _ := url.Parse("http://127.0.0.1:8080")
	var routes []Route
	for _, p := range []string{"/", "/api", "/api/v2", "/static", "/admin"} {
		routes = append(routes, Route{Name: p, PathPrefix: p, Target: target})
	}
	routes = append(routes, Route{Name: "other", Host: "other.example.com", PathPrefix: "/", Target: target})
	rt, err := New(Options{Routes: routes})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, host, path string }{
		{"root", "app.example.com", "/"},
		{"prefix", "app.example.com", "/api/v2/users/42"},
		{"host", "other.example.com", "/x"},
		{"upper", "app.example.com", "/API/v2/users/42"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r, _ := rt.Match(bc.host, bc.path); r == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}
