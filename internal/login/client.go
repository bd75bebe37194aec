// Package login is the gateway's single sign-on step: OpenID Connect
// discovery, the authorization request (state, nonce, PKCE S256; RFC 6749
// §4.1, RFC 7636, OpenID Connect Core 1.0 §3.1), the authorization response's
// issuer check (RFC 9207), the code exchange, full ID token verification,
// refresh and the logout endpoints. It builds on golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3.
package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
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
	// Scopes requested; must include "openid".
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
}

// Client talks to one authorization server. It is safe for concurrent use.
type Client struct {
	opts   Options
	logger *slog.Logger
	now    func() time.Time
	md     atomic.Pointer[metadata]
}

// metadata is what discovery yields.
type metadata struct {
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	issParam   bool
	endSession string
	revocation string
	algs       []string
}

// discoveryDoc holds the discovery fields go-oidc does not expose.
type discoveryDoc struct {
	IssParamSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	EndSession         string   `json:"end_session_endpoint"`
	Revocation         string   `json:"revocation_endpoint"`
	AuthMethods        []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallenge      []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgs []string `json:"id_token_signing_alg_values_supported"`
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
	return c
}

// Ready reports whether the provider metadata is loaded.
func (c *Client) Ready() bool { return c.md.Load() != nil }

// Issuer returns the configured issuer.
func (c *Client) Issuer() string { return c.opts.Issuer }

func (c *Client) ctx(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, c.opts.HTTPClient)
	return context.WithValue(ctx, oauth2.HTTPClient, c.opts.HTTPClient)
}

// asymmetricAlgs are the only ID token algorithms accepted: never "none",
// never HMAC (whose key, the client secret, the client itself holds).
var asymmetricAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// Discover loads the provider metadata once.
func (c *Client) Discover(ctx context.Context) error {
	p, err := oidc.NewProvider(c.ctx(ctx), c.opts.Issuer)
	if err != nil {
		return fmt.Errorf("login: discovery: %w", err)
	}
	var doc discoveryDoc
	if err := p.Claims(&doc); err != nil {
		return fmt.Errorf("login: discovery: %w", err)
	}
	if len(doc.CodeChallenge) > 0 && !slices.Contains(doc.CodeChallenge, "S256") {
		return fmt.Errorf("login: discovery: the AS does not support PKCE S256 (code_challenge_methods_supported=%v)", doc.CodeChallenge)
	}
	algs := []string{oidc.RS256} // OpenID Connect Discovery 1.0 §3: RS256 when not advertised
	if len(doc.IDTokenSigningAlgs) > 0 {
		algs = nil
		for _, a := range doc.IDTokenSigningAlgs {
			if slices.Contains(asymmetricAlgs, a) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			return fmt.Errorf("login: discovery: no acceptable ID token signing algorithm in %v (asymmetric algorithms only)", doc.IDTokenSigningAlgs)
		}
	}
	endpoint := p.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic: the default of RFC 6749 §2.3.1
	if len(doc.AuthMethods) > 0 && !slices.Contains(doc.AuthMethods, "client_secret_basic") && slices.Contains(doc.AuthMethods, "client_secret_post") {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	md := &metadata{
		provider: p,
		verifier: p.Verifier(&oidc.Config{
			ClientID:             c.opts.ClientID,
			SupportedSigningAlgs: algs,
			Now:                  c.now,
		}),
		oauth: oauth2.Config{
			ClientID:     c.opts.ClientID,
			ClientSecret: c.opts.ClientSecret,
			Endpoint:     endpoint,
			Scopes:       c.opts.Scopes,
		},
		issParam:   doc.IssParamSupported,
		endSession: doc.EndSession,
		revocation: doc.Revocation,
		algs:       algs,
	}
	c.md.Store(md)
	c.logger.Info("provider metadata loaded", "issuer", c.opts.Issuer, "id_token_algs", algs, "iss_parameter", doc.IssParamSupported)
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
		return nil, ErrNotReady
	}
	return md, nil
}

// EndSessionEndpoint returns the AS's RP-initiated logout endpoint, or "".
func (c *Client) EndSessionEndpoint() string {
	if md := c.md.Load(); md != nil {
		return md.endSession
	}
	return ""
}
