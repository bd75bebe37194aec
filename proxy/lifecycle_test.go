package proxy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

// fakeClock is a clock shared by the AS and the gateways.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// storePair returns the stores of two replicas: one shared memstore, or two
// clients of one real redis-server.
type storePair struct {
	name string
	make func(t *testing.T) (fullStore, fullStore)
}

var storePairs = []storePair{
	{"SharedMemory", func(t *testing.T) (fullStore, fullStore) {
		st := memstore.New()
		return st, st
	}},
	{"Redis", func(t *testing.T) (fullStore, fullStore) {
		srv := redistest.Start(t)
		return newRedisStore(t, redisstore.Options{URL: srv.URL}), newRedisStore(t, redisstore.Options{URL: srv.URL})
	}},
	{"RedisCluster", func(t *testing.T) (fullStore, fullStore) {
		cl := redistest.StartCluster(t, 3)
		return newRedisStore(t, redisstore.Options{ClusterAddrs: cl.Addrs}), newRedisStore(t, redisstore.Options{ClusterAddrs: cl.Addrs[1:]})
	}},
}

func newRedisStore(t *testing.T, o redisstore.Options) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// sessionCookie returns the Cookie header the browser c sends to the gateway.
func (e *env) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(e.gwURL)
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// apiGet sends an API-style request (401 rather than a redirect without
// a session) and returns its status (0: no answer).
func apiGet(t *testing.T, rawURL, cookie string) int {
	t.Helper()
	return cookieGet(t, rawURL, cookie).StatusCode
}

// TestRefreshStorm: with an AS that rotates refresh tokens and detects
// reuse, 50 concurrent requests per replica on two replicas arrive just
// after the access token expired. Every request succeeds, the AS sees exactly
// one refresh, and the user stays logged in.
func TestRefreshStorm(t *testing.T) {
	for _, sp := range storePairs {
		t.Run(sp.name, func(t *testing.T) {
			clock := newFakeClock()
			e, replicaB, cookie := startReplicas(t, sp, envOptions{now: clock.Now})
			var failed atomic.Int32
			refreshStorm(t, e, clock, 50, []string{e.gwURL, replicaB}, func(base string) {
				if code := apiGet(t, base+"/storm", cookie); code != http.StatusOK {
					failed.Add(1)
					t.Errorf("request through %s: status %d", base, code)
				}
			})
			if failed.Load() == 0 {
				for _, base := range []string{e.gwURL, replicaB} {
					if code := apiGet(t, base+"/after", cookie); code != http.StatusOK {
						t.Errorf("after the storm through %s: %d, want still logged in", base, code)
					}
				}
			}
		})
	}
}

func TestRefreshInvalidGrantEndsSession(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOptions{now: clock.Now})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	e.as.RevokeAll()
	clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
	if code := apiGet(t, e.gwURL+"/x", e.sessionCookie(c)); code != http.StatusUnauthorized {
		t.Errorf("after invalid_grant: %d, want 401", code)
	}
}

func TestBackchannelLogoutAcrossReplicas(t *testing.T) {
	for _, sp := range storePairs {
		for _, by := range []string{"sid", "sub"} {
			t.Run(sp.name+"/"+by, func(t *testing.T) {
				e, replicaB, cookie := startReplicas(t, sp, envOptions{hooks: withSID})
				backchannelLogoutEndsOnB(t, e, replicaB, cookie, by)
			})
		}
	}
}

func (e *env) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := e.as.SignLogoutToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) postLogoutToken(t *testing.T, base, token string) int {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth2/backchannel_logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("back-channel logout response is cacheable")
	}
	if resp.StatusCode != http.StatusOK {
		var body map[string]string
		if json.NewDecoder(resp.Body).Decode(&body) != nil || body["error"] == "" {
			t.Errorf("status %d without a JSON error body", resp.StatusCode)
		}
	}
	return resp.StatusCode
}

