package devop

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestNew(t *testing.T) {
	good := Client{ID: "c", Secret: "s", RedirectURIs: []string{"https://rp.example/cb"}}
	tests := []struct {
		name    string
		opts    Options
		wantErr []string // each must appear in the error
	}{
		{name: "minimal", opts: Options{Issuer: "http://127.0.0.1:9000"}},
		{name: "issuer with path", opts: Options{Issuer: "https://id.example/realms/dev", Clients: []Client{good}}},
		{name: "missing issuer", opts: Options{}, wantErr: []string{"Issuer: required"}},
		{name: "relative issuer", opts: Options{Issuer: "/op"}, wantErr: []string{"Issuer:"}},
		{name: "trailing slash", opts: Options{Issuer: "http://127.0.0.1:9000/"}, wantErr: []string{"trailing slash"}},
		{name: "issuer with query", opts: Options{Issuer: "http://127.0.0.1:9000?x=1"}, wantErr: []string{"Issuer:"}},
		{name: "issuer with odd path", opts: Options{Issuer: "http://127.0.0.1:9000/a{b}"}, wantErr: []string{"Issuer: path"}},
		{name: "unclean issuer path", opts: Options{Issuer: "http://127.0.0.1:9000/a/../b"}, wantErr: []string{"not clean"}},
		{
			name: "every client problem",
			opts: Options{Issuer: "http://op", Clients: []Client{
				{Secret: "s", RedirectURIs: []string{"https://rp.example/cb"}},
				good, good,
				{ID: "pub", Public: true, Secret: "s", RedirectURIs: []string{"https://rp.example/cb#frag"}},
				{ID: "conf", RedirectURIs: []string{"/relative"}, PostLogoutRedirectURIs: []string{"nope"}},
				{ID: "none"},
			}},
			wantErr: []string{
				"Clients[0].ID: required", `Clients[2].ID: duplicate "c"`,
				"Clients[3].Secret: a public client", "Clients[3].RedirectURIs[0]", "fragment",
				"Clients[4].Secret: required", "Clients[4].RedirectURIs[0]", "Clients[4].PostLogoutRedirectURIs[0]",
				"Clients[5].RedirectURIs: at least one",
			},
		},
		{
			name:    "user problems",
			opts:    Options{Issuer: "http://op", Users: []User{{Username: "a"}, {Username: "a"}, {}}, AutoApproveUser: "zed"},
			wantErr: []string{`Users[1].Username: duplicate "a"`, "Users[2].Username: required", `AutoApproveUser: "zed"`},
		},
		{name: "negative TTL", opts: Options{Issuer: "http://op", AccessTokenTTL: -time.Second}, wantErr: []string{"AccessTokenTTL: negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newServer(tt.opts, sharedKey)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New: no error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}

	t.Run("generates a key per server", func(t *testing.T) {
		a, err := New(Options{Issuer: "http://a"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(Options{Issuer: "http://b"})
		if err != nil {
			t.Fatal(err)
		}
		ka, kb := a.KeySet().Keys[0], b.KeySet().Keys[0]
		if ka.KeyID == "" || ka.KeyID == kb.KeyID {
			t.Errorf("kids %q and %q, want distinct non-empty", ka.KeyID, kb.KeyID)
		}
		if ka.Key.(interface{ Size() int }).Size() != 256 {
			t.Errorf("key is not RSA-2048")
		}
	})

	t.Run("defaults", func(t *testing.T) {
		s, err := newServer(Options{Issuer: "http://op"}, sharedKey)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{s.opts.AccessTokenTTL, s.opts.RefreshTokenTTL, s.opts.IDTokenTTL, len(s.users)}
		want := []any{5 * time.Minute, 24 * time.Hour, 5 * time.Minute, 2}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("defaults (-want +got):\n%s", diff)
		}
	})
}

func TestDemoUsers(t *testing.T) {
	want := []User{
		{Username: "alice", Password: "alice", Subject: "user-alice", Email: "alice@example.com", EmailVerified: true,
			Name: "Alice Example", PreferredUsername: "alice", Groups: []string{"admins", "staff"}},
		{Username: "bob", Password: "bob", Subject: "user-bob", Email: "bob@example.com", EmailVerified: true,
			Name: "Bob Example", PreferredUsername: "bob", Groups: []string{"staff"}},
	}
	if diff := cmp.Diff(want, DemoUsers()); diff != "" {
		t.Errorf("DemoUsers (-want +got):\n%s", diff)
	}
}

// TestSecretsNeverLogged runs every token operation and checks that no
// secret value reaches the log.
func TestSecretsNeverLogged(t *testing.T) {
	e := newEnv(t, Options{RotateRefreshTokens: true})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	f := e.authorize(t, cfg, "alice", "alice")
	tok, err := e.exchange(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.refresh(cfg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.refresh(cfg, tok.RefreshToken) // reuse
	bad := *cfg
	bad.ClientSecret = "wrong-secret-value"
	_, _ = e.refresh(&bad, next.RefreshToken)
	authURL, _ := start(cfg)
	e.submit(t, e.openLogin(t, authURL), "login", "alice", "typo-password")
	e.userinfo(t, next.AccessToken)
	_, _ = e.exchange(cfg, f) // replay

	logs := e.logs.String()
	if !strings.Contains(logs, "devop: login") || !strings.Contains(logs, "replayed") || !strings.Contains(logs, "reused") {
		t.Fatalf("nothing logged: %s", logs)
	}
	secrets := map[string]string{
		"code": f.code, "access token": tok.AccessToken, "refresh token": tok.RefreshToken,
		"rotated refresh token": next.RefreshToken, "client secret": webSecret, "wrong secret": bad.ClientSecret,
		"wrong password": "typo-password", "PKCE verifier": f.verifier,
		"ID token": tok.Extra("id_token").(string)[:40],
	}
	for name, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

// TestConcurrentFlows runs many flows at once for the race detector.
func TestConcurrentFlows(t *testing.T) {
	e := newEnv(t, Options{AutoApproveUser: "alice", RotateRefreshTokens: true})
	cfg := e.config(spaID, oauth2.AuthStyleInParams)
	const n = 16
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			authURL, f := start(cfg)
			resp, err := e.browser.Get(authURL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			loc, err := resp.Location()
			if err != nil {
				t.Error(err)
				return
			}
			f.code = loc.Query().Get("code")
			tok, err := e.exchange(cfg, f)
			if err != nil {
				t.Error(err)
				return
			}
			for range 3 {
				if tok, err = e.refresh(cfg, tok.RefreshToken); err != nil {
					t.Error(err)
					return
				}
			}
			_ = e.op.Stats()
		})
	}
	wg.Wait()
	want := Stats{AuthorizationCodesIssued: n, CodeExchanges: n, Refreshes: 3 * n, Logins: n}
	if diff := cmp.Diff(want, e.op.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

// TestExpiredEntriesSwept checks that memory stays bounded: expired codes and
// tokens are dropped.
func TestExpiredEntriesSwept(t *testing.T) {
	e := newEnv(t, Options{AutoApproveUser: "bob", RefreshTokenTTL: time.Hour})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	for range 3 {
		authURL, f := start(cfg)
		resp, _ := e.get(t, authURL)
		loc, _ := resp.Location()
		f.code = loc.Query().Get("code")
		if _, err := e.exchange(cfg, f); err != nil {
			t.Fatal(err)
		}
		start(cfg) // an abandoned request leaves nothing behind
	}
	e.clock.Advance(2 * time.Hour)
	e.userinfo(t, "anything") // any request may sweep
	e.op.st.mu.Lock()
	defer e.op.st.mu.Unlock()
	if n := len(e.op.st.codes) + len(e.op.st.grants) + len(e.op.st.access) + len(e.op.st.refresh); n != 0 {
		t.Errorf("%d entries left after expiry", n)
	}
}

func TestRouting(t *testing.T) {
	op, err := newServer(Options{Issuer: "http://op.test/base", Clients: testClients()}, sharedKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/base/.well-known/openid-configuration", 200},
		{"HEAD", "/base/jwks", 200},
		{"POST", "/base/jwks", 405},
		{"GET", "/base/token", 405},
		{"DELETE", "/base/authorize", 405},
		{"GET", "/jwks", 404},
		{"GET", "/base/nope", 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			op.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), tt.method, "http://op.test"+tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}
