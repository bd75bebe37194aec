package login_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

func gatewayClient() []devop.Client {
	return []devop.Client{{ID: "gw", Secret: gwSecret, RedirectURIs: []string{callback}, GrantTypes: allGrants}}
}

// TestPKCEMethods: S256 whenever the AS supports it, plain for an AS that
// advertises only plain (with a warning), none only when disabled.
func TestPKCEMethods(t *testing.T) {
	tests := []struct {
		name       string
		asPKCE     string // devop.Options.PKCE
		disable    bool
		wantMethod string // code_challenge_method sent; "" for no PKCE
		wantLog    string
	}{
		{name: "S256", wantMethod: "S256"},
		{name: "AS with plain only", asPKCE: "plain", wantMethod: "plain", wantLog: "supports only the PKCE plain method"},
		{name: "disabled", asPKCE: "none", disable: true, wantLog: "PKCE is disabled"},
		{name: "AS without PKCE metadata", asPKCE: "none", wantMethod: "S256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startAS(t, asOptions{clients: gatewayClient(), pkce: tt.asPKCE})
			var logs bytes.Buffer
			c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret, InsecureDisablePKCE: tt.disable,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			req, err := c.NewRequest(callback)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Params.Get("code_challenge_method"); got != tt.wantMethod {
				t.Errorf("code_challenge_method = %q, want %q", got, tt.wantMethod)
			}
			switch tt.wantMethod {
			case "plain":
				if req.Params.Get("code_challenge") != req.Verifier {
					t.Error("plain: the challenge is not the verifier")
				}
			case "":
				if req.Params.Has("code_challenge") || req.Verifier != "" {
					t.Errorf("PKCE disabled, yet challenge %q verifier %q", req.Params.Get("code_challenge"), req.Verifier)
				}
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logs.String())
			}
			if _, err := c.Exchange(t.Context(), approve(t, e.client, req), req.Verifier, req.RedirectURI, req.Nonce); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
		})
	}

	t.Run("AS with neither S256 nor plain", func(t *testing.T) {
		e := startAS(t, asOptions{clients: gatewayClient(), hooks: devop.Hooks{Discovery: func(d map[string]any) {
			d["code_challenge_methods_supported"] = []string{"S512"}
		}}})
		if err := e.newUndiscovered(login.Options{ClientID: "gw", ClientSecret: gwSecret}).Discover(t.Context()); err == nil || !strings.Contains(err.Error(), "neither PKCE S256 nor plain") {
			t.Errorf("Discover: %v", err)
		}
	})
	t.Run("public client without PKCE", func(t *testing.T) {
		e := startAS(t, asOptions{clients: []devop.Client{{ID: "pub", Public: true, RedirectURIs: []string{callback}}}, pkce: "none"})
		if err := e.newUndiscovered(login.Options{ClientID: "pub", InsecureDisablePKCE: true}).Discover(t.Context()); err == nil || !strings.Contains(err.Error(), "must use PKCE") {
			t.Errorf("Discover: %v", err)
		}
	})
}

// TestEndpoints: without discovery every endpoint comes from the
// configuration; with discovery, a configured endpoint replaces the
// discovered one.
func TestEndpoints(t *testing.T) {
	e := startAS(t, asOptions{clients: gatewayClient()})
	iss := e.issuer
	all := login.Endpoints{
		Authorization: iss + "/authorize", Token: iss + "/token", JWKS: iss + "/jwks", Userinfo: iss + "/userinfo",
		EndSession: iss + "/logout", Revocation: iss + "/revoke", Introspection: iss + "/introspect",
	}

	t.Run("no discovery", func(t *testing.T) {
		c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret, SkipDiscovery: true, Endpoints: all, UseUserinfo: true})
		req, err := c.NewRequest(callback)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Exchange(t.Context(), approve(t, e.client, req), req.Verifier, req.RedirectURI, req.Nonce)
		if err != nil || res.Claims["email"] != "alice@example.com" {
			t.Fatalf("Exchange: %v, claims %v", err, res)
		}
		if err := c.Revoke(t.Context(), res.RefreshToken, "refresh_token"); err != nil || e.as.Stats().Revocations != 1 {
			t.Errorf("Revoke: %v, revocations %d", err, e.as.Stats().Revocations)
		}
		if got := c.EndSessionEndpoint(); got != all.EndSession {
			t.Errorf("EndSessionEndpoint = %q", got)
		}
		md, err := c.ResourceMetadata()
		if err != nil || md.IntrospectionEndpoint != all.Introspection || md.JWKSURI != all.JWKS {
			t.Errorf("ResourceMetadata = %+v, %v", md, err)
		}
	})

	t.Run("missing endpoints", func(t *testing.T) {
		c := e.newUndiscovered(login.Options{ClientID: "gw", ClientSecret: gwSecret, SkipDiscovery: true, Endpoints: login.Endpoints{Authorization: all.Authorization, Token: all.Token}})
		if err := c.Discover(t.Context()); err == nil || !strings.Contains(err.Error(), "jwks_uri") {
			t.Errorf("Discover without jwks_uri: %v", err)
		}
	})

	t.Run("override one", func(t *testing.T) {
		var calls sync.Map
		spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Store(r.URL.Path, true)
			r.URL.Scheme, r.URL.Host, r.RequestURI, r.Host = "http", strings.TrimPrefix(iss, "http://"), "", ""
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			w.Write(buf.Bytes())
		}))
		t.Cleanup(spy.Close)
		c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret, Endpoints: login.Endpoints{Token: spy.URL + "/token"}})
		if _, err := c.ClientCredentials(t.Context(), login.TokenParams{}); err != nil {
			t.Fatal(err)
		}
		if _, ok := calls.Load("/token"); !ok {
			t.Error("the configured token endpoint was not used")
		}
	})
}

