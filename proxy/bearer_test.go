package proxy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

const apiAudience = "https://api.gatehouse.test"

// tokenAS is an authorization server that issues access tokens for an API:
// JWTs signed with its key, and opaque tokens it answers for at its
// introspection endpoint. (The gateway's logins still go to devop.)
type tokenAS struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	opaque map[string]map[string]any
	calls  atomic.Int64 // introspection calls
	seen   sync.Map     // tokens introspected
}

func newTokenAS(t *testing.T) *tokenAS {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	as := &tokenAS{t: t, key: k, opaque: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		as.calls.Add(1)
		if id, secret, ok := r.BasicAuth(); !ok || id != testClientID || secret != testClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := r.PostFormValue("token")
		as.seen.Store(tok, true)
		as.mu.Lock()
		ans, ok := as.opaque[tok]
		as.mu.Unlock()
		if !ok {
			ans = map[string]any{"active": false}
		}
		_ = json.NewEncoder(w).Encode(ans)
	})
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

func (as *tokenAS) verifier(t *testing.T) *bearer.Verifier {
	v, err := bearer.New(bearer.Options{
		Metadata: func() (bearer.Metadata, error) {
			return bearer.Metadata{Issuer: as.srv.URL, JWKSURI: as.srv.URL + "/jwks", IntrospectionEndpoint: as.srv.URL + "/introspect"}, nil
		},
		Audiences: []string{apiAudience}, Introspection: true, ClientID: testClientID, ClientSecret: testClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jwt issues a JWT access token for sub with extra claims.
func (as *tokenAS) jwt(sub string, extra map[string]any) string {
	as.t.Helper()
	claims := map[string]any{
		"iss": as.srv.URL, "sub": sub, "aud": apiAudience, "client_id": "mobile-app",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "scope": "openid api:read",
	}
	for k, v := range extra {
		claims[k] = v
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: as.key}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "k1"))
	if err != nil {
		as.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := sg.Sign(payload)
	if err != nil {
		as.t.Fatal(err)
	}
	raw, _ := obj.CompactSerialize()
	return raw
}

// opaqueToken registers an active opaque token for sub.
func (as *tokenAS) opaqueToken(value, sub string, extra map[string]any) string {
	ans := map[string]any{"active": true, "sub": sub, "aud": apiAudience, "iss": as.srv.URL, "token_type": "Bearer",
		"exp": float64(time.Now().Add(time.Hour).Unix())}
	for k, v := range extra {
		ans[k] = v
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	as.opaque[value] = ans
	return value
}

func bearerRoutes() []proxy.Route {
	return []proxy.Route{
		{Name: "api", PathPrefix: "/api", Auth: proxy.AuthBearer, Rules: authz.Rules{AllowedGroups: []string{"api-admins"}}},
		{Name: "mixed", PathPrefix: "/mixed", Auth: proxy.AuthSessionOrBearer},
		{Name: "web", PathPrefix: "/"},
	}
}

func TestBearerRoutes(t *testing.T) {
	as := newTokenAS(t)
	e := newEnv(t, envOptions{routes: bearerRoutes(), bearer: as.verifier(t)})
	admin := as.jwt("svc-admin", map[string]any{"groups": []string{"api-admins"}, "email": "admin@example.com"})
	plain := as.jwt("svc-plain", nil)
	expired := as.jwt("svc-admin", map[string]any{"groups": []string{"api-admins"}, "exp": time.Now().Add(-time.Minute).Unix()})
	foreign := as.jwt("svc-admin", map[string]any{"groups": []string{"api-admins"}, "aud": "https://other.test"})
	opaque := as.opaqueToken("opaque-admin-token", "opaque-user", map[string]any{"groups": []any{"api-admins"}})

	browser := e.browser()
	e.loginAs(browser, "/", "alice") // a session, which bearer-only routes ignore
	ticket := ""
	for _, ck := range browser.Jar.Cookies(mustURL(t, e.gwURL)) {
		if ck.Name == "gatehouse" {
			ticket = ck.Value
		}
	}
	if ticket == "" {
		t.Fatal("no session cookie")
	}
	anon := e.browser()

	for _, tc := range []struct {
		name      string
		c         *http.Client
		path      string
		hdr       []string
		want      int
		user      string // X-Forwarded-User at the upstream, when passed
		challenge string // a substring of WWW-Authenticate
	}{
		{"JWT", anon, "/api/x", []string{"Authorization", "Bearer " + admin}, 200, "svc-admin", ""},
		{"JWTSchemeCase", anon, "/api/x", []string{"Authorization", "bearer " + admin}, 200, "svc-admin", ""},
		{"Opaque", anon, "/api/x", []string{"Authorization", "Bearer " + opaque}, 200, "opaque-user", ""},
		{"RuleDenies", anon, "/api/x", []string{"Authorization", "Bearer " + plain}, 403, "", `error="insufficient_scope"`},
		{"Expired", anon, "/api/x", []string{"Authorization", "Bearer " + expired}, 401, "", `error="invalid_token"`},
		{"OtherAudience", anon, "/api/x", []string{"Authorization", "Bearer " + foreign}, 401, "", `error="invalid_token"`},
		{"InactiveOpaque", anon, "/api/x", []string{"Authorization", "Bearer unknown-token"}, 401, "", `error="invalid_token"`},
		{"NoToken", anon, "/api/x", nil, 401, "", `Bearer realm="gatehouse"`},
		{"BrowserWithoutTokenIsNotRedirected", browser, "/api/x", htmlAccept, 401, "", `Bearer realm="gatehouse"`},
		{"SessionTicketNotAcceptedOnBearerRoute", anon, "/api/x", []string{"Authorization", "Bearer " + ticket}, 401, "", `error="invalid_token"`},
		{"BasicSchemeIgnored", anon, "/api/x", []string{"Authorization", "Basic YTpi"}, 401, "", `Bearer realm="gatehouse"`},
		{"TwoAuthorizationHeaders", anon, "/api/x", []string{"Authorization", "Bearer " + admin, "Authorization", "Bearer " + plain}, 400, "", `error="invalid_request"`},
		{"EmptyToken", anon, "/api/x", []string{"Authorization", "Bearer "}, 400, "", `error="invalid_request"`},
		{"TokenWithSpace", anon, "/api/x", []string{"Authorization", "Bearer a b"}, 400, "", `error="invalid_request"`},
		{"TokenInQueryIgnored", anon, "/api/x?access_token=" + admin, nil, 401, "", `Bearer realm="gatehouse"`},
		{"MixedSession", browser, "/mixed/x", nil, 200, "user-alice", ""},
		{"MixedJWT", anon, "/mixed/x", []string{"Authorization", "Bearer " + plain}, 200, "svc-plain", ""},
		{"MixedTicketAsBearer", anon, "/mixed/x", []string{"Authorization", "Bearer " + ticket}, 200, "user-alice", ""},
		{"MixedBadTokenDoesNotFallBackToCookie", browser, "/mixed/x", []string{"Authorization", "Bearer " + expired}, 401, "", `error="invalid_token"`},
		{"MixedNothingBrowserLogsIn", anon, "/mixed/x", htmlAccept, 302, "", ""},
		{"MixedNothingAPI", anon, "/mixed/x", []string{"Accept", "application/json"}, 401, "", `Bearer realm="gatehouse"`},
		{"SessionRouteIgnoresAccessTokens", anon, "/web", append([]string{"Authorization", "Bearer " + admin}, htmlAccept...), 302, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.upstream.count()
			hdr := append([]string{"X-Forwarded-User", "mallory", "X_Auth_Request_User", "mallory"}, tc.hdr...)
			resp := e.send(tc.c, "GET", e.gwURL+tc.path, hdr...)
			if resp.StatusCode != tc.want {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tc.want, bodyOf(resp))
			}
			if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q in it", ch, tc.challenge)
			}
			reached := e.upstream.count() > before
			if reached != (tc.want == 200) {
				t.Fatalf("upstream reached = %v", reached)
			}
			if !reached {
				return
			}
			got := e.upstream.last()
			assertNoSpoof(t, got, tc.user)
			if strings.Contains(got.Header.Get("Authorization"), ticket) || strings.Contains(got.Header.Get("Cookie"), ticket) {
				t.Errorf("the session ticket reached the upstream")
			}
		})
	}
	if _, ok := as.seen.Load(ticket); ok {
		t.Errorf("a session ticket was sent to the introspection endpoint")
	}
}

