package proxy_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// cookieGet sends an API-style request with cookie and returns the
// response (body closed; status 0 when there was no answer).
func cookieGet(t *testing.T, rawURL, cookie string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", cookie)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil { // no t.Fatal: refresh storms call this from other goroutines
		t.Errorf("GET %s: %v", rawURL, err)
		return &http.Response{Header: http.Header{}}
	}
	resp.Body.Close()
	return resp
}

// applyCookies returns the Cookie header a browser sends after it got resp
// with the cookie header before.
func applyCookies(before string, resp *http.Response) string {
	jar := map[string]string{}
	var order []string
	for part := range strings.SplitSeq(before, "; ") {
		if n, v, ok := strings.Cut(part, "="); ok {
			jar[n] = v
			order = append(order, n)
		}
	}
	for _, ck := range resp.Cookies() {
		if _, ok := jar[ck.Name]; !ok {
			order = append(order, ck.Name)
		}
		if ck.MaxAge < 0 {
			delete(jar, ck.Name)
		} else {
			jar[ck.Name] = ck.Value
		}
	}
	var out []string
	for _, n := range order {
		if v, ok := jar[n]; ok {
			out = append(out, n+"="+v)
		}
	}
	return strings.Join(out, "; ")
}

// TestCookieStoreReplicasShareSession: with the cookie store, two replicas
// that share nothing (each its own memory) serve one browser's session,
// and a login started on one finishes on the other; no session and no
// pending login is written to a store.
func TestCookieStoreReplicasShareSession(t *testing.T) {
	e := newEnv(t, envOptions{cookieStore: true})
	replicaB := e.replica(memstore.New())
	c := e.browser()
	cb := e.authorize(c, "/start-on-a", "alice")
	resp := e.get(c, strings.Replace(cb, e.gwURL, replicaB, 1)+"")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback on replica B: %d %s", resp.StatusCode, bodyOf(resp))
	}
	var sessionCookies int
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(ck.Name, "gatehouse") && !strings.Contains(ck.Name, "_f_") && ck.MaxAge >= 0 {
			sessionCookies++
		}
		if strings.Contains(ck.Name, "_f_") && ck.MaxAge >= 0 {
			t.Errorf("the callback did not expire the flow cookie %s", ck.Name)
		}
	}
	if sessionCookies == 0 {
		t.Fatalf("the callback set no session cookie: %v", resp.Header["Set-Cookie"])
	}
	u, _ := url.Parse(replicaB)
	c.Jar.SetCookies(u, resp.Cookies())
	cookie := applyCookies("", resp)
	for _, base := range []string{e.gwURL, replicaB} {
		if r := cookieGet(t, base+"/app", cookie); r.StatusCode != http.StatusOK {
			t.Errorf("through %s: %d", base, r.StatusCode)
		}
	}
	if n, f := e.store.created.Load(), e.store.flows.Load(); n != 0 || f != 0 {
		t.Errorf("the store got %d sessions and %d flows, want none", n, f)
	}
	if got := e.upstream.last().Header.Get("Cookie"); strings.Contains(got, "gatehouse") {
		t.Errorf("the upstream saw the gateway's cookies: %q", got)
	}
	// The callback is single use (the flow cookie is sealed for its state).
	if r := e.get(c, cb); r.StatusCode == http.StatusFound {
		t.Errorf("a replayed callback logged in again")
	}
}

