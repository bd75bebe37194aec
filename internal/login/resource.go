package login

import (
	"fmt"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
)

// ResourceMetadata is what the gateway needs from the AS's discovery
// document to accept the AS's access tokens as a resource server.
type ResourceMetadata struct {
	// Issuer is the configured (and discovered) issuer.
	Issuer string
	// JWKSURI is the AS's JSON Web Key Set (jwks_uri).
	JWKSURI string
	// IntrospectionEndpoint is the token introspection endpoint (RFC 7662,
	// advertised as introspection_endpoint by RFC 8414 §2), or "".
	IntrospectionEndpoint string
	// IntrospectionAuthMethods are the client authentication methods the
	// introspection endpoint accepts
	// (introspection_endpoint_auth_methods_supported), or nil.
	IntrospectionAuthMethods []string
	// SigningAlgs are the asymmetric JWS algorithms the AS advertises for ID
	// tokens (RS256 when it advertises none), the same allowlist ID tokens
	// are verified with.
	SigningAlgs []string
	// Keys is the AS's key set, shared with the ID token verifier so both
	// fetch it as one (see package jwks).
	Keys oidc.KeySet
}

// ResourceMetadata returns the discovered metadata a resource server needs,
// or ErrNotReady while discovery has not succeeded.
func (c *Client) ResourceMetadata() (ResourceMetadata, error) {
	md, err := c.metadata()
	if err != nil {
		return ResourceMetadata{}, err
	}
	var doc struct {
		JWKSURI                  string   `json:"jwks_uri"`
		IntrospectionEndpoint    string   `json:"introspection_endpoint"`
		IntrospectionAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	}
	if err := md.claims(&doc); err != nil {
		return ResourceMetadata{}, fmt.Errorf("login: discovery: %w", err)
	}
	return ResourceMetadata{
		Issuer:                   c.opts.Issuer,
		JWKSURI:                  doc.JWKSURI,
		IntrospectionEndpoint:    doc.IntrospectionEndpoint,
		IntrospectionAuthMethods: doc.IntrospectionAuthMethods,
		SigningAlgs:              slices.Clone(md.algs),
		Keys:                     md.keys,
	}, nil
}
