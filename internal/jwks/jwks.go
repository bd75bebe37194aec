// Package jwks is the authorization server's JSON Web Key Set (RFC 7517) as
// the gateway uses it to verify ID tokens, logout tokens and JWT access
// tokens: an [oidc.KeySet] that fetches the set from jwks_uri, keeps it, and
// fetches it again when a token names a key it does not hold (key
// rotation), but at most once per interval. go-oidc's RemoteKeySet fetches
// again for every such token, so anyone could make the gateway call the AS
// once per forged token they send.
package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// DefaultRefetchInterval is how often, at most, the set is fetched again
// for a token no key verifies.
const DefaultRefetchInterval = time.Minute

// maxBody bounds the key set document read.
const maxBody = 1 << 20

// ErrNoKey: no key of the set verifies the token's signature, and the set
// was fetched too recently to fetch it again.
var ErrNoKey = errors.New("jwks: no key verifies the signature")

// Outcomes passed to Options.Observe.
const (
	// Fetched: the set was fetched (successfully or not: see Failed).
	Fetched = "fetched"
	// Failed: a fetch failed.
	Failed = "failed"
	// Suppressed: a token no key verifies did not cause a fetch because
	// the last one was less than the interval ago.
	Suppressed = "suppressed"
)

// Options configures a KeySet.
type Options struct {
	// URL is the AS's jwks_uri. Required.
	URL string
	// HTTPClient fetches the set (default: 10s timeout).
	HTTPClient *http.Client
	// RefetchInterval is the least time between two fetches (default
	// DefaultRefetchInterval). The first fetch happens at first use.
	RefetchInterval time.Duration
	// Observe, when set, is told each outcome (Fetched, Failed, Suppressed),
	// for metrics.
	Observe func(outcome string)
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// KeySet is a remote JSON Web Key Set with a bound on how often it is
// fetched. It is safe for concurrent use.
type KeySet struct {
	opts Options

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	attempted time.Time     // start of the last fetch; zero before the first
	flight    chan struct{} // closed when the running fetch ends; nil when none runs
	fetchErr  error         // the last fetch's error
}

var _ oidc.KeySet = (*KeySet)(nil)

// New returns a KeySet for opts.
func New(opts Options) *KeySet {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.RefetchInterval <= 0 {
		opts.RefetchInterval = DefaultRefetchInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &KeySet{opts: opts}
}

// signingAlgs are the algorithms a token may name here; the verifier that
// calls VerifySignature has already checked its own allowlist.
var signingAlgs = josealgs(vocab.AsymmetricAlgs)

func josealgs(names []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(names))
	for i, n := range names {
		out[i] = jose.SignatureAlgorithm(n)
	}
	return out
}

// VerifySignature verifies jwt's signature with the set's keys and returns
// its payload. When no key verifies it, the set is fetched again, unless
// that happened less than the interval ago (ErrNoKey).
func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("jwks: malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("jwks: a jwt must have exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	if payload, ok := verify(jws, keys, kid); ok {
		return payload, nil
	}
	keys, err = k.refetch(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verify(jws, keys, kid); ok {
		return payload, nil
	}
	return nil, ErrNoKey
}

func verify(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refetch fetches the set again, or joins the fetch that runs, and returns
// the keys. Within the interval after the last fetch it returns ErrNoKey
// instead. The fetch does not end with ctx (others may wait on it); the
// HTTP client's timeout bounds it.
func (k *KeySet) refetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	done := k.flight
	if done == nil {
		now := k.opts.Now()
		if !k.attempted.IsZero() && now.Sub(k.attempted) < k.opts.RefetchInterval {
			k.mu.Unlock()
			k.observe(Suppressed)
			return nil, ErrNoKey
		}
		k.attempted = now
		done = make(chan struct{})
		k.flight = done
		go k.fetch(context.WithoutCancel(ctx), done)
	}
	k.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fetchErr != nil {
		return nil, k.fetchErr
	}
	return k.keys, nil
}

func (k *KeySet) fetch(ctx context.Context, done chan struct{}) {
	keys, err := k.get(ctx)
	k.observe(Fetched)
	if err != nil {
		k.observe(Failed)
	}
	k.mu.Lock()
	if err == nil {
		k.keys = keys
	}
	k.fetchErr = err
	k.flight = nil
	k.mu.Unlock()
	close(done)
}

func (k *KeySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.opts.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := k.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: fetch: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("jwks: fetch: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: fetch: the AS answered %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwks: malformed key set: %w", err)
	}
	return set.Keys, nil
}

func (k *KeySet) observe(outcome string) {
	if k.opts.Observe != nil {
		k.opts.Observe(outcome)
	}
}
