package session_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

var oldSecret = []byte("fedcba9876543210fedcba9876543210")

type cookieOpts struct {
	store    session.Store
	secret   []byte
	previous [][]byte
	idle     time.Duration
}

func newCookieManager(t *testing.T, c *clock, o cookieOpts) *session.Manager {
	t.Helper()
	if o.store == nil {
		o.store = memstore.New()
	}
	if o.secret == nil {
		o.secret = secret
	}
	m, err := session.NewManager(session.Options{Store: o.store, Secret: o.secret, PreviousSecrets: o.previous,
		CookieStore: true, Lifetime: time.Hour, IdleTimeout: o.idle, Now: c.now, CacheMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeJWT returns an unsigned compact JWS with claims as its payload (the
// cookie store reads, never verifies, the payload of a stored ID token).
func fakeJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2lnbmF0dXJl"
}

func randomToken(n int) string {
	b := make([]byte, n*3/4+1)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// roundTrip sends ticket as the browser would: SetCookies on one response,
// its cookies on the next request.
func roundTrip(t *testing.T, m *session.Manager, prev *http.Request, ticket string) (*http.Request, []*http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.SetCookies(rec, prev, ticket)
	cookies := rec.Result().Cookies()
	req := httptest.NewRequest(http.MethodGet, "https://gw.example/", nil)
	jar := map[string]string{}
	if prev != nil {
		for _, c := range prev.Cookies() {
			jar[c.Name] = c.Value
		}
	}
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(jar, c.Name)
		} else {
			jar[c.Name] = c.Value
		}
	}
	for n, v := range jar {
		req.AddCookie(&http.Cookie{Name: n, Value: v})
	}
	return req, cookies
}

func TestCookieStoreRoundTrip(t *testing.T) {
	c := newClock()
	st := &rawStore{Store: memstore.New()}
	m := newCookieManager(t, c, cookieOpts{store: st})
	s := sample()
	s.IDToken = fakeJWT(map[string]any{"sub": "alice", "email": "alice@example.com", "groups": []any{"a", "b"}})
	s.Claims = map[string]any{"email": "alice@example.com", "groups": []any{"a", "b"}, "name": "Alice"}
	ticket, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.values) != 0 {
		t.Errorf("the cookie store wrote %d values to the side store at login", len(st.values))
	}
	for _, secretPart := range []string{"ACCESS-TOKEN-VALUE", "REFRESH-TOKEN-VALUE", "alice"} {
		if strings.Contains(ticket, secretPart) || strings.Contains(ticket, base64.RawURLEncoding.EncodeToString([]byte(secretPart))) {
			t.Errorf("the ticket shows %q", secretPart)
		}
	}
	req, cookies := roundTrip(t, m, nil, ticket)
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies %v", cookies)
	}
	got, err := m.Load(t.Context(), m.TicketFromRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != s.ID || got.AccessToken != s.AccessToken || got.RefreshToken != s.RefreshToken || got.IDToken != s.IDToken ||
		got.SID != "op-sid" || got.ExpiresAt != s.ExpiresAt {
		t.Errorf("loaded %+v", got)
	}
	if g, _ := json.Marshal(got.Claims); string(g) != `{"email":"alice@example.com","groups":["a","b"],"name":"Alice"}` {
		t.Errorf("claims %s", g)
	}
	// A server-side ticket (the REST flow API's) still works beside it.
	rest, err := m.CreateStored(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rest, ".") || len(st.values) != 1 {
		t.Errorf("CreateStored: ticket %q, %d store writes", rest, len(st.values))
	}
	if _, err := m.Load(t.Context(), rest); err != nil {
		t.Errorf("Load(stored ticket): %v", err)
	}
}

// TestCookieStoreTampering: every flipped byte of the sealed record, in
// any chunk, is refused (as "no session"), and so are truncations.
func TestCookieStoreTampering(t *testing.T) {
	c := newClock()
	m := newCookieManager(t, c, cookieOpts{})
	ticket, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	data := strings.TrimPrefix(ticket, "C.")
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), raw...)
			b[i] ^= bit
			if _, err := m.Load(t.Context(), "C."+base64.RawURLEncoding.EncodeToString(b)); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("byte %d ^ %#x: Load = %v, want ErrNotFound", i, bit, err)
			}
		}
	}
	for _, bad := range []string{"C.", "C." + data[:len(data)-1], "C." + data[1:], "C." + data + "A", "C.!!!!", "X." + data} {
		if _, err := m.Load(t.Context(), bad); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Load(%.20q...) = %v", bad, err)
		}
	}
	// Another deployment's secret does not open it.
	other := newCookieManager(t, c, cookieOpts{secret: oldSecret})
	if _, err := other.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("another secret opened the record: %v", err)
	}
}

