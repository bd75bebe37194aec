package proxy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

func TestLoginRoundTrip(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	resp := e.loginAs(c, "/deep/link?x=1", "alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after login: status %d", resp.StatusCode)
	}
	got := e.upstream.last()
	want := map[string]string{
		"X-Forwarded-User":               "user-alice",
		"X-Forwarded-Email":              "alice@example.com",
		"X-Forwarded-Preferred-Username": "alice",
		"X-Forwarded-Groups":             "admins,staff",
	}
	for k, v := range want {
		if got.Header.Get(k) != v {
			t.Errorf("upstream header %s = %q, want %q", k, got.Header.Get(k), v)
		}
	}
	if got.URL.RequestURI() != "/deep/link?x=1" {
		t.Errorf("upstream saw %q, want the deep link", got.URL.RequestURI())
	}
	if ck := got.Header.Get("Cookie"); strings.Contains(ck, "gatehouse") {
		t.Errorf("the gateway's cookies reached the upstream: %q", ck)
	}
	if got.Header.Get("X-Forwarded-Access-Token") != "" || got.Header.Get("Authorization") != "" {
		t.Errorf("the access token reached an upstream that did not ask for it")
	}
	// The session cookie is HttpOnly and SameSite=Lax.
	ui := e.get(c, e.gwURL+"/oauth2/userinfo", "Accept", "application/json")
	var info map[string]any
	if err := json.Unmarshal([]byte(bodyOf(ui)), &info); err != nil || info["email"] != "alice@example.com" {
		t.Errorf("userinfo: %d %s", ui.StatusCode, bodyOf(ui))
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	cb := e.authorize(c, "/", "bob")
	resp := e.get(c, cb)
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name != "gatehouse" {
			continue
		}
		found = true
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
			t.Errorf("session cookie attributes: %+v", ck)
		}
	}
	if !found {
		t.Fatal("no session cookie set")
	}
}

// TestCallbackRejects is the matrix of callbacks that must not log anyone in.
func TestCallbackRejects(t *testing.T) {
	foreignKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	signWith := func(alg jose.SignatureAlgorithm, key any, kid string) func(map[string]any) (string, error) {
		return func(claims map[string]any) (string, error) {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
			if err != nil {
				return "", err
			}
			payload, _ := json.Marshal(claims)
			jws, err := s.Sign(payload)
			if err != nil {
				return "", err
			}
			return jws.CompactSerialize()
		}
	}
	unsigned := func(claims map[string]any) (string, error) {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		p, _ := json.Marshal(claims)
		return h + "." + base64.RawURLEncoding.EncodeToString(p) + ".", nil
	}
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	tests := []struct {
		name   string
		hooks  devop.Hooks
		status int
	}{
		{"ForgedSignature", devop.Hooks{SignIDToken: signWith(jose.RS256, foreignKey, "")}, http.StatusUnauthorized},
		{"AlgNone", devop.Hooks{SignIDToken: unsigned}, http.StatusUnauthorized},
		{"HS256WithClientSecret", devop.Hooks{SignIDToken: signWith(jose.HS256, []byte(testClientSecret), "")}, http.StatusUnauthorized},
		{"WrongAudience", devop.Hooks{IDToken: set("aud", "someone-else")}, http.StatusUnauthorized},
		{"WrongIssuer", devop.Hooks{IDToken: set("iss", "https://evil.example")}, http.StatusUnauthorized},
		{"WrongAzp", devop.Hooks{IDToken: set("azp", "someone-else")}, http.StatusUnauthorized},
		{"SeveralAudiencesNoAzp", devop.Hooks{IDToken: func(c map[string]any) { c["aud"] = []string{testClientID, "other"}; delete(c, "azp") }}, http.StatusUnauthorized},
		{"Expired", devop.Hooks{IDToken: set("exp", time.Now().Add(-time.Minute).Unix())}, http.StatusUnauthorized},
		{"FutureIat", devop.Hooks{IDToken: set("iat", time.Now().Add(time.Hour).Unix())}, http.StatusUnauthorized},
		{"MissingIat", devop.Hooks{IDToken: func(c map[string]any) { delete(c, "iat") }}, http.StatusUnauthorized},
		{"MissingNonce", devop.Hooks{IDToken: func(c map[string]any) { delete(c, "nonce") }}, http.StatusUnauthorized},
		{"WrongNonce", devop.Hooks{IDToken: set("nonce", "not-the-nonce")}, http.StatusUnauthorized},
		{"WrongIssParameter", devop.Hooks{AuthResponse: func(q url.Values) { q.Set("iss", "https://evil.example") }}, http.StatusBadRequest},
		{"MissingIssParameter", devop.Hooks{AuthResponse: func(q url.Values) { q.Del("iss") }}, http.StatusBadRequest},
		{"StateMissing", devop.Hooks{AuthResponse: func(q url.Values) { q.Del("state") }}, http.StatusBadRequest},
		{"StateMismatched", devop.Hooks{AuthResponse: func(q url.Values) { q.Set("state", "forged-state-value") }}, http.StatusBadRequest},
		{"CodeMissing", devop.Hooks{AuthResponse: func(q url.Values) { q.Del("code") }}, http.StatusBadRequest},
		{"WrongCode", devop.Hooks{AuthResponse: func(q url.Values) { q.Set("code", "guessed") }}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{hooks: tc.hooks})
			c := e.browser()
			cb := e.authorize(c, "/secret", "alice")
			resp := e.get(c, cb)
			if resp.StatusCode != tc.status {
				t.Errorf("callback status %d, want %d: %s", resp.StatusCode, tc.status, bodyOf(resp))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("a browser got Content-Type %q, want an HTML page", ct)
			}
			e.assertNoSession(c)
		})
	}
}

