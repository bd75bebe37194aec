package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// hydraReadyTimeout bounds how long StartHydra waits for Hydra's admin health check.
const hydraReadyTimeout = 30 * time.Second

// hydraBuildTags are the build tags of Hydra's own release builds: SQLite (the in-memory
// DSN) without loadable extensions.
const hydraBuildTags = "sqlite,sqlite_omit_load_extension"

// HydraConfig configures the Ory Hydra that StartHydra runs. A zero AccessTokenTTL takes
// Hydra's default (one hour).
type HydraConfig struct {
	AccessTokenTTL time.Duration
	// Clients are registered through Hydra's admin API (POST /admin/clients). A client's
	// BackchannelLogoutURI and FrontchannelLogoutURI are registered with
	// *_logout_session_required, so Hydra sends sid.
	Clients []OPClient
	// Users are the accounts of the login app, as for StartOP: the login name selects the
	// user whose PreferredUsername or Sub equals it, any password is accepted, any other
	// name signs in a generated account.
	Users []OPUser
}

// Hydra is a running Ory Hydra (github.com/ory/hydra/v2, in-memory SQLite) on 127.0.0.1,
// with the login, consent and logout app it needs (Hydra has no login UI) and a recording
// proxy in front of its public port.
//
// Hydra issues refresh tokens for offline_access (or offline) when the consent grants it,
// rotates them on use and revokes the chain when a rotated one is reused. It does not
// require PKCE and sends no iss in authorization responses. Its back-channel logout tokens
// carry no exp (an older draft of Back-Channel Logout 1.0).
type Hydra struct {
	// Issuer is the issuer identifier: the recording proxy's http://127.0.0.1:PORT, which
	// Hydra is configured to call itself (URLS_SELF_ISSUER).
	Issuer string
	// Admin is the base URL of Hydra's admin API.
	Admin string
	// LoginApp is the base URL of the login, consent and logout app; the browser lands
	// there when Hydra wants the user to sign in.
	LoginApp string

	front  *hydraFront
	client *http.Client
}

// StartHydra starts Hydra for the test and stops it when the test ends. It skips the test
// (fails it under CI) when the Hydra binary is missing and cannot be built.
func StartHydra(t testing.TB, cfg HydraConfig) *Hydra {
	t.Helper()
	bin := ensureHydra(t)
	h := &Hydra{client: &http.Client{Timeout: 10 * time.Second}}
	ui := newHydraUI(h, cfg.Users)
	uiSrv := httptest.NewServer(ui)
	t.Cleanup(uiSrv.Close)
	h.LoginApp = uiSrv.URL

	h.front = newHydraFront()
	frontSrv := httptest.NewUnstartedServer(h.front)
	frontSrv.Start()
	t.Cleanup(frontSrv.Close)
	h.Issuer = frontSrv.URL

	for attempt := 1; ; attempt++ {
		ok, retry := h.start(t, bin, cfg)
		if ok {
			break
		}
		if !retry || attempt == 3 {
			t.Fatalf("start hydra: failed after %d attempts", attempt)
		}
	}
	// Hydra makes its signing keys on first use: RSA 4096, seconds of CPU each, in the
	// middle of a login. Smaller keys made once per test binary keep that out of the tests.
	for _, set := range []string{"hydra.openid.id-token", "hydra.jwt.access-token"} {
		h.AdminCall(t, http.MethodPut, "/admin/keys/"+set, signingKeys(t, set), nil, http.StatusOK)
	}
	for _, c := range cfg.Clients {
		h.registerClient(t, c)
	}
	return h
}

var hydraKeys = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// signingKeys is a JSON Web Key Set with one RS256 signing key (private) for Hydra's key
// set named set.
func signingKeys(t testing.TB, set string) jose.JSONWebKeySet {
	t.Helper()
	key, err := hydraKeys()
	if err != nil {
		t.Fatalf("make hydra's signing keys: %v", err)
	}
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: set + "-e2e", Algorithm: "RS256", Use: "sig"}}}
}

