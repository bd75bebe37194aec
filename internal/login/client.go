// Package login is the gateway's single sign-on step: OpenID Connect
// discovery, the authorization request (state, nonce, PKCE S256; RFC 6749
// §4.1, RFC 7636, OpenID Connect Core 1.0 §3.1), the authorization response's
// issuer check (RFC 9207), the code exchange, full ID token verification,
// refresh and the logout endpoints. It also makes the gateway's other calls
// to the AS: the client credentials, token exchange (RFC 8693) and password
// grants (grants.go), all with one client authentication method
// (clientauth.go: client secret, private_key_jwt per RFC 7523, or
// tls_client_auth per RFC 8705), and serves plain OAuth 2.0 servers and
// servers without discovery (discovery.go, identity.go). It builds on
// golang.org/x/oauth2 and github.com/coreos/go-oidc/v3.
package login

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/jwks"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// ErrNotReady is returned while the provider's metadata is not loaded yet.
var ErrNotReady = errors.New("login: provider metadata not loaded")

// Options configures a Client.
type Options struct {
	// Issuer is the AS's issuer identifier; discovery is at
	// Issuer + "/.well-known/openid-configuration" and must name the same issuer.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes requested; must include "openid" unless PlainOAuth2.
	Scopes []string
	// ExtraAuthParams are added to every authorization request.
	ExtraAuthParams map[string]string
	// UseUserinfo fetches the userinfo endpoint at login and merges its claims
	// (its sub must equal the ID token's).
	UseUserinfo bool
	// HTTPClient makes every call to the AS (default: 10s timeout).
	HTTPClient *http.Client
	// Logger receives discovery progress (nil: discard).
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// KeyRefetchInterval is the least time between two fetches of the AS's
	// key set for tokens no known key verifies (default
	// jwks.DefaultRefetchInterval): forged tokens cannot make the gateway
	// call the AS more often.
	KeyRefetchInterval time.Duration
	// ObserveKeys, when set, is told each outcome of the key set (see
	// package jwks), for metrics.
	ObserveKeys func(outcome string)

	// ClientAuth is how the gateway authenticates to the AS (clientauth.go).
	ClientAuth ClientAuth
	// Endpoints replace single discovered endpoints (discovery.go).
	Endpoints Endpoints
	// SkipDiscovery: the AS publishes no metadata; Endpoints are all there is.
	SkipDiscovery bool
	// PlainOAuth2: the AS speaks OAuth 2.0 without OpenID Connect. There is
	// no ID token (and no nonce): the user's identity is the userinfo
	// endpoint's JSON object, whose SubjectClaim member identifies the user.
	PlainOAuth2 bool
	// SubjectClaim names, with PlainOAuth2, the userinfo member (a dotted
	// path for a nested one) that identifies the user: a string or a number.
	// Default "sub".
	SubjectClaim string
	// InsecureDisablePKCE sends no PKCE challenge, for an AS that rejects
	// one. It MUST NOT be set for any AS that accepts PKCE: without it, an
	// intercepted authorization code can be redeemed (RFC 9700 §2.1.1).
	InsecureDisablePKCE bool
	// InsecureLogoutTokenWithoutExp accepts a back-channel logout token
	// without exp, as ASes built on drafts before Back-Channel Logout 1.0
	// send (Ory Hydra 2.3), when its iat is at most LogoutTokenMaxAge old;
	// everything else is verified as usual. It MUST NOT be set for an AS
	// that sends exp: the final specification requires it.
	InsecureLogoutTokenWithoutExp bool

	// FAPI holds the pushed authorization request, DPoP and profile
	// settings (fapi.go).
	FAPI FAPIOptions
}

// Client talks to one authorization server. It is safe for concurrent use.
type Client struct {
	opts   Options
	logger *slog.Logger
	now    func() time.Time
	md     atomic.Pointer[metadata]
	as     asClient   // authenticated calls to the AS (clientauth.go, token.go)
	id     identifier // ID token and userinfo checks (exchange.go, identity.go)
	// parent, for a Client from ForClient, is the Client whose discovered
	// metadata this one derives its own from (see derive.go).
	parent *Client
}

// metadata is what discovery yields (see loadMetadata).
type metadata struct {
	provider   *oidc.Provider
	keys       *jwks.KeySet // the AS's keys, shared with the resource server (ResourceMetadata)
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	issParam   bool
	endSession string
	revocation string
	algs       []string

	tokenURL      string
	userinfo      string // the mTLS alias when the client authenticates with a certificate
	introspection string
	authMethods   []string          // token_endpoint_auth_methods_supported
	mtlsAliases   map[string]string // RFC 8705 §5
	pkce          string            // PKCES256, PKCEPlain, or "" (InsecureDisablePKCE)
	plainOAuth2   bool
	prompts       []string // prompt_values_supported (OpenID Connect Prompt Create §4.1); nil: not advertised
	doc           []byte   // the metadata document, configured endpoints included
	fapi          fapiMetadata
}

// New returns a Client. It does no I/O: call Discover or Run.
func New(opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	c := &Client{opts: opts, logger: opts.Logger, now: opts.Now}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.as = asClient{clientID: opts.ClientID, clientSecret: opts.ClientSecret, auth: opts.ClientAuth, http: opts.HTTPClient, now: c.now, nonces: &dpopNonces{}, rsNonces: &dpopNonces{}}
	c.id = identifier{as: &c.as, issuer: opts.Issuer, subjectClaim: opts.SubjectClaim, useUserinfo: opts.UseUserinfo}
	return c
}

// Ready reports whether the provider metadata is loaded.
func (c *Client) Ready() bool { return c.md.Load() != nil }

// Issuer returns the configured issuer.
func (c *Client) Issuer() string { return c.opts.Issuer }

// asymmetricAlgs are the only ID token algorithms accepted: never "none",
// never HMAC (whose key, the client secret, the client itself holds).
var asymmetricAlgs = vocab.AsymmetricAlgs

// Discover loads the provider metadata once: the discovery document
// (unless SkipDiscovery) with the configured endpoints laid over it, and the
// choices it implies (PKCE method, client authentication, ID token
// algorithms; see discovery.go).
func (c *Client) Discover(ctx context.Context) error {
	md, err := loadMetadata(ctx, &c.opts, &c.as, c.logger)
	if err != nil {
		return err
	}
	method, _ := c.as.authMethod(md) // checked by loadMetadata
	c.md.Store(md)
	c.logger.Info("provider metadata loaded", "issuer", c.opts.Issuer, "id_token_algs", md.algs, "iss_parameter", md.issParam,
		"client_auth", method, "pkce", md.pkce, "oauth2_only", md.plainOAuth2)
	return nil
}

// Run loads the provider metadata, retrying with capped exponential backoff
// until it succeeds or ctx ends, so the gateway starts (unready) during an AS
// outage and recovers by itself.
func (c *Client) Run(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		err := c.Discover(ctx)
		if err == nil {
			return nil
		}
		c.logger.Warn("provider discovery failed; retrying", "issuer", c.opts.Issuer, "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (c *Client) metadata() (*metadata, error) {
	md := c.md.Load()
	if md == nil {
		if c.parent != nil {
			return c.derivedMetadata()
		}
		return nil, ErrNotReady
	}
	return md, nil
}

// EndSessionEndpoint returns the AS's RP-initiated logout endpoint, or "".
func (c *Client) EndSessionEndpoint() string {
	if md, err := c.metadata(); err == nil {
		return md.endSession
	}
	return ""
}