func TestCallbackStateReplay(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	cb := e.authorize(c, "/", "alice")
	if resp := e.get(c, cb); resp.StatusCode != http.StatusFound {
		t.Fatalf("first use: %d", resp.StatusCode)
	}
	created := e.store.created.Load()
	resp := e.get(c, cb)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d, want 400", resp.StatusCode)
	}
	if e.store.created.Load() != created {
		t.Errorf("a replayed callback created a session")
	}
}

func TestCallbackCodeReplay(t *testing.T) {
	var first string
	e := newEnv(t, envOptions{hooks: devop.Hooks{AuthResponse: func(q url.Values) {
		if first == "" {
			first = q.Get("code")
		} else if q.Has("code") {
			q.Set("code", first)
		}
	}}})
	c := e.browser()
	if resp := e.get(c, e.authorize(c, "/", "alice")); resp.StatusCode != http.StatusFound {
		t.Fatalf("first login: %d", resp.StatusCode)
	}
	c2 := e.browser()
	created := e.store.created.Load()
	resp := e.get(c2, e.authorize(c2, "/", "alice"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed code: status %d, want 400", resp.StatusCode)
	}
	if e.store.created.Load() != created {
		t.Errorf("a replayed code created a session")
	}
}

func TestCallbackFromAnotherBrowser(t *testing.T) {
	e := newEnv(t, envOptions{})
	victim, attacker := e.browser(), e.browser()
	cb := e.authorize(attacker, "/", "alice") // the attacker's own login, handed to the victim
	resp := e.get(victim, cb)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("login CSRF: status %d, want 400", resp.StatusCode)
	}
	e.assertNoSession(victim)
}

