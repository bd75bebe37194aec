package session_test

import (
	"net/http"
	"net/http/httptest"
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
	benchLoad(b, m, typicalCookieSession())
}

func typicalCookieSession() *session.Session {
	s := typicalSession()
	s.IDToken = fakeJWT(map[string]any{"sub": "user-alice", "email": "alice@example.com", "email_verified": true,
		"name": "Alice Example", "preferred_username": "alice", "groups": []any{"admins", "staff"}, "pad": strings.Repeat("p", 500)})
	return s
}

// BenchmarkRequestSession is the session part of an authenticated request
// as the gate runs it with the local cache on (a hit): the ticket read from
// the request's Cookie header, then Load. With the cookie store the ticket
// is the sealed record itself (here about 650 bytes; a real ID token makes
// it 1.4 KB or more), read, joined and looked
// up on every request; with a server-side store it is a short opaque ticket.
func BenchmarkRequestSession(b *testing.B) {
	for _, bc := range []struct {
		name   string
		cookie bool
	}{{"memory", false}, {"cookie", true}} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, CacheMaxAge: time.Hour, CookieStore: bc.cookie})
			if err != nil {
				b.Fatal(err)
			}
			runCache(b, m)
			s := typicalSession()
			if bc.cookie {
				s = typicalCookieSession()
			}
			ticket, err := m.Create(b.Context(), s)
			if err != nil {
				b.Fatal(err)
			}
			w := httptest.NewRecorder()
			m.SetCookies(w, httptest.NewRequest(http.MethodGet, "/", nil), ticket)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, c := range w.Result().Cookies() {
				r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			r.Header.Add("Cookie", "app_pref=dark; _ga=GA1.2.123456789.1700000000")
			if _, err := m.Load(b.Context(), m.TicketFromRequest(r)); err != nil { // fills the cache
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Load(b.Context(), m.TicketFromRequest(r)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(strings.Join(r.Header["Cookie"], "; "))), "cookie-bytes")
		})
	}
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
