package devop

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signingKey is an RS256 key with its key ID and signer.
type signingKey struct {
	kid    string
	priv   *rsa.PrivateKey
	signer jose.Signer
}

// newSigningKey generates an RSA-2048 key whose kid is its RFC 7638
// thumbprint.
func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("thumbprint signing key: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.RS256)}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("create signer: %w", err)
	}
	return &signingKey{kid: kid, priv: priv, signer: signer}, nil
}

// jwk returns the public JSON Web Key.
func (k *signingKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"}
}

// RotateKey generates a new signing key. Tokens are signed with the new key
// from now on; the previous keys stay in the JWKS so that tokens they signed
// still verify.
func (s *Server) RotateKey() error {
	k, err := newSigningKey()
	if err != nil {
		return fmt.Errorf("devop: rotate key: %w", err)
	}
	s.keys.add(k)
	s.log.Info("devop: signing key rotated", "kid", k.kid)
	return nil
}

// KeySet returns the public keys, the current signing key first.
func (s *Server) KeySet() jose.JSONWebKeySet { return s.keys.set() }

// keyring holds the signing keys: list[0] signs; the others are still
// published, so that tokens they signed still verify.
type keyring struct {
	mu   sync.RWMutex
	list []*signingKey
}

// add makes k the signing key.
func (kr *keyring) add(k *signingKey) {
	kr.mu.Lock()
	kr.list = append([]*signingKey{k}, kr.list...)
	kr.mu.Unlock()
}

// set returns the public keys, the current signing key first.
func (kr *keyring) set() jose.JSONWebKeySet {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(kr.list))}
	for _, k := range kr.list {
		set.Keys = append(set.Keys, k.jwk())
	}
	return set
}

// sign signs claims with the current key.
func (kr *keyring) sign(claims map[string]any) (string, error) {
	kr.mu.RLock()
	k := kr.list[0]
	kr.mu.RUnlock()
	tok, err := jwt.Signed(k.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	return tok, nil
}

// errUnknownKey is returned when a JWT's kid names no key of this server.
var errUnknownKey = errors.New("unknown signing key")

// verify checks the RS256 signature of a JWT signed by one of the keys and
// decodes its claims into dst. It checks neither expiry nor audience.
func (kr *keyring) verify(raw string, dst any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("parse jwt: %w", err)
	}
	if len(tok.Headers) != 1 {
		return errors.New("parse jwt: want exactly one signature")
	}
	kid := tok.Headers[0].KeyID
	kr.mu.RLock()
	var key *rsa.PublicKey
	for _, k := range kr.list {
		if k.kid == kid {
			key = &k.priv.PublicKey
		}
	}
	kr.mu.RUnlock()
	if key == nil {
		return errUnknownKey
	}
	if err := tok.Claims(key, dst); err != nil {
		return fmt.Errorf("verify jwt: %w", err)
	}
	return nil
}

// handleJWKS serves the public key set.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.KeySet())
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own maps and structs get here; a hook could add an
		// unencodable value.
		http.Error(w, "cannot encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
