package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/lru"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// TestSessionIdentityPerVersion: the identity derived from a cached session
// version is kept by the gate (keyed by session ID and version) and shared
// by the requests served with that version; a saved (refreshed) session
// gets its identity derived again, with the new access token; a session
// that did not come through the cache is derived every time and leaves
// nothing behind.
func TestSessionIdentityPerVersion(t *testing.T) {
	m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := m.Create(t.Context(), &session.Session{
		Issuer: "https://as.example.com", Subject: "alice",
		Claims:      map[string]any{"sub": "alice", "email": "alice@example.com"},
		AccessToken: "at-1", AccessExpiry: time.Now().Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{derived: lru.New[sessionVersion, *forward](derivedCacheSize)}
	identityOf := func(s *session.Session) *forward {
		t.Helper()
		fwd, _, err := g.sessionIdentity(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fwd
	}
	load := func() *session.Session {
		t.Helper()
		s, err := m.Load(t.Context(), ticket)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// cachedLoad waits until Load serves a settled cached version.
	cachedLoad := func() *session.Session {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			s := load()
			if s.Version() != 0 && load().Version() == s.Version() {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatal("the session is never served from the cache")
			}
			time.Sleep(time.Millisecond)
		}
	}

	uncached := load() // Run is not running: no cache
	if a, b := identityOf(uncached), identityOf(uncached); uncached.Version() != 0 || a == b || g.derived.Len() != 0 {
		t.Errorf("uncached session: Version %d, %d identities kept; want derived every time, none kept", uncached.Version(), g.derived.Len())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	s := cachedLoad()
	first := identityOf(s)
	if again := identityOf(load()); again != first {
		t.Error("a second request with the same version derived the identity again")
	}
	if first.accessToken != "at-1" || first.id.Subject != "alice" {
		t.Errorf("identity %+v", first)
	}

	s.AccessToken = "at-2"
	if err := m.Save(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if got := identityOf(cachedLoad()); got == first || got.accessToken != "at-2" {
		t.Errorf("after the refresh the identity carries access token %q, want at-2", got.accessToken)
	}
}

// TestSessionIdentityKeepsIDTokenOnlyWhenPassed: the derived identity, kept
// for each of up to derivedCacheSize sessions, holds the session's ID token
// (often 1 KB or more) only when some route passes it upstream.
func TestSessionIdentityKeepsIDTokenOnlyWhenPassed(t *testing.T) {
	s := &session.Session{
		Issuer: "https://as.example.com", Subject: "alice",
		Claims:      map[string]any{"sub": "alice"},
		AccessToken: "at-1", IDToken: "header.payload.signature",
	}
	for _, tc := range []struct {
		name   string
		routes []Route
		want   string
	}{
		{"no route passes it", []Route{{Name: "app", PathPrefix: "/"}}, ""},
		{"a route passes it in a header", []Route{{Name: "app", PathPrefix: "/"}, {Name: "idt", PathPrefix: "/idt", PassIDToken: PassIDTokenHeader}}, s.IDToken},
		{"a route passes it as Authorization", []Route{{Name: "idt", PathPrefix: "/", PassIDToken: PassIDTokenAuthorization}}, s.IDToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			routes := make([]*route, len(tc.routes))
			for i := range tc.routes {
				routes[i] = &route{Route: tc.routes[i]}
			}
			g := &gate{derived: lru.New[sessionVersion, *forward](derivedCacheSize), passIDToken: passesIDToken(routes)}
			fwd, _, err := g.sessionIdentity(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if fwd.idToken != tc.want || fwd.accessToken != "at-1" {
				t.Errorf("idToken %q, accessToken %q; want %q, at-1", fwd.idToken, fwd.accessToken, tc.want)
			}
		})
	}
}
