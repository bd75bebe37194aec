package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// Accepted values of [Provider.Type]; "" is ProviderOIDC.
const (
	// ProviderOIDC is an OpenID Connect provider (the default).
	ProviderOIDC = "oidc"
	// ProviderOAuth2 is a plain OAuth 2.0 server: no ID token, identity
	// from the userinfo endpoint.
	ProviderOAuth2 = "oauth2"
)

// Endpoints is the [provider.endpoints] table: the AS's endpoints, each an
// absolute https URL (http for a loopback host). A key set replaces the
// discovered value; with provider.discovery = false they are all there is:
// authorization and token are then required, jwks for type "oidc" and
// userinfo for type "oauth2".
type Endpoints struct {
	Authorization string `toml:"authorization"`
	Token         string `toml:"token"`
	JWKS          string `toml:"jwks"`
	Userinfo      string `toml:"userinfo"`
	EndSession    string `toml:"end_session"`
	Revocation    string `toml:"revocation"`
	Introspection string `toml:"introspection"`
}

// UsesDiscovery reports whether the AS's metadata is fetched: provider.discovery,
// by default true for type "oidc" and false for "oauth2".
func (pr *Provider) UsesDiscovery() bool {
	if pr.Discovery != nil {
		return *pr.Discovery
	}
	return pr.Type != ProviderOAuth2
}

// needsSecret reports whether the client authentication needs
// provider.client_secret: for client_secret_*, and when the method is left
// to choose and no key or certificate is configured either.
func (pr *Provider) needsSecret() bool {
	switch pr.ClientAuth {
	case vocab.ClientAuthSecretBasic, vocab.ClientAuthSecretPost:
		return true
	case "":
		return pr.PrivateKeyFile == "" && pr.TLSClientCertFile == ""
	}
	return false
}

func (pr *Provider) validateGrants(p *problems) {
	checkOneOf(p, "provider.type", pr.Type, "", ProviderOIDC, ProviderOAuth2) // "": the default, "oidc"
	checkOneOf(p, "provider.client_auth", pr.ClientAuth, append([]string{""}, vocab.ClientAuthMethods...)...)
	switch pr.ClientAuth {
	case vocab.ClientAuthPrivateKeyJWT:
		if pr.PrivateKeyFile == "" {
			p.add("provider.private_key_file", `required with client_auth = "private_key_jwt"`)
		}
	case vocab.ClientAuthTLS:
		if pr.TLSClientCertFile == "" {
			p.add("provider.tls_client_cert_file", `required with client_auth = "tls_client_auth"`)
		}
	case vocab.ClientAuthNone:
		if pr.ClientSecret != "" {
			p.add("provider.client_secret", `a public client (client_auth = "none") has no secret; remove it (or unset %s)`, EnvClientSecret)
		}
		if pr.InsecureDisablePKCE {
			p.add("provider.insecure_disable_pkce", `a public client (client_auth = "none") must use PKCE`)
		}
	}
	if pr.PrivateKeyAlg != "" {
		checkOneOf(p, "provider.private_key_alg", pr.PrivateKeyAlg, vocab.AssertionAlgs...)
	}
	for _, k := range []struct{ key, val string }{{"provider.private_key_alg", pr.PrivateKeyAlg}, {"provider.private_key_id", pr.PrivateKeyID}} {
		if k.val != "" && pr.PrivateKeyFile == "" {
			p.add(k.key, "used only with private_key_file")
		}
	}
	if (pr.TLSClientCertFile == "") != (pr.TLSClientKeyFile == "") {
		p.add("provider.tls_client_cert_file", "tls_client_cert_file and tls_client_key_file go together: set both or neither")
	}
	switch {
	case pr.SubjectClaim != "" && pr.Type != ProviderOAuth2:
		p.add("provider.subject_claim", `used only with type = "oauth2" (an ID token names the user in sub)`)
	case strings.ContainsFunc(pr.SubjectClaim, isSpaceOrControl):
		p.add("provider.subject_claim", "must not contain white space")
	}
	e := pr.Endpoints
	for _, ep := range []struct{ name, val string }{
		{"authorization", e.Authorization}, {"token", e.Token}, {"jwks", e.JWKS}, {"userinfo", e.Userinfo},
		{"end_session", e.EndSession}, {"revocation", e.Revocation}, {"introspection", e.Introspection},
	} {
		if ep.val != "" {
			if msg := checkBaseURL(ep.val, true); msg != "" {
				p.add("provider.endpoints."+ep.name, "%s", msg)
			}
		}
	}
	if pr.UsesDiscovery() {
		return
	}
	const without = "required when provider.discovery is false"
	if e.Authorization == "" {
		p.add("provider.endpoints.authorization", without)
	}
	if e.Token == "" {
		p.add("provider.endpoints.token", without)
	}
	if e.JWKS == "" && pr.Type != ProviderOAuth2 {
		p.add("provider.endpoints.jwks", without+` (ID tokens are verified with these keys)`)
	}
	if e.Userinfo == "" && pr.Type == ProviderOAuth2 {
		p.add("provider.endpoints.userinfo", without+` and type is "oauth2" (the user's identity comes from it)`)
	}
}

