package storetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

// Clock is a settable time source for SessionContract.
type Clock struct{ t atomic.Int64 }

// NewClock returns a Clock at a fixed time.
func NewClock() *Clock { c := &Clock{}; c.t.Store(1_800_000_000); return c }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(c.t.Load(), 0) }

// Advance moves the clock on by d (whole seconds).
func (c *Clock) Advance(d time.Duration) { c.t.Add(int64(d / time.Second)) }

// SessionContract checks what the gateway expects of a session store as a
// session.Manager uses it, whatever the store: memory, Redis, or the
// cookie store (whose Manager keeps the record in the ticket). newManager
// returns a Manager on a fresh store with Lifetime 1h and the clock's Now;
// two calls in one test share nothing but what the store shares.
func SessionContract(t *testing.T, newManager func(t *testing.T, now func() time.Time) *session.Manager) {
	sample := func() *session.Session {
		return &session.Session{Issuer: "https://as.example", Subject: "alice", SID: "sid-1",
			Claims: map[string]any{"email": "alice@example.com"}, AccessToken: "AT-1", RefreshToken: "RT-1"}
	}
	// fresh returns a clock and a Manager on a fresh store that uses it.
	fresh := func(t *testing.T) (*Clock, *session.Manager) {
		c := NewClock()
		return c, newManager(t, c.Now)
	}
	// create stores s and returns its ticket.
	create := func(t *testing.T, m *session.Manager, s *session.Session) string {
		t.Helper()
		ticket, err := m.Create(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		return ticket
	}
	// checkAlive fails unless each ticket loads exactly when it is alive.
	type ticketAlive struct {
		ticket string
		alive  bool
	}
	checkAlive := func(t *testing.T, m *session.Manager, after string, want ...ticketAlive) {
		t.Helper()
		for _, tc := range want {
			if _, err := m.Load(t.Context(), tc.ticket); (err == nil) != tc.alive {
				t.Errorf("after %s: alive = %v, want %v (%v)", after, err == nil, tc.alive, err)
			}
		}
	}
	t.Run("CreateLoadSave", func(t *testing.T) {
		_, m := fresh(t)
		ctx := t.Context()
		s := sample()
		ticket := create(t, m, s)
		got, err := m.Load(ctx, ticket)
		if err != nil || got.AccessToken != "AT-1" || got.Claims["email"] != "alice@example.com" || got.ID != s.ID {
			t.Fatalf("Load after Create: %+v, %v", got, err)
		}
		got.AccessToken, got.RefreshToken = "AT-2", "RT-2"
		if err := m.Save(ctx, got); err != nil {
			t.Fatal(err)
		}
		ticket, err = m.Ticket(got) // the cookie store's changes with every save
		if err != nil {
			t.Fatal(err)
		}
		again, err := m.Load(ctx, ticket)
		if err != nil || again.AccessToken != "AT-2" || again.RefreshToken != "RT-2" {
			t.Fatalf("Load after Save: %+v, %v", again, err)
		}
		if _, err := m.Load(ctx, ticket[:len(ticket)-2]); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("a damaged ticket: %v, want ErrNotFound", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		_, m := fresh(t)
		ctx := t.Context()
		ticket := create(t, m, sample())
		s, err := m.Load(ctx, ticket)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Load(ctx, ticket); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("Load after Delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("Lifetime", func(t *testing.T) {
		c, m := fresh(t)
		ctx := t.Context()
		ticket := create(t, m, sample())
		c.Advance(59 * time.Minute)
		if _, err := m.Load(ctx, ticket); err != nil {
			t.Fatalf("within the lifetime: %v", err)
		}
		c.Advance(2 * time.Minute)
		if _, err := m.Load(ctx, ticket); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("past the lifetime: %v, want ErrNotFound", err)
		}
	})
	t.Run("EndBySubjectAndSID", func(t *testing.T) {
		c, m := fresh(t)
		ctx := t.Context()
		mk := func(sub, sid string) string {
			s := sample()
			s.Subject, s.SID = sub, sid
			return create(t, m, s)
		}
		a1, a2, b := mk("alice", "sid-a"), mk("alice", "sid-a2"), mk("bob", "sid-b")
		c.Advance(time.Second)
		if _, err := m.EndBySID(ctx, "https://as.example", "sid-a"); err != nil {
			t.Fatal(err)
		}
		checkAlive(t, m, "EndBySID", ticketAlive{a1, false}, ticketAlive{a2, true}, ticketAlive{b, true})
		if _, err := m.EndBySubject(ctx, "https://as.example", "alice"); err != nil {
			t.Fatal(err)
		}
		checkAlive(t, m, "EndBySubject", ticketAlive{a2, false}, ticketAlive{b, true})
	})
}
