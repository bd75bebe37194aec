package harness

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// opReadyTimeout bounds how long StartOP waits for the OP's ready line.
const opReadyTimeout = 20 * time.Second

// OPConfig configures the OpenID Provider that StartOP runs. A zero TTL takes the script's
// default: 10 minutes for access and ID tokens, one day for refresh tokens.
type OPConfig struct {
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	Clients         []OPClient
	Users           []OPUser

	// ConformIDTokenClaims makes the OP follow OpenID Connect Core 5.4 to the letter: an ID
	// token from the token endpoint then carries sub and the protocol claims only, and the
	// scope claims (email, groups...) are available from the userinfo endpoint alone. The
	// default, false, puts them in the ID token, as most OPs do.
	ConformIDTokenClaims bool

	// Resources are the resource servers (RFC 8707 resource indicators) the OP issues access
	// tokens for. None (the default) keeps resource indicators off.
	Resources []OPResource

	// TokenExchange registers the token exchange grant (RFC 8693, which oidc-provider does
	// not implement itself): a user's access token of the OP is exchanged for an access token
	// for exactly one of Resources, named by resource or audience, for clients whose
	// GrantTypes list urn:ietf:params:oauth:grant-type:token-exchange.
	TokenExchange bool

	// TLS, when set, serves the OP over https with mutual TLS (RFC 8705): it asks every client
	// for a certificate, authenticates self_signed_tls_client_auth clients by theirs and binds
	// their tokens to it. The issuer is then https://127.0.0.1:PORT.
	TLS *OPTLS

	// FAPI, when set, configures the OP for the FAPI tests (op.mjs says what each field does).
	// Without it the OP offers PAR and DPoP (oidc-provider's defaults) and requires neither.
	FAPI *OPFAPI
}

// OPTLS is the OP's server certificate and key (PEM files). The certificate must be valid for
// 127.0.0.1; it is also the root the harness trusts for the OP.
type OPTLS struct {
	CertFile, KeyFile string
}

// OPFAPI configures pushed authorization requests, DPoP and the FAPI 2.0 profile at the OP.
type OPFAPI struct {
	Profile    bool // features.fapi with profile '2.0'; ID tokens signed ES256
	RequirePAR bool // PAR required of every client, advertised in the metadata
	DPoPNonce  bool // a server nonce required in every DPoP proof; see RotateDPoPNonce
	JAR        bool // request objects (RFC 9101) accepted
	JARM       bool // JWT response modes (response_mode=jwt) offered
}

// OPResource is a resource server at the OP: an access token requested with
// resource=Indicator (at the authorization and token endpoints, or with client credentials)
// is issued for the audience Indicator, as a JWT (RFC 9068, typ at+jwt, signed RS256 with the
// key in the jwks_uri) or as an opaque token that the introspection endpoint answers for.
type OPResource struct {
	Indicator string // an absolute URI, such as https://api.example.test
	Scope     string // the scopes of the resource server, space-separated (may be empty)
	Opaque    bool   // opaque tokens instead of JWTs
	// UserClaims puts the user's email, email_verified, preferred_username and groups in the
	// access tokens (and introspection responses) of a user's grant.
	UserClaims bool
}

