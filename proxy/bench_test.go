package proxy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// BenchmarkServeHTTP is one authenticated request through the whole gateway
// (strip, route, session, identity, rewrite, proxy) to an httptest upstream,
// with the memory store. Compare with "bare": a plain
// httputil.ReverseProxy-equivalent route with auth = "public".
func BenchmarkServeHTTP(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello")
	}))
	b.Cleanup(up.Close)
	upURL, _ := url.Parse(up.URL)
	pub, _ := url.Parse("http://gateway.example")

	sessions, err := session.NewManager(session.Options{Store: memstore.New(), Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	// The local session cache, as cmd/gatehouse runs it.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sessions.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	ticket, err := sessions.Create(b.Context(), &session.Session{
		Issuer: "https://as.example.com", Subject: "user-alice",
		Claims: map[string]any{
			"sub": "user-alice", "email": "alice@example.com", "email_verified": true,
			"name": "Alice Example", "preferred_username": "alice", "groups": []any{"admins", "staff"},
		},
		AccessToken: "access-token-0123456789", RefreshToken: "refresh-token-0123456789",
		AccessExpiry: time.Now().Add(time.Hour).Unix(),
	})
	if err != nil {
		b.Fatal(err)
	}
	// The same user with DPoP-bound tokens (a session key, as a FAPI login makes).
	key, err := login.NewDPoPKey()
	if err != nil {
		b.Fatal(err)
	}
	keyText, err := key.MarshalText()
	if err != nil {
		b.Fatal(err)
	}
	boundTicket, err := sessions.Create(b.Context(), &session.Session{
		Issuer: "https://as.example.com", Subject: "user-alice",
		Claims:      map[string]any{"sub": "user-alice", "email": "alice@example.com"},
		AccessToken: "access-token-0123456789", RefreshToken: "refresh-token-0123456789",
		AccessExpiry: time.Now().Add(time.Hour).Unix(), TokenType: login.TokenTypeDPoP, DPoPKey: keyText,
	})
	if err != nil {
		b.Fatal(err)
	}
	signer := benchSigner(b)
	newGateway := func(edit func(*proxy.Options)) *proxy.Gateway {
		o := proxy.Options{
			PublicURL: pub,
			Login:     login.New(login.Options{Issuer: "https://as.example.com", ClientID: "c"}),
			Sessions:  sessions,
			Routes: []proxy.Route{
				{Name: "app", PathPrefix: "/", Target: upURL},
				{Name: "public", PathPrefix: "/public", Target: upURL, Auth: proxy.AuthPublic},
				{Name: "orders", PathPrefix: "/orders", Target: upURL, AssertionHeader: "X-Gatehouse-Assertion", AssertionAudience: "orders"},
				{Name: "token", PathPrefix: "/token", Target: upURL, PassAuthorization: true},
			},
			Redirects:  redirect.New(pub, nil),
			Assertions: signer,
		}
		edit(&o)
		gw, err := proxy.New(o)
		if err != nil {
			b.Fatal(err)
		}
		return gw
	}
	gw := newGateway(func(*proxy.Options) {})
	var runWith func(b *testing.B, path string, cookie bool, ticket string)
	run := func(b *testing.B, path string, cookie bool) { runWith(b, path, cookie, ticket) }
	runWith = func(b *testing.B, path string, cookie bool, ticket string) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := httptest.NewRequest(http.MethodGet, "http://gateway.example"+path, nil)
				r.Header.Set("Accept", "text/html")
				r.Header.Set("User-Agent", "bench")
				if cookie {
					r.AddCookie(sessions.Cookie(ticket))
				}
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
	b.Run("public", func(b *testing.B) { run(b, "/public/x", false) })
	b.Run("authenticated", func(b *testing.B) { run(b, "/app/x", true) })
	// The user's token in Authorization: as a bearer token, and DPoP-bound
	// with a fresh proof per request (docs/fapi.md quotes the difference).
	b.Run("authorization-bearer", func(b *testing.B) { run(b, "/token/x", true) })
	b.Run("authorization-dpop", func(b *testing.B) { runWith(b, "/token/x", true, boundTicket) })
	// With a signed identity assertion (ES256), reused for a while per
	// session version (upstreamidentity.go).
	b.Run("assertion", func(b *testing.B) { run(b, "/orders/x", true) })
	// With the access log (JSON, to a discarding writer) and metrics, as
	// production runs; then with tracing on too, every trace sampled (the
	// provider has no exporter: this is the cost of making the spans).
	gw = newGateway(func(o *proxy.Options) {
		o.AccessLog = accesslog.New(io.Discard, true)
		o.Observer = metrics.New()
	})
	b.Run("authenticated-logged", func(b *testing.B) { run(b, "/app/x", true) })
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	gw = newGateway(func(o *proxy.Options) {
		o.AccessLog = accesslog.New(io.Discard, true)
		o.Observer = metrics.New()
		o.Tracer = tp.Tracer("bench")
	})
	b.Run("authenticated-logged-traced", func(b *testing.B) { run(b, "/app/x", true) })
}

func benchSigner(b *testing.B) *assertion.Signer {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	s, err := assertion.New("http://gateway.example", [][]byte{pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkDPoPKey is the per-session cost of a DPoP key: made at the code
// exchange (new), read from the sealed session once per session version
// (parse), and one proof per call with the token (proof).
func BenchmarkDPoPKey(b *testing.B) {
	key, err := login.NewDPoPKey()
	if err != nil {
		b.Fatal(err)
	}
	text, _ := key.MarshalText()
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			if _, err := login.NewDPoPKey(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := login.ParseDPoPKey(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proof", func(b *testing.B) {
		now := time.Now()
		for b.Loop() {
			if _, err := key.Proof(http.MethodGet, "http://upstream.example/x", "access-token-0123456789", "", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
