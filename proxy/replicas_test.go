package proxy_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
)

// startReplicas starts gateway replica A (e) on the first of sp's stores
// and replica B (its URL) on the second, with o's other options, and
// signs alice in through A; it returns her session cookie too.
func startReplicas(t *testing.T, sp storePair, o envOptions) (e *env, replicaB, cookie string) {
	t.Helper()
	if sp.name != "SharedMemory" {
		redistest.Require(t)
	}
	a, b := sp.make(t)
	o.store = a
	e = newEnv(t, o)
	replicaB = e.replica(b)
	c := e.browser()
	e.loginAs(c, "/", "alice")
	return e, replicaB, e.sessionCookie(c)
}

// refreshStorm lets the access token expire on clock, then runs send n
// times concurrently for each of bases, and fails unless the AS saw
// exactly one refresh and no refresh token reuse meanwhile. It returns
// the AS's counters of before the storm.
func refreshStorm(t *testing.T, e *env, clock *fakeClock, n int, bases []string, send func(base string)) devop.Stats {
	t.Helper()
	clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
	before := e.as.Stats()
	var wg sync.WaitGroup
	for range n {
		for _, base := range bases {
			wg.Go(func() { send(base) })
		}
	}
	wg.Wait()
	after := e.as.Stats()
	if n := after.Refreshes - before.Refreshes; n != 1 {
		t.Errorf("the AS saw %d refreshes, want exactly 1", n)
	}
	if after.RefreshReuseDetected != before.RefreshReuseDetected {
		t.Errorf("the AS detected refresh token reuse")
	}
	return before
}

// backchannelLogoutEndsOnB checks that replica B serves cookie, posts a
// logout token for alice's session (by "sid", op-session-1, or "sub") to
// replica A, and fails unless B then refuses cookie.
func backchannelLogoutEndsOnB(t *testing.T, e *env, replicaB, cookie, by string) {
	t.Helper()
	if code := apiGet(t, replicaB+"/", cookie); code != http.StatusOK {
		t.Fatalf("through B before logout: %d", code)
	}
	claims := e.as.LogoutTokenClaims(testClientID, "user-alice", "")
	if by == "sid" {
		claims = e.as.LogoutTokenClaims(testClientID, "", "op-session-1")
	}
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, claims)); code != http.StatusOK {
		t.Fatalf("back-channel logout at A: %d", code)
	}
	if code := apiGet(t, replicaB+"/", cookie); code != http.StatusUnauthorized {
		t.Errorf("through B after logout at A: %d, want 401", code)
	}
}

// withSID is the AS hook that names the OP session op-session-1 in ID tokens.
var withSID = devop.Hooks{IDToken: func(c map[string]any) { c["sid"] = "op-session-1" }}
