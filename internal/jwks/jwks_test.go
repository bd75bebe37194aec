package jwks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksServer serves the public halves of its keys and counts the fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches atomic.Int64
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := jose.JSONWebKeySet{}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, k.Public())
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(set)
}

func (s *jwksServer) publish(k jose.JSONWebKey) {
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.mu.Unlock()
}

func newKey(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
}

func sign(t *testing.T, k jose.JSONWebKey, payload string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Finding 6 of issue #13: every token with an unknown kid made the gateway
// fetch the AS's key set again.
func TestForgedTokensRefetchAtMostOncePerInterval(t *testing.T) {
	as := &jwksServer{}
	current := newKey(t, "current")
	as.publish(current)
	srv := httptest.NewServer(as)
	t.Cleanup(srv.Close)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	var suppressed atomic.Int64
	ks := New(Options{URL: srv.URL, RefetchInterval: time.Minute, Now: clk.now, Observe: func(o string) {
		if o == Suppressed {
			suppressed.Add(1)
		}
	}})
	ctx := t.Context()

	if p, err := ks.VerifySignature(ctx, sign(t, current, "hello")); err != nil || string(p) != "hello" {
		t.Fatalf("a token of the current key: %q, %v", p, err)
	}
	if n := as.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for the first token, want 1", n)
	}
	forger := newKey(t, "forged")
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, err := ks.VerifySignature(ctx, sign(t, forger, "evil")); err == nil {
				t.Error("a forged token verified")
			}
		})
	}
	wg.Wait()
	if n := as.fetches.Load(); n > 2 {
		t.Errorf("100 forged tokens caused %d fetches of the key set, want at most 1 more than the first", n-1)
	}
	if suppressed.Load() < 99 {
		t.Errorf("%d refetches suppressed, want at least 99", suppressed.Load())
	}
	if _, err := ks.VerifySignature(ctx, sign(t, current, "still")); err != nil {
		t.Errorf("the current key after the forgeries: %v", err)
	}

	// Key rotation: the AS publishes a new key; once the interval has
	// passed, the first token signed with it makes the set fetched again.
	next := newKey(t, "next")
	as.publish(next)
	clk.add(time.Minute)
	before := as.fetches.Load()
	if _, err := ks.VerifySignature(ctx, sign(t, next, "rotated")); err != nil {
		t.Errorf("a token of a newly published key after the interval: %v", err)
	}
	if n := as.fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches for the rotated key, want 1", n)
	}
	if _, err := ks.VerifySignature(ctx, sign(t, forger, "evil")); !errors.Is(err, ErrNoKey) {
		t.Errorf("a forged token right after a fetch: %v, want ErrNoKey", err)
	}
}

func TestKeySetFetchFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	ks := New(Options{URL: srv.URL})
	k := newKey(t, "k")
	if _, err := ks.VerifySignature(t.Context(), sign(t, k, "x")); err == nil || errors.Is(err, ErrNoKey) {
		t.Errorf("AS down: %v, want the fetch error", err)
	}
	if _, err := ks.VerifySignature(t.Context(), "not.a.jwt"); err == nil {
		t.Error("a malformed token verified")
	}
}
