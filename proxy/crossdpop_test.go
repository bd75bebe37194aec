package proxy_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// proofSeen is what a DPoP-checking upstream saw: the proof's claims and
// key, and the URL it received the request at, as a resource server
// reconstructs it (its scheme, the Host header, the path).
type proofSeen struct {
	claims    map[string]any
	thumb     string
	url       string
	authz     string
	err       string
	requested bool
}

// dpopUpstream records, for each request, the DPoP proof it carries.
type dpopUpstream struct {
	mu   sync.Mutex
	seen []proofSeen
}

func (u *dpopUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ps := proofSeen{url: "http://" + r.Host + r.URL.EscapedPath(), authz: r.Header.Get("Authorization"), requested: true}
	if jws, err := jose.ParseSignedCompact(r.Header.Get("DPoP"), []jose.SignatureAlgorithm{jose.ES256}); err != nil {
		ps.err = err.Error()
	} else if jwk := jws.Signatures[0].Protected.JSONWebKey; jwk == nil {
		ps.err = "no jwk"
	} else if payload, err := jws.Verify(jwk); err != nil {
		ps.err = err.Error()
	} else {
		_ = json.Unmarshal(payload, &ps.claims)
		tp, _ := jwk.Thumbprint(crypto.SHA256)
		ps.thumb = base64.RawURLEncoding.EncodeToString(tp)
	}
	u.mu.Lock()
	u.seen = append(u.seen, ps)
	u.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func (u *dpopUpstream) last() proofSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return proofSeen{}
	}
	return u.seen[len(u.seen)-1]
}

// dpopGateway is a gateway on sessions whose one route forwards to target.
func dpopGateway(t *testing.T, sessions *session.Manager, rt proxy.Route) http.Handler {
	t.Helper()
	pub, _ := url.Parse("http://gateway.example")
	gw, err := proxy.New(proxy.Options{
		PublicURL: pub,
		Login:     login.New(login.Options{Issuer: "https://as.example.com", ClientID: "c"}),
		Sessions:  sessions,
		Routes:    []proxy.Route{rt},
		Redirects: redirect.New(pub, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// boundSession creates, in sessions, a session whose tokens are bound to a
// fresh DPoP key, and returns the cookies that carry it and the key.
func boundSession(t *testing.T, sessions *session.Manager, idToken string) ([]*http.Cookie, *login.DPoPKey) {
	t.Helper()
	key, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	text, err := key.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := sessions.Create(t.Context(), &session.Session{
		Issuer: "https://as.example.com", Subject: "user-alice",
		Claims:      map[string]any{"sub": "user-alice", "email": "alice@example.com"},
		AccessToken: "access-token-0123456789", RefreshToken: "refresh-token-0123456789", IDToken: idToken,
		AccessExpiry: time.Now().Add(time.Hour).Unix(), TokenType: login.TokenTypeDPoP, DPoPKey: text,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sessions.SetCookies(rec, httptest.NewRequest(http.MethodGet, "http://gateway.example/", nil), ticket)
	return rec.Result().Cookies(), key
}

// TestUpstreamDPoPProofURL: the proof the gateway sends an upstream with a
// DPoP-bound token names the URL the upstream receives the request at: the
// target's path joined with the path left after strip_prefix, and, with
// preserve_host, the Host the upstream gets (the client's), so that a
// resource server checking htu against its own request URL accepts it. For
// sessions of the memory store and of the cookie store (the key sealed in
// the cookies).
func TestUpstreamDPoPProofURL(t *testing.T) {
	up := &dpopUpstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL + "/base")
	for _, store := range []struct {
		name   string
		cookie bool
	}{{"memory", false}, {"cookie", true}} {
		sessions, err := session.NewManager(session.Options{Store: memstore.New(), Secret: []byte("0123456789abcdef0123456789abcdef"),
			CookieStore: store.cookie, CacheMaxAge: -1})
		if err != nil {
			t.Fatal(err)
		}
		cookies, key := boundSession(t, sessions, "")
		for _, tt := range []struct {
			name         string
			preserveHost bool
			strip        bool
			path         string
			wantURL      string
		}{
			{"strip_prefix", false, true, "/api/orders/7?x=1", srv.URL + "/base/orders/7"},
			{"strip_prefix and preserve_host", true, true, "/api/orders/7", "http://gateway.example/base/orders/7"},
			{"preserve_host", true, false, "/api/orders/7", "http://gateway.example/base/api/orders/7"},
			{"neither", false, false, "/api/orders/7", srv.URL + "/base/api/orders/7"},
		} {
			t.Run(store.name+"/"+tt.name, func(t *testing.T) {
				gw := dpopGateway(t, sessions, proxy.Route{Name: "api", PathPrefix: "/api", Target: target,
					StripPrefix: tt.strip, PreserveHost: tt.preserveHost, PassAuthorization: true})
				r := httptest.NewRequest(http.MethodPost, "http://gateway.example"+tt.path, nil)
				for _, c := range cookies {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, r)
				got := up.last()
				if w.Code != http.StatusOK || !got.requested {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				if got.err != "" {
					t.Fatalf("proof: %s", got.err)
				}
				if got.url != tt.wantURL {
					t.Fatalf("the upstream got the request at %s, want %s", got.url, tt.wantURL)
				}
				if got.claims["htu"] != got.url || got.claims["htm"] != http.MethodPost {
					t.Errorf("proof htm %v htu %v; the upstream got POST %s", got.claims["htm"], got.claims["htu"], got.url)
				}
				if got.thumb != key.Thumbprint() || got.authz != "DPoP access-token-0123456789" ||
					got.claims["ath"] != login.AccessTokenHash("access-token-0123456789") {
					t.Errorf("proof by %s (session key %s), Authorization %q, claims %v", got.thumb, key.Thumbprint(), got.authz, got.claims)
				}
			})
		}
	}
}