// OPClient is a client registered at the OP (RFC 7591 metadata names in brackets).
type OPClient struct {
	ID     string // [client_id]
	Secret string // [client_secret]; empty for a public client

	RedirectURIs           []string // [redirect_uris]
	PostLogoutRedirectURIs []string // [post_logout_redirect_uris]

	// BackchannelLogoutURI receives logout tokens (OpenID Connect Back-Channel Logout 1.0).
	// The OP then also requires sessions for the client (backchannel_logout_session_required),
	// so ID tokens and logout tokens carry sid.
	BackchannelLogoutURI string

	// FrontchannelLogoutURI is loaded by the OP in an iframe at logout (OpenID Connect
	// Front-Channel Logout 1.0), with iss and sid. Only StartHydra registers it.
	FrontchannelLogoutURI string

	// AuthMethod is the token_endpoint_auth_method: "client_secret_basic" (the default with
	// a Secret) or "none" (the default without).
	AuthMethod string

	// ApplicationType is "web" (the default) or "native". A native client may register
	// private-use URI scheme redirects such as com.example.app:/oauth2redirect (RFC 8252 7.1)
	// and loopback redirects on any port.
	ApplicationType string

	// GrantTypes defaults to authorization_code and refresh_token.
	GrantTypes []string

	// JWKS holds the public keys of a client with AuthMethod "private_key_jwt" [jwks]: a
	// JSON Web Key Set, encoded as is (a jose.JSONWebKeySet, say).
	JWKS any

	// RequirePAR [require_pushed_authorization_requests]: the OP refuses this client's
	// authorization requests unless pushed (RFC 9126).
	RequirePAR bool
	// DPoPBound [dpop_bound_access_tokens]: the OP refuses this client's token requests
	// without a DPoP proof (RFC 9449).
	DPoPBound bool
	// CertificateBound [tls_client_certificate_bound_access_tokens]: the OP binds this client's
	// tokens to its TLS client certificate (RFC 8705 section 3).
	CertificateBound bool
	// RequireJAR [require_signed_request_object]: the OP refuses this client's authorization
	// requests unless they are signed request objects (RFC 9101).
	RequireJAR bool
}

// OPUser is an account at the OP. The OP's login form accepts any password; the login name
// selects the user whose PreferredUsername or Sub equals it. Any other name signs in a
// generated account with that name as sub, preferred_username and name, and the email
// NAME@example.test.
type OPUser struct {
	Sub               string
	Email             string
	EmailUnverified   bool // email_verified is true unless this is set
	Name              string
	PreferredUsername string
	Groups            []string
}

// OP is a running OpenID Provider (the npm package oidc-provider) on 127.0.0.1.
//
// It issues refresh tokens only for offline_access, which it grants only when the
// authorization request has prompt=consent; it requires PKCE (S256) from every client,
// rotates refresh tokens on use, revokes the whole grant when a rotated refresh token is
// reused, and adds iss to authorization responses (RFC 9207).
type OP struct {
	// Issuer is the OP's issuer identifier, http://127.0.0.1:PORT; discovery is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string

	client *http.Client
}

// StartOP starts the OP for the test and stops it when the test ends. It skips the test
// (fails it under CI) when node is missing or e2e/op's npm packages cannot be installed.
func StartOP(t testing.TB, cfg OPConfig) *OP {
	t.Helper()
	Require(t, "node")
	dir := filepath.Join(e2eDir(t), "op")
	ensureNodeModules(t, dir)

	// FreePort can race with another process; a port taken in between is retried.
	for attempt := 1; ; attempt++ {
		op, retry := startOP(t, dir, cfg)
		if op != nil {
			return op
		}
		if !retry || attempt == 3 {
			t.Fatalf("start the OP: failed after %d attempts", attempt)
		}
	}
}

