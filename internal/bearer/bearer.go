// Package bearer authenticates the OAuth 2.0 bearer tokens (RFC 6750) that
// API clients present to the gateway, as a resource server of the
// authorization server (AS) does:
//
//   - A JWT access token (RFC 9068) is verified locally with go-oidc against
//     the AS's JSON Web Key Set from discovery: signature with an allowlist
//     of asymmetric algorithms, issuer, audience (one of the configured
//     audiences), expiry and not-before. A JWT whose typ header names
//     another kind of token (with Options.RequireATJWT: anything but
//     "at+jwt"), or that looks like an ID token (jwt.go, isIDToken), is
//     refused. Encrypted tokens (JWE) are not supported.
//   - Any other (opaque) token is checked at the AS's token introspection
//     endpoint (RFC 7662), which the gateway calls authenticated as its own
//     client. Answers are cached in a bounded LRU cache keyed by the token's
//     SHA-256, for at most the cache TTL and never past the token's exp.
//
// The package does no I/O of its own: the AS's metadata and the HTTP client
// are injected.
package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/internal/jwks"
	"github.com/gatehouse-dev/gatehouse/internal/lru"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// Errors of Verify. Callers branch on them with errors.Is; the wrapped
// detail is for logs only and never names the token.
var (
	// ErrInvalidToken: the token is malformed, forged, expired, inactive,
	// or not meant for this resource (RFC 6750 §3.1 invalid_token).
	ErrInvalidToken = errors.New("bearer: invalid token")
	// ErrNotReady: the AS's metadata is not loaded yet.
	ErrNotReady = errors.New("bearer: provider metadata not loaded")
	// ErrIntrospection: the introspection endpoint could not be reached or
	// did not answer as RFC 7662 requires.
	ErrIntrospection = errors.New("bearer: introspection failed")
)

// maxTokenLen bounds the tokens looked at; longer ones are invalid.
const maxTokenLen = 16 << 10

// Metadata is what the verifier needs from the AS's discovery document.
type Metadata struct {
	// Issuer is the AS's issuer identifier.
	Issuer string
	// JWKSURI is the AS's JSON Web Key Set.
	JWKSURI string
	// IntrospectionEndpoint is the RFC 7662 endpoint, or "".
	IntrospectionEndpoint string
	// IntrospectionAuthMethods are the client authentication methods the
	// introspection endpoint supports; client_secret_basic is used unless
	// only client_secret_post is listed.
	IntrospectionAuthMethods []string
	// SigningAlgs are the JWS algorithms the AS signs with; the default for
	// Options.Algorithms.
	SigningAlgs []string
	// Keys, when set, is the AS's key set (shared with the login client's
	// ID token verifier); by default the verifier fetches JWKSURI with a
	// key set of its own (package jwks: a token with an unknown key makes
	// it fetch again at most once per KeyRefetchInterval).
	Keys oidc.KeySet
}

