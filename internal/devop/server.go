// Package devop is Gatehouse's built-in development OpenID Provider: a small,
// in-memory OAuth 2.0 authorization server and OpenID Connect provider used by
// `make demo` and by the gateway's tests.
//
// It implements the authorization code flow with mandatory PKCE (RFC 7636,
// S256 only, or for testing plain only or none), the refresh token grant
// with optional rotation and reuse detection, per client the client
// credentials, resource owner password and token exchange (RFC 8693) grants
// with RFC 8707 resource indicators, client authentication with
// client_secret_basic, client_secret_post, none (RFC 6749 §2.3),
// private_key_jwt (RFC 7523) or tls_client_auth (RFC 8705), OpenID Connect
// discovery,
// a JWKS endpoint, UserInfo, token revocation (RFC 7009), the authorization
// response "iss" parameter (RFC 9207) and RP-initiated logout.
//
// ID tokens are RS256 JWTs signed with an RSA-2048 key generated in memory by
// [New]. Access tokens, refresh tokens and authorization codes are opaque
// random strings; the server keeps only their SHA-256 hashes.
//
// The server never keeps a browser session: every authorization request shows
// the login form (or is approved at once as [Options.AutoApproveUser]), and
// prompt=none always answers login_required otherwise.
//
// In tests the issuer must be the URL the handler is served at. With
// net/http/httptest, create the server unstarted, derive the URL from its
// listener, then set the handler and start it:
//
//	ts := httptest.NewUnstartedServer(nil)
//	op, err := devop.New(devop.Options{Issuer: "http://" + ts.Listener.Addr().String(), ...})
//	ts.Config.Handler = op
//	ts.Start()
//
// [Hooks] let tests make the server misbehave (forged tokens, a wrong issuer,
// a dropped state) in ways a real provider cannot be made to.
//
// Although it is for development only, the server is written to be correct:
// secrets and passwords are compared in constant time, codes are single-use,
// and tokens, codes, secrets and passwords are never logged.
package devop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of [Options].
const (
	// DefaultAccessTokenTTL is the default of Options.AccessTokenTTL.
	DefaultAccessTokenTTL = 5 * time.Minute
	// DefaultRefreshTokenTTL is the default of Options.RefreshTokenTTL.
	DefaultRefreshTokenTTL = 24 * time.Hour
	// DefaultIDTokenTTL is the default of Options.IDTokenTTL.
	DefaultIDTokenTTL = 5 * time.Minute

	// codeTTL is how long an authorization code can be exchanged.
	codeTTL = 60 * time.Second
	// codeMemory is how long a code is remembered after it was issued, so
	// that a replay can be detected after the code was used.
	codeMemory = 10 * time.Minute
	// sweepInterval bounds how often expired entries are swept.
	sweepInterval = time.Minute
	// maxBody bounds form bodies.
	maxBody = 64 << 10
)

// Stats are counters of what the server did, for tests.
type Stats struct {
	// AuthorizationCodesIssued counts codes issued by the authorization endpoint.
	AuthorizationCodesIssued int64
	// CodeExchanges counts successful authorization_code grants.
	CodeExchanges int64
	// CodeReplayDetected counts exchanges of an already used code.
	CodeReplayDetected int64
	// Refreshes counts successful refresh_token grants.
	Refreshes int64
	// RefreshReuseDetected counts presentations of a rotated-out refresh token.
	RefreshReuseDetected int64
	// Revocations counts revocation requests that revoked a token.
	Revocations int64
	// Logins counts successful logins (including auto-approvals).
	Logins int64
	// Logouts counts RP-initiated logouts that ended a session.
	Logouts int64
	// UserinfoRequests counts successful UserInfo responses.
	UserinfoRequests int64
	// ClientCredentialsGrants counts tokens issued by the client
	// credentials grant.
	ClientCredentialsGrants int64
	// PasswordGrants counts successful password grants;
	// PasswordGrantFailures those refused for a wrong user name or password.
	PasswordGrants        int64
	PasswordGrantFailures int64
	// TokenExchanges counts tokens issued by token exchange (RFC 8693).
	TokenExchanges int64
}

// Server is the development OpenID Provider. It is an [http.Handler] and is
// safe for concurrent use.
type Server struct {
	issuer   string
	basePath string
	clients  map[string]*Client
	users    []User // in configuration order, for the credentials hint
	byName   map[string]*User
	opts     Options
	now      func() time.Time
	log      *slog.Logger
	mux      *http.ServeMux

	keys keyring // the signing keys (keys.go)
	st   store   // codes, grants and tokens (store.go)

	stats struct {
		codesIssued, codeExchanges, codeReplays, refreshes, refreshReuse,
		revocations, logins, logouts, userinfo atomic.Int64
		clientCredentials, passwordGrants, passwordFailures, tokenExchanges atomic.Int64
	}
}

// New validates opts, generates an RSA-2048 signing key and returns a
// Server. Every problem with opts is reported.
func New(opts Options) (*Server, error) {
	return newServer(opts, newSigningKey)
}

