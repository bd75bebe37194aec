package devop

import (
	"net/http"
	"slices"
)

// Supported protocol values, shared by discovery and the endpoints.
var (
	supportedScopes = []string{"openid", "email", "profile", "groups", "offline_access"}
	supportedClaims = []string{
		"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "sid", "at_hash",
		"email", "email_verified", "name", "preferred_username", "groups",
	}
)

// discoveryDocument returns a fresh OpenID Provider Metadata document
// (OpenID Connect Discovery 1.0 §3, RFC 8414).
func (s *Server) discoveryDocument() map[string]any {
	doc := map[string]any{
		"issuer":                                         s.issuer,
		"authorization_endpoint":                         s.endpoint("/authorize"),
		"token_endpoint":                                 s.endpoint("/token"),
		"jwks_uri":                                       s.endpoint("/jwks"),
		"userinfo_endpoint":                              s.endpoint("/userinfo"),
		"revocation_endpoint":                            s.endpoint("/revoke"),
		"end_session_endpoint":                           s.endpoint("/logout"),
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               append([]string(nil), supportedScopes...),
		"claims_supported":                               append([]string(nil), supportedClaims...),
		"prompt_values_supported":                        []string{"none", "login"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
	}
	if s.opts.Deviations.NoIssParameter {
		delete(doc, "authorization_response_iss_parameter_supported")
	}
	grants, methods := s.supported()
	doc["grant_types_supported"] = grants
	doc["token_endpoint_auth_methods_supported"] = methods
	doc["revocation_endpoint_auth_methods_supported"] = slices.Clone(methods)
	if slices.Contains(methods, "private_key_jwt") {
		doc["token_endpoint_auth_signing_alg_values_supported"] = slices.Clone(assertionAlgs)
	}
	switch s.opts.PKCE {
	case "plain":
		doc["code_challenge_methods_supported"] = []string{"plain"}
	case "none":
		delete(doc, "code_challenge_methods_supported")
	}
	return doc
}

// supported returns the grant types and client authentication methods the
// server advertises: those of the basic flows, and the others that a
// registered client uses.
func (s *Server) supported() (grants, methods []string) {
	grants = []string{"authorization_code", "refresh_token"}
	methods = []string{"client_secret_basic", "client_secret_post", "none"}
	for _, g := range []string{GrantClientCredentials, GrantPassword, GrantTokenExchange} {
		for _, c := range s.clients {
			if slices.Contains(c.GrantTypes, g) {
				grants = append(grants, g)
				break
			}
		}
	}
	for _, m := range []string{"private_key_jwt", "tls_client_auth"} {
		for _, c := range s.clients {
			if c.authMethod() == m {
				methods = append(methods, m)
				break
			}
		}
	}
	return grants, methods
}

// handleDiscovery serves the discovery document, after Hooks.Discovery.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	doc := s.discoveryDocument()
	if h := s.opts.Hooks.Discovery; h != nil {
		h(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}