// start makes one attempt to run Hydra. It returns (false, true) when a port was taken.
func (h *Hydra) start(t testing.TB, bin string, cfg HydraConfig) (ok, retry bool) {
	t.Helper()
	publicPort, adminPort := FreePort(t), FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", publicPort)
	h.Admin = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	env := map[string]string{
		"DSN":                           "memory",
		"SECRETS_SYSTEM":                "e2e-hydra-system-secret-0123456789",
		"SERVE_PUBLIC_HOST":             "127.0.0.1",
		"SERVE_PUBLIC_PORT":             fmt.Sprint(publicPort),
		"SERVE_ADMIN_HOST":              "127.0.0.1",
		"SERVE_ADMIN_PORT":              fmt.Sprint(adminPort),
		"URLS_SELF_ISSUER":              h.Issuer,
		"URLS_SELF_PUBLIC":              h.Issuer,
		"URLS_LOGIN":                    h.LoginApp + "/login",
		"URLS_CONSENT":                  h.LoginApp + "/consent",
		"URLS_LOGOUT":                   h.LoginApp + "/logout",
		"URLS_POST_LOGOUT_REDIRECT":     h.LoginApp + "/logged-out",
		"URLS_ERROR":                    h.LoginApp + "/error",
		"LOG_LEVEL":                     "warn",
		"LOG_FORMAT":                    "text",
		"OAUTH2_EXPOSE_INTERNAL_ERRORS": "true",
		"SQA_OPT_OUT":                   "true",
		"OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES": "public",
	}
	if cfg.AccessTokenTTL > 0 {
		env["TTL_ACCESS_TOKEN"] = cfg.AccessTokenTTL.String()
	}
	cmd := exec.Command(bin, "serve", "all", "--dev")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := newTailBuffer(256 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hydra: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), hydraReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !h.ready(ctx) {
		select {
		case err := <-exited:
			if strings.Contains(out.String(), "address already in use") {
				t.Logf("a hydra port was taken, retrying")
				return false, true
			}
			t.Fatalf("hydra exited before it was ready: %v\n%s", err, out)
		case <-ctx.Done():
			cmd.Process.Kill()
			<-exited
			t.Fatalf("hydra was not ready after %v\n%s", hydraReadyTimeout, out)
		case <-tick.C:
		}
	}
	h.front.setTarget(public)
	logOnFailure(t, "hydra", out)
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	return true, false
}

func (h *Hydra) ready(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.Admin+"/health/ready", nil)
	if err != nil {
		return false
	}
	res, err := h.client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// registerClient registers c through the admin API.
func (h *Hydra) registerClient(t testing.TB, c OPClient) {
	t.Helper()
	method := c.AuthMethod
	if method == "" {
		method = "client_secret_basic"
		if c.Secret == "" {
			method = "none"
		}
	}
	grants := c.GrantTypes
	if grants == nil {
		grants = []string{"authorization_code", "refresh_token"}
	}
	m := map[string]any{
		"client_id":                  c.ID,
		"redirect_uris":              nonNil(c.RedirectURIs),
		"post_logout_redirect_uris":  nonNil(c.PostLogoutRedirectURIs),
		"grant_types":                grants,
		"response_types":             []string{"code"},
		"scope":                      "openid email profile groups offline_access offline",
		"token_endpoint_auth_method": method,
	}
	if c.Secret != "" {
		m["client_secret"] = c.Secret
	}
	if c.BackchannelLogoutURI != "" {
		m["backchannel_logout_uri"] = c.BackchannelLogoutURI
		m["backchannel_logout_session_required"] = true
	}
	if c.FrontchannelLogoutURI != "" {
		m["frontchannel_logout_uri"] = c.FrontchannelLogoutURI
		m["frontchannel_logout_session_required"] = true
	}
	h.AdminCall(t, http.MethodPost, "/admin/clients", m, nil, http.StatusCreated)
}

// Events returns what the recording proxy saw Hydra do, with the names of OP.Events:
// authorization.success, grant.authorization_code, grant.refresh_token,
// grant.error.GRANT_TYPE, revocation, revocation.error, userinfo, end_session.success.
func (h *Hydra) Events(t testing.TB) map[string]int {
	t.Helper()
	return h.front.events()
}

// IssuedRefreshTokens returns the refresh tokens that Hydra's token endpoint issued, oldest
// first.
func (h *Hydra) IssuedRefreshTokens() []string { return h.front.refreshTokens() }

// Active introspects token at the admin API (RFC 7662) and reports whether Hydra says it is
// active.
func (h *Hydra) Active(t testing.TB, token string) bool {
	t.Helper()
	var res struct {
		Active bool `json:"active"`
	}
	h.adminForm(t, "/admin/oauth2/introspect", url.Values{"token": {token}}, &res)
	return res.Active
}

