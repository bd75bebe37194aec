package bearer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxIntrospectionBody bounds the introspection response read.
const maxIntrospectionBody = 1 << 20

// introspect checks an opaque token at the AS (RFC 7662), through the
// cache. Concurrent requests for the same token share one call.
func (v *Verifier) introspect(ctx context.Context, st *state, raw string) (*Token, error) {
	key := sha256.Sum256([]byte(raw))
	now := v.now()
	if tok, ok := v.cache.Get(key, now); ok {
		return tok, nil
	}
	if _, ok := v.neg.Get(key, now); ok {
		v.observe(ObserveNegativeHit)
		return nil, fmt.Errorf("%w: inactive (cached)", ErrInvalidToken)
	}
	ch := v.flight.DoChan(string(key[:]), func() (any, error) {
		// Others may wait on this call: it does not end with the first
		// caller's request (the HTTP client's timeout bounds it).
		tok, err := v.callIntrospection(context.WithoutCancel(ctx), st, raw)
		if err != nil {
			return nil, err
		}
		now := v.now()
		if tok == nil {
			v.neg.Add(key, nil, now.Add(v.opts.NegativeCacheTTL))
			return nil, nil
		}
		expires := now.Add(v.opts.CacheTTL)
		if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
			expires = tok.Expiry
		}
		v.cache.Add(key, tok, expires)
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		tok, _ := res.Val.(*Token)
		if tok == nil {
			return nil, fmt.Errorf("%w: inactive", ErrInvalidToken)
		}
		return tok, nil
	}
}

func (v *Verifier) observe(event string) {
	if v.opts.Observe != nil {
		v.opts.Observe(event)
	}
}

// postIntrospection posts form to the introspection endpoint with the
// gateway's client authentication: Options.PostForm's when set, else
// client_secret_basic or client_secret_post.
func (v *Verifier) postIntrospection(ctx context.Context, st *state, form url.Values) (*http.Response, error) {
	if v.opts.PostForm != nil {
		return v.opts.PostForm(ctx, st.introspection, form)
	}
	if st.postAuth {
		form.Set("client_id", v.opts.ClientID)
		form.Set("client_secret", v.opts.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.introspection, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !st.postAuth { // client_secret_basic: RFC 6749 §2.3.1 form-encodes both parts
		req.SetBasicAuth(url.QueryEscape(v.opts.ClientID), url.QueryEscape(v.opts.ClientSecret))
	}
	return v.opts.HTTPClient.Do(req)
}

// callIntrospection asks the AS about raw. It returns a nil Token for a
// token that is not active or not acceptable here (an answer to cache), and
// an error when the AS could not give an answer.
func (v *Verifier) callIntrospection(ctx context.Context, st *state, raw string) (*Token, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	resp, err := v.postIntrospection(ctx, st, form)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIntrospection, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBody))
	if err != nil {
		return nil, fmt.Errorf("%w: read: %w", ErrIntrospection, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: the endpoint answered %s", ErrIntrospection, resp.Status)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("%w: the response is not a JSON object", ErrIntrospection)
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, nil
	}
	delete(claims, "active")
	return v.acceptIntrospected(st, claims), nil
}

// acceptIntrospected checks an active token's introspection response and
// returns it as a Token, or nil when this resource must not accept it:
// expired, from another issuer, for another audience, or not an access
// token.
func (v *Verifier) acceptIntrospected(st *state, claims map[string]any) *Token {
	tok := &Token{Claims: claims}
	if exp, ok := claims["exp"].(float64); ok {
		tok.Expiry = time.Unix(int64(exp), 0)
		if !v.now().Before(tok.Expiry) {
			return nil
		}
	}
	if iss, ok := claims["iss"]; ok && iss != st.issuer {
		return nil
	}
	if !v.hasAudience(audienceOf(claims["aud"])) {
		return nil
	}
	if tt, ok := claims["token_type"].(string); ok && !strings.EqualFold(tt, "bearer") && !strings.EqualFold(tt, "access_token") {
		return nil
	}
	if use, ok := claims["token_use"].(string); ok && use != "access_token" {
		return nil
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		cid, _ := claims["client_id"].(string)
		if cid == "" {
			return nil
		}
		claims["sub"] = cid
	}
	return tok
}

// audienceOf reads an aud member: a string or an array of strings.
func audienceOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
