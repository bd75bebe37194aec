package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	testAudience = "https://api.example.test"
	testClient   = "gate:house" // a ":" must be form-encoded in Basic auth
	testSecret   = "s3cret&more"
)

// fakeAS is an authorization server for the cases a real one does not
// produce: forged and rotated keys, odd introspection answers.
type fakeAS struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	keys    []jose.JSONWebKey // public keys served at the JWKS URI
	answers map[string]map[string]any
	status  int // introspection status when not 0

	jwksCalls, introspections atomic.Int64
	lastAuth, lastForm        atomic.Pointer[string]
}

func newFakeAS(t *testing.T) *fakeAS {
	as := &fakeAS{t: t, answers: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		as.jwksCalls.Add(1)
		as.mu.Lock()
		defer as.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: as.keys})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		as.introspections.Add(1)
		auth := r.Header.Get("Authorization")
		as.lastAuth.Store(&auth)
		_ = r.ParseForm()
		form := r.PostForm.Encode()
		as.lastForm.Store(&form)
		as.mu.Lock()
		defer as.mu.Unlock()
		if as.status != 0 {
			w.WriteHeader(as.status)
			return
		}
		ans, ok := as.answers[r.PostForm.Get("token")]
		if !ok {
			ans = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	})
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

func (as *fakeAS) metadata(methods ...string) func() (Metadata, error) {
	return func() (Metadata, error) {
		return Metadata{
			Issuer: as.srv.URL, JWKSURI: as.srv.URL + "/jwks", IntrospectionEndpoint: as.srv.URL + "/introspect",
			IntrospectionAuthMethods: methods, SigningAlgs: []string{"RS256", "ES256"},
		}, nil
	}
}

// signer is a key the AS may or may not publish.
type signer struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
}

func newRSASigner(t *testing.T, kid string, alg jose.SignatureAlgorithm) signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, alg: alg, priv: k}
}

func (as *fakeAS) publish(s signer) {
	var pub any
	switch k := s.priv.(type) {
	case *rsa.PrivateKey:
		pub = k.Public()
	case *ecdsa.PrivateKey:
		pub = k.Public()
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	as.keys = append(as.keys, jose.JSONWebKey{Key: pub, KeyID: s.kid, Algorithm: string(s.alg), Use: "sig"})
}

func (as *fakeAS) answer(token string, ans map[string]any) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.answers[token] = ans
}