// startOP makes one attempt. It returns (nil, true) when the port was taken.
func startOP(t testing.TB, dir string, cfg OPConfig) (*OP, bool) {
	t.Helper()
	port := FreePort(t)
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	issuer := fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
	raw, err := json.Marshal(scriptConfig(cfg, port, issuer))
	if err != nil {
		t.Fatalf("encode the OP configuration: %v", err)
	}
	path := filepath.Join(t.TempDir(), "op.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatalf("write the OP configuration: %v", err)
	}

	out := newTailBuffer(64 << 10)
	ready := make(chan struct{})
	cmd := exec.Command("node", "op.mjs", path)
	cmd.Dir = dir
	var once sync.Once
	cmd.Stdout = &lineWriter{w: out, keep: func(line string) bool {
		if line == "OP listening on "+issuer {
			once.Do(func() { close(ready) })
		}
		return true
	}}
	cmd.Stderr = out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("start the OP: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OP: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case <-ready:
	case err := <-exited:
		if strings.Contains(out.String(), "EADDRINUSE") {
			t.Logf("OP port %d was taken, retrying", port)
			return nil, true
		}
		t.Fatalf("the OP exited before it was ready: %v\n%s", err, out)
	case <-time.After(opReadyTimeout):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the OP was not ready after %v\n%s", opReadyTimeout, out)
	}

	logOnFailure(t, "OP", out)
	t.Cleanup(func() {
		// Closing stdin is enough; the interrupt is for a script that does not read it.
		stdin.Close()
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	hc, err := opHTTPClient(cfg.TLS)
	if err != nil {
		t.Fatalf("the OP's certificate: %v", err)
	}
	return &OP{Issuer: issuer, client: hc}, false
}

// Events returns the OP's counters of what it did, from GET /__test/events. A name that is
// absent counts zero. The names:
//
//	authorization.success, authorization.error   authorization endpoint results
//	grant.authorization_code, grant.refresh_token successful token requests, by grant type
//	grant.error.GRANT_TYPE                       failed token requests
//	refresh_token.reuse                          a rotated refresh token presented again
//	grant.revoked                                grants revoked (revocation, reuse, logout)
//	revocation, introspection, userinfo          successful calls (revocation: RFC 7009, any token)
//	revocation.error, introspection.error        failed calls
//	end_session.success                          RP-initiated logouts completed
//	pushed_authorization_request.success         requests pushed (RFC 9126)
//	par.required                                 unpushed requests refused (RequirePAR)
//	dpop.use_nonce, dpop.refused                 token requests refused for want of a DPoP nonce / proof
//	backchannel.success, backchannel.error       logout tokens delivered or not
//	server_error                                 bugs in the OP or its configuration
func (op *OP) Events(t testing.TB) map[string]int {
	t.Helper()
	var events map[string]int
	op.call(t, http.MethodGet, "/__test/events", &events)
	return events
}

// BackchannelLogout makes the OP end every session of the account sub and send a logout
// token to each client of those sessions that registered a BackchannelLogoutURI, as an
// administrator's "sign out everywhere" does. It returns how many tokens were delivered
// (answered 200 or 204) and how many were not; the OP's log, shown when the test fails,
// says why. The account's grants, and so its refresh tokens, stay valid.
func (op *OP) BackchannelLogout(t testing.TB, sub string) (sent, failed int) {
	t.Helper()
	var res struct{ Sent, Failed int }
	op.call(t, http.MethodPost, "/__test/backchannel?sub="+url.QueryEscape(sub), &res)
	return res.Sent, res.Failed
}

// RotateDPoPNonce makes the OP (started with OPFAPI.DPoPNonce) refuse every DPoP nonce it
// issued so far, as a server rotating its nonce does: the next proof with an old nonce gets
// use_dpop_nonce and the new one (RFC 9449 section 8).
func (op *OP) RotateDPoPNonce(t testing.TB) {
	t.Helper()
	var res struct{}
	op.call(t, http.MethodPost, "/__test/rotate_dpop_nonce", &res)
}

// LastRefreshToken returns the refresh token the OP issued last to clientID, or "".
func (op *OP) LastRefreshToken(t testing.TB, clientID string) string {
	t.Helper()
	var res struct {
		RefreshToken string `json:"refresh_token"`
	}
	op.call(t, http.MethodGet, "/__test/refresh_token?client_id="+url.QueryEscape(clientID), &res)
	return res.RefreshToken
}

func (op *OP) call(t testing.TB, method, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, op.Issuer+path, nil)
	if err != nil {
		t.Fatalf("OP %s %s: %v", method, path, err)
	}
	res, err := op.client.Do(req)
	if err != nil {
		t.Fatalf("OP %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("OP %s %s: %s", method, path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("OP %s %s: decode: %v", method, path, err)
	}
}

// ensureNodeModules runs npm ci in dir when its node_modules does not hold the oidc-provider
// version that package-lock.json pins.
func ensureNodeModules(t testing.TB, dir string) {
	t.Helper()
	if nodeModulesCurrent(dir) {
		return
	}
	Require(t, "npm")
	sum := sha256.Sum256([]byte(dir))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "gatehouse-e2e-npm-"+hex.EncodeToString(sum[:8])+".lock"))
	if err != nil {
		t.Fatalf("npm ci in %s: %v", dir, err)
	}
	defer unlock()
	if nodeModulesCurrent(dir) { // another test binary installed them meanwhile
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		unavailable(t, "npm ci in %s: %v\n%s", dir, err, out)
	}
	t.Logf("npm ci in %s: done", dir)
}