// githubAS is a plain OAuth 2.0 server in the style of GitHub: no
// discovery, no ID token, form-encoded token responses unless JSON is
// asked for, and a numeric user ID.
type githubAS struct {
	srv       *httptest.Server
	mu        sync.Mutex
	challenge string
	userCalls int
}

func newGitHubAS(t *testing.T) *githubAS {
	g := &githubAS{}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *githubAS) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login/oauth/authorize":
		q := r.URL.Query()
		if q.Has("nonce") || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.challenge = q.Get("code_challenge")
		g.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code=the-code&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	case "/login/oauth/access_token":
		r.ParseForm()
		h := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		g.mu.Lock()
		ok := base64.RawURLEncoding.EncodeToString(h[:]) == g.challenge && r.PostForm.Get("code") == "the-code"
		g.mu.Unlock()
		if user, pass, _ := r.BasicAuth(); user != "gh-client" || pass != "gh-secret" {
			ok = false
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		if !ok {
			w.Write([]byte("error=bad_verification_code&error_description=The+code+passed+is+incorrect"))
			return
		}
		w.Write([]byte("access_token=gho_token&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer"))
	case "/user":
		g.mu.Lock()
		g.userCalls++
		g.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer gho_token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"login":"octocat","id":12345678901234,"email":"octocat@github.example","name":"The Octocat","site_admin":false,"plan":{"name":"pro"}}`))
	default:
		http.NotFound(w, r)
	}
}

func TestPlainOAuth2Provider(t *testing.T) {
	g := newGitHubAS(t)
	c := login.New(login.Options{
		Issuer: "https://github.example", ClientID: "gh-client", ClientSecret: "gh-secret", Scopes: []string{"read:user", "user:email"},
		PlainOAuth2: true, SkipDiscovery: true, SubjectClaim: "id",
		Endpoints: login.Endpoints{
			Authorization: g.srv.URL + "/login/oauth/authorize",
			Token:         g.srv.URL + "/login/oauth/access_token",
			Userinfo:      g.srv.URL + "/user",
		},
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
	})
	if err := c.Discover(t.Context()); err != nil {
		t.Fatal(err)
	}
	req, err := c.NewRequest(callback)
	if err != nil {
		t.Fatal(err)
	}
	if req.Params.Has("nonce") {
		t.Error("a plain OAuth 2.0 request carries a nonce")
	}
	res, err := c.Exchange(t.Context(), approve(t, &http.Client{}, req), req.Verifier, req.RedirectURI, req.Nonce)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := &login.Result{
		AccessToken: "gho_token", Issuer: "https://github.example", Subject: "12345678901234",
		Claims: map[string]any{
			"sub": "12345678901234", "login": "octocat", "id": int64(12345678901234), "email": "octocat@github.example",
			"name": "The Octocat", "site_admin": false, "plan": map[string]any{"name": "pro"},
		},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Exchange (-want +got):\n%s", diff)
	}

	t.Run("wrong verifier", func(t *testing.T) {
		_, err := c.Exchange(t.Context(), "the-code", "wrong-verifier-wrong-verifier-wrong-verifier", req.RedirectURI, "")
		if !errors.Is(err, login.ErrTokenEndpoint) || oauthCode(err) != "bad_verification_code" {
			t.Errorf("Exchange: %v", err)
		}
	})
	t.Run("subject claim missing", func(t *testing.T) {
		c2 := login.New(login.Options{Issuer: "https://github.example", ClientID: "gh-client", ClientSecret: "gh-secret",
			PlainOAuth2: true, SkipDiscovery: true, SubjectClaim: "uuid",
			Endpoints: login.Endpoints{Authorization: g.srv.URL + "/login/oauth/authorize", Token: g.srv.URL + "/login/oauth/access_token", Userinfo: g.srv.URL + "/user"}})
		if err := c2.Discover(t.Context()); err != nil {
			t.Fatal(err)
		}
		req, _ := c2.NewRequest(callback)
		_, err := c2.Exchange(t.Context(), approve(t, &http.Client{}, req), req.Verifier, req.RedirectURI, "")
		if !errors.Is(err, login.ErrUserinfo) {
			t.Errorf("Exchange: %v, want ErrUserinfo", err)
		}
	})
	t.Run("no userinfo endpoint", func(t *testing.T) {
		c3 := login.New(login.Options{Issuer: "https://github.example", ClientID: "x", ClientSecret: "y", PlainOAuth2: true, SkipDiscovery: true,
			Endpoints: login.Endpoints{Authorization: g.srv.URL + "/a", Token: g.srv.URL + "/t"}})
		if err := c3.Discover(t.Context()); err == nil || !strings.Contains(err.Error(), "userinfo") {
			t.Errorf("Discover: %v", err)
		}
	})
}

// TestPlainOAuth2Discovery: a plain OAuth 2.0 server's metadata is found at
// the RFC 8414 location, with the well-known path before the issuer's path.
func TestPlainOAuth2Discovery(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server/tenant" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": srv.URL + "/tenant", "authorization_endpoint": srv.URL + "/tenant/authorize",
			"token_endpoint": srv.URL + "/tenant/token", "userinfo_endpoint": srv.URL + "/tenant/me",
		})
	}))
	t.Cleanup(srv.Close)
	c := login.New(login.Options{Issuer: srv.URL + "/tenant", ClientID: "c", ClientSecret: "s", PlainOAuth2: true})
	if err := c.Discover(t.Context()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	req, err := c.NewRequest(callback)
	if err != nil || req.Endpoint != srv.URL+"/tenant/authorize" {
		t.Errorf("NewRequest: %v, endpoint %q", err, req.Endpoint)
	}
}

func TestPasswordGrant(t *testing.T) {
	e := startAS(t, asOptions{clients: gatewayClient()})
	c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret})
	res, err := c.PasswordGrant(t.Context(), "bob", "bob", login.TokenParams{})
	if err != nil {
		t.Fatalf("PasswordGrant: %v", err)
	}
	if res.Subject != "user-bob" || res.Claims["email"] != "bob@example.com" || res.IDToken == "" || res.Expiry.IsZero() {
		t.Errorf("PasswordGrant = %+v", res)
	}
	_, err = c.PasswordGrant(t.Context(), "bob", "not-bobs-password", login.TokenParams{})
	if !errors.Is(err, login.ErrInvalidGrant) {
		t.Errorf("wrong password: %v, want ErrInvalidGrant", err)
	}
	if strings.Contains(err.Error(), "not-bobs-password") {
		t.Error("the error contains the password")
	}

	t.Run("userinfo when there is no ID token", func(t *testing.T) {
		res, err := c.PasswordGrant(t.Context(), "alice", "alice", login.TokenParams{Scopes: []string{"email"}})
		if err != nil || res.Subject != "user-alice" || res.IDToken != "" {
			t.Errorf("PasswordGrant = %+v, %v", res, err)
		}
	})
}

func TestTokenExchange(t *testing.T) {
	e := startAS(t, asOptions{clients: gatewayClient()})
	c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret})
	user, err := c.PasswordGrant(t.Context(), "alice", "alice", login.TokenParams{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.ExchangeToken(t.Context(), user.AccessToken, login.TokenParams{Audiences: []string{"orders"}, Resources: []string{"https://orders.example/"}, Scopes: []string{"email"}})
	if err != nil {
		t.Fatalf("ExchangeToken: %v", err)
	}
	info, ok := e.as.TokenInfo(tok.AccessToken)
	want := devop.TokenInfo{ClientID: "gw", Subject: "user-alice", Username: "alice", Scopes: []string{"email"},
		Audience: []string{"https://orders.example/", "orders"}, GrantType: devop.GrantTokenExchange, Expiry: info.Expiry}
	if diff := cmp.Diff(want, info); !ok || diff != "" {
		t.Errorf("TokenInfo (-want +got):\n%s", diff)
	}
	if tok.IssuedTokenType != login.TokenTypeAccessToken || tok.Expiry.IsZero() {
		t.Errorf("token %+v", tok)
	}
	if _, err := c.ExchangeToken(t.Context(), "not-a-token", login.TokenParams{}); oauthCode(err) != "invalid_request" {
		t.Errorf("unknown subject token: %v", err)
	}
}

func TestClientCredentialsResource(t *testing.T) {
	e := startAS(t, asOptions{clients: gatewayClient()})
	c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret})
	tok, err := c.ClientCredentials(t.Context(), login.TokenParams{Scopes: []string{"orders.read"}, Resources: []string{"https://orders.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := e.as.TokenInfo(tok.AccessToken)
	if !cmp.Equal(info.Audience, []string{"https://orders.example/"}) || !cmp.Equal(info.Scopes, []string{"orders.read"}) || info.Subject != "gw" {
		t.Errorf("TokenInfo = %+v", info)
	}
	if _, err := c.ClientCredentials(t.Context(), login.TokenParams{Resources: []string{"orders"}}); oauthCode(err) != "invalid_target" {
		t.Errorf("relative resource: %v, want invalid_target", err)
	}
}
