package session_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable time source.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(c.t.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d / time.Second)) }
func newClock() *clock                   { c := &clock{}; c.t.Store(1_800_000_000); return c }

// rawStore remembers every value written, to look at what the store sees.
type rawStore struct {
	*memstore.Store
	mu     sync.Mutex
	values [][]byte
}

func (r *rawStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	r.mu.Lock()
	r.values = append(r.values, append([]byte(nil), v...))
	r.mu.Unlock()
	return r.Store.Set(ctx, key, v, ttl)
}

func newManager(t *testing.T, st session.Store, c *clock, idle time.Duration) *session.Manager {
	t.Helper()
	m, err := session.NewManager(session.Options{Store: st, Secret: secret, Lifetime: time.Hour, IdleTimeout: idle, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sample() *session.Session {
	return &session.Session{
		Issuer: "https://as.example", Subject: "alice", SID: "op-sid",
		Claims:      map[string]any{"email": "alice@example.com"},
		AccessToken: "ACCESS-TOKEN-VALUE", RefreshToken: "REFRESH-TOKEN-VALUE", IDToken: "ID-TOKEN-VALUE",
	}
}

func TestCreateLoadRoundTrip(t *testing.T) {
	c := newClock()
	m := newManager(t, memstore.New(), c, 0)
	s := sample()
	ticket, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Load(t.Context(), ticket)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "alice" || got.RefreshToken != "REFRESH-TOKEN-VALUE" || got.Claims["email"] != "alice@example.com" || got.ID != s.ID {
		t.Errorf("loaded %+v", got)
	}
	if got.ExpiresAt != c.now().Add(time.Hour).Unix() {
		t.Errorf("ExpiresAt = %d, want now+lifetime", got.ExpiresAt)
	}
}

func TestNewSessionNewID(t *testing.T) {
	m := newManager(t, memstore.New(), newClock(), 0)
	seen := map[string]bool{}
	for range 50 {
		s := sample()
		if _, err := m.Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if seen[s.ID] {
			t.Fatalf("session ID %s reused", s.ID)
		}
		seen[s.ID] = true
	}
}

func TestStoreSeesOnlyCiphertext(t *testing.T) {
	st := &rawStore{Store: memstore.New()}
	m := newManager(t, st, newClock(), 0)
	if _, err := m.Create(t.Context(), sample()); err != nil {
		t.Fatal(err)
	}
	if err := m.PutFlow(t.Context(), "state-secret", map[string]string{"verifier": "PKCE-VERIFIER"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, v := range st.values {
		for _, secret := range []string{"ACCESS-TOKEN", "REFRESH-TOKEN", "ID-TOKEN", "alice", "PKCE-VERIFIER"} {
			if bytes.Contains(v, []byte(secret)) {
				t.Errorf("the store holds %q in clear", secret)
			}
		}
	}
}

func TestTamperedTicketsAreRejected(t *testing.T) {
	m := newManager(t, memstore.New(), newClock(), 0)
	ticket, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	other, err := session.NewManager(session.Options{Store: memstore.New(), Secret: bytes.Repeat([]byte("x"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	otherTicket, _ := other.Create(t.Context(), sample())
	flip := []byte(ticket)
	flip[len(flip)/2] ^= 1
	for name, tk := range map[string]string{
		"Empty": "", "Garbage": "not-a-ticket", "BitFlip": string(flip), "Truncated": ticket[:len(ticket)-4],
		"OtherSecret": otherTicket, "Appended": ticket + "A",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := m.Load(t.Context(), tk); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("Load = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestAbsoluteLifetime(t *testing.T) {
	c := newClock()
	m := newManager(t, memstore.New(), c, 0)
	ticket, _ := m.Create(t.Context(), sample())
	c.advance(59 * time.Minute)
	if _, err := m.Load(t.Context(), ticket); err != nil {
		t.Fatalf("before the end: %v", err)
	}
	c.advance(time.Minute)
	if _, err := m.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after the end: %v, want ErrNotFound", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	c := newClock()
	m := newManager(t, memstore.New(), c, 10*time.Minute)
	ticket, _ := m.Create(t.Context(), sample())
	// Activity every 5 minutes keeps it alive well past one idle period.
	for range 6 {
		c.advance(5 * time.Minute)
		s, err := m.Load(t.Context(), ticket)
		if err != nil {
			t.Fatalf("active session ended: %v", err)
		}
		if err := m.Touch(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(10 * time.Minute)
	if _, err := m.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("idle session: %v, want ErrNotFound", err)
	}
}

func TestFlowsAreSingleUse(t *testing.T) {
	m := newManager(t, memstore.New(), newClock(), 0)
	type flow struct{ V string }
	if err := m.PutFlow(t.Context(), "the-state", flow{"x"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			var f flow
			if err := m.TakeFlow(context.Background(), "the-state", &f); err == nil && f.V == "x" {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d takers got the flow, want exactly 1", wins.Load())
	}
	var f flow
	if err := m.TakeFlow(t.Context(), "another-state", &f); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("unknown state: %v", err)
	}
}

func TestBinding(t *testing.T) {
	m := newManager(t, memstore.New(), newClock(), 0)
	b := m.Binding("cookie-value")
	if !m.BindingMatches("cookie-value", b) || m.BindingMatches("other", b) || m.BindingMatches("", "") {
		t.Error("binding comparison is wrong")
	}
}

// TestCookieDomain: with a cookie domain the session cookie carries it, is
// "__Secure-" (not "__Host-") prefixed on https, and a browser's cookie
// store sends it to the domain's other hosts but nowhere else; sign-out's
// cookie deletes it.
func TestCookieDomain(t *testing.T) {
	m, _ := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, Secure: true, CookieDomain: "example.com"})
	ck := m.Cookie("ticket-value")
	if ck.Domain != "example.com" || ck.Name != "__Secure-gatehouse" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", ck)
	}
	jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		t.Fatal(err)
	}
	mustURL := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	jar.SetCookies(mustURL("https://auth.example.com/oauth2/callback"), []*http.Cookie{ck})
	for host, want := range map[string]bool{
		"https://auth.example.com/": true, "https://app.example.com/": true, "https://example.com/": true,
		"https://a.b.example.com/": true, "http://app.example.com/": false, // Secure
		"https://example.org/": false, "https://notexample.com/": false,
	} {
		got := len(jar.Cookies(mustURL(host))) == 1
		if got != want {
			t.Errorf("cookie sent to %s: %v, want %v", host, got, want)
		}
	}
	cl := m.ClearCookie()
	if cl.Domain != "example.com" || cl.Name != ck.Name || cl.MaxAge >= 0 {
		t.Errorf("clear cookie %+v does not delete the session cookie", cl)
	}
	jar.SetCookies(mustURL("https://auth.example.com/oauth2/sign_out"), []*http.Cookie{cl})
	if n := len(jar.Cookies(mustURL("https://app.example.com/"))); n != 0 {
		t.Errorf("after sign-out, %d cookies still sent to app.example.com", n)
	}
	// The ticket is read back whatever the prefix.
	r := &http.Request{Header: http.Header{"Cookie": {"__Secure-gatehouse=ticket-value"}}}
	if got := m.TicketFromRequest(r); got != "ticket-value" {
		t.Errorf("TicketFromRequest = %q", got)
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		m, _ := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, Secure: secure})
		ck := m.Cookie("v")
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != secure || ck.Domain != "" {
			t.Errorf("secure=%v: %+v", secure, ck)
		}
		if secure != strings.HasPrefix(ck.Name, "__Host-") {
			t.Errorf("secure=%v: name %q", secure, ck.Name)
		}
	}
}
