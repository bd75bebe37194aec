package devop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Registered test clients.
const (
	webID       = "web"
	webSecret   = "web-secret+/=" // needs form-encoding in client_secret_basic
	webRedirect = "https://rp.example/callback?tenant=a"
	webLogout   = "https://rp.example/bye"
	spaID       = "spa"
	spaRedirect = "http://127.0.0.1:5555/cb"
	otherID     = "other"
	otherSecret = "other-secret"
	otherRedir  = "https://other.example/cb"
)

func testClients() []Client {
	return []Client{
		{ID: webID, Secret: webSecret, RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webLogout}},
		{ID: spaID, Public: true, RedirectURIs: []string{spaRedirect}},
		{ID: otherID, Secret: otherSecret, RedirectURIs: []string{otherRedir}},
	}
}

// sharedKey returns one signing key for all test servers: RSA key
// generation under the race detector takes up to seconds. TestNew covers New's
// own key generation.
var sharedKey = sync.OnceValues(newSigningKey)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a running provider with a relying party's tools.
type env struct {
	op       *Server
	ts       *httptest.Server
	clock    *fakeClock
	logs     *syncBuffer
	ctx      context.Context // carries the test server's HTTP client
	browser  *http.Client    // does not follow redirects
	provider *oidc.Provider
}

// newEnv starts a provider at an httptest URL. An empty Issuer becomes the
// server's URL, one starting with "/" a path under it. Unset Clients default
// to testClients and Now to a fake clock.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	if opts.Issuer == "" || strings.HasPrefix(opts.Issuer, "/") {
		opts.Issuer = "http://" + ts.Listener.Addr().String() + opts.Issuer // "/path": issuer with a path
	}
	if opts.Clients == nil {
		opts.Clients = testClients()
	}
	clock := &fakeClock{t: time.Now()}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	op, err := newServer(opts, sharedKey)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts.Config.Handler = op
	ts.Start()
	t.Cleanup(ts.Close)
	e := &env{
		op:    op,
		ts:    ts,
		clock: clock,
		logs:  logs,
		ctx:   oidc.ClientContext(t.Context(), ts.Client()),
		browser: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if opts.Hooks.Discovery == nil {
		e.provider, err = oidc.NewProvider(e.ctx, op.Issuer())
		if err != nil {
			t.Fatalf("NewProvider: %v", err)
		}
	}
	return e
}

// config returns an oauth2.Config for a registered test client.
func (e *env) config(clientID string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	cfg := &oauth2.Config{ClientID: clientID, Scopes: scopes}
	switch clientID {
	case webID:
		cfg.ClientSecret, cfg.RedirectURL = webSecret, webRedirect
	case spaID:
		cfg.RedirectURL = spaRedirect
	case otherID:
		cfg.ClientSecret, cfg.RedirectURL = otherSecret, otherRedir
	}
	cfg.Endpoint = oauth2.Endpoint{
		AuthURL:   e.op.Issuer() + "/authorize",
		TokenURL:  e.op.Issuer() + "/token",
		AuthStyle: style,
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile", "groups", oidc.ScopeOfflineAccess}
	}
	return cfg
}

func (e *env) verifier(clientID string) *oidc.IDTokenVerifier {
	return e.provider.Verifier(&oidc.Config{ClientID: clientID, Now: e.clock.Now})
}

// flow is one authorization request and its outcome.
type flow struct {
	state, nonce, verifier string
	code                   string
}

// loginForm is the parsed login page.
type loginForm struct {
	action string
	hidden url.Values
	body   string
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

// get fetches u with the browser and returns the response and its body.
func (e *env) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, req)
}

// post submits a form with the browser.
func (e *env) post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(t, req)
}