// grantToken reports whether an upstream obtains a token with a grant of
// its own, which token_scopes, token_resources and token_audiences shape.
func (u *Upstream) grantToken() bool {
	return u.UpstreamToken == vocab.UpstreamTokenClientCredentials || u.UpstreamToken == vocab.UpstreamTokenExchange || u.Auth == vocab.AuthPasswordGrant
}

func validateUpstreamTokens(p *problems, ups []Upstream) {
	for i, u := range ups {
		key := fmt.Sprintf("upstream[%d]", i)
		checkOneOf(p, key+".upstream_token", u.UpstreamToken, append([]string{""}, vocab.UpstreamTokens...)...) // "": the default, "user"
		switch u.UpstreamToken {
		case vocab.UpstreamTokenClientCredentials:
			if u.PassAuthorization {
				p.add(key+".pass_authorization", `conflicts with upstream_token = "client_credentials": the gateway's own token goes in Authorization`)
			}
		case vocab.UpstreamTokenExchange:
			if u.Auth == vocab.AuthPublic {
				p.add(key+".upstream_token", `"token_exchange" needs a user's token to exchange, which auth = "public" does not have`)
			}
			if u.PassAuthorization || u.PassAccessToken {
				p.add(key+".upstream_token", `"token_exchange" sends the exchanged token in Authorization; pass_access_token and pass_authorization would forward the user's own token too`)
			}
		case vocab.UpstreamTokenNone:
			if u.PassAuthorization || u.PassAccessToken {
				p.add(key+".upstream_token", `"none" conflicts with pass_access_token and pass_authorization`)
			}
		}
		if !u.grantToken() {
			for _, k := range []struct {
				name string
				n    int
			}{{"token_scopes", len(u.TokenScopes)}, {"token_resources", len(u.TokenResources)}, {"token_audiences", len(u.TokenAudiences)}} {
				if k.n > 0 {
					p.add(key+"."+k.name, `used only with upstream_token = "client_credentials" or "token_exchange", or auth = "password_grant"`)
				}
			}
		}
		for j, sc := range u.TokenScopes {
			if sc == "" || strings.ContainsFunc(sc, isSpaceOrControl) {
				p.add(fmt.Sprintf("%s.token_scopes[%d]", key, j), "%q must be non-empty, without white space", sc)
			}
		}
		for j, r := range u.TokenResources {
			if pu, err := url.Parse(r); err != nil || !pu.IsAbs() || pu.Opaque != "" || strings.Contains(r, "#") {
				p.add(fmt.Sprintf("%s.token_resources[%d]", key, j), "%q must be an absolute URI without a fragment (RFC 8707 §2)", r)
			}
		}
		for j, a := range u.TokenAudiences {
			if a == "" || strings.ContainsFunc(a, isSpaceOrControl) {
				p.add(fmt.Sprintf("%s.token_audiences[%d]", key, j), "%q must be non-empty, without white space", a)
			}
		}
	}
}

// GrantWarnings returns what the gateway warns about at start-up for a
// valid configuration: the deprecated password grant, and routes that lend
// the gateway's own token to anyone who reaches them.
func (c *Config) GrantWarnings() []string {
	var out []string
	for i, u := range c.Upstreams {
		key := fmt.Sprintf("upstream[%d]", i)
		if u.Name != "" {
			key += " (" + u.Name + ")"
		}
		if u.Auth == vocab.AuthPasswordGrant {
			out = append(out, key+`: auth = "password_grant" uses the resource owner password credentials grant, which RFC 9700 §2.4 says MUST NOT be used: the gateway sees users' passwords, and neither MFA nor the AS's login page can protect them. Move its clients to a redirect-based login.`)
		}
		if u.Auth == vocab.AuthPublic && u.UpstreamToken == vocab.UpstreamTokenClientCredentials {
			out = append(out, key+`: auth = "public" with upstream_token = "client_credentials": whoever reaches this route calls the upstream with the gateway's own token. Restrict who can reach it.`)
		}
	}
	return append(out, c.transportWarnings()...) // upstream_options.go
}