// TestCookieStoreChunks: a large record is split over numbered cookies,
// each small enough for browsers; they reassemble; a missing chunk is no
// session; a shorter record expires the chunks a longer earlier one left.
func TestCookieStoreChunks(t *testing.T) {
	c := newClock()
	m := newCookieManager(t, c, cookieOpts{})
	s := sample()
	s.AccessToken = randomToken(9000) // incompressible
	ticket, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	req, cookies := roundTrip(t, m, nil, ticket)
	if len(cookies) != 3 {
		t.Fatalf("%d cookies for a ~9 KB record, want 3", len(cookies))
	}
	for i, ck := range cookies {
		if l := len(ck.String()); l > 4000 {
			t.Errorf("cookie %d (%s) is %d bytes with its attributes", i, ck.Name, l)
		}
		want := "gatehouse"
		if i > 0 {
			want += "_" + string(rune('0'+i))
		}
		if ck.Name != want {
			t.Errorf("cookie %d is named %q, want %q", i, ck.Name, want)
		}
	}
	got, err := m.Load(t.Context(), m.TicketFromRequest(req))
	if err != nil || got.AccessToken != s.AccessToken {
		t.Fatalf("reassembled: %v", err)
	}
	// A missing chunk: no session.
	partial := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, ck := range req.Cookies() {
		if ck.Name != "gatehouse_1" {
			partial.AddCookie(ck)
		}
	}
	if tk := m.TicketFromRequest(partial); tk != "" {
		t.Errorf("ticket without chunk 1: %.20q", tk)
	}

	// A refresh makes the record small: the stale chunks are expired.
	got.AccessToken = "short"
	if err := m.Save(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.WriteSession(rec, req, got)
	var set, expired []string
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			expired = append(expired, ck.Name)
		} else {
			set = append(set, ck.Name)
		}
	}
	if strings.Join(set, ",") != "gatehouse" || strings.Join(expired, ",") != "gatehouse_1,gatehouse_2" {
		t.Errorf("after shrinking: set %v, expired %v", set, expired)
	}
	// Even if a browser kept a stale chunk, the count in the first cookie rules.
	stale := httptest.NewRequest(http.MethodGet, "/", nil)
	stale.AddCookie(&http.Cookie{Name: "gatehouse", Value: splitFirst(t, m, got)})
	stale.AddCookie(&http.Cookie{Name: "gatehouse_1", Value: "c3RhbGU"})
	if again, err := m.Load(t.Context(), m.TicketFromRequest(stale)); err != nil || again.AccessToken != "short" {
		t.Errorf("with a stale chunk: %v", err)
	}
}

func splitFirst(t *testing.T, m *session.Manager, s *session.Session) string {
	t.Helper()
	ticket, err := m.Ticket(s)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.SetCookies(rec, nil, ticket)
	return rec.Result().Cookies()[0].Value
}

// TestCookieStoreSizeLimit: compaction first (claims the ID token carries
// are not stored twice; then the ID token goes), then ErrCookieTooLarge.
func TestCookieStoreSizeLimit(t *testing.T) {
	c := newClock()
	m := newCookieManager(t, c, cookieOpts{})

	big := map[string]any{"sub": "alice", "blob": randomToken(7000)}
	s := sample()
	s.IDToken, s.Claims = fakeJWT(big), map[string]any{"blob": big["blob"]}
	dup, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(dup) > 11000 { // the 7 KB claim is in the record once (in the ID token), not twice
		t.Errorf("record with a duplicated 7 KB claim is %d bytes", len(dup))
	}

	s = sample()
	s.IDToken = fakeJWT(map[string]any{"sub": "alice", "pad": randomToken(9000)})
	s.AccessToken = randomToken(8000)
	ticket, err := m.Create(t.Context(), s)
	if err != nil {
		t.Fatalf("a record that fits without its ID token: %v", err)
	}
	got, err := m.Load(t.Context(), ticket)
	if err != nil || got.IDToken != "" || got.AccessToken != s.AccessToken || got.Claims["email"] != "alice@example.com" {
		t.Errorf("compacted record: %v, ID token %d bytes", err, len(got.IDToken))
	}

	s = sample()
	s.AccessToken = randomToken(17000)
	if _, err := m.Create(t.Context(), s); !errors.Is(err, session.ErrCookieTooLarge) {
		t.Errorf("a 17 KB access token: %v, want ErrCookieTooLarge", err)
	}
}

// TestCookieStoreKeyRotation: with the new secret first and the old one
// after it, a record sealed under the old one opens and is sealed again
// under the new one on load; without the old one it no longer opens.
func TestCookieStoreKeyRotation(t *testing.T) {
	c := newClock()
	before := newCookieManager(t, c, cookieOpts{secret: oldSecret})
	ticket, err := before.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	rotated := newCookieManager(t, c, cookieOpts{previous: [][]byte{oldSecret}})
	s, err := rotated.Load(t.Context(), ticket)
	if err != nil {
		t.Fatalf("old record under the rotated secrets: %v", err)
	}
	rec := httptest.NewRecorder()
	rotated.WriteSession(rec, nil, s)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("no new cookie after loading an old record: %v", cookies)
	}
	resealed, err := rotated.Ticket(s)
	if err != nil {
		t.Fatal(err)
	}
	newOnly := newCookieManager(t, c, cookieOpts{})
	if _, err := newOnly.Load(t.Context(), resealed); err != nil {
		t.Errorf("the resealed record does not open under the new secret alone: %v", err)
	}
	if _, err := newOnly.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("the old record opens without the old secret: %v", err)
	}
	// The resealed record does not need sealing again.
	again, err := rotated.Load(t.Context(), resealed)
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	rotated.WriteSession(rec, nil, again)
	if n := len(rec.Result().Cookies()); n != 0 {
		t.Errorf("a current record wrote %d cookies on load", n)
	}
}

