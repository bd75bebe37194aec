package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

const sealVersion = 1

// errOpen is returned when a sealed value does not open under the given key:
// wrong key, tampered value or a value of another key name.
var errOpen = errors.New("session: sealed value does not open")

// seal encrypts plaintext with AES-256-GCM under key. The store key is bound
// as additional data, so a value copied to another key does not open.
// Layout: version (1 byte) || nonce (12) || ciphertext+tag.
func seal(key []byte, storeKey string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("session: seal: %w", err)
	}
	return aead.Seal(out, out[1:1+aead.NonceSize()], plaintext, []byte(storeKey)), nil
}

// open reverses seal.
func open(key []byte, storeKey string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	if len(sealed) < 1+ns+aead.Overhead() || sealed[0] != sealVersion {
		return nil, errOpen
	}
	pt, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(storeKey))
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("session: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
