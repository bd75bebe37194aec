package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// Errors of the callback and refresh steps. Callers branch on them with
// errors.Is to choose a status; the wrapped detail is for logs only.
var (
	// ErrIssuerMismatch: the authorization response's iss parameter (RFC 9207) is missing or wrong.
	ErrIssuerMismatch = errors.New("login: authorization response issuer mismatch")
	// ErrTokenEndpoint: the token endpoint refused the request or could not be reached.
	ErrTokenEndpoint = errors.New("login: token endpoint error")
	// ErrInvalidGrant: the AS answered invalid_grant (code or refresh token no longer valid).
	ErrInvalidGrant = errors.New("login: invalid grant")
	// ErrRefused: the token endpoint refused the request with HTTP 400 or
	// 401 and an error other than invalid_grant, or no RFC 6749 §5.2 error
	// body at all (some servers answer a revoked refresh token so). It comes
	// with ErrTokenEndpoint; a transient error code (server_error,
	// temporarily_unavailable, slow_down) is not a refusal.
	ErrRefused = errors.New("login: request refused by the token endpoint")
	// ErrIDToken: the ID token failed verification.
	ErrIDToken = errors.New("login: ID token invalid")
	// ErrUserinfo: the userinfo response failed or does not match the ID token.
	ErrUserinfo = errors.New("login: userinfo invalid")
)

// maxIATSkew is how far in the future an ID token's iat may be (clock skew).
const maxIATSkew = 60 * time.Second

// Result is the outcome of a code exchange or refresh.
type Result struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time // access token expiry; zero when the AS gave none
	IDToken      string    // raw ID token ("" when a refresh returned none)
	Issuer       string
	Subject      string
	SID          string
	// Claims are the verified ID token claims (merged with userinfo when used);
	// nil when a refresh returned no ID token.
	Claims map[string]any
	// TokenType is TokenTypeDPoP for DPoP-bound tokens, "" for bearer tokens.
	TokenType string
	// DPoPKey is the key the tokens are bound to (nil: bearer tokens). The
	// caller keeps it with the tokens, as secret as they are, and passes it
	// to Refresh and Revoke (WithDPoPKey).
	DPoPKey *DPoPKey
}

// CheckIssuer validates the iss parameter of an authorization response
// (RFC 9207 §2.4): required when the AS advertises support, and when present
// it must equal the issuer.
func (c *Client) CheckIssuer(iss string) error {
	md, err := c.metadata()
	if err != nil {
		return err
	}
	if iss == "" {
		if md.issParam {
			return fmt.Errorf("%w: missing", ErrIssuerMismatch)
		}
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(iss), []byte(c.opts.Issuer)) != 1 {
		return fmt.Errorf("%w: got a different issuer", ErrIssuerMismatch)
	}
	return nil
}

// Exchange trades code for tokens with the PKCE verifier and the exact
// redirect URI of the request, then verifies the ID token (signature,
// algorithm allowlist, iss, aud, azp, exp, iat, nonce, at_hash) and, when
// configured, the userinfo response.
//
// When discovery chose DPoP, the request carries a proof by a fresh key (or
// the one WithDPoPKey gives), returned in Result.DPoPKey when the AS bound
// the tokens to it.
func (c *Client) Exchange(ctx context.Context, code, verifier, redirectURI, nonce string, opts ...TokenOption) (*Result, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	params := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		params.Set("code_verifier", verifier)
	}
	key := tokenCallOf(opts).key
	if key == nil && md.fapi.dpop {
		if key, err = NewDPoPKey(); err != nil {
			return nil, err
		}
	}
	tok, err := c.as.boundTokenRequest(ctx, md, params, key)
	if err != nil {
		return nil, err
	}
	if key, err = checkBinding(md, tok, key); err != nil {
		return nil, err
	}
	if md.plainOAuth2 {
		res, err := c.id.oauth2Identity(ctx, md, tok, key)
		if err != nil {
			return nil, err
		}
		res.TokenType, res.DPoPKey = boundType(key), key
		return res, nil
	}
	raw := tok.IDToken
	if raw == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", ErrIDToken)
	}
	res, err := c.id.verify(ctx, md, raw, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(nonceOf(res.Claims)), []byte(nonce)) != 1 || nonce == "" {
		return nil, fmt.Errorf("%w: nonce mismatch", ErrIDToken)
	}
	if c.opts.UseUserinfo {
		if err := c.id.mergeUserinfo(ctx, md, tok.AccessToken, res, key); err != nil {
			return nil, err
		}
	}
	res.AccessToken, res.RefreshToken, res.Expiry = tok.AccessToken, tok.RefreshToken, tok.Expiry
	res.TokenType, res.DPoPKey = boundType(key), key
	return res, nil
}