// TestCookieStoreExpiry: the absolute lifetime and the idle timeout hold
// for cookie records as for stored ones; recorded activity reseals.
func TestCookieStoreExpiry(t *testing.T) {
	c := newClock()
	m := newCookieManager(t, c, cookieOpts{idle: 10 * time.Minute})
	ticket, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	c.advance(9 * time.Minute)
	s, err := m.Load(t.Context(), ticket)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Touch(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	touched, err := m.Ticket(s)
	if err != nil || touched == ticket {
		t.Fatalf("Touch did not reseal: %v", err)
	}
	c.advance(2 * time.Minute)
	if _, err := m.Load(t.Context(), ticket); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("idle record: %v", err)
	}
	if _, err := m.Load(t.Context(), touched); err != nil {
		t.Errorf("touched record: %v", err)
	}
	for range 6 { // keep it active past its lifetime (1h)
		c.advance(9 * time.Minute)
		s, err := m.Load(t.Context(), touched)
		if err != nil {
			break
		}
		_ = m.Touch(t.Context(), s)
		touched, _ = m.Ticket(s)
	}
	c.advance(9 * time.Minute)
	if _, err := m.Load(t.Context(), touched); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("record past its lifetime: %v", err)
	}
}

// TestCookieStoreRevocation: Delete (sign-out), EndBySID and EndBySubject
// end cookie sessions that share the store; a later login stands.
func TestCookieStoreRevocation(t *testing.T) {
	c := newClock()
	st := memstore.New()
	a := newCookieManager(t, c, cookieOpts{store: st})
	b := newCookieManager(t, c, cookieOpts{store: st}) // a second replica
	ctx := t.Context()
	create := func() (string, *session.Session) {
		s := sample()
		tk, err := a.Create(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return tk, s
	}
	t1, s1 := create()
	t2, _ := create()
	if err := a.Delete(ctx, s1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, t1); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("signed-out record: %v", err)
	}
	if _, err := b.Load(ctx, t2); err != nil {
		t.Errorf("the other session: %v", err)
	}
	c.advance(time.Second)
	if _, err := b.EndBySID(ctx, "https://as.example", "op-sid"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, t2); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("after back-channel logout: %v", err)
	}
	c.advance(time.Second)
	t3, _ := create()
	if _, err := a.Load(ctx, t3); err != nil {
		t.Errorf("a login after the logout: %v", err)
	}
	c.advance(time.Second)
	if _, err := a.EndBySubject(ctx, "https://as.example", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, t3); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("after sessions revoke -sub: %v", err)
	}
}

// TestCookieStoreRefreshGrace: requests that still carry the cookie of
// before a refresh get the refreshed session, without a second use of the
// old refresh token (an AS with rotation and reuse detection would revoke
// both), on every replica sharing the store.
func TestCookieStoreRefreshGrace(t *testing.T) {
	c := newClock()
	st := memstore.New()
	a := newCookieManager(t, c, cookieOpts{store: st})
	b := newCookieManager(t, c, cookieOpts{store: st})
	ctx := t.Context()
	s := sample()
	s.AccessExpiry = c.now().Add(10 * time.Second).Unix()
	old, err := a.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var uses atomic.Int32
	stale := func(s *session.Session) bool { return s.AccessExpiry < c.now().Add(time.Minute).Unix() }
	renew := func(_ context.Context, s *session.Session) error {
		if s.RefreshToken != "REFRESH-TOKEN-VALUE" || uses.Add(1) > 1 {
			return errors.New("refresh token reused")
		}
		s.AccessToken, s.RefreshToken = "NEW-ACCESS", "NEW-REFRESH"
		s.AccessExpiry = c.now().Add(time.Hour).Unix()
		return nil
	}
	for i, m := range []*session.Manager{a, a, b} {
		cur, err := m.Load(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Refresh(ctx, cur, stale, renew)
		if err != nil {
			t.Fatalf("request %d with the old cookie: %v", i, err)
		}
		if got.RefreshToken != "NEW-REFRESH" {
			t.Errorf("request %d: refresh token %q", i, got.RefreshToken)
		}
		rec := httptest.NewRecorder()
		m.WriteSession(rec, nil, got)
		if len(rec.Result().Cookies()) == 0 {
			t.Errorf("request %d: the response does not carry the refreshed cookie", i)
		}
	}
	if uses.Load() != 1 {
		t.Errorf("the refresh token was used %d times", uses.Load())
	}
}
