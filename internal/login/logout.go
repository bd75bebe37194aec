package login

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// EndSessionURL returns the RP-initiated logout URL (OpenID Connect
// RP-Initiated Logout 1.0 §2), or "" when the AS has no end_session_endpoint.
func (c *Client) EndSessionURL(idTokenHint, postLogoutRedirectURI, state string) string {
	ep := c.EndSessionEndpoint()
	if ep == "" {
		return ""
	}
	u, err := url.Parse(ep)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", c.opts.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Revoke revokes token at the AS (RFC 7009) with the client's authentication.
// It is a no-op when the AS has no revocation endpoint.
func (c *Client) Revoke(ctx context.Context, token, typeHint string) error {
	md, err := c.metadata()
	if err != nil {
		return err
	}
	if md.revocation == "" || token == "" {
		return nil
	}
	form := url.Values{"token": {token}}
	if typeHint != "" {
		form.Set("token_type_hint", typeHint)
	}
	method, err := c.authMethod(md)
	if err != nil {
		return fmt.Errorf("login: revoke: %w", err)
	}
	// The client authenticates as at the token endpoint (clientauth.go); a
	// public client names itself in the body (RFC 7009 §2.1).
	resp, err := c.postForm(ctx, md, md.endpointFor("revocation_endpoint", md.revocation, method), form)
	if err != nil {
		return fmt.Errorf("login: revoke: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login: revoke: status %d", resp.StatusCode)
	}
	return nil
}
