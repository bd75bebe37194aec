package login

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"golang.org/x/oauth2"
)

// identifier turns a token response into a verified identity: the ID
// token's checks beyond go-oidc's (exchange.go), the userinfo merge, and a
// plain OAuth 2.0 server's userinfo object (here).
type identifier struct {
	as           *asClient
	issuer       string
	subjectClaim string
	useUserinfo  bool
}

// oauth2Identity is the identity of a login at a plain OAuth 2.0 server
// (Options.PlainOAuth2), which issues no ID token: the userinfo endpoint's
// JSON object, fetched with the new access token, is the claims, and its
// SubjectClaim member (a string, or a number such as GitHub's "id") becomes
// "sub". The access token, sent by nobody but the gateway straight to the
// configured endpoint, is what vouches for it.
func (v *identifier) oauth2Identity(ctx context.Context, md *metadata, tok *Token, key *DPoPKey) (*Result, error) {
	body, err := v.as.bearerGet(ctx, md.userinfo, tok.AccessToken, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserinfo, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a numeric ID must not turn into 1.2345e+07
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: the response is not a JSON object", ErrUserinfo)
	}
	name := v.subjectClaim
	if name == "" {
		name = "sub"
	}
	sub := subjectValue(claims, name)
	if sub == "" {
		return nil, fmt.Errorf("%w: no usable %q member (a non-empty string or an integer)", ErrUserinfo, name)
	}
	claims = normalizeNumbers(claims).(map[string]any)
	claims["sub"] = sub
	return &Result{
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry,
		Issuer:       v.issuer,
		Subject:      sub,
		Claims:       claims,
	}, nil
}

// subjectValue returns the member at the dotted path name (the whole name
// first, for members whose name has dots) as a string: a non-empty string
// as is, an integer in decimal; anything else is "".
func subjectValue(obj map[string]any, name string) string {
	v, ok := obj[name]
	for i := 0; !ok && i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		if sub, isObj := obj[name[:i]].(map[string]any); isObj {
			if s := subjectValue(sub, name[i+1:]); s != "" {
				return s
			}
		}
	}
	switch v := v.(type) {
	case string:
		if strings.TrimSpace(v) == v {
			return v
		}
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return v.String()
		}
	}
	return ""
}

// normalizeNumbers turns the json.Numbers of a decoded value into int64 (or
// float64 when not integral), as encoding/json would have without
// UseNumber but without losing integer precision.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeNumbers(e)
		}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		if f, err := v.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return v.String()
	}
	return v
}

// identify returns the identity a token response vouches for, when no
// authorization request (and so no nonce) preceded it, as with the password
// grant: the verified ID token (without nonce) when there is one, else the
// userinfo response (OpenID Connect Core 1.0 §5.3); for a plain OAuth 2.0
// server, its userinfo object. The result carries the tokens.
func (v *identifier) identify(ctx context.Context, md *metadata, tok *Token) (*Result, error) {
	if md.plainOAuth2 {
		return v.oauth2Identity(ctx, md, tok, nil)
	}
	var res *Result
	if tok.IDToken != "" {
		var err error
		if res, err = v.verify(ctx, md, tok.IDToken, tok.AccessToken); err != nil {
			return nil, err
		}
		if v.useUserinfo {
			if err := v.mergeUserinfo(ctx, md, tok.AccessToken, res, nil); err != nil {
				return nil, err
			}
		}
	} else {
		if md.userinfo == "" {
			return nil, fmt.Errorf("%w: the token response has no id_token and the AS has no userinfo endpoint", ErrIDToken)
		}
		ui, err := md.provider.UserInfo(v.as.ctx(ctx), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer"}))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUserinfo, err)
		}
		var claims map[string]any
		if err := ui.Claims(&claims); err != nil || ui.Subject == "" {
			return nil, fmt.Errorf("%w: no subject", ErrUserinfo)
		}
		res = &Result{Issuer: v.issuer, Subject: ui.Subject, Claims: claims}
	}
	res.AccessToken, res.RefreshToken, res.Expiry = tok.AccessToken, tok.RefreshToken, tok.Expiry
	return res, nil
}
