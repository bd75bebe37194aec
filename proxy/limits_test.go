package proxy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

// limitCounter is a LimitObserver that counts by kind.
type limitCounter struct {
	mu     sync.Mutex
	byKind map[string]int
}

func (c *limitCounter) ObserveLimit(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKind == nil {
		c.byKind = map[string]int{}
	}
	c.byKind[kind]++
}

func (c *limitCounter) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKind[kind]
}

// retryAfter checks that resp is a 429 with a positive Retry-After.
func retryAfter(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", resp.StatusCode, bodyOf(resp))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
	}
}

// Finding 5 of issue #13: every anonymous request stored a pending login,
// without limit.
func TestAnonymousLoginsCappedPerClientAddress(t *testing.T) {
	obs := &limitCounter{}
	e := newEnv(t, envOptions{
		flowLimits: proxy.FlowLimits{PerClient: 5}, limitObs: obs,
		trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	for i := range 5 {
		resp := e.get(e.browser(), fmt.Sprintf("%s/page-%d", e.gwURL, i))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.asURL) {
			t.Fatalf("anonymous GET %d: %d %q, want a redirect to the AS", i, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	t.Run("Browser", func(t *testing.T) {
		resp := e.get(e.browser(), e.gwURL+"/page-6")
		retryAfter(t, resp)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("a browser got %q, want an HTML page", ct)
		}
	})
	t.Run("APIClient", func(t *testing.T) {
		resp := e.get(e.browser(), e.gwURL+"/oauth2/start?rd=/x", "Accept", "application/json", "X-Requested-With", "XMLHttpRequest")
		retryAfter(t, resp)
		var body map[string]any
		if err := json.Unmarshal([]byte(bodyOf(resp)), &body); err != nil || body["error"] != "too_many_logins" {
			t.Errorf("body %v (%v), want the JSON error too_many_logins", body, err)
		}
	})
	if n := e.store.flows.Load(); n != 5 {
		t.Errorf("%d pending logins stored, want 5", n)
	}
	if n := obs.count(proxy.LimitFlowsPerClient); n != 2 {
		t.Errorf("%d limited requests counted, want 2", n)
	}
	t.Run("AnotherAddressBehindTrustedProxy", func(t *testing.T) {
		resp := e.get(e.browser(), e.gwURL+"/page-7", "X-Forwarded-For", "203.0.113.7")
		if resp.StatusCode != http.StatusFound {
			t.Errorf("another client address: %d, want 302", resp.StatusCode)
		}
		// A client cannot pick its address by prepending to the header.
		resp = e.get(e.browser(), e.gwURL+"/page-8", "X-Forwarded-For", "198.51.100.1, 203.0.113.7")
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("second login of 203.0.113.7: %d", resp.StatusCode)
		}
		for range 4 {
			e.get(e.browser(), e.gwURL+"/page-9", "X-Forwarded-For", "203.0.113.7")
		}
		retryAfter(t, e.get(e.browser(), e.gwURL+"/page-10", "X-Forwarded-For", "198.51.100.2, 203.0.113.7"))
	})
}

// A browser with many tabs still logs in: past its cap its oldest pending
// logins end, the newest one works.
func TestBrowserPendingLoginsCappedOldestEnded(t *testing.T) {
	// With the cookie store the browser holds its pending logins: the ended
	// ones' cookies are expired.
	for _, cookieStore := range []bool{false, true} {
		t.Run(map[bool]string{false: "Store", true: "CookieStore"}[cookieStore], func(t *testing.T) {
			testBrowserPendingLoginsCapped(t, cookieStore)
		})
	}
}

func testBrowserPendingLoginsCapped(t *testing.T, cookieStore bool) {
	obs := &limitCounter{}
	e := newEnv(t, envOptions{flowLimits: proxy.FlowLimits{PerBrowser: 3}, limitObs: obs, cookieStore: cookieStore})
	c := e.browser()
	var authURLs []string
	for i := range 6 {
		resp := e.get(c, fmt.Sprintf("%s/oauth2/start?rd=/tab-%d", e.gwURL, i))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("tab %d: %d", i, resp.StatusCode)
		}
		authURLs = append(authURLs, resp.Header.Get("Location"))
	}
	// Tab 0 set the binding cookie; tabs 1-5 carried it: 1 and 2 are ended.
	if n := obs.count(proxy.LimitFlowsPerBrowser); n != 2 {
		t.Errorf("%d pending logins ended, want 2", n)
	}
	for _, tc := range []struct {
		tab    int
		status int
		loc    string
	}{{1, http.StatusBadRequest, ""}, {2, http.StatusBadRequest, ""}, {3, http.StatusFound, "/tab-3"}, {5, http.StatusFound, "/tab-5"}} {
		cb := e.loginAtAS(e.browser(), authURLs[tc.tab], "alice", "login")
		resp := e.get(c, cb)
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.loc {
			t.Errorf("tab %d: %d %q, want %d %q", tc.tab, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.loc)
		}
	}
}

// A return-to URL longer than redirect.MaxLength is not stored: the login
// goes on and lands on "/". (Main already did this; the test pins the bound
// on a pending login's size that docs/limits.md relies on.)
func TestLongReturnToReplacedBySlash(t *testing.T) {
	e := newEnv(t, envOptions{})
	long := "/" + strings.Repeat("a", redirect.MaxLength)
	for _, start := range []string{
		"/oauth2/start?rd=" + url.QueryEscape(long),
		long, // an anonymous browser GET of a long URL
	} {
		c := e.browser()
		before := e.store.flowBytes.Load()
		resp := e.get(c, e.gwURL+start)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start: %d", resp.StatusCode)
		}
		if n := e.store.flowBytes.Load() - before; n > 1024 {
			t.Errorf("the pending login takes %d bytes, want under 1 KiB", n)
		}
		cb := e.loginAtAS(c, resp.Header.Get("Location"), "alice", "login")
		if resp := e.get(c, cb); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
			t.Errorf("callback: %d %q, want a redirect to /", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// Finding 6 of issue #13: 100 forged logout tokens made the gateway fetch
// the AS's key set 100 times.
func TestForgedLogoutTokensDoNotRefetchJWKS(t *testing.T) {
	var jwksFetches atomic.Int64
	e := newEnv(t, envOptions{asWrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/jwks") {
				jwksFetches.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	}})
	c := e.browser()
	e.loginAs(c, "/", "alice") // the key set is fetched for the ID token
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	before := jwksFetches.Load()
	for i := range 100 {
		claims := e.as.LogoutTokenClaims(testClientID, "user-alice", "")
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: foreign}, (&jose.SignerOptions{}).WithHeader("kid", fmt.Sprint("forged-", i)))
		p, _ := json.Marshal(claims)
		jws, _ := s.Sign(p)
		tok, _ := jws.CompactSerialize()
		if code := e.postLogoutToken(t, e.gwURL, tok); code != http.StatusBadRequest {
			t.Fatalf("forged token %d: %d, want 400", i, code)
		}
	}
	if n := jwksFetches.Load() - before; n > 1 {
		t.Errorf("100 forged logout tokens caused %d JWKS fetches, want at most 1", n)
	}
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, e.as.LogoutTokenClaims(testClientID, "user-alice", ""))); code != http.StatusOK {
		t.Errorf("a real logout token after the forgeries: %d, want 200", code)
	}
}