// TestCookieStoreRefreshStorm: with an AS that rotates refresh tokens and
// detects reuse, 30 concurrent requests per replica carry the cookie of
// before the access token expired. One refresh happens, every request
// passes and gets the refreshed cookie, and later requests with the old
// cookie (still in flight elsewhere) take the refreshed session instead of
// reusing the old refresh token.
func TestCookieStoreRefreshStorm(t *testing.T) {
	for _, sp := range storePairs[:2] {
		t.Run(sp.name, func(t *testing.T) {
			clock := newFakeClock()
			e, replicaB, cookie := startReplicas(t, sp, envOptions{now: clock.Now, cookieStore: true})
			var failed atomic.Int32
			var mu sync.Mutex
			var refreshed string
			before := refreshStorm(t, e, clock, 30, []string{e.gwURL, replicaB}, func(base string) {
				resp := cookieGet(t, base+"/storm", cookie)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					t.Errorf("request through %s: status %d", base, resp.StatusCode)
				}
				if len(resp.Cookies()) == 0 {
					t.Errorf("request through %s: no refreshed cookie", base)
					return
				}
				mu.Lock()
				refreshed = applyCookies(cookie, resp)
				mu.Unlock()
			})
			if failed.Load() != 0 || refreshed == "" {
				return
			}
			// A straggler with the old cookie, then the refreshed cookie
			// past the grace period: both logged in, no more refreshes.
			if r := cookieGet(t, replicaB+"/late", cookie); r.StatusCode != http.StatusOK {
				t.Errorf("a late request with the old cookie: %d", r.StatusCode)
			}
			clock.Advance(3 * time.Minute)
			for _, base := range []string{e.gwURL, replicaB} {
				if r := cookieGet(t, base+"/after", refreshed); r.StatusCode != http.StatusOK {
					t.Errorf("the refreshed cookie through %s: %d", base, r.StatusCode)
				}
			}
			if n := e.as.Stats().Refreshes - before.Refreshes; n != 1 {
				t.Errorf("the AS saw %d refreshes in all, want 1", n)
			}
		})
	}
}