// nodeModulesCurrent reports whether dir/node_modules has the oidc-provider version that
// dir/package-lock.json pins.
func nodeModulesCurrent(dir string) bool {
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	var installed struct{ Version string }
	if readJSON(filepath.Join(dir, "package-lock.json"), &lock) != nil ||
		readJSON(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"), &installed) != nil {
		return false
	}
	want := lock.Packages["node_modules/oidc-provider"].Version
	return want != "" && want == installed.Version
}

func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// scriptConfig is the JSON that op.mjs reads.
func scriptConfig(cfg OPConfig, port int, issuer string) map[string]any {
	clients := make([]map[string]any, 0, len(cfg.Clients))
	for _, c := range cfg.Clients {
		m := map[string]any{
			"client_id":     c.ID,
			"redirect_uris": nonNil(c.RedirectURIs),
		}
		set := func(key, value string) {
			if value != "" {
				m[key] = value
			}
		}
		set("client_secret", c.Secret)
		set("backchannel_logout_uri", c.BackchannelLogoutURI)
		set("token_endpoint_auth_method", c.AuthMethod)
		set("application_type", c.ApplicationType)
		if c.PostLogoutRedirectURIs != nil {
			m["post_logout_redirect_uris"] = c.PostLogoutRedirectURIs
		}
		if c.GrantTypes != nil {
			m["grant_types"] = c.GrantTypes
		}
		if c.JWKS != nil {
			m["jwks"] = c.JWKS
		}
		if c.RequirePAR {
			m["require_pushed_authorization_requests"] = true
		}
		if c.DPoPBound {
			m["dpop_bound_access_tokens"] = true
		}
		if c.RequireJAR {
			m["require_signed_request_object"] = true
		}
		if c.CertificateBound {
			m["tls_client_certificate_bound_access_tokens"] = true
		}
		clients = append(clients, m)
	}
	users := make([]map[string]any, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		users = append(users, map[string]any{
			"sub":                u.Sub,
			"email":              u.Email,
			"email_verified":     !u.EmailUnverified,
			"name":               u.Name,
			"preferred_username": u.PreferredUsername,
			"groups":             nonNil(u.Groups),
		})
	}
	resources := make([]map[string]any, 0, len(cfg.Resources))
	for _, r := range cfg.Resources {
		format := "jwt"
		if r.Opaque {
			format = "opaque"
		}
		resources = append(resources, map[string]any{
			"indicator": r.Indicator, "scope": r.Scope, "format": format, "userClaims": r.UserClaims,
		})
	}
	m := map[string]any{
		"port":                 port,
		"issuer":               issuer,
		"clients":              clients,
		"users":                users,
		"conformIdTokenClaims": cfg.ConformIDTokenClaims,
		"resources":            resources,
		"tokenExchange":        cfg.TokenExchange,
	}
	if cfg.TLS != nil {
		m["tls"] = map[string]any{"cert": cfg.TLS.CertFile, "key": cfg.TLS.KeyFile}
	}
	if f := cfg.FAPI; f != nil {
		m["fapi"] = map[string]any{"profile": f.Profile, "requirePAR": f.RequirePAR, "dpopNonce": f.DPoPNonce, "jar": f.JAR, "jarm": f.JARM}
	}
	for key, d := range map[string]time.Duration{
		"accessTokenTTL":  cfg.AccessTokenTTL,
		"idTokenTTL":      cfg.IDTokenTTL,
		"refreshTokenTTL": cfg.RefreshTokenTTL,
	} {
		if d > 0 {
			m[key] = int((d + time.Second - 1) / time.Second) // whole seconds, rounded up
		}
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// opHTTPClient is the harness's client for the OP: trusting its certificate when it serves
// https.
func opHTTPClient(cfg *OPTLS) (*http.Client, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	if cfg == nil {
		return hc, nil
	}
	pem, err := os.ReadFile(cfg.CertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", cfg.CertFile)
	}
	hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return hc, nil
}