func nonceOf(claims map[string]any) string {
	n, _ := claims["nonce"].(string)
	return n
}

// verify checks an ID token and returns its identity. go-oidc checks the
// signature against the AS's JWKS with the allowlisted algorithms, iss, aud
// and exp; this adds azp and iat (OpenID Connect Core §3.1.3.7).
func (v *identifier) verify(ctx context.Context, md *metadata, raw, accessToken string) (*Result, error) {
	idt, err := md.verifier.Verify(v.as.ctx(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIDToken, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrIDToken, err)
	}
	azp, _ := claims["azp"].(string)
	if azp != "" && azp != v.as.clientID {
		return nil, fmt.Errorf("%w: azp is not this client", ErrIDToken)
	}
	if len(idt.Audience) > 1 && azp == "" {
		return nil, fmt.Errorf("%w: several audiences and no azp", ErrIDToken)
	}
	if idt.IssuedAt.IsZero() {
		return nil, fmt.Errorf("%w: no iat", ErrIDToken)
	}
	if idt.IssuedAt.After(v.as.now().Add(maxIATSkew)) {
		return nil, fmt.Errorf("%w: iat is in the future", ErrIDToken)
	}
	if idt.Subject == "" {
		return nil, fmt.Errorf("%w: no sub", ErrIDToken)
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, fmt.Errorf("%w: at_hash: %w", ErrIDToken, err)
		}
	}
	sid, _ := claims["sid"].(string)
	return &Result{IDToken: raw, Issuer: idt.Issuer, Subject: idt.Subject, SID: sid, Claims: claims}, nil
}

func (v *identifier) mergeUserinfo(ctx context.Context, md *metadata, accessToken string, res *Result, key *DPoPKey) error {
	if md.provider.UserInfoEndpoint() == "" {
		return fmt.Errorf("%w: the AS has no userinfo endpoint", ErrUserinfo)
	}
	uctx, ts := v.as.userinfoContext(ctx, accessToken, key)
	ui, err := md.provider.UserInfo(uctx, ts)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUserinfo, err)
	}
	if ui.Subject != res.Subject { // OpenID Connect Core §5.3.2
		return fmt.Errorf("%w: sub differs from the ID token's", ErrUserinfo)
	}
	var extra map[string]any
	if err := ui.Claims(&extra); err != nil {
		return fmt.Errorf("%w: %w", ErrUserinfo, err)
	}
	for k, v := range extra {
		if !slices.Contains(idTokenOnlyClaims, k) {
			res.Claims[k] = v
		}
	}
	return nil
}

// idTokenOnlyClaims are never taken from userinfo.
var idTokenOnlyClaims = []string{"iss", "sub", "aud", "exp", "iat", "nonce", "azp", "sid", "auth_time", "at_hash"}

// tokenError classifies a token endpoint failure.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	switch {
	case re.ErrorCode == "invalid_grant":
		return fmt.Errorf("%w: %w", ErrInvalidGrant, err)
	case re.ErrorCode == "temporarily_unavailable" || re.ErrorCode == "server_error" || re.ErrorCode == "slow_down":
	case re.Response != nil && (re.Response.StatusCode == http.StatusBadRequest || re.Response.StatusCode == http.StatusUnauthorized):
		return fmt.Errorf("%w: %w: %w", ErrTokenEndpoint, ErrRefused, err)
	}
	return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
}

// Refresh uses refreshToken (RFC 6749 §6). A returned ID token must keep the
// session's issuer and subject and this client as audience (OpenID Connect
// Core §12.2); when the AS rotates no refresh token, the old one is kept.
//
// With WithDPoPKey the request carries a proof by that key (the session's:
// a public client's refresh token is bound to it, RFC 9449 §5), and the
// new access token is bound to it too.
func (c *Client) Refresh(ctx context.Context, refreshToken, issuer, subject string, opts ...TokenOption) (*Result, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	key := tokenCallOf(opts).key
	tok, err := c.as.boundTokenRequest(ctx, md, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, key)
	if err != nil {
		return nil, err
	}
	if key, err = checkBinding(md, tok, key); err != nil {
		return nil, err
	}
	res := &Result{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, Issuer: issuer, Subject: subject,
		TokenType: boundType(key), DPoPKey: key}
	if res.RefreshToken == "" {
		res.RefreshToken = refreshToken
	}
	if raw := tok.IDToken; raw != "" {
		v, err := c.id.verify(ctx, md, raw, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		if v.Issuer != issuer || v.Subject != subject {
			return nil, fmt.Errorf("%w: refreshed ID token names another issuer or subject", ErrIDToken)
		}
		res.IDToken, res.Claims, res.SID = raw, v.Claims, v.SID
	}
	return res, nil
}