func TestRESTAccessCappedPerClientAddress(t *testing.T) {
	e := newRESTEnv(t, envOptions{flowLimits: proxy.FlowLimits{PerClient: 2}})
	a := e.app()
	a.start("")
	a.start("")
	resp, d := a.call(http.MethodPost, restBase+"/applications/app/access/", "", "")
	retryAfter(t, resp)
	if d.code() != "TOO_MANY_FLOWS" || d.Meta.NextAuthStep != "AUTHENTICATION_REQUIRED" {
		t.Errorf("third start: %s, next %q; want TOO_MANY_FLOWS", d.code(), d.Meta.NextAuthStep)
	}
	if n := e.store.flows.Load(); n != 2 {
		t.Errorf("%d flows stored, want 2", n)
	}
}

// The measurement of finding 5: anonymous browser GETs of a long URL (its
// return-to URL just under redirect.MaxLength) from one address, on a real
// redis-server. Main stored one pending login per request; now one address
// stores at most about FlowsPerClient. make test sends 2,500;
// GATEHOUSE_MEASURE_GETS=20000 repeats the figures of docs/limits.md.
func TestManyAnonymousGETsStoreBoundedFlows(t *testing.T) {
	redistest.Require(t)
	srv := redistest.Start(t)
	st := newRedisStore(t, redisstore.Options{URL: srv.URL})
	obs := &limitCounter{}
	e := newEnv(t, envOptions{store: st, limitObs: obs})
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	usedMemory := func() int64 {
		info, err := rc.InfoMap(t.Context(), "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
		return n
	}
	before := usedMemory()
	path := "/" + strings.Repeat("p", redirect.MaxLength-100) + "?q="
	total, workers := 2*proxy.DefaultFlowsPerClient+500, 8
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_MEASURE_GETS")); err == nil && n > 0 {
		total = n
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var codes sync.Map
	for range workers {
		wg.Go(func() {
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i := next.Add(1); i <= int64(total); i = next.Add(1) {
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprint(e.gwURL, path, i), nil)
				req.Header.Set("Accept", "text/html")
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				n, _ := codes.LoadOrStore(resp.StatusCode, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
	wg.Wait()
	keys, err := rc.DBSize(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	flows, bytes := e.store.flows.Load(), e.store.flowBytes.Load()
	t.Logf("%d anonymous GETs: %d pending logins stored (%d redis keys), %d bytes sealed (%.0f per login), redis used_memory +%d bytes",
		total, flows, keys, bytes, float64(bytes)/float64(max(flows, 1)), usedMemory()-before)
	codes.Range(func(k, v any) bool { t.Logf("status %v: %d", k, v.(*atomic.Int64).Load()); return true })
	if limit := int64(proxy.DefaultFlowsPerClient) + 50; flows > limit || keys > limit {
		t.Errorf("%d pending logins (%d keys) stored for one address, want at most about %d", flows, keys, proxy.DefaultFlowsPerClient)
	}
	if n := obs.count(proxy.LimitFlowsPerClient); n < total-int(flows)-50 {
		t.Errorf("%d refusals counted", n)
	}
}
