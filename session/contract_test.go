package session_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storetest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// TestSessionContract runs the session contract for the cookie store (the
// memory and Redis stores run it in their packages).
func TestSessionContract(t *testing.T) {
	storetest.SessionContract(t, func(t *testing.T, now func() time.Time) *session.Manager {
		m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret, CookieStore: true,
			Lifetime: time.Hour, Now: now, CacheMaxAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
