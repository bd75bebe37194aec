package bearer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// roundTripper is an in-memory introspection endpoint: it needs no network,
// so it runs inside a synctest bubble.
type roundTripper struct {
	calls   atomic.Int64
	gate    chan struct{} // when set, each call waits for it
	mu      sync.Mutex
	answers map[string]map[string]any
}

func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.calls.Add(1)
	if rt.gate != nil {
		<-rt.gate
	}
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	rt.mu.Lock()
	ans, ok := rt.answers[form.Get("token")]
	rt.mu.Unlock()
	if !ok {
		ans = map[string]any{"active": false}
	}
	b, _ := json.Marshal(ans)
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(string(b))), Request: r}, nil
}

func cacheVerifier(t *testing.T, rt *roundTripper, size int, ttl time.Duration) *Verifier {
	t.Helper()
	v, err := New(Options{
		Metadata: func() (Metadata, error) {
			return Metadata{Issuer: "https://as.test", JWKSURI: "https://as.test/jwks", IntrospectionEndpoint: "https://as.test/introspect"}, nil
		},
		Audiences: []string{testAudience}, Introspection: true, ClientID: "c", ClientSecret: "s",
		HTTPClient: &http.Client{Transport: rt}, CacheSize: size, CacheTTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCacheHonoursTTLAndExp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		rt := &roundTripper{answers: map[string]map[string]any{
			"long":  {"active": true, "sub": "a", "aud": testAudience, "exp": float64(now.Add(time.Hour).Unix())},
			"short": {"active": true, "sub": "b", "aud": testAudience, "exp": float64(now.Add(20 * time.Second).Unix())},
		}}
		v := cacheVerifier(t, rt, 100, time.Minute)
		verify := func(token string) error {
			_, err := v.Verify(t.Context(), token)
			return err
		}
		for _, tok := range []string{"long", "short"} {
			if err := verify(tok); err != nil {
				t.Fatalf("%s: %v", tok, err)
			}
		}
		if err := verify("gone"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("gone: %v", err)
		}
		if n := rt.calls.Load(); n != 3 {
			t.Fatalf("%d calls, want 3", n)
		}

		time.Sleep(19 * time.Second) // all three answers are still fresh
		for _, tok := range []string{"long", "short"} {
			if err := verify(tok); err != nil {
				t.Fatalf("%s at 19s: %v", tok, err)
			}
		}
		if n := rt.calls.Load(); n != 3 {
			t.Fatalf("%d calls at 19s, want 3 (cached)", n)
		}

		time.Sleep(2 * time.Second) // "short" expired: its answer is not reused past exp
		if err := verify("short"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("short after its exp: %v, want ErrInvalidToken", err)
		}
		if n := rt.calls.Load(); n != 4 {
			t.Fatalf("%d calls at 21s, want 4 (short asked again)", n)
		}

		// The AS revokes "long": the gateway notices once the TTL has passed.
		rt.mu.Lock()
		delete(rt.answers, "long")
		rt.mu.Unlock()
		if err := verify("long"); err != nil {
			t.Fatalf("long within the TTL: %v", err)
		}
		time.Sleep(40 * time.Second)
		if err := verify("long"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("long after the TTL: %v, want ErrInvalidToken", err)
		}
	})
}

