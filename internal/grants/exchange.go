package grants

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
)

// DefaultMaxEntries bounds a cache when the options do not.
const DefaultMaxEntries = 10000

// ExchangerOptions configures an Exchanger.
type ExchangerOptions struct {
	// Exchange exchanges a user's access token for a token for the
	// upstream (RFC 8693). Required.
	Exchange func(ctx context.Context, subjectToken string) (Token, error)
	// MaxEntries bounds the cache (default DefaultMaxEntries); the least
	// recently used token is dropped first.
	MaxEntries int
	// RefreshBefore stops using a token this long before it expires
	// (default DefaultRefreshBefore, or half its lifetime when shorter).
	RefreshBefore time.Duration
	// Lifetime is how long a token without an expiry is used (default
	// DefaultLifetime).
	Lifetime time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Exchanger keeps, for one upstream, the tokens exchanged for users' access
// tokens, in memory of this process. An entry is found by a keyed hash of
// the user's access token: when a session's token is refreshed, its next
// request makes a new exchange; the old entry, which nobody can name any
// more, ages out. It is safe for concurrent use.
type Exchanger struct {
	opts  ExchangerOptions
	key   []byte
	cache *cache[string]
}

// NewExchanger returns an Exchanger for opts.
func NewExchanger(opts ExchangerOptions) *Exchanger {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = DefaultRefreshBefore
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Exchanger{opts: opts, key: newKey(), cache: newCache[string](opts.MaxEntries, opts.Now)}
}

// Token returns the token exchanged for subjectToken, exchanging it when
// there is none that stays valid for RefreshBefore. Concurrent requests of
// one user share one exchange.
func (x *Exchanger) Token(ctx context.Context, subjectToken string) (string, error) {
	if subjectToken == "" {
		return "", errors.New("grants: no access token to exchange")
	}
	tok, err := x.cache.get(ctx, keyedHash(x.key, subjectToken), func(ctx context.Context) (string, time.Time, error) {
		t, err := x.opts.Exchange(ctx, subjectToken)
		if err != nil {
			return "", time.Time{}, err
		}
		if t.AccessToken == "" {
			return "", time.Time{}, errors.New("grants: the AS returned an empty access token")
		}
		_, useUntil := validity(x.opts.Now(), t.Expiry, x.opts.RefreshBefore, x.opts.Lifetime)
		return t.AccessToken, useUntil, nil
	})
	return tok, err
}

// newKey returns a random per-process key for keyedHash.
func newKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand documents it)
	return k
}

// keyedHash is HMAC-SHA256 of the parts, each length-prefixed so that no
// two lists of parts hash alike. The cache keys of secrets are these: a
// memory dump shows neither the secrets nor hashes anyone could test
// guesses against without the key.
func keyedHash(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return string(m.Sum(nil))
}