// TestBackchannelLogoutRejects: each defective logout token is rejected with
// 400 and ends nothing.
func TestBackchannelLogoutRejects(t *testing.T) {
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name   string
		mutate func(c map[string]any)
		token  func(e *env, t *testing.T, c map[string]any) string
	}{
		{name: "BadSignature", token: func(e *env, t *testing.T, c map[string]any) string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: foreign}, nil)
			p, _ := json.Marshal(c)
			jws, _ := s.Sign(p)
			out, _ := jws.CompactSerialize()
			return out
		}},
		{name: "WrongAudience", mutate: func(c map[string]any) { c["aud"] = "another-client" }},
		{name: "WrongIssuer", mutate: func(c map[string]any) { c["iss"] = "https://evil.example" }},
		{name: "MissingEvents", mutate: func(c map[string]any) { delete(c, "events") }},
		{name: "WrongEvent", mutate: func(c map[string]any) { c["events"] = map[string]any{"http://example.com/other": map[string]any{}} }},
		{name: "HasNonce", mutate: func(c map[string]any) { c["nonce"] = "n" }},
		{name: "NeitherSidNorSub", mutate: func(c map[string]any) { delete(c, "sub"); delete(c, "sid") }},
		{name: "MissingJTI", mutate: func(c map[string]any) { delete(c, "jti") }},
		{name: "Expired", mutate: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }},
		{name: "FutureIat", mutate: func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }},
		{name: "NotAJWT", token: func(*env, *testing.T, map[string]any) string { return "not-a-jwt" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			c := e.browser()
			e.loginAs(c, "/", "alice")
			claims := e.as.LogoutTokenClaims(testClientID, "user-alice", "")
			if tc.mutate != nil {
				tc.mutate(claims)
			}
			var tok string
			if tc.token != nil {
				tok = tc.token(e, t, claims)
			} else {
				tok = e.sign(t, claims)
			}
			if code := e.postLogoutToken(t, e.gwURL, tok); code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", code)
			}
			if code := apiGet(t, e.gwURL+"/", e.sessionCookie(c)); code != http.StatusOK {
				t.Errorf("the session ended: %d", code)
			}
		})
	}
	t.Run("ReplayedJTI", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		c := e.browser()
		e.loginAs(c, "/", "alice")
		tok := e.sign(t, e.as.LogoutTokenClaims(testClientID, "user-alice", ""))
		if code := e.postLogoutToken(t, e.gwURL, tok); code != http.StatusOK {
			t.Fatalf("first use: %d", code)
		}
		c = e.browser()
		e.loginAs(c, "/", "alice")
		if code := e.postLogoutToken(t, e.gwURL, tok); code != http.StatusBadRequest {
			t.Errorf("replay: %d, want 400", code)
		}
		if code := apiGet(t, e.gwURL+"/", e.sessionCookie(c)); code != http.StatusOK {
			t.Errorf("the replay ended the new session: %d", code)
		}
	})
}

func TestFrontchannelLogout(t *testing.T) {
	e := newEnv(t, envOptions{hooks: devop.Hooks{IDToken: func(c map[string]any) { c["sid"] = "op-session-2" }}})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"?iss=" + url.QueryEscape("https://evil.example") + "&sid=op-session-2", http.StatusBadRequest},
		{"?iss=" + url.QueryEscape(e.asURL) + "&sid=op-session-2", http.StatusOK},
	} {
		resp, err := http.Get(e.gwURL + "/oauth2/frontchannel_logout" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.query, resp.StatusCode, tc.code)
		}
	}
	if code := apiGet(t, e.gwURL+"/", e.sessionCookie(c)); code != http.StatusUnauthorized {
		t.Errorf("after front-channel logout: %d, want 401", code)
	}
}

// TestRedisDownFailsClosed: an unreachable store gives 503, never a login loop.
func TestRedisDownFailsClosed(t *testing.T) {
	redistest.Require(t)
	srv := redistest.Start(t)
	e := newEnv(t, envOptions{store: newRedisStore(t, redisstore.Options{URL: srv.URL})})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	srv.Stop()
	for _, accept := range []string{"application/json", "text/html"} {
		req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/page", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Cookie", e.sessionCookie(c))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("Accept %s with the store down: %d, want 503", accept, resp.StatusCode)
		}
	}
	if resp := e.get(c, e.gwURL+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store down: %d", resp.StatusCode)
	}
}

// TestRedisSentinelFailover kills the master mid-traffic: requests fail
// closed (503) or succeed, never ask for a new login, and the sessions
// written before the kill work again after Sentinel promotes the replica,
// without restarting the gateway.
func TestRedisSentinelFailover(t *testing.T) {
	redistest.Require(t)
	sent := redistest.StartSentinel(t)
	st := newRedisStore(t, redisstore.Options{SentinelAddrs: sent.SentinelAddrs, MasterName: sent.MasterName})
	e := newEnv(t, envOptions{store: st})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	master := redis.NewClient(&redis.Options{Addr: sent.Master.Addr})
	defer master.Close()
	if n, err := master.Do(t.Context(), "WAIT", 1, 5000).Int(); err != nil || n < 1 {
		t.Fatalf("WAIT for replication: %d, %v", n, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int32
	var ok atomic.Int32
	wg.Go(func() { // traffic during the failover
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			switch code := apiGet(t, e.gwURL+"/during", cookie); code {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusServiceUnavailable:
			default:
				bad.Add(1)
				t.Errorf("during failover: %d, want 200 or 503", code)
			}
		}
	})
	time.Sleep(100 * time.Millisecond) // some traffic before the kill
	sent.Master.Stop()
	deadline := time.After(30 * time.Second)
	for recovered := false; !recovered; {
		select {
		case <-deadline:
			close(stop)
			wg.Wait()
			t.Fatal("the gateway did not recover within 30s of the master's death")
		case <-time.After(200 * time.Millisecond):
			recovered = apiGet(t, e.gwURL+"/after", cookie) == http.StatusOK
		}
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d requests got neither 200 nor 503", bad.Load())
	}
	t.Logf("%d requests succeeded during the failover", ok.Load())
}
