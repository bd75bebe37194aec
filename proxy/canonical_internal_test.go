package proxy

import "testing"

func TestCanonicalHostport(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"app.example.com":        "app.example.com",
		"app.example.com:8080":   "app.example.com:8080",
		"ADMIN.example.com.:443": "admin.example.com:443",
		"admin.example.com:0443": "admin.example.com:443",
		"admin.example.com.":     "admin.example.com",
		"[::1]:8080":             "[::1]:8080",
		"[0::1]":                 "[::1]",
		"bad..host":              "bad..host",
	} {
		if got := canonicalHostport(in); got != want {
			t.Errorf("canonicalHostport(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = canonicalHostport("app.example.com:8080") }); n != 0 {
		t.Errorf("canonicalHostport of a canonical host allocates %v times", n)
	}
}
