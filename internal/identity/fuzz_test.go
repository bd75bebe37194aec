package identity

import (
	"strings"
	"testing"
	"unicode"
)

var identityHeaderNames = []string{
	HeaderUser, HeaderEmail, HeaderPreferredUsername, HeaderGroups, HeaderAccessToken,
	HeaderAuthRequestUser, HeaderAuthRequestEmail, HeaderAuthRequestPreferredUsername,
	HeaderAuthRequestGroups, HeaderAuthRequestAccessToken,
}

// isIdentityHeaderReference is the slow reference for IsIdentityHeader: map
// every rune to the ASCII letter it is, or that Unicode case mapping or
// folding takes it to, turn "_" into "-", and compare with the names.
func isIdentityHeaderReference(name string) bool {
	var b strings.Builder
	for _, r := range name {
		if r == '_' {
			r = '-'
		}
		b.WriteRune(unicode.ToLower(toASCII(r)))
	}
	norm := b.String()
	for _, h := range identityHeaderNames {
		if norm == strings.ToLower(h) {
			return true
		}
	}
	return false
}

func toASCII(r rune) rune {
	if r < 0x80 {
		return r
	}
	if l := unicode.ToLower(r); l < 0x80 {
		return l
	}
	if u := unicode.ToUpper(r); u < 0x80 {
		return u
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < 0x80 {
			return f
		}
	}
	return r
}

func FuzzIsIdentityHeader(f *testing.F) {
	for _, h := range identityHeaderNames {
		f.Add(h)
		f.Add(strings.ToUpper(strings.ReplaceAll(h, "-", "_")))
	}
	for _, s := range []string{"", "X-Forwarded-For", "x-forwarded-u\u017fer", "X-Forwarded-Access-To\u212aen",
		"X-Forwarded-Us\u0130r", "X-Forwarded-User\xff", "Accept"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := IsIdentityHeader(name), isIdentityHeaderReference(name); got != want {
			t.Fatalf("IsIdentityHeader(%q) = %v, reference says %v", name, got, want)
		}
	})
}
