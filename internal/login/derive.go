package login

import (
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ForClient returns a Client for another registration at the same
// authorization server, such as the public native client of a mobile app
// (RFC 8252 §8.4) next to the gateway's confidential web client. clientID and
// clientSecret replace c's; an empty clientSecret makes it a public client
// (RFC 6749 §2.1), which sends its client_id in the request body instead of
// authenticating, and relies on PKCE, which every request uses anyway.
// Everything else (issuer, scopes, extra parameters, userinfo, HTTP client,
// clock) is c's.
//
// The returned Client shares c's discovered metadata: it is ready when c is,
// and needs no Discover or Run of its own. It verifies ID tokens with its own
// audience (OpenID Connect Core 1.0 §3.1.3.7: aud contains, and azp equals,
// clientID), so a token issued to one client is never accepted for the
// other. Metadata is derived once, at first use after c's discovery.
func (c *Client) ForClient(clientID, clientSecret string) *Client {
	opts := c.opts
	opts.ClientID, opts.ClientSecret = clientID, clientSecret
	d := New(opts)
	d.as.auth = ClientAuth{} // another registration: never the parent's key or certificate
	d.parent = c
	return d
}

// ClientID returns the client identifier (RFC 6749 §2.2) the Client uses.
func (c *Client) ClientID() string { return c.opts.ClientID }

// derivedMetadata builds the metadata of a Client from ForClient out of its
// parent's, with this client's credentials and ID token audience.
func (c *Client) derivedMetadata() (*metadata, error) {
	pmd, err := c.parent.metadata()
	if err != nil {
		return nil, err
	}
	md := *pmd
	md.verifier = oidc.NewVerifier(c.opts.Issuer, pmd.keys, &oidc.Config{
		ClientID:             c.opts.ClientID,
		SupportedSigningAlgs: pmd.algs,
		Now:                  c.now,
	})
	md.oauth.ClientID, md.oauth.ClientSecret = c.opts.ClientID, c.opts.ClientSecret
	md.fapi.jar = false            // another registration has no key to sign request objects with
	if c.opts.ClientSecret == "" { // RFC 6749 §2.3: a public client identifies itself in the body
		md.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	c.md.CompareAndSwap(nil, &md)
	return c.md.Load(), nil
}
