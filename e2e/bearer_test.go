package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

const (
	apiJWT      = "https://api.e2e.test"       // JWT access tokens (RFC 9068)
	apiOpaque   = "https://opaque.e2e.test"    // opaque access tokens, introspected
	apiElsewise = "https://elsewhere.e2e.test" // an API the gateway does not accept tokens for
	mobileID    = "mobile-app"
	mobileURI   = "com.example.app:/oauth2redirect"
	batchID     = "batch-job"
	batchSecret = "batch-secret-0123456789abcdef"
)

// mobileTokens are what the mobile app got from the OP for a user.
type mobileTokens struct {
	jwt, opaque, idToken, refresh string
}

// mobileLogin signs user in as the mobile app would (code flow with PKCE in
// the browser, RFC 8252), asking for both APIs (RFC 8707), and returns a JWT
// access token for apiJWT, an opaque one for apiOpaque (by refresh), the ID
// token and the last refresh token.
func mobileLogin(t *testing.T, op *harness.OP, tab *harness.Tab, user string) mobileTokens {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), &http.Client{Timeout: 10 * time.Second})
	provider, err := oidc.NewProvider(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: mobileID, Endpoint: provider.Endpoint(), RedirectURL: mobileURI,
		Scopes: []string{"openid", "email", "profile", "groups", "offline_access", "api:read"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-"+user, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "nonce-"+user), oauth2.SetAuthURLParam("prompt", "consent"))
	authURL += "&" + url.Values{"resource": {apiJWT, apiOpaque}}.Encode()

	redirects := tab.InterceptScheme(t, "com.example.app")
	tab.Navigate(t, authURL)
	tab.OPLogin(t, user, "x")
	var got string
	select {
	case got = <-redirects:
	case <-time.After(15 * time.Second):
		t.Fatal("no redirect to the app")
	}
	u, err := url.Parse(got)
	if err != nil || u.Query().Get("code") == "" {
		t.Fatalf("app redirect %q: %v", got, err)
	}
	tok, err := conf.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", apiJWT))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	mt := mobileTokens{jwt: tok.AccessToken, refresh: tok.RefreshToken}
	mt.idToken, _ = tok.Extra("id_token").(string)
	if strings.Count(mt.jwt, ".") != 2 || mt.idToken == "" || mt.refresh == "" {
		t.Fatalf("token response: access token %q is no JWT, or no ID or refresh token", mt.jwt)
	}
	// The same grant, for the other API: a refresh with resource (RFC 8707 2.2).
	expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Unix(1, 0)}
	ts := (&oauth2.Config{ClientID: mobileID, Endpoint: conf.Endpoint}).TokenSource(
		context.WithValue(ctx, oauth2.HTTPClient, resourceClient(apiOpaque)), expired)
	tok2, err := ts.Token()
	if err != nil {
		t.Fatalf("refresh for %s: %v", apiOpaque, err)
	}
	mt.opaque, mt.refresh = tok2.AccessToken, tok2.RefreshToken
	if strings.Contains(mt.opaque, ".") {
		t.Fatalf("the access token for %s is not opaque", apiOpaque)
	}
	return mt
}