// TestCookieStoreForwardAuthRefresh: a forward-auth answer that refreshed
// the session carries the new cookie, for the front proxy to pass on.
func TestCookieStoreForwardAuthRefresh(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOptions{now: clock.Now, cookieStore: true})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	if r := cookieGet(t, e.gwURL+"/oauth2/auth", cookie); r.StatusCode != http.StatusAccepted || len(r.Cookies()) != 0 {
		t.Fatalf("forward-auth before expiry: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
	r := cookieGet(t, e.gwURL+"/oauth2/auth", cookie)
	if r.StatusCode != http.StatusAccepted || len(r.Cookies()) == 0 {
		t.Fatalf("forward-auth after expiry: %d, cookies %v", r.StatusCode, r.Cookies())
	}
	clock.Advance(3 * time.Minute) // past the refresh grace
	if r := cookieGet(t, e.gwURL+"/oauth2/auth", applyCookies(cookie, r)); r.StatusCode != http.StatusAccepted {
		t.Errorf("the cookie forward-auth returned: %d", r.StatusCode)
	}
}

// TestCookieStoreForwardAuthChunks: a session in several cookies reaches
// nginx's auth_request_set too: the second and later Set-Cookie lines are
// repeated as X-Auth-Request-Set-Cookie-N ($upstream_http_set_cookie holds
// the first line only).
func TestCookieStoreForwardAuthChunks(t *testing.T) {
	clock := newFakeClock()
	raw := make([]byte, 4500)
	_, _ = rand.Read(raw)
	big := base64.RawURLEncoding.EncodeToString(raw) // 6 KB that do not compress
	e := newEnv(t, envOptions{now: clock.Now, cookieStore: true,
		hooks: devop.Hooks{IDToken: func(c map[string]any) { c["blob"] = big }}})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	if !strings.Contains(cookie, "gatehouse_1=") {
		t.Fatalf("the session is in one cookie; the test needs several: %.80s", cookie)
	}
	clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
	r := cookieGet(t, e.gwURL+"/oauth2/auth", cookie)
	lines := r.Header["Set-Cookie"]
	if r.StatusCode != http.StatusAccepted || len(lines) < 2 {
		t.Fatalf("forward-auth after expiry: %d, %d Set-Cookie lines", r.StatusCode, len(lines))
	}
	for i, line := range lines[1:] {
		if got := r.Header.Get(fmt.Sprintf("X-Auth-Request-Set-Cookie-%d", i+1)); got != line {
			t.Errorf("X-Auth-Request-Set-Cookie-%d = %.40q, want the Set-Cookie line %.40q", i+1, got, line)
		}
	}
}

// TestCookieStoreSignOutRevokes: a cookie cannot be deleted from the
// server, so sign-out records the session as revoked: a copy of the cookie
// kept by an attacker no longer works on any replica sharing the store.
func TestCookieStoreSignOutRevokes(t *testing.T) {
	st := memstore.New()
	e := newEnv(t, envOptions{store: st, cookieStore: true})
	replicaB := e.replica(st)
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	resp := e.post(c, e.gwURL+"/oauth2/sign_out", url.Values{}, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode/100 != 2 && resp.StatusCode/100 != 3 {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	cleared := false
	for _, ck := range resp.Cookies() {
		cleared = cleared || (ck.Name == "gatehouse" && ck.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("sign-out did not clear the cookie: %v", resp.Header["Set-Cookie"])
	}
	for _, base := range []string{e.gwURL, replicaB} {
		if r := cookieGet(t, base+"/", cookie); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the signed-out cookie through %s: %d, want 401", base, r.StatusCode)
		}
	}
}

// TestCookieStoreBackchannelLogout: back-channel logout by sid or sub ends
// the cookie session on every replica sharing the revocation store.
func TestCookieStoreBackchannelLogout(t *testing.T) {
	for _, sp := range storePairs[:2] {
		for _, by := range []string{"sid", "sub"} {
			t.Run(sp.name+"/"+by, func(t *testing.T) {
				clock := newFakeClock()
				e, replicaB, cookie := startReplicas(t, sp, envOptions{now: clock.Now, cookieStore: true, hooks: withSID})
				backchannelLogoutEndsOnB(t, e, replicaB, cookie, by)
				// A new login after the logout stands.
				clock.Advance(2 * time.Second) // revocations have a resolution of one second
				c2 := e.browser()
				e.loginAs(c2, "/", "alice")
				if code := apiGet(t, replicaB+"/", e.sessionCookie(c2)); code != http.StatusOK {
					t.Errorf("a login after the logout: %d", code)
				}
			})
		}
	}
}

// TestCookieStoreRESTFlow: with the cookie store, the REST flow API's
// session tokens stay server-side records (a bearer token an app keeps
// cannot be rewritten by a refresh): refreshes with rotation keep working,
// and the token is a short ticket, not a sealed record.
func TestCookieStoreRESTFlow(t *testing.T) {
	e := newRESTEnv(t, envOptions{accessTTL: 30 * time.Second, cookieStore: true}) // every request refreshes
	a := e.app()
	token := a.login("alice")
	if strings.Contains(token, ".") || len(token) > 512 {
		t.Errorf("the session token is %d bytes %.20q..., want a server-side ticket", len(token), token)
	}
	for i := range 3 {
		if resp, _ := e.getWith(a.c, "/api/things", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if st := e.as.Stats(); st.Refreshes < 2 || st.RefreshReuseDetected != 0 {
		t.Errorf("AS stats %+v, want refreshes without reuse", st)
	}
	if n := e.store.created.Load(); n == 0 { // the login's and each refresh's writes
		t.Errorf("the app's session was never written to the store")
	}
}

// TestCookieStoreForwardAuthQueryDenialKeepsRefresh: a forward-auth request
// whose query rules refuse the user (403) after the gate refreshed the
// session still carries the refreshed cookie: the AS rotated the refresh
// token, and a browser left with the old cookie would lose its session once
// the refresh grace is over.
func TestCookieStoreForwardAuthQueryDenialKeepsRefresh(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOptions{now: clock.Now, cookieStore: true})
	c := e.browser()
	e.loginAs(c, "/", "bob")
	cookie := e.sessionCookie(c)
	clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
	before := e.as.Stats().Refreshes
	r := cookieGet(t, e.gwURL+"/oauth2/auth?allowed_groups=admins", cookie)
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("forward-auth refused by its query: %d", r.StatusCode)
	}
	if e.as.Stats().Refreshes != before+1 || len(r.Cookies()) == 0 {
		t.Fatalf("the refusal after a refresh carries cookies %v (refreshes %d)", r.Cookies(), e.as.Stats().Refreshes-before)
	}
	refreshed := applyCookies(cookie, r)
	clock.Advance(3 * time.Minute) // past the refresh grace
	if r := cookieGet(t, e.gwURL+"/oauth2/auth", refreshed); r.StatusCode != http.StatusAccepted {
		t.Errorf("forward-auth with the cookie of the refusal: %d", r.StatusCode)
	}
	if n := e.as.Stats().Refreshes - before; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
}