// sign returns a compact JWS of claims with the header typ (none if "").
func sign(t *testing.T, s signer, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", s.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := sg.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned returns a JWT with alg "none".
func unsigned(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
	p, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func newVerifier(t *testing.T, o Options) *Verifier {
	t.Helper()
	if o.Audiences == nil {
		o.Audiences = []string{"https://other.example.test", testAudience}
	}
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyJWT(t *testing.T) {
	as := newFakeAS(t)
	key := newRSASigner(t, "k1", jose.RS256)
	as.publish(key)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecKey := signer{kid: "e1", alg: jose.ES256, priv: ec}
	as.publish(ecKey)
	rs384 := newRSASigner(t, "k384", jose.RS384)
	as.publish(rs384)
	forged := newRSASigner(t, "k1", jose.RS256) // same kid, unpublished key
	v := newVerifier(t, Options{Metadata: as.metadata(), Algorithms: []string{"RS256", "ES256"}})

	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": as.srv.URL, "sub": "alice", "aud": testAudience, "client_id": "mobile",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "api:read", "groups": []string{"admins"},
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(key.priv.(*rsa.PrivateKey).Public())
	hmacConfusion := signer{kid: "k1", alg: jose.HS256, priv: pubDER}

	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"ValidATJWT", sign(t, key, "at+jwt", claims(nil)), true},
		{"ValidApplicationATJWT", sign(t, key, "application/at+jwt", claims(nil)), true},
		{"ValidTypJWT", sign(t, key, "JWT", claims(nil)), true},
		{"ValidNoTyp", sign(t, key, "", claims(nil)), true},
		{"ValidES256", sign(t, ecKey, "at+jwt", claims(nil)), true},
		{"AudienceArray", sign(t, key, "at+jwt", claims(func(c map[string]any) { c["aud"] = []string{"x", testAudience} })), true},
		{"OtherAudience", sign(t, key, "at+jwt", claims(func(c map[string]any) { c["aud"] = "https://elsewhere.test" })), false},
		{"NoAudience", sign(t, key, "at+jwt", claims(func(c map[string]any) { delete(c, "aud") })), false},
		{"OtherIssuer", sign(t, key, "at+jwt", claims(func(c map[string]any) { c["iss"] = "https://evil.test" })), false},
		{"Expired", sign(t, key, "at+jwt", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), false},
		{"NoExp", sign(t, key, "at+jwt", claims(func(c map[string]any) { delete(c, "exp") })), false},
		{"NotYetValid", sign(t, key, "at+jwt", claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), false},
		{"NoSub", sign(t, key, "at+jwt", claims(func(c map[string]any) { delete(c, "sub") })), false},
		{"IDTokenNonce", sign(t, key, "JWT", claims(func(c map[string]any) { c["nonce"] = "n" })), false},
		{"LogoutTokenTyp", sign(t, key, "logout+jwt", claims(nil)), false},
		{"ForgedKey", sign(t, forged, "at+jwt", claims(nil)), false},
		{"AlgNone", unsigned(claims(nil)), false},
		{"HMACWithPublicKey", sign(t, hmacConfusion, "at+jwt", claims(nil)), false},
		{"AlgorithmNotAllowed", sign(t, rs384, "at+jwt", claims(nil)), false},
		{"TamperedPayload", tamper(sign(t, key, "at+jwt", claims(nil))), false},
		{"JWE", "a.b.c.d.e", false},
		{"Garbage", "not.a.jwt", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(t.Context(), tc.token)
			if tc.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if tok.Claims["sub"] != "alice" || tok.Expiry.Unix() != now.Add(time.Hour).Unix() {
					t.Errorf("token: %+v", tok)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify: %v, want ErrInvalidToken", err)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
}

// tamper changes the payload's subject without re-signing.
func tamper(raw string) string {
	parts := strings.Split(raw, ".")
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p = []byte(strings.Replace(string(p), `"alice"`, `"admin"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}

func TestVerifyJWTKeyRotation(t *testing.T) {
	as := newFakeAS(t)
	old := newRSASigner(t, "old", jose.RS256)
	as.publish(old)
	var clock atomic.Int64 // seconds past now
	now := time.Now()
	v := newVerifier(t, Options{Metadata: as.metadata(), Now: func() time.Time { return now.Add(time.Duration(clock.Load()) * time.Second) }})
	c := map[string]any{"iss": as.srv.URL, "sub": "s", "aud": testAudience, "exp": now.Add(time.Hour).Unix()}
	if _, err := v.Verify(t.Context(), sign(t, old, "at+jwt", c)); err != nil {
		t.Fatalf("old key: %v", err)
	}
	rotated := newRSASigner(t, "new", jose.RS256)
	as.publish(rotated)
	clock.Store(60) // the key set may be fetched again once a minute
	if _, err := v.Verify(t.Context(), sign(t, rotated, "at+jwt", c)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := as.jwksCalls.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (once, then once for the unknown kid)", n)
	}
}

// Finding 6 of issue #13: every forged JWT (a kid the AS does not have, or
// a known kid and a bad signature) made the gateway fetch the JWKS again.
func TestVerifyForgedJWTsFetchKeysAtMostOncePerInterval(t *testing.T) {
	as := newFakeAS(t)
	real := newRSASigner(t, "real", jose.RS256)
	as.publish(real)
	v := newVerifier(t, Options{Metadata: as.metadata()})
	c := map[string]any{"iss": as.srv.URL, "sub": "s", "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix()}
	if _, err := v.Verify(t.Context(), sign(t, real, "at+jwt", c)); err != nil {
		t.Fatalf("real key: %v", err)
	}
	forger := newRSASigner(t, "real", jose.RS256) // claims the real kid
	for i := range 100 {
		f := forger
		if i%2 == 0 {
			f.kid = fmt.Sprint("unknown-", i)
		}
		if _, err := v.Verify(t.Context(), sign(t, f, "at+jwt", c)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("forged token %d: %v, want ErrInvalidToken", i, err)
		}
	}
	if n := as.jwksCalls.Load(); n > 2 {
		t.Errorf("100 forged tokens: the JWKS was fetched %d times, want at most 2", n)
	}
}

func TestVerifyNotReady(t *testing.T) {
	ready := atomic.Bool{}
	as := newFakeAS(t)
	key := newRSASigner(t, "k", jose.RS256)
	as.publish(key)
	v := newVerifier(t, Options{Metadata: func() (Metadata, error) {
		if !ready.Load() {
			return Metadata{}, errors.New("discovery pending")
		}
		return as.metadata()()
	}})
	tok := sign(t, key, "at+jwt", map[string]any{"iss": as.srv.URL, "sub": "s", "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrNotReady) {
		t.Fatalf("before discovery: %v, want ErrNotReady", err)
	}
	ready.Store(true)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("after discovery: %v", err)
	}
}

func TestIntrospection(t *testing.T) {
	as := newFakeAS(t)
	exp := float64(time.Now().Add(time.Hour).Unix())
	as.answer("good", map[string]any{"active": true, "sub": "alice", "aud": []any{testAudience}, "exp": exp, "iss": as.srv.URL, "token_type": "Bearer", "groups": []any{"admins"}})
	as.answer("service", map[string]any{"active": true, "client_id": "batch-job", "aud": testAudience, "exp": exp})
	as.answer("otherAud", map[string]any{"active": true, "sub": "alice", "aud": "https://elsewhere.test", "exp": exp})
	as.answer("noAud", map[string]any{"active": true, "sub": "alice", "exp": exp})
	as.answer("otherIss", map[string]any{"active": true, "sub": "alice", "aud": testAudience, "iss": "https://evil.test"})
	as.answer("refresh", map[string]any{"active": true, "sub": "alice", "aud": testAudience, "token_type": "refresh_token"})
	as.answer("idTokenUse", map[string]any{"active": true, "sub": "alice", "aud": testAudience, "token_use": "id_token"})
	as.answer("expired", map[string]any{"active": true, "sub": "alice", "aud": testAudience, "exp": float64(time.Now().Add(-time.Minute).Unix())})
	as.answer("activeString", map[string]any{"active": "true", "sub": "alice", "aud": testAudience})
	as.answer("nobody", map[string]any{"active": true, "aud": testAudience})
	v := newVerifier(t, Options{Metadata: as.metadata(), Introspection: true, ClientID: testClient, ClientSecret: testSecret})

	for _, tc := range []struct {
		token, sub string
	}{
		{"good", "alice"},
		{"service", "batch-job"},
		{"otherAud", ""},
		{"noAud", ""},
		{"otherIss", ""},
		{"refresh", ""},
		{"idTokenUse", ""},
		{"expired", ""},
		{"activeString", ""},
		{"nobody", ""},
		{"unknown", ""},
	} {
		t.Run(tc.token, func(t *testing.T) {
			tok, err := v.Verify(t.Context(), tc.token)
			if tc.sub == "" {
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Verify: %v, %v; want ErrInvalidToken", tok, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tok.Claims["sub"] != tc.sub {
				t.Errorf("sub = %v, want %s", tok.Claims["sub"], tc.sub)
			}
			if _, ok := tok.Claims["active"]; ok {
				t.Errorf("claims keep \"active\"")
			}
		})
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testClient)+":"+url.QueryEscape(testSecret)))
	if got := *as.lastAuth.Load(); got != want {
		t.Errorf("Authorization = %q, want %q (client_secret_basic, form-encoded)", got, want)
	}
	if form := *as.lastForm.Load(); !strings.Contains(form, "token_type_hint=access_token") || strings.Contains(form, "client_secret") {
		t.Errorf("form = %q", form)
	}

	t.Run("Cached", func(t *testing.T) {
		before := as.introspections.Load()
		for range 3 {
			if _, err := v.Verify(t.Context(), "good"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(t.Context(), "unknown"); !errors.Is(err, ErrInvalidToken) {
				t.Fatal(err)
			}
		}
		if n := as.introspections.Load() - before; n != 0 {
			t.Errorf("%d introspection calls for cached answers, want 0", n)
		}
	})
}

func TestIntrospectionClientSecretPost(t *testing.T) {
	as := newFakeAS(t)
	as.answer("tok", map[string]any{"active": true, "sub": "a", "aud": testAudience})
	v := newVerifier(t, Options{Metadata: as.metadata("client_secret_post"), Introspection: true, ClientID: testClient, ClientSecret: testSecret})
	if _, err := v.Verify(t.Context(), "tok"); err != nil {
		t.Fatal(err)
	}
	if got := *as.lastAuth.Load(); got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
	form, _ := url.ParseQuery(*as.lastForm.Load())
	if form.Get("client_id") != testClient || form.Get("client_secret") != testSecret {
		t.Errorf("form = %v", form)
	}
}

func TestIntrospectionFailures(t *testing.T) {
	t.Run("Disabled", func(t *testing.T) {
		as := newFakeAS(t)
		v := newVerifier(t, Options{Metadata: as.metadata()})
		if _, err := v.Verify(t.Context(), "opaque"); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%v, want ErrInvalidToken", err)
		}
		if as.introspections.Load() != 0 {
			t.Errorf("introspected although disabled")
		}
	})
	t.Run("ServerErrorNotCached", func(t *testing.T) {
		as := newFakeAS(t)
		as.answer("tok", map[string]any{"active": true, "sub": "a", "aud": testAudience})
		as.status = http.StatusInternalServerError
		v := newVerifier(t, Options{Metadata: as.metadata(), Introspection: true, ClientID: "c", ClientSecret: "s"})
		if _, err := v.Verify(t.Context(), "tok"); !errors.Is(err, ErrIntrospection) {
			t.Fatalf("%v, want ErrIntrospection", err)
		}
		as.mu.Lock()
		as.status = 0
		as.mu.Unlock()
		if _, err := v.Verify(t.Context(), "tok"); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		as := newFakeAS(t)
		md := as.metadata()
		as.srv.Close()
		v := newVerifier(t, Options{Metadata: md, Introspection: true, ClientID: "c", ClientSecret: "s"})
		if _, err := v.Verify(t.Context(), "tok"); !errors.Is(err, ErrIntrospection) {
			t.Fatalf("%v, want ErrIntrospection", err)
		}
	})
	t.Run("NoEndpoint", func(t *testing.T) {
		v := newVerifier(t, Options{Metadata: func() (Metadata, error) { return Metadata{Issuer: "x", JWKSURI: "http://127.0.0.1:1/jwks"}, nil },
			Introspection: true, ClientID: "c", ClientSecret: "s"})
		if _, err := v.Verify(t.Context(), "tok"); !errors.Is(err, ErrIntrospection) {
			t.Fatalf("%v, want ErrIntrospection", err)
		}
	})
	t.Run("CanceledWaiter", func(t *testing.T) {
		as := newFakeAS(t)
		v := newVerifier(t, Options{Metadata: as.metadata(), Introspection: true, ClientID: "c", ClientSecret: "s"})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := v.Verify(ctx, "tok"); !errors.Is(err, context.Canceled) && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("%v, want context.Canceled", err)
		}
	})
}

func TestNewRefusesUnsafeOptions(t *testing.T) {
	md := func() (Metadata, error) { return Metadata{}, nil }
	for name, o := range map[string]Options{
		"NoMetadata":           {Audiences: []string{"a"}},
		"NoAudience":           {Metadata: md},
		"HMAC":                 {Metadata: md, Audiences: []string{"a"}, Algorithms: []string{"HS256"}},
		"None":                 {Metadata: md, Audiences: []string{"a"}, Algorithms: []string{"none"}},
		"IntrospectionNoCreds": {Metadata: md, Audiences: []string{"a"}, Introspection: true},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}
