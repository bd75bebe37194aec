package session_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// typicalSession has tokens of the sizes a real provider issues: opaque
// 43-character access and refresh tokens and an RS256 ID token of about 900
// bytes, with the claims the gateway keeps.
func typicalSession() *session.Session {
	return &session.Session{
		Issuer: "https://as.example.com", Subject: "user-alice", SID: "2f1c9a3e-52b1-4c7e-9d0f-6a8b2c4d1e3f",
		Claims: map[string]any{
			"sub": "user-alice", "email": "alice@example.com", "email_verified": true,
			"name": "Alice Example", "preferred_username": "alice", "groups": []any{"admins", "staff"},
		},
		AccessToken:  strings.Repeat("a", 43),
		RefreshToken: strings.Repeat("r", 43),
		IDToken:      strings.Repeat("i", 900),
		AccessExpiry: time.Now().Add(time.Hour).Unix(),
	}
}

// BenchmarkLoad is the session part of every authenticated request. "store"
// is a cache miss: ticket decode (HMAC), store lookup, AES-GCM open and JSON
// decode. "cached" is a session seen in the last seconds on this replica:
// ticket decode and a copy of the cached record.
func BenchmarkLoad(b *testing.B) {
	for _, bc := range []struct {
		name   string
		maxAge time.Duration
	}{{"store", -1}, {"cached", time.Hour}} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, CacheMaxAge: bc.maxAge})
			if err != nil {
				b.Fatal(err)
			}
			if bc.maxAge > 0 {
				runCache(b, m)
			}
			benchLoad(b, m, typicalSession())
		})
	}
}

// BenchmarkCookieLoad is BenchmarkLoad's "store" for the cookie store: the
// sealed record decoded from the ticket (base64, AES-GCM open, inflate,
// claims restored from the ID token) and the revocations looked up.
func BenchmarkCookieLoad(b *testing.B) {
	m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, CacheMaxAge: -1, CookieStore: true})
	if err != nil {
		b.Fatal(err)
	}
	s := typicalSession()
	s.IDToken = fakeJWT(map[string]any{"sub": "user-alice", "email": "alice@example.com", "email_verified": true,
		"name": "Alice Example", "preferred_username": "alice", "groups": []any{"admins", "staff"}, "pad": strings.Repeat("p", 500)})
	benchLoad(b, m, s)
}

// benchLoad creates s with m and measures loading it by its ticket.
func benchLoad(b *testing.B, m *session.Manager, s *session.Session) {
	b.Helper()
	ticket, err := m.Create(b.Context(), s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Load(b.Context(), ticket); err != nil {
			b.Fatal(err)
		}
	}
}
