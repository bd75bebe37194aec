package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// What the cookie store must keep of a session for the other features:
// the DPoP binding of its tokens (FAPI), the ID token an upstream receives.

// TestCookieStoreKeepsTheDPoPBinding: a session whose tokens are
// DPoP-bound keeps its token type and key (RFC 9449; proxy/dpop.go) through
// the cookie record: when it is compacted (its ID token dropped), split in
// chunks, refreshed and written back, and resealed after a key rotation.
func TestCookieStoreKeepsTheDPoPBinding(t *testing.T) {
	c := newClock()
	m := newCookieManager(t, c, cookieOpts{secret: oldSecret})
	const key = `{"kty":"EC","crv":"P-256","x":"x-coordinate","y":"y-coordinate","d":"private-part"}`
	s := sample()
	s.TokenType, s.DPoPKey = "DPoP", key
	s.IDToken = fakeJWT(map[string]any{"sub": "alice", "pad": randomToken(9000)})
	s.AccessToken = randomToken(6000)
	ticket, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	req, cookies := roundTrip(t, m, nil, ticket)
	if len(cookies) < 2 {
		t.Fatalf("want a chunked record, got %d cookies", len(cookies))
	}
	got, err := m.Load(t.Context(), m.TicketFromRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if got.IDToken != "" || got.TokenType != "DPoP" || got.DPoPKey != key || got.AccessToken != s.AccessToken {
		t.Fatalf("compacted, chunked record: ID token %d bytes, type %q, key %q", len(got.IDToken), got.TokenType, got.DPoPKey)
	}
	got, err = m.Refresh(t.Context(), got, func(*session.Session) bool { return true }, func(_ context.Context, s *session.Session) error {
		s.AccessToken, s.RefreshToken = randomToken(5000), "NEW-REFRESH"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.WriteSession(rec, req, got)
	next := httptest.NewRequest(http.MethodGet, "https://gw.example/", nil)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge >= 0 {
			next.AddCookie(ck)
		}
	}
	rotated := newCookieManager(t, c, cookieOpts{secret: secret, previous: [][]byte{oldSecret}})
	again, err := rotated.Load(t.Context(), rotated.TicketFromRequest(next))
	if err != nil {
		t.Fatal(err)
	}
	if again.RefreshToken != "NEW-REFRESH" || again.TokenType != "DPoP" || again.DPoPKey != key {
		t.Errorf("refreshed, written back and resealed: refresh %q, type %q, key %q", again.RefreshToken, again.TokenType, again.DPoPKey)
	}
}

// TestCookieStoreKeepIDToken: with KeepIDToken (an upstream receives the
// ID token), a session that would fit only without its ID token is refused
// (ErrCookieTooLarge: the login's session_too_large page) instead of losing it.
func TestCookieStoreKeepIDToken(t *testing.T) {
	m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, CookieStore: true, KeepIDToken: true, CacheMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := sample()
	s.IDToken = fakeJWT(map[string]any{"sub": "alice", "pad": randomToken(9000)})
	s.AccessToken = randomToken(8000)
	if _, err := m.Create(t.Context(), s); !errors.Is(err, session.ErrCookieTooLarge) {
		t.Errorf("a record that fits only without its ID token: %v, want ErrCookieTooLarge", err)
	}
	s = sample()
	s.IDToken = fakeJWT(map[string]any{"sub": "alice"})
	ticket, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Load(t.Context(), ticket); err != nil || got.IDToken != s.IDToken {
		t.Errorf("a small record: %v, ID token kept %v", err, got != nil && got.IDToken == s.IDToken)
	}
}