func TestCacheIsBounded(t *testing.T) {
	rt := &roundTripper{answers: map[string]map[string]any{}}
	for _, tok := range []string{"t1", "t2", "t3"} {
		rt.answers[tok] = map[string]any{"active": true, "sub": tok, "aud": testAudience}
	}
	v := cacheVerifier(t, rt, 2, time.Hour)
	for _, tok := range []string{"t1", "t2", "t1", "t3"} { // t2 is least recently used when t3 arrives
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.cache.Len(); n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
	before := rt.calls.Load()
	for _, tok := range []string{"t1", "t3"} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if rt.calls.Load() != before {
		t.Errorf("t1 or t3 was evicted")
	}
	if _, err := v.Verify(t.Context(), "t2"); err != nil {
		t.Fatal(err)
	}
	if rt.calls.Load() != before+1 {
		t.Errorf("t2 was not evicted")
	}
}

func TestCacheKeysAreHashes(t *testing.T) {
	rt := &roundTripper{answers: map[string]map[string]any{"secret-token": {"active": true, "sub": "a", "aud": testAudience}}}
	v := cacheVerifier(t, rt, 10, time.Hour)
	if _, err := v.Verify(t.Context(), "secret-token"); err != nil {
		t.Fatal(err)
	}
	for _, k := range v.cache.Keys() {
		if strings.Contains(string(k[:]), "secret-token") {
			t.Errorf("the cache keeps the token")
		}
	}
}

func TestConcurrentIntrospectionsShareOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &roundTripper{gate: make(chan struct{}), answers: map[string]map[string]any{
			"tok": {"active": true, "sub": "a", "aud": testAudience},
		}}
		v := cacheVerifier(t, rt, 10, time.Hour)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := v.Verify(t.Context(), "tok"); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		close(rt.gate)
		wg.Wait()
		if n := rt.calls.Load(); n != 1 {
			t.Errorf("%d introspection calls, want 1", n)
		}
	})
}

// Finding 6 of issue #13: made-up opaque tokens were cached in the same
// LRU as real ones and pushed them out.
func TestRandomTokensDoNotEvictActiveOnes(t *testing.T) {
	rt := &roundTripper{answers: map[string]map[string]any{
		"t1": {"active": true, "sub": "a", "aud": testAudience},
		"t2": {"active": true, "sub": "b", "aud": testAudience},
	}}
	v := cacheVerifier(t, rt, 2, time.Hour)
	for _, tok := range []string{"t1", "t2"} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if _, err := v.Verify(t.Context(), fmt.Sprint("random-", i)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("random token: %v", err)
		}
	}
	before := rt.calls.Load()
	for _, tok := range []string{"t1", "t2"} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := rt.calls.Load() - before; n != 0 {
		t.Errorf("after 100 random tokens the real ones needed %d introspections, want 0 (still cached)", n)
	}
	if n := v.neg.Len(); n > 10000 || n == 0 {
		t.Errorf("negative cache holds %d entries", n)
	}
}

func TestNegativeAnswersCachedBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &roundTripper{answers: map[string]map[string]any{}}
		var hits atomic.Int64
		v, err := New(Options{
			Metadata: func() (Metadata, error) {
				return Metadata{Issuer: "https://as.test", JWKSURI: "https://as.test/jwks", IntrospectionEndpoint: "https://as.test/introspect"}, nil
			},
			Audiences: []string{testAudience}, Introspection: true, ClientID: "c", ClientSecret: "s",
			HTTPClient: &http.Client{Transport: rt}, NegativeCacheSize: 3, NegativeCacheTTL: 10 * time.Second,
			Observe: func(e string) {
				if e == ObserveNegativeHit {
					hits.Add(1)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := v.Verify(t.Context(), "unknown"); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("unknown: %v", err)
			}
		}
		if rt.calls.Load() != 1 || hits.Load() != 2 {
			t.Errorf("%d introspections and %d negative hits, want 1 and 2", rt.calls.Load(), hits.Load())
		}
		// The AS activates the token (it was issued a moment later than
		// presented): the gateway believes it once the short TTL is over.
		rt.mu.Lock()
		rt.answers["unknown"] = map[string]any{"active": true, "sub": "a", "aud": testAudience}
		rt.mu.Unlock()
		time.Sleep(10 * time.Second)
		if _, err := v.Verify(t.Context(), "unknown"); err != nil {
			t.Errorf("after the negative TTL: %v", err)
		}
		for i := range 10 {
			v.Verify(t.Context(), fmt.Sprint("r", i))
		}
		if n := v.neg.Len(); n > 3 {
			t.Errorf("negative cache holds %d entries, want at most 3", n)
		}
	})
}