func TestBearerIntrospectionCached(t *testing.T) {
	as := newTokenAS(t)
	e := newEnv(t, envOptions{routes: bearerRoutes(), bearer: as.verifier(t)})
	tok := as.opaqueToken("cached-token", "u", map[string]any{"groups": []any{"api-admins"}})
	c := e.browser()
	for range 5 {
		if resp := e.send(c, "GET", e.gwURL+"/api/x", "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("%d", resp.StatusCode)
		}
	}
	if n := as.calls.Load(); n != 1 {
		t.Errorf("%d introspection calls for 5 requests, want 1", n)
	}
}

func TestBearerIntrospectionDown(t *testing.T) {
	as := newTokenAS(t)
	e := newEnv(t, envOptions{routes: bearerRoutes(), bearer: as.verifier(t)})
	as.srv.Close()
	resp := e.send(e.browser(), "GET", e.gwURL+"/api/x", "Authorization", "Bearer opaque-value")
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(bodyOf(resp), "introspect") {
		t.Errorf("%d %s", resp.StatusCode, bodyOf(resp))
	}
}

func TestBearerForwardAuth(t *testing.T) {
	as := newTokenAS(t)
	e := newEnv(t, envOptions{routes: bearerRoutes(), bearer: as.verifier(t), trusted: loopback})
	tok := as.jwt("svc-admin", map[string]any{"groups": []string{"api-admins"}})
	resp := e.send(e.browser(), "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("POST", "/api/things"), []string{"Authorization", "Bearer " + tok})...)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Auth-Request-User") != "svc-admin" || resp.Header.Get("X-Auth-Request-Groups") != "api-admins" {
		t.Errorf("%d %v", resp.StatusCode, resp.Header)
	}
	resp = e.send(e.browser(), "GET", e.gwURL+"/oauth2/auth", cat(e.traefik("GET", "/api/things"), htmlAccept)...)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token on a bearer route: %d, want 401 (never a login redirect)", resp.StatusCode)
	}
}

func TestBearerRouteNeedsVerifier(t *testing.T) {
	sessions, err := session.NewManager(session.Options{Store: memstore.New(), Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	pub := mustURL(t, "http://127.0.0.1:4180")
	routes := bearerRoutes()
	for i := range routes {
		routes[i].Target = mustURL(t, "http://127.0.0.1:8080")
	}
	_, err = proxy.New(proxy.Options{
		PublicURL: pub, Login: login.New(login.Options{Issuer: "http://127.0.0.1:9"}), Sessions: sessions, Routes: routes,
		Redirects: redirect.New(pub, nil),
	})
	if err == nil || !strings.Contains(err.Error(), "Options.Bearer is nil") {
		t.Fatalf("New: %v, want an error about the missing verifier", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