func TestCallbackUserinfoSubMismatch(t *testing.T) {
	e := newEnv(t, envOptions{useUserinfo: true, hooks: devop.Hooks{Userinfo: func(c map[string]any) { c["sub"] = "mallory" }}})
	c := e.browser()
	resp := e.get(c, e.authorize(c, "/", "alice"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
	e.assertNoSession(c)
}

func TestCallbackASError(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	resp := e.get(c, e.gwURL+"/")
	cb := e.loginAtAS(c, resp.Header.Get("Location"), "alice", "deny")
	resp = e.get(c, cb)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(bodyOf(resp), "Access was denied") {
		t.Errorf("denied login: status %d, body %s", resp.StatusCode, bodyOf(resp))
	}
	e.assertNoSession(c)
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	h := &lateHandler{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	as, err := devop.New(devop.Options{Issuer: srv.URL, Hooks: devop.Hooks{Discovery: func(d map[string]any) { d["issuer"] = "https://evil.example" }}})
	if err != nil {
		t.Fatal(err)
	}
	h.set(as)
	lc := login.New(login.Options{Issuer: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Scopes: []string{"openid"}})
	if err := lc.Discover(t.Context()); err == nil || lc.Ready() {
		t.Fatalf("discovery with a mismatched issuer succeeded")
	}
}

func TestParallelTabsBothComplete(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.browser()
	cb1 := e.authorize(c, "/tab-one", "alice")
	cb2 := e.authorize(c, "/tab-two", "alice")
	// Finish in the opposite order of starting.
	for _, tc := range []struct{ cb, want string }{{cb2, "/tab-two"}, {cb1, "/tab-one"}} {
		resp := e.get(c, tc.cb)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.want {
			t.Errorf("tab %s: status %d location %q", tc.want, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestCallbackForgedASError: an error parameter is believed only for a flow
// this browser started (issue #14.1): anyone else gets 400 in the gateway's
// own words, never a 5xx, and the attacker's text never reaches the page.
func TestCallbackForgedASError(t *testing.T) {
	const evil = "EVIL<script>alert(1)</script>"
	forged := "error=server_error&error_description=" + url.QueryEscape(evil) + "&error_uri=" + url.QueryEscape("https://evil.example/"+evil)
	e := newEnv(t, envOptions{})
	c := e.browser()
	check := func(t *testing.T, resp *http.Response, status int, code string) {
		t.Helper()
		body := bodyOf(resp)
		if resp.StatusCode != status || !strings.Contains(body, code) {
			t.Errorf("status %d, want %d with %q: %s", resp.StatusCode, status, code, body)
		}
		if strings.Contains(body, "EVIL") || strings.Contains(body, "evil.example") {
			t.Errorf("the page repeats the attacker's text: %s", body)
		}
	}
	t.Run("NoState", func(t *testing.T) {
		check(t, e.get(c, e.gwURL+"/oauth2/callback?"+forged), http.StatusBadRequest, "state_missing")
	})
	t.Run("UnknownState", func(t *testing.T) {
		check(t, e.get(c, e.gwURL+"/oauth2/callback?state=guessed&"+forged), http.StatusBadRequest, "state_mismatch")
	})
	t.Run("AnotherBrowsersFlow", func(t *testing.T) {
		resp := e.get(e.browser(), e.gwURL+"/")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		state := loc.Query().Get("state")
		check(t, e.get(c, e.gwURL+"/oauth2/callback?state="+url.QueryEscape(state)+"&"+forged), http.StatusBadRequest, "state_mismatch")
	})
	t.Run("ErrorCodeWithAttackerText", func(t *testing.T) {
		resp := e.get(c, e.gwURL+"/oauth2/callback?error="+url.QueryEscape(evil))
		check(t, resp, http.StatusBadRequest, "state_missing")
	})
	e.assertNoSession(c)
}

// TestCallbackASErrorOfOwnFlow: for a flow this browser started, the AS's
// error is believed and rendered in the gateway's own words.
func TestCallbackASErrorOfOwnFlow(t *testing.T) {
	tests := []struct {
		asError string
		status  int
		code    string
	}{
		{"server_error", http.StatusBadGateway, "server_error"},
		{"temporarily_unavailable", http.StatusServiceUnavailable, "temporarily_unavailable"},
		{"login_required", http.StatusUnauthorized, "login_required"},
		{"EVIL_made_up_code", http.StatusBadGateway, "as_error"},
	}
	for _, tc := range tests {
		t.Run(tc.asError, func(t *testing.T) {
			e := newEnv(t, envOptions{hooks: devop.Hooks{AuthResponse: func(q url.Values) {
				q.Del("code")
				q.Set("error", tc.asError)
				q.Set("error_description", "EVIL description")
			}}})
			c := e.browser()
			resp := e.get(c, e.authorize(c, "/", "alice"))
			body := bodyOf(resp)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.code) {
				t.Errorf("status %d, want %d with %q: %s", resp.StatusCode, tc.status, tc.code, body)
			}
			if strings.Contains(body, "EVIL") {
				t.Errorf("the page repeats the AS's text: %s", body)
			}
			e.assertNoSession(c)
		})
	}
}
