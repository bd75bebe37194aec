package identity

import (
	"net/http"
	"testing"
)

// BenchmarkProjection is the identity work of every authenticated request:
// the identity from the session's claims, then its headers.
func BenchmarkProjection(b *testing.B) {
	claims := map[string]any{
		"sub": "user-alice", "email": "alice@example.com", "email_verified": true,
		"name": "Alice Example", "preferred_username": "alice", "groups": []any{"admins", "staff"},
	}
	h := browserHeaders()
	b.ReportAllocs()
	for b.Loop() {
		id, err := FromClaims(claims, Mapping{})
		if err != nil {
			b.Fatal(err)
		}
		id.Headers().Set(h)
	}
}

// TestSetHeadersValuesIndependent: the header values share a backing array;
// appending to one must not change another.
func TestSetHeadersValuesIndependent(t *testing.T) {
	h := http.Header{}
	Identity{Subject: "u", Email: "e@example.com", PreferredUsername: "p", Groups: []string{"g"}}.Headers().Set(h)
	h.Add(HeaderUser, "second")
	if got := h.Values(HeaderEmail); len(got) != 1 || got[0] != "e@example.com" {
		t.Errorf("email header after appending to the user header: %q", got)
	}
	if got := h.Values(HeaderUser); len(got) != 2 {
		t.Errorf("user header: %q", got)
	}
}