func (e *env) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// openLogin follows an authorization URL to the login form.
func (e *env) openLogin(t *testing.T, authURL string) loginForm {
	t.Helper()
	resp, body := e.get(t, authURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET authorize: status %d, body %s", resp.StatusCode, body)
	}
	m := actionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no login form in %s", body)
	}
	f := loginForm{action: html.UnescapeString(m[1]), hidden: url.Values{}, body: body}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		f.hidden.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return f
}

// submit posts the login form and returns the response.
func (e *env) submit(t *testing.T, f loginForm, action, user, pass string) (*http.Response, string) {
	t.Helper()
	form := url.Values{}
	for k, v := range f.hidden {
		form[k] = v
	}
	form.Set("action", action)
	form.Set("username", user)
	form.Set("password", pass)
	return e.post(t, f.action, form)
}

// start begins an authorization request for cfg and returns its URL.
func start(cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) (string, *flow) {
	f := &flow{state: oauth2.GenerateVerifier()[:20], nonce: oauth2.GenerateVerifier()[:20], verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, opts...)
	return cfg.AuthCodeURL(f.state, opts...), f
}

// authorize runs the browser part of a code flow as user and returns the
// flow with its code. It checks the redirect (303, state, iss).
func (e *env) authorize(t *testing.T, cfg *oauth2.Config, user, pass string) *flow {
	t.Helper()
	authURL, f := start(cfg)
	form := e.openLogin(t, authURL)
	resp, body := e.submit(t, form, "login", user, pass)
	q := e.redirectQuery(t, resp, body, cfg.RedirectURL)
	if got := q.Get("state"); got != f.state {
		t.Fatalf("state = %q, want %q", got, f.state)
	}
	f.code = q.Get("code")
	if f.code == "" {
		t.Fatalf("no code in redirect: %v", q)
	}
	return f
}

// redirectQuery checks that resp redirects to redirectURI with iss and
// returns the query of the redirect.
func (e *env) redirectQuery(t *testing.T, resp *http.Response, body, redirectURI string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := url.Parse(redirectURI)
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path {
		t.Fatalf("redirect to %s, want %s", loc, redirectURI)
	}
	q := loc.Query()
	for k, v := range want.Query() {
		if q.Get(k) != v[0] {
			t.Fatalf("redirect lost its own query parameter %s: %s", k, loc)
		}
	}
	if got := q.Get("iss"); got != e.op.Issuer() {
		t.Fatalf("iss = %q, want %q", got, e.op.Issuer())
	}
	return q
}

// exchange redeems f's code.
func (e *env) exchange(cfg *oauth2.Config, f *flow) (*oauth2.Token, error) {
	return cfg.Exchange(e.ctx, f.code, oauth2.VerifierOption(f.verifier))
}

// login runs a complete code flow and returns the tokens.
func (e *env) login(t *testing.T, cfg *oauth2.Config, user string) (*oauth2.Token, *flow) {
	t.Helper()
	f := e.authorize(t, cfg, user, user)
	tok, err := e.exchange(cfg, f)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok, f
}

// refresh uses a refresh token once.
func (e *env) refresh(cfg *oauth2.Config, rt string) (*oauth2.Token, error) {
	return cfg.TokenSource(e.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
}

// userinfo calls the UserInfo endpoint with an access token.
func (e *env) userinfo(t *testing.T, accessToken string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.op.Issuer()+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, body := e.do(t, req)
	var claims map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &claims); err != nil {
			t.Fatalf("userinfo body %q: %v", body, err)
		}
	}
	return resp.StatusCode, claims, resp.Header
}

// tokenRequest posts form to the token endpoint with optional basic auth and
// decodes the JSON response.
func (e *env) tokenRequest(t *testing.T, path string, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.op.Issuer()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, body := e.do(t, req)
	var m map[string]any
	if body != "" {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%s body %q: %v", path, body, err)
		}
	}
	return resp, m
}

// oauthErrorCode returns the OAuth error code of err, or "".
func oauthErrorCode(err error) string {
	if re := (*oauth2.RetrieveError)(nil); errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}
