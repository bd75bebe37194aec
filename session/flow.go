package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Pending authorization flows (state, nonce, PKCE verifier, return URL) are
// kept in the store, not in a cookie, so that several logins can run at once
// in several tabs and any replica can finish a flow another one started. A
// flow is stored under a digest of its secret (the OAuth state) and sealed
// under a key derived from it, so the store alone can neither read nor find
// it from its contents.

// Flows keeps the pending authorization flows and binds them to the browser
// that started them. A Manager embeds one.
type Flows struct {
	store      Store
	bindingKey []byte // HKDF of the secret, for Binding
}

func flowKey(secret string) string { return prefixFlow + digest("flow", secret) }

func flowSealKey(secret string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("gatehouse flow seal"))
	return mac.Sum(nil)
}

// PutFlow stores v (JSON-encoded) under secret for ttl.
func (fl *Flows) PutFlow(ctx context.Context, secret string, v any, ttl time.Duration) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session: encode flow: %w", err)
	}
	key := flowKey(secret)
	sealed, err := seal(flowSealKey(secret), key, plain)
	if err != nil {
		return err
	}
	if err := fl.store.Set(ctx, key, sealed, ttl); err != nil {
		return fmt.Errorf("session: save flow: %w", err)
	}
	return nil
}

// TakeFlow loads the flow stored under secret into v and deletes it, so a
// flow completes at most once. It returns ErrNotFound for an unknown, used or
// expired secret.
func (fl *Flows) TakeFlow(ctx context.Context, secret string, v any) error {
	return fl.loadFlow(ctx, secret, v, fl.store.Take)
}

// GetFlow loads the flow stored under secret into v without consuming it.
func (fl *Flows) GetFlow(ctx context.Context, secret string, v any) error {
	return fl.loadFlow(ctx, secret, v, fl.store.Get)
}

// DeleteFlow removes the flow stored under secret.
func (fl *Flows) DeleteFlow(ctx context.Context, secret string) error {
	if err := fl.store.Delete(ctx, flowKey(secret)); err != nil {
		return fmt.Errorf("session: delete flow: %w", err)
	}
	return nil
}

func (fl *Flows) loadFlow(ctx context.Context, secret string, v any, get func(context.Context, string) ([]byte, error)) error {
	if secret == "" {
		return ErrNotFound
	}
	key := flowKey(secret)
	sealed, err := get(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("session: load flow: %w", err)
	}
	plain, err := open(flowSealKey(secret), key, sealed)
	if err != nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("session: decode flow: %w", err)
	}
	return nil
}

// Binding returns a keyed digest of a browser-binding cookie value, stored in
// a flow and compared at the callback, so a flow can be finished only by the
// browser that started it (login CSRF protection) while every tab of that
// browser shares the one cookie.
func (fl *Flows) Binding(cookieValue string) string {
	mac := hmac.New(sha256.New, fl.bindingKey)
	mac.Write([]byte(cookieValue))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// BindingMatches reports, in constant time, whether cookieValue produced binding.
func (fl *Flows) BindingMatches(cookieValue, binding string) bool {
	if cookieValue == "" || binding == "" {
		return false
	}
	return hmac.Equal([]byte(fl.Binding(cookieValue)), []byte(binding))
}
