package proxy

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/canon"
)

// FuzzIsCleanPath: isCleanPath accepts exactly the paths ServeMux leaves
// as they are (those routes() may send to handleGate without the mux).
func FuzzIsCleanPath(f *testing.F) {
	for _, s := range []string{"/", "", "a", "/a", "/a/", "/a//b", "//", "/./", "/a/.", "/a/..", "/../a", "/a/./b",
		"/.well-known/x", "/a/.b/..c/", "/a/b/", "/..", "/.", "/a..b/...", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		// canon.CleanPath cleans as ServeMux does (and allocates doing it).
		want := p != "" && p[0] == '/' && canon.CleanPath(p) == p
		if got := isCleanPath(p); got != want {
			t.Errorf("isCleanPath(%q) = %v, ServeMux cleans it to %q", p, got, canon.CleanPath(p))
		}
	})
}
