package login

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// maxTokenResponse bounds a token endpoint response body.
const maxTokenResponse = 1 << 20

// Token is a successful token endpoint response (RFC 6749 §5.1; RFC 8693
// §2.2.1 adds IssuedTokenType).
type Token struct {
	AccessToken  string
	TokenType    string // "Bearer" in practice; compare case-insensitively
	RefreshToken string
	IDToken      string // the OpenID Connect ID token, unverified
	Scope        string // the granted scope, when the AS states it
	// IssuedTokenType is the RFC 8693 issued_token_type of a token exchange.
	IssuedTokenType string
	// Expiry is when the access token expires, from expires_in on the
	// Client's clock; zero when the AS gave none.
	Expiry time.Time
}

// IsBearer reports whether the token is a bearer token (RFC 6750): the
// token_type is "Bearer" in any case, or absent.
func (t *Token) IsBearer() bool {
	return t.TokenType == "" || strings.EqualFold(t.TokenType, "bearer")
}

// TokenRequest posts params to the token endpoint with the client's
// authentication and returns the response. An error response is an
// *oauth2.RetrieveError wrapped in ErrInvalidGrant (for invalid_grant) or
// ErrTokenEndpoint (for everything else, unreachable included).
func (c *Client) TokenRequest(ctx context.Context, params url.Values) (*Token, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	return c.as.tokenRequest(ctx, md, params)
}

// tokenRequest makes a token request (RFC 6749 §3.2) and parses the
// response, JSON or (as some plain OAuth 2.0 servers answer) form-encoded.
func (a *asClient) tokenRequest(ctx context.Context, md *metadata, params url.Values) (*Token, error) {
	return a.boundTokenRequest(ctx, md, params, nil)
}

// boundTokenRequest is tokenRequest with a DPoP proof by key (RFC 9449 §5)
// when key is set.
func (a *asClient) boundTokenRequest(ctx context.Context, md *metadata, params url.Values, key *DPoPKey) (*Token, error) {
	method, err := a.authMethod(md)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	resp, err := a.post(ctx, md, md.endpointFor("token_endpoint", md.tokenURL, method), params, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: read response: %w", ErrTokenEndpoint, err)
	}
	fields, err := parseTokenResponse(resp.Header.Get("Content-Type"), body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || fields.Error != "" {
		re := &oauth2.RetrieveError{Response: resp, Body: body}
		if err == nil {
			re.ErrorCode, re.ErrorDescription, re.ErrorURI = fields.Error, fields.ErrorDescription, fields.ErrorURI
		}
		return nil, tokenError(re)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	if fields.AccessToken == "" {
		return nil, fmt.Errorf("%w: the response has no access_token", ErrTokenEndpoint)
	}
	t := &Token{
		AccessToken:     fields.AccessToken,
		TokenType:       fields.TokenType,
		RefreshToken:    fields.RefreshToken,
		IDToken:         fields.IDToken,
		Scope:           fields.Scope,
		IssuedTokenType: fields.IssuedTokenType,
	}
	if fields.ExpiresIn > 0 {
		t.Expiry = a.now().Add(time.Duration(fields.ExpiresIn) * time.Second)
	}
	return t, nil
}

// tokenFields are the members of a token or error response.
type tokenFields struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	RefreshToken     string    `json:"refresh_token"`
	IDToken          string    `json:"id_token"`
	Scope            string    `json:"scope"`
	IssuedTokenType  string    `json:"issued_token_type"`
	ExpiresIn        expiresIn `json:"expires_in"`
	Error            string    `json:"error"`
	ErrorDescription string    `json:"error_description"`
	ErrorURI         string    `json:"error_uri"`
}

// expiresIn is expires_in: a number, or a numeric string (some servers).
type expiresIn int64

// UnmarshalJSON accepts 3600, 3600.0 and "3600"; anything else is 0.
func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1<<40 {
		*e = expiresIn(f)
	}
	return nil
}

// parseTokenResponse decodes a token endpoint response body.
func parseTokenResponse(contentType string, body []byte) (tokenFields, error) {
	var f tokenFields
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return f, fmt.Errorf("form-encoded response: %w", err)
		}
		f.AccessToken, f.TokenType, f.RefreshToken = v.Get("access_token"), v.Get("token_type"), v.Get("refresh_token")
		f.IDToken, f.Scope, f.IssuedTokenType = v.Get("id_token"), v.Get("scope"), v.Get("issued_token_type")
		f.Error, f.ErrorDescription, f.ErrorURI = v.Get("error"), v.Get("error_description"), v.Get("error_uri")
		_ = f.ExpiresIn.UnmarshalJSON([]byte(v.Get("expires_in")))
		return f, nil
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return f, fmt.Errorf("the response is not a JSON object (Content-Type %q)", contentType)
	}
	return f, nil
}

// bearerGet fetches url with accessToken as a bearer token (RFC 6750 §2.1)
// and returns the body of a 200 response.
//
// With key, the token is sent as a DPoP-bound one ("Authorization: DPoP",
// RFC 9449 §7.1) with a proof, and a 401 asking for a nonce is retried once.
func (a *asClient) bearerGet(ctx context.Context, endpoint, accessToken string, key *DPoPKey) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	hc := a.http
	if key != nil {
		req.Header.Set("Authorization", TokenTypeDPoP+" "+accessToken)
		hc = a.dpopClient(key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return body, nil
}