// resourceClient returns an HTTP client that adds resource=indicator to
// every token request (x/oauth2's refresh has no option for it).
func resourceClient(indicator string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		form, _ := url.ParseQuery(string(body))
		form.Set("resource", indicator)
		enc := form.Encode()
		r2 := r.Clone(r.Context())
		r2.Body, r2.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
		return http.DefaultTransport.RoundTrip(r2)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestE2EBearer proves bearer authentication against the real OP's tokens:
// JWT access tokens verified with the OP's keys, opaque ones introspected
// at the OP, rules applied to their claims, and RFC 6750 errors.
func TestE2EBearer(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node", "chromium")
	gwPort := harness.FreePort(t)
	gwPublic := fmt.Sprintf("http://127.0.0.1:%d", gwPort)
	op := harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{
			{ID: gwClientID, Secret: gwClientSecret, RedirectURIs: []string{gwPublic + "/oauth2/callback"}},
			{ID: mobileID, RedirectURIs: []string{mobileURI}, AuthMethod: "none", ApplicationType: "native"},
			{ID: batchID, Secret: batchSecret, GrantTypes: []string{"client_credentials"}},
		},
		Users: []harness.OPUser{alice, bob},
		Resources: []harness.OPResource{
			{Indicator: apiJWT, Scope: "api:read", UserClaims: true},
			{Indicator: apiOpaque, Scope: "api:read", Opaque: true, UserClaims: true},
			{Indicator: apiElsewise, Scope: "api:read"},
		},
	})
	app := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: gwPort, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret, UpstreamURL: app.URL,
		Extra: fmt.Sprintf(`
[[upstream]]
name = "api"
path_prefix = "/api"
url = %[1]q
auth = "bearer"
allowed_groups = ["admins"]

[[upstream]]
name = "service"
path_prefix = "/service"
url = %[1]q
auth = "bearer"
required_claims = { client_id = %[2]q }

[[upstream]]
name = "mixed"
path_prefix = "/mixed"
url = %[1]q
auth = "session_or_bearer"
pass_access_token = true

[bearer]
audiences = [%[3]q, %[4]q]
introspection = true
introspection_cache_ttl = "1s"
`, app.URL, batchID, apiJWT, apiOpaque),
	})

	b := harness.StartBrowser(t)
	aliceTab, bobTab := b.NewIsolatedTab(t), b.NewIsolatedTab(t)
	screenshotOnFailure(t, aliceTab, "bearer-alice")
	screenshotOnFailure(t, bobTab, "bearer-bob")
	aliceTok := mobileLogin(t, op, aliceTab, "alice")
	bobTok := mobileLogin(t, op, bobTab, "bob")
	service := op.ClientCredentials(t, batchID, batchSecret, apiJWT, "api:read")
	elsewhere := op.ClientCredentials(t, batchID, batchSecret, apiElsewise, "api:read")

	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(t *testing.T, path, token string) *http.Response {
		t.Helper()
		hdr := []string{"Accept", "application/json", "X-Forwarded-User", "mallory"}
		if token != "" {
			hdr = append(hdr, "Authorization", "Bearer "+token)
		}
		return getDiscarding(t, client, gw.URL+path, hdr...)
	}
	for _, tc := range []struct {
		name, path, token string
		want              int
		user, groups      string // at the application
		challenge         string
	}{
		{"JWTAdmin", "/api/things", aliceTok.jwt, 200, "alice-sub", "admins,staff", ""},
		{"OpaqueAdmin", "/api/things", aliceTok.opaque, 200, "alice-sub", "admins,staff", ""},
		{"JWTNotAdmin", "/api/things", bobTok.jwt, 403, "", "", `error="insufficient_scope"`},
		{"OpaqueNotAdmin", "/api/things", bobTok.opaque, 403, "", "", `error="insufficient_scope"`},
		{"ClientCredentials", "/service/run", service, 200, batchID, "", ""},
		{"UserTokenOnServiceRoute", "/service/run", aliceTok.jwt, 403, "", "", `error="insufficient_scope"`},
		{"OtherAudience", "/service/run", elsewhere, 401, "", "", `error="invalid_token"`},
		{"IDToken", "/api/things", aliceTok.idToken, 401, "", "", `error="invalid_token"`},
		{"RefreshToken", "/api/things", aliceTok.refresh, 401, "", "", `error="invalid_token"`},
		{"NoToken", "/api/things", "", 401, "", "", `Bearer realm="gatehouse"`},
		{"MixedWithToken", "/mixed/x", bobTok.jwt, 200, "bob-sub", "staff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := app.count()
			resp := call(t, tc.path, tc.token)
			if resp.StatusCode != tc.want {
				t.Fatalf("%d, want %d", resp.StatusCode, tc.want)
			}
			if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q in it", ch, tc.challenge)
			}
			if reached := app.count() > n; reached != (tc.want == 200) {
				t.Fatalf("application reached: %v", reached)
			}
			if tc.want != 200 {
				return
			}
			h := app.last(t)
			if h.Get("X-Forwarded-User") != tc.user || h.Get("X-Forwarded-Groups") != tc.groups {
				t.Errorf("application saw user %q groups %q, want %q %q", h.Get("X-Forwarded-User"), h.Get("X-Forwarded-Groups"), tc.user, tc.groups)
			}
			if h.Get("Authorization") != "Bearer "+tc.token {
				t.Errorf("the application did not get the client's Authorization header")
			}
		})
	}
	if ev := op.Events(t); ev["introspection"] < 2 || ev["server_error"] != 0 {
		t.Errorf("OP events %v: want introspections and no server error", ev)
	}

	t.Run("RevokedOpaqueTokenRefusedAfterCacheTTL", func(t *testing.T) {
		if resp := call(t, "/api/things", aliceTok.opaque); resp.StatusCode != 200 {
			t.Fatalf("before revocation: %d", resp.StatusCode)
		}
		revoke(t, op, aliceTok.opaque)
		time.Sleep(1500 * time.Millisecond) // bearer.introspection_cache_ttl = 1s
		if resp := call(t, "/api/things", aliceTok.opaque); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("after revocation: %d, want 401", resp.StatusCode)
		}
	})
}

// revoke revokes token at the OP as the mobile app (RFC 7009).
func revoke(t *testing.T, op *harness.OP, token string) {
	t.Helper()
	var doc struct {
		Revocation string `json:"revocation_endpoint"`
	}
	resp, err := http.Get(op.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}, "client_id": {mobileID}}
	r, err := http.PostForm(doc.Revocation, form)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %s", r.Status)
	}
}
