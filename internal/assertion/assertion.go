// Package assertion signs the identity assertions the gateway sends to
// upstreams: short-lived JWTs (RFC 7519) that say who the user is, signed
// with the gateway's own keys (server.signing_keys) and verifiable by any
// JOSE library against the JWK Set the gateway publishes at
// /.well-known/jwks.json. The first key signs; every key is published, so
// that a key can be rotated in before it signs and kept after it stopped.
package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Lifetime is how long an assertion is valid (exp - iat). ReuseFor is how
// long a signed assertion may be sent again on later requests of the same
// session version and audience, so that most requests cost no signature.
const (
	Lifetime = 2 * time.Minute
	ReuseFor = 30 * time.Second
)

// Claims are who the assertion is about and for whom it is.
type Claims struct {
	// Audience is the aud claim: the upstream's name, or its URL.
	Audience          string
	Subject           string
	Email             string
	EmailVerified     bool
	PreferredUsername string
	Groups            []string
}

// Signer signs assertions with its first key and publishes all of them.
type Signer struct {
	issuer string
	alg    jose.SignatureAlgorithm
	kid    string
	signer jose.Signer
	jwks   []byte // the JWK Set document, public keys only
}

// Load reads the PEM private keys in files (EC P-256 for ES256 or Ed25519
// for EdDSA; PKCS #8 or SEC 1) and returns a Signer whose assertions carry
// issuer as iss.
func Load(issuer string, files []string) (*Signer, error) {
	pems := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i, err)
		}
		pems[i] = b
	}
	return New(issuer, pems)
}

// New returns a Signer for the PEM private keys in pems (see Load).
func New(issuer string, pems [][]byte) (*Signer, error) {
	if len(pems) == 0 {
		return nil, errors.New("assertion: no signing key")
	}
	s := &Signer{issuer: issuer}
	var set jose.JSONWebKeySet
	for i, p := range pems {
		key, alg, err := parseKey(p)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i, err)
		}
		pub := jose.JSONWebKey{Key: key.Public(), Algorithm: string(alg), Use: "sig"}
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i, err)
		}
		pub.KeyID = base64.RawURLEncoding.EncodeToString(tp) // RFC 7638
		for _, k := range set.Keys {
			if k.KeyID == pub.KeyID {
				return nil, fmt.Errorf("signing key %d: the same key as an earlier one", i)
			}
		}
		set.Keys = append(set.Keys, pub)
		if i == 0 {
			s.alg, s.kid = alg, pub.KeyID
			s.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: pub.KeyID}},
				(&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				return nil, fmt.Errorf("signing key %d: %w", i, err)
			}
		}
	}
	var err error
	if s.jwks, err = json.Marshal(set); err != nil {
		return nil, err
	}
	return s, nil
}

func parseKey(data []byte) (crypto.Signer, jose.SignatureAlgorithm, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, "", fmt.Errorf("PEM block %q is not a private key (want PRIVATE KEY or EC PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, "", err
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, "", errors.New("an EC key must be on P-256 (ES256)")
		}
		return k, jose.ES256, nil
	case ed25519.PrivateKey:
		return k, jose.EdDSA, nil
	}
	return nil, "", fmt.Errorf("a %T cannot sign assertions: use an EC P-256 or Ed25519 key", key)
}

// KeyID returns the kid of the signing key (its RFC 7638 thumbprint).
func (s *Signer) KeyID() string { return s.kid }

// Algorithm returns the signing algorithm: "ES256" or "EdDSA".
func (s *Signer) Algorithm() string { return string(s.alg) }

// assertionClaims is the JWT's payload.
type assertionClaims struct {
	jwt.Claims
	Email             string   `json:"email,omitempty"`
	EmailVerified     *bool    `json:"email_verified,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Groups            []string `json:"groups,omitempty"`
}

// Sign returns a compact JWT for c issued at now, valid for Lifetime.
func (s *Signer) Sign(c Claims, now time.Time) (string, error) {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	ac := assertionClaims{
		Claims: jwt.Claims{
			Issuer: s.issuer, Subject: c.Subject, Audience: jwt.Audience{c.Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(Lifetime)),
			ID:     base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		Email: c.Email, PreferredUsername: c.PreferredUsername, Groups: c.Groups,
	}
	if c.Email != "" {
		v := c.EmailVerified
		ac.EmailVerified = &v
	}
	return jwt.Signed(s.signer).Claims(ac).Serialize()
}

// ServeHTTP serves the JWK Set (RFC 7517 §5) of every key, public parts
// only. Upstreams cache it for up to 5 minutes.
func (s *Signer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(s.jwks)
}