// LoginSessionIDs returns the login session IDs (sid) of the subject's consent sessions.
func (h *Hydra) LoginSessionIDs(t testing.TB, sub string) []string {
	t.Helper()
	var sessions []struct {
		ConsentRequest struct {
			LoginSessionID string `json:"login_session_id"`
		} `json:"consent_request"`
	}
	h.AdminCall(t, http.MethodGet, "/admin/oauth2/auth/sessions/consent?subject="+url.QueryEscape(sub), nil, &sessions, http.StatusOK)
	seen := map[string]bool{}
	var sids []string
	for _, s := range sessions {
		if sid := s.ConsentRequest.LoginSessionID; sid != "" && !seen[sid] {
			seen[sid] = true
			sids = append(sids, sid)
		}
	}
	return sids
}

// RevokeLoginSession ends the login session sid at Hydra, which then sends a logout token
// to the back-channel logout URI of each client of the session (as an administrator's
// "sign out this session" does). Hydra delivers them before it answers.
func (h *Hydra) RevokeLoginSession(t testing.TB, sid string) {
	t.Helper()
	h.AdminCall(t, http.MethodDelete, "/admin/oauth2/auth/sessions/login?sid="+url.QueryEscape(sid), nil, nil, http.StatusNoContent)
}

// AdminCall sends a JSON request to Hydra's admin API, fails the test on another status
// than want, and decodes the answer into out (if not nil).
func (h *Hydra) AdminCall(t testing.TB, method, path string, in, out any, want int) {
	t.Helper()
	if err := h.adminJSON(context.Background(), method, path, in, out, want); err != nil {
		t.Fatal(err)
	}
}

func (h *Hydra) adminJSON(ctx context.Context, method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("hydra admin %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.Admin+path, body)
	if err != nil {
		return fmt.Errorf("hydra admin %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return h.doAdmin(req, out, want)
}

func (h *Hydra) adminForm(t testing.TB, path string, form url.Values, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.Admin+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := h.doAdmin(req, out, http.StatusOK); err != nil {
		t.Fatal(err)
	}
}

func (h *Hydra) doAdmin(req *http.Request, out any, want int) error {
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("hydra admin %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != want {
		return fmt.Errorf("hydra admin %s %s: %s: %s", req.Method, req.URL.Path, res.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("hydra admin %s %s: decode: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// HydraBinary is where scripts/test-deps.sh builds Hydra, relative to the repository root;
// next to it, HydraBinary+".stamp" holds the hash of e2e/hydra's go.mod and go.sum that it
// was built from.
const HydraBinary = "bin/hydra"

// ensureHydra returns the path of a Hydra binary built from e2e/hydra's pinned version,
// building it (minutes, once) when it is missing or stale.
func ensureHydra(t testing.TB) string {
	t.Helper()
	root := filepath.Dir(e2eDir(t))
	bin := filepath.Join(root, HydraBinary)
	want, err := hydraStamp(filepath.Join(root, "e2e", "hydra"))
	if err != nil {
		t.Fatalf("hydra: %v", err)
	}
	current := func() bool {
		got, err := os.ReadFile(bin + ".stamp")
		if err != nil || strings.TrimSpace(string(got)) != want {
			return false
		}
		_, err = os.Stat(bin)
		return err == nil
	}
	if current() {
		return bin
	}
	Require(t, "go", "gcc")
	sum := sha256.Sum256([]byte(bin))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "gatehouse-e2e-hydra-"+hex.EncodeToString(sum[:8])+".lock"))
	if err != nil {
		t.Fatalf("build hydra: %v", err)
	}
	defer unlock()
	if current() { // another test binary built it meanwhile
		return bin
	}
	t.Logf("building hydra into %s (the first time takes minutes; scripts/test-deps.sh does it ahead)", bin)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", hydraBuildTags, "-o", bin, "github.com/ory/hydra/v2")
	cmd.Dir = filepath.Join(root, "e2e", "hydra")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(t, "build hydra in e2e/hydra: %v\n%s", err, out)
	}
	if err := os.WriteFile(bin+".stamp", []byte(want+"\n"), 0o644); err != nil {
		t.Fatalf("build hydra: %v", err)
	}
	return bin
}

// hydraStamp is the SHA-256 of dir's go.mod followed by its go.sum, in hex: what
// `cat go.mod go.sum | sha256sum` prints in scripts/test-deps.sh.
func hydraStamp(dir string) (string, error) {
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
