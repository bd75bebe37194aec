package login

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Token type identifiers (RFC 8693 §3).
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// GrantTypeTokenExchange is the grant_type of a token exchange (RFC 8693 §2.1).
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// ErrNotBearer: the AS issued a token that cannot be sent as a bearer token
// (RFC 6750), such as a DPoP-bound one.
var ErrNotBearer = errors.New("login: the issued token is not a bearer token")

// TokenParams are what a grant asks for beyond the grant itself.
type TokenParams struct {
	// Scopes are requested in "scope" (RFC 6749 §3.3); none: the AS's default.
	Scopes []string
	// Resources are RFC 8707 resource indicators: absolute URIs of the
	// resource servers the token is for.
	Resources []string
	// Audiences are RFC 8693 §2.1 "audience" values: logical names of the
	// target services. Some servers (Auth0) also read one in a client
	// credentials request.
	Audiences []string
}

func (p TokenParams) apply(v url.Values) {
	if len(p.Scopes) > 0 {
		v.Set("scope", strings.Join(p.Scopes, " "))
	}
	for _, r := range p.Resources {
		v.Add("resource", r)
	}
	for _, a := range p.Audiences {
		v.Add("audience", a)
	}
}

// ClientCredentials obtains a token for the gateway itself with the client
// credentials grant (RFC 6749 §4.4), authenticated like every call to the
// AS. The token must be a bearer token.
func (c *Client) ClientCredentials(ctx context.Context, p TokenParams) (*Token, error) {
	params := url.Values{"grant_type": {"client_credentials"}}
	p.apply(params)
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	return c.as.bearerGrant(ctx, md, params)
}

// ExchangeToken exchanges subjectToken, an access token of the AS, for an
// access token for the audiences and resources of p (RFC 8693 §2.1). The
// result must be an access token (issued_token_type) and a bearer token.
func (c *Client) ExchangeToken(ctx context.Context, subjectToken string, p TokenParams) (*Token, error) {
	params := url.Values{
		"grant_type":           {GrantTypeTokenExchange},
		"subject_token":        {subjectToken},
		"subject_token_type":   {TokenTypeAccessToken},
		"requested_token_type": {TokenTypeAccessToken},
	}
	p.apply(params)
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	t, err := c.as.bearerGrant(ctx, md, params)
	if err != nil {
		return nil, err
	}
	if t.IssuedTokenType != "" && t.IssuedTokenType != TokenTypeAccessToken {
		return nil, fmt.Errorf("%w: issued_token_type %q is not an access token", ErrTokenEndpoint, t.IssuedTokenType)
	}
	return t, nil
}

// bearerGrant makes a token request whose token must be a bearer token.
func (a *asClient) bearerGrant(ctx context.Context, md *metadata, params url.Values) (*Token, error) {
	t, err := a.tokenRequest(ctx, md, params)
	if err != nil {
		return nil, err
	}
	if !t.IsBearer() {
		return nil, fmt.Errorf("%w: token_type %q", ErrNotBearer, t.TokenType)
	}
	return t, nil
}

// PasswordGrant exchanges a user's name and password for tokens with the
// resource owner password credentials grant (RFC 6749 §4.3), which RFC 9700
// §2.4 says MUST NOT be used: it exists for legacy clients that can only
// send HTTP Basic. The identity is the verified ID token's (no nonce
// exists), else the userinfo response's. A refused password is
// ErrInvalidGrant. The password is sent to the token endpoint and nowhere
// else, and is never part of an error.
func (c *Client) PasswordGrant(ctx context.Context, username, password string, p TokenParams) (*Result, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	params := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	if len(p.Scopes) == 0 {
		p.Scopes = c.opts.Scopes
	}
	p.apply(params)
	t, err := c.as.tokenRequest(ctx, md, params)
	if err != nil {
		return nil, err
	}
	return c.id.identify(ctx, md, t)
}