// Options configures a Verifier. The zero value of each optional field is
// the documented default.
type Options struct {
	// Metadata returns the AS's metadata, or an error while it is not
	// loaded yet. It is called until it succeeds, then never again.
	// Required.
	Metadata func() (Metadata, error)
	// Issuer is the required iss (default Metadata.Issuer).
	Issuer string
	// Audiences: a token's aud must contain one of them. Required.
	Audiences []string
	// Algorithms are the JWS algorithms accepted for JWT access tokens
	// (default Metadata.SigningAlgs, else RS256). Only asymmetric
	// algorithms are accepted.
	Algorithms []string
	// RequireATJWT refuses a JWT whose typ header is not "at+jwt" or
	// "application/at+jwt" (RFC 9068 §4). Default false: many ASes
	// (Keycloak, Entra ID, Okta, Dex) send "JWT" or no typ; an ID token is
	// refused either way (isIDToken).
	RequireATJWT bool
	// Introspection enables RFC 7662 introspection of opaque tokens; when
	// false an opaque token is invalid.
	Introspection bool
	// ClientID and ClientSecret authenticate the gateway at the
	// introspection endpoint.
	ClientID, ClientSecret string
	// PostForm, when set, makes the introspection calls instead, with the
	// gateway's client authentication whatever its method
	// (login.Client.PostForm: private_key_jwt and tls_client_auth too);
	// ClientSecret is then unused.
	PostForm func(ctx context.Context, endpoint string, form url.Values) (*http.Response, error)
	// HTTPClient makes the calls to the AS (default: 10s timeout).
	HTTPClient *http.Client
	// CacheSize bounds the number of cached introspection answers (default
	// 10000).
	CacheSize int
	// CacheTTL bounds how long an introspection answer is reused (default
	// 1m); an active token's answer is never reused past its exp.
	CacheTTL time.Duration
	// NegativeCacheSize bounds the number of cached "inactive" answers,
	// kept apart from the active ones so that a flood of made-up tokens
	// cannot push real ones out (default 10000); NegativeCacheTTL is how
	// long such an answer is reused (default 10s; never longer than
	// CacheTTL).
	NegativeCacheSize int
	NegativeCacheTTL  time.Duration
	// KeyRefetchInterval is the least time between two fetches of the key
	// set when it is the verifier's own (default jwks.DefaultRefetchInterval).
	KeyRefetchInterval time.Duration
	// Observe, when set, is told what the verifier did for metrics:
	// ObserveNegativeHit for a token answered from the negative cache.
	Observe func(event string)
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Events passed to Options.Observe.
const (
	// ObserveNegativeHit: an opaque token was refused from the cache of
	// inactive answers, without asking the AS.
	ObserveNegativeHit = "negative_cache_hit"
)

// Token is a verified access token. It is shared between the requests that
// present the same token: do not modify it.
type Token struct {
	// Claims are the JWT's claims, or the members of the introspection
	// response (without "active"). "sub" is always a non-empty string: a
	// token issued to a client for itself (client credentials) has its
	// client_id as sub, as RFC 9068 §2.2 prescribes for JWTs.
	Claims map[string]any
	// Expiry is the token's exp, or zero when the AS gave none.
	Expiry time.Time
}

// Verifier verifies bearer tokens. It is safe for concurrent use.
type Verifier struct {
	opts   Options
	now    func() time.Time
	state  atomic.Pointer[state]
	mu     sync.Mutex                   // serializes loading the state
	cache  *lru.Cache[[32]byte, *Token] // active tokens, by the token's SHA-256 (never the token)
	neg    *lru.Cache[[32]byte, *Token] // inactive ones (nil Token), bounded separately so that made-up tokens cannot evict real ones
	flight singleflight.Group
}

// state is what the verifier builds once the metadata is loaded.
type state struct {
	jwt           *oidc.IDTokenVerifier
	issuer        string
	introspection string
	postAuth      bool // client_secret_post instead of client_secret_basic
}

// asymmetric are the JWS algorithms Algorithms may list.
var asymmetric = vocab.AsymmetricAlgs

// New returns a Verifier for opts.
func New(opts Options) (*Verifier, error) {
	if opts.Metadata == nil {
		return nil, errors.New("bearer: Metadata is required")
	}
	if len(opts.Audiences) == 0 {
		return nil, errors.New("bearer: at least one audience is required")
	}
	for _, a := range opts.Algorithms {
		if !slices.Contains(asymmetric, a) {
			return nil, fmt.Errorf("bearer: algorithm %q is not accepted (asymmetric algorithms only)", a)
		}
	}
	if opts.Introspection && opts.PostForm == nil && (opts.ClientID == "" || opts.ClientSecret == "") {
		return nil, errors.New("bearer: introspection needs the client ID and secret")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = time.Minute
	}
	if opts.NegativeCacheSize <= 0 {
		opts.NegativeCacheSize = 10000
	}
	if opts.NegativeCacheTTL <= 0 {
		opts.NegativeCacheTTL = 10 * time.Second
	}
	opts.NegativeCacheTTL = min(opts.NegativeCacheTTL, opts.CacheTTL)
	v := &Verifier{opts: opts, now: opts.Now, cache: lru.New[[32]byte, *Token](opts.CacheSize), neg: lru.New[[32]byte, *Token](opts.NegativeCacheSize)}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// load returns the state, building it from the metadata the first time it
// is available.
func (v *Verifier) load() (*state, error) {
	if st := v.state.Load(); st != nil {
		return st, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if st := v.state.Load(); st != nil {
		return st, nil
	}
	md, err := v.opts.Metadata()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	if md.JWKSURI == "" {
		return nil, fmt.Errorf("%w: the AS advertises no jwks_uri", ErrNotReady)
	}
	issuer := v.opts.Issuer
	if issuer == "" {
		issuer = md.Issuer
	}
	algs := v.opts.Algorithms
	if len(algs) == 0 {
		for _, a := range md.SigningAlgs {
			if slices.Contains(asymmetric, a) {
				algs = append(algs, a)
			}
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256}
	}
	var keys oidc.KeySet = md.Keys
	if keys == nil {
		keys = jwks.New(jwks.Options{URL: md.JWKSURI, HTTPClient: v.opts.HTTPClient, RefetchInterval: v.opts.KeyRefetchInterval, Now: v.opts.Now})
	}
	st := &state{
		jwt: oidc.NewVerifier(issuer, keys, &oidc.Config{
			SkipClientIDCheck:    true, // the audience is checked against Audiences below
			SupportedSigningAlgs: algs,
			Now:                  v.now,
		}),
		issuer:        issuer,
		introspection: md.IntrospectionEndpoint,
		postAuth: len(md.IntrospectionAuthMethods) > 0 &&
			!slices.Contains(md.IntrospectionAuthMethods, "client_secret_basic") &&
			slices.Contains(md.IntrospectionAuthMethods, "client_secret_post"),
	}
	v.state.Store(st)
	return st, nil
}

// Verify checks raw, the token of an "Authorization: Bearer" header, and
// returns its claims. A JWT (three dot-separated parts) is verified
// locally; any other token is introspected when introspection is enabled.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: empty or longer than %d bytes", ErrInvalidToken, maxTokenLen)
	}
	st, err := v.load()
	if err != nil {
		return nil, err
	}
	switch strings.Count(raw, ".") {
	case 2:
		return v.verifyJWT(ctx, st, raw)
	case 4:
		return nil, fmt.Errorf("%w: encrypted tokens (JWE) are not supported", ErrInvalidToken)
	}
	if !v.opts.Introspection {
		return nil, fmt.Errorf("%w: an opaque token, and introspection is disabled", ErrInvalidToken)
	}
	if st.introspection == "" {
		return nil, fmt.Errorf("%w: the AS advertises no introspection_endpoint", ErrIntrospection)
	}
	return v.introspect(ctx, st, raw)
}

// hasAudience reports whether aud names one of the configured audiences.
func (v *Verifier) hasAudience(aud []string) bool {
	return slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.opts.Audiences, a) })
}
