package devop

import "net/http"

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
	return map[string]any{
		"issuer":                                         s.issuer,
		"authorization_endpoint":                         s.endpoint("/authorize"),
		"token_endpoint":                                 s.endpoint("/token"),
		"jwks_uri":                                       s.endpoint("/jwks"),
		"userinfo_endpoint":                              s.endpoint("/userinfo"),
		"revocation_endpoint":                            s.endpoint("/revoke"),
		"end_session_endpoint":                           s.endpoint("/logout"),
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               append([]string(nil), supportedScopes...),
		"claims_supported":                               append([]string(nil), supportedClaims...),
		"prompt_values_supported":                        []string{"none", "login"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
	}
}

// handleDiscovery serves the discovery document, after Hooks.Discovery.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	doc := s.discoveryDocument()
	if h := s.opts.Hooks.Discovery; h != nil {
		h(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}