// newServer is New with the signing key generator as a parameter, so that
// tests can share one key instead of paying for RSA key generation in every
// server.
func newServer(opts Options, newKey func() (*signingKey, error)) (*Server, error) {
	if opts.Users == nil {
		opts.Users = DemoUsers()
	}
	if opts.AccessTokenTTL == 0 {
		opts.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if opts.RefreshTokenTTL == 0 {
		opts.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if opts.IDTokenTTL == 0 {
		opts.IDTokenTTL = DefaultIDTokenTTL
	}
	if err := validate(&opts); err != nil {
		return nil, fmt.Errorf("devop: invalid options: %w", err)
	}
	s := &Server{
		issuer:  opts.Issuer,
		clients: make(map[string]*Client, len(opts.Clients)),
		users:   make([]User, 0, len(opts.Users)), // never grows: byName points into it
		byName:  make(map[string]*User, len(opts.Users)),
		opts:    opts,
		now:     opts.Now,
		log:     opts.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.st = store{
		codes:      make(map[string]*authCode),
		grants:     make(map[string]*grant),
		access:     make(map[string]*accessToken),
		refresh:    make(map[string]*refreshToken),
		accessTTL:  opts.AccessTokenTTL,
		refreshTTL: opts.RefreshTokenTTL,
		now:        s.now,
	}
	u, _ := url.Parse(opts.Issuer) // validated
	s.basePath = u.EscapedPath()
	for i := range opts.Clients {
		c := cloneClient(opts.Clients[i])
		s.clients[c.ID] = &c
	}
	for _, u := range opts.Users {
		u = cloneUser(u)
		if u.Subject == "" {
			u.Subject = u.Username
		}
		if u.PreferredUsername == "" {
			u.PreferredUsername = u.Username
		}
		s.users = append(s.users, u)
		s.byName[u.Username] = &s.users[len(s.users)-1]
	}
	k, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("devop: %w", err)
	}
	s.keys.list = []*signingKey{k}
	s.routes()
	return s, nil
}

// The endpoints, grouped by job, each a view of the Server's state (its
// clients, users, keys and store): the authorization endpoint and login
// page (authorize.go), the token endpoint and its grants (token.go,
// grants.go), and the endpoints that end sessions and tokens: RP-initiated
// logout (logout.go) and revocation (revoke.go).
type (
	authorizeEndpoint struct{ *Server }
	tokenEndpoint     struct{ *Server }
	logoutEndpoint    struct{ *Server }
)

// Issuer returns the issuer identifier, which is also the base URL.
func (s *Server) Issuer() string { return s.issuer }

// routes registers every endpoint, all under the issuer's path.
func (s *Server) routes() {
	mux := http.NewServeMux()
	b := s.basePath
	authz, token, logout := authorizeEndpoint{s}, tokenEndpoint{s}, logoutEndpoint{s}
	mux.HandleFunc("GET "+b+"/.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET "+b+"/jwks", s.handleJWKS)
	mux.HandleFunc("GET "+b+"/authorize", authz.handleAuthorize)
	mux.HandleFunc("POST "+b+"/authorize", authz.handleLogin)
	mux.HandleFunc("POST "+b+"/token", token.handleToken)
	mux.HandleFunc("GET "+b+"/userinfo", s.handleUserinfo)
	mux.HandleFunc("POST "+b+"/userinfo", s.handleUserinfo)
	mux.HandleFunc("POST "+b+"/revoke", logout.handleRevoke)
	mux.HandleFunc("GET "+b+"/logout", logout.handleLogout)
	mux.HandleFunc("POST "+b+"/logout", logout.handleLogout)
	s.mux = mux
}

// ServeHTTP serves the provider's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// endpoint returns the absolute URL of the endpoint at path p.
func (s *Server) endpoint(p string) string { return s.issuer + p }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		AuthorizationCodesIssued: s.stats.codesIssued.Load(),
		CodeExchanges:            s.stats.codeExchanges.Load(),
		CodeReplayDetected:       s.stats.codeReplays.Load(),
		Refreshes:                s.stats.refreshes.Load(),
		RefreshReuseDetected:     s.stats.refreshReuse.Load(),
		Revocations:              s.stats.revocations.Load(),
		Logins:                   s.stats.logins.Load(),
		Logouts:                  s.stats.logouts.Load(),
		UserinfoRequests:         s.stats.userinfo.Load(),
		ClientCredentialsGrants:  s.stats.clientCredentials.Load(),
		PasswordGrants:           s.stats.passwordGrants.Load(),
		PasswordGrantFailures:    s.stats.passwordFailures.Load(),
		TokenExchanges:           s.stats.tokenExchanges.Load(),
	}
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenKey is the map key under which a secret value is stored: its SHA-256
// hash, so that the store never holds the secret and lookups do not leak it
// through timing.
func tokenKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return string(h[:])
}

// secretEqual compares two secrets in constant time, independent of their
// lengths.
func secretEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// noStore marks a response as not cacheable (RFC 6749 §5.1).
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}
