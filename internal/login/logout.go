package login

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The bindings of an RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2: the OP MUST support both GET and POST).
const (
	// EndSessionPost sends the parameters, id_token_hint included, in a form
	// the browser POSTs to the end_session_endpoint: the ID token stays out
	// of URLs, browser history, Referer headers and the AS's access logs.
	EndSessionPost = "post"
	// EndSessionGet sends them in the query of a redirect (for an AS
	// without POST support).
	EndSessionGet = "get"
	// EndSessionGetWithoutHint redirects with client_id,
	// post_logout_redirect_uri and state, and no id_token_hint: no personal
	// data in the URL, but the AS may ask the user to confirm.
	EndSessionGetWithoutHint = "get_without_hint"
)

// EndSessionBindings lists the bindings, the default first.
var EndSessionBindings = []string{EndSessionPost, EndSessionGet, EndSessionGetWithoutHint}

// EndSessionRequest returns the AS's end_session_endpoint and the
// parameters of an RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2): client_id, and each of id_token_hint,
// post_logout_redirect_uri and state that is not empty. The endpoint is ""
// when the AS has none.
func (c *Client) EndSessionRequest(idTokenHint, postLogoutRedirectURI, state string) (string, url.Values) {
	ep := c.EndSessionEndpoint()
	if ep == "" {
		return "", nil
	}
	q := url.Values{"client_id": {c.opts.ClientID}}
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
	}
	if state != "" {
		q.Set("state", state)
	}
	return ep, q
}

// EndSessionURL returns the RP-initiated logout URL of the GET binding, the
// parameters of EndSessionRequest in the endpoint's query, or "" when the
// AS has no end_session_endpoint.
func (c *Client) EndSessionURL(idTokenHint, postLogoutRedirectURI, state string) string {
	ep, params := c.EndSessionRequest(idTokenHint, postLogoutRedirectURI, state)
	if ep == "" {
		return ""
	}
	u, err := url.Parse(ep)
	if err != nil {
		return ""
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Revoke revokes token at the AS (RFC 7009) with the client's authentication.
// It is a no-op when the AS has no revocation endpoint.
// With WithDPoPKey the request carries a proof by the key the token is bound to.
func (c *Client) Revoke(ctx context.Context, token, typeHint string, opts ...TokenOption) error {
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
	method, err := c.as.authMethod(md)
	if err != nil {
		return fmt.Errorf("login: revoke: %w", err)
	}
	// The client authenticates as at the token endpoint (clientauth.go); a
	// public client names itself in the body (RFC 7009 §2.1).
	resp, err := c.as.post(ctx, md, md.endpointFor("revocation_endpoint", md.revocation, method), form, tokenCallOf(opts).key)
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
