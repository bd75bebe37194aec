package proxy

import (
	"path"
	"strings"
	"testing"
)

// muxClean is what http.ServeMux redirects to (its cleanPath): the
// reference isCleanPath must agree with.
func muxClean(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			return p
		}
		np += "/"
	}
	return np
}

func FuzzIsCleanPath(f *testing.F) {
	for _, s := range []string{"/", "", "a", "/a", "/a/", "/a//b", "//", "/./", "/a/.", "/a/..", "/../a", "/a/./b",
		"/.well-known/x", "/a/.b/..c/", "/a/b/", "/..", "/.", "/a..b/...", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := p != "" && p[0] == '/' && muxClean(p) == p
		if got := isCleanPath(p); got != want {
			t.Errorf("isCleanPath(%q) = %v, ServeMux cleans it to %q", p, got, muxClean(p))
		}
	})
}
