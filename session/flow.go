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
	bindingKey []byte  // HKDF of the secret, for Binding
	sealer     *sealer // the cookie store's: flows in cookies; nil otherwise
	now        func() time.Time
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

// With the cookie store, a browser's pending login travels in a sealed
// cookie of its own (the proxy names it after the state), so that any
// replica can finish a login another one started without a shared store.
// The record is sealed under the cookie store's key (every cookie secret
// opens it) and bound to a digest of the flow's secret (the state), and
// carries its expiry; it is single use on every replica sharing the Store
// (Redis), and on this replica otherwise (the AS's authorization code is
// single use anyway).

type sealedFlow struct {
	Exp int64           `json:"exp"`
	V   json.RawMessage `json:"v"`
}

// FlowsInCookies reports whether browsers' pending logins travel in sealed
// cookies (SealFlow, OpenFlow) instead of the Store: the cookie store.
func (fl *Flows) FlowsInCookies() bool { return fl.sealer != nil }

// SealFlow returns v (JSON-encoded) sealed for a cookie, valid for ttl,
// openable only with secret.
func (fl *Flows) SealFlow(secret string, v any, ttl time.Duration) (string, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("session: encode flow: %w", err)
	}
	plain, err := json.Marshal(sealedFlow{Exp: fl.now().Add(ttl).Unix(), V: js})
	if err != nil {
		return "", fmt.Errorf("session: encode flow: %w", err)
	}
	sealed, err := fl.sealer.sealBytes(flowKey(secret), plain)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenFlow opens a value of SealFlow made with secret into v, once: it
// returns ErrNotFound for a value that does not open, has expired or was
// opened before.
func (fl *Flows) OpenFlow(ctx context.Context, secret, value string, v any) error {
	if secret == "" || value == "" || fl.sealer == nil {
		return ErrNotFound
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return ErrNotFound
	}
	plain, _, err := fl.sealer.openBytes(flowKey(secret), raw)
	if err != nil {
		return ErrNotFound
	}
	var sf sealedFlow
	if err := json.Unmarshal(plain, &sf); err != nil {
		return ErrNotFound
	}
	ttl := time.Unix(sf.Exp, 0).Sub(fl.now())
	if ttl <= 0 {
		return ErrNotFound
	}
	if lk, ok := fl.store.(Locker); ok {
		_, fresh, err := lk.TryLock(ctx, prefixFirstUse+digest("flow used", secret), ttl)
		if err != nil {
			return fmt.Errorf("session: flow single use: %w", err)
		}
		if !fresh {
			return ErrNotFound
		}
	}
	if err := json.Unmarshal(sf.V, v); err != nil {
		return fmt.Errorf("session: decode flow: %w", err)
	}
	return nil
}
