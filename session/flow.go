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

func flowKey(secret string) string { return prefixFlow + digest("flow", secret) }

func flowSealKey(secret string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("gatehouse flow seal"))
	return mac.Sum(nil)
}

// PutFlow stores v (JSON-encoded) under secret for ttl.
func (m *Manager) PutFlow(ctx context.Context, secret string, v any, ttl time.Duration) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("session: encode flow: %w", err)
	}
	key := flowKey(secret)
	sealed, err := seal(flowSealKey(secret), key, plain)
	if err != nil {
		return err
	}
	if err := m.store.Set(ctx, key, sealed, ttl); err != nil {
		return fmt.Errorf("session: save flow: %w", err)
	}
	return nil
}

// TakeFlow loads the flow stored under secret into v and deletes it, so a
// flow completes at most once. It returns ErrNotFound for an unknown, used or
// expired secret.
func (m *Manager) TakeFlow(ctx context.Context, secret string, v any) error {
	return m.loadFlow(ctx, secret, v, m.store.Take)
}

// GetFlow loads the flow stored under secret into v without consuming it.
func (m *Manager) GetFlow(ctx context.Context, secret string, v any) error {
	return m.loadFlow(ctx, secret, v, m.store.Get)
}

// DeleteFlow removes the flow stored under secret.
func (m *Manager) DeleteFlow(ctx context.Context, secret string) error {
	if err := m.store.Delete(ctx, flowKey(secret)); err != nil {
		return fmt.Errorf("session: delete flow: %w", err)
	}
	return nil
}

func (m *Manager) loadFlow(ctx context.Context, secret string, v any, get func(context.Context, string) ([]byte, error)) error {
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
func (m *Manager) Binding(cookieValue string) string {
	mac := hmac.New(sha256.New, m.bindingKey)
	mac.Write([]byte(cookieValue))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// BindingMatches reports, in constant time, whether cookieValue produced binding.
func (m *Manager) BindingMatches(cookieValue, binding string) bool {
	if cookieValue == "" || binding == "" {
		return false
	}
	return hmac.Equal([]byte(m.Binding(cookieValue)), []byte(binding))
}
