package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateGrants(t *testing.T) {
	no := false
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		// client authentication
		{"private_key_jwt", func(c *Config) {
			c.Provider.ClientAuth, c.Provider.ClientSecret, c.Provider.PrivateKeyFile, c.Provider.PrivateKeyAlg = "private_key_jwt", "", "/k.pem", "PS256"
		}, nil},
		{"private_key_jwt without key", func(c *Config) { c.Provider.ClientAuth, c.Provider.ClientSecret = "private_key_jwt", "" },
			[]string{`provider.private_key_file: required with client_auth = "private_key_jwt"`}},
		{"key chosen automatically, no secret", func(c *Config) { c.Provider.ClientSecret, c.Provider.PrivateKeyFile = "", "/k.pem" }, nil},
		{"certificate chosen automatically, no secret", func(c *Config) {
			c.Provider.ClientSecret, c.Provider.TLSClientCertFile, c.Provider.TLSClientKeyFile = "", "/c.pem", "/k.pem"
		}, nil},
		{"tls_client_auth without certificate", func(c *Config) { c.Provider.ClientAuth = "tls_client_auth" },
			[]string{`provider.tls_client_cert_file: required with client_auth = "tls_client_auth"`}},
		{"certificate without key", func(c *Config) { c.Provider.TLSClientCertFile = "/c.pem" },
			[]string{"provider.tls_client_cert_file: tls_client_cert_file and tls_client_key_file go together: set both or neither"}},
		{"client_secret_post without secret", func(c *Config) {
			c.Provider.ClientAuth, c.Provider.ClientSecret, c.Provider.PrivateKeyFile = "client_secret_post", "", "/k.pem"
		}, []string{"provider.client_secret: required (or client_secret_file, or GATEHOUSE_CLIENT_SECRET)"}},
		{"public client", func(c *Config) { c.Provider.ClientAuth, c.Provider.ClientSecret = "none", "" }, nil},
		{"public client with secret and no PKCE", func(c *Config) { c.Provider.ClientAuth, c.Provider.InsecureDisablePKCE = "none", true }, []string{
			`provider.client_secret: a public client (client_auth = "none") has no secret; remove it (or unset GATEHOUSE_CLIENT_SECRET)`,
			`provider.insecure_disable_pkce: a public client (client_auth = "none") must use PKCE`,
		}},
		{"unknown method and algorithm", func(c *Config) { c.Provider.ClientAuth, c.Provider.PrivateKeyAlg = "client_secret_jwt", "HS256" }, []string{
			`provider.client_auth: "client_secret_jwt" is not one of "", "client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth", "none"`,
			`provider.private_key_alg: "HS256" is not one of "RS256", "PS256", "ES256"`,
			"provider.private_key_alg: used only with private_key_file",
		}},
		{"kid without key", func(c *Config) { c.Provider.PrivateKeyID = "k1" }, []string{"provider.private_key_id: used only with private_key_file"}},

		// provider type, discovery, endpoints
		{"oauth2 without discovery", func(c *Config) {
			c.Provider.Type, c.Provider.Scopes, c.Provider.SubjectClaim = "oauth2", []string{"read:user"}, "id"
			c.Provider.Endpoints = Endpoints{Authorization: "https://gh.example/authorize", Token: "https://gh.example/token", Userinfo: "https://api.gh.example/user"}
		}, nil},
		{"oauth2 missing endpoints", func(c *Config) { c.Provider.Type, c.Provider.Scopes = "oauth2", nil }, []string{
			"provider.endpoints.authorization: required when provider.discovery is false",
			"provider.endpoints.token: required when provider.discovery is false",
			`provider.endpoints.userinfo: required when provider.discovery is false and type is "oauth2" (the user's identity comes from it)`,
		}},
		{"oidc without discovery needs jwks", func(c *Config) {
			c.Provider.Discovery = &no
			c.Provider.Endpoints = Endpoints{Authorization: "https://as.example/a", Token: "https://as.example/t"}
		}, []string{"provider.endpoints.jwks: required when provider.discovery is false (ID tokens are verified with these keys)"}},
		{"endpoint override", func(c *Config) { c.Provider.Endpoints.Token = "http://as.example/token" },
			[]string{`provider.endpoints.token: must use https (http is allowed only for a loopback host such as 127.0.0.1 or localhost); try "https://as.example/token"`}},
		{"subject_claim for oidc", func(c *Config) { c.Provider.SubjectClaim = "id" },
			[]string{`provider.subject_claim: used only with type = "oauth2" (an ID token names the user in sub)`}},
		{"unknown type", func(c *Config) { c.Provider.Type = "saml" },
			[]string{`provider.type: "saml" is not one of "", "oidc", "oauth2"`}},

		// upstream tokens
		{"client credentials", func(c *Config) {
			u := &c.Upstreams[0]
			u.UpstreamToken, u.PassAccessToken = "client_credentials", true
			u.TokenScopes, u.TokenResources, u.TokenAudiences = []string{"api.read"}, []string{"https://api.example/"}, []string{"api"}
		}, nil},
		{"client credentials with pass_authorization", func(c *Config) {
			c.Upstreams[0].UpstreamToken, c.Upstreams[0].PassAuthorization = "client_credentials", true
		}, []string{`upstream[0].pass_authorization: conflicts with upstream_token = "client_credentials": the gateway's own token goes in Authorization`}},
		{"token exchange on a public route forwarding the user's token", func(c *Config) {
			c.Upstreams[0].UpstreamToken, c.Upstreams[0].Auth, c.Upstreams[0].PassAccessToken = "token_exchange", "public", true
		}, []string{
			`upstream[0].upstream_token: "token_exchange" needs a user's token to exchange, which auth = "public" does not have`,
			`upstream[0].upstream_token: "token_exchange" sends the exchanged token in Authorization; pass_access_token and pass_authorization would forward the user's own token too`,
		}},
		{"none with pass_authorization", func(c *Config) { c.Upstreams[0].UpstreamToken, c.Upstreams[0].PassAuthorization = "none", true },
			[]string{`upstream[0].upstream_token: "none" conflicts with pass_access_token and pass_authorization`}},
		{"token parameters for the user's token", func(c *Config) {
			c.Upstreams[0].TokenScopes, c.Upstreams[0].TokenAudiences = []string{"x"}, []string{"y"}
		}, []string{
			`upstream[0].token_scopes: used only with upstream_token = "client_credentials" or "token_exchange", or auth = "password_grant"`,
			`upstream[0].token_audiences: used only with upstream_token = "client_credentials" or "token_exchange", or auth = "password_grant"`,
		}},
		{"bad token parameters", func(c *Config) {
			u := &c.Upstreams[0]
			u.UpstreamToken = "token_exchange"
			u.TokenScopes, u.TokenResources, u.TokenAudiences = []string{"a b"}, []string{"/api", "https://a.example/#f"}, []string{""}
		}, []string{
			`upstream[0].token_scopes[0]: "a b" must be non-empty, without white space`,
			`upstream[0].token_resources[0]: "/api" must be an absolute URI without a fragment (RFC 8707 §2)`,
			`upstream[0].token_resources[1]: "https://a.example/#f" must be an absolute URI without a fragment (RFC 8707 §2)`,
			`upstream[0].token_audiences[0]: "" must be non-empty, without white space`,
		}},
		{"password grant with scopes", func(c *Config) {
			c.Upstreams[0].Auth, c.Upstreams[0].PassAuthorization, c.Upstreams[0].TokenScopes = "password_grant", true, []string{"openid", "legacy"}
		}, nil},
		{"unknown upstream token", func(c *Config) { c.Upstreams[0].UpstreamToken = "service" },
			[]string{`upstream[0].upstream_token: "service" is not one of "", "user", "client_credentials", "token_exchange", "none"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c)
			if diff := cmp.Diff(tt.want, errLines(c.Validate())); diff != "" {
				t.Errorf("Validate() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGrants(t *testing.T) {
	doc := strings.Replace(minimalTOML, `client_id = "gatehouse"`, `client_id = "gatehouse"
type = "oauth2"
scopes = ["read:user"]
subject_claim = "id"
client_auth = "client_secret_post"`, 1) + `
upstream_token = "client_credentials"
token_resources = ["https://api.example/"]

[[upstream]]
path_prefix = "/legacy"
url = "http://127.0.0.1:8081"
auth = "password_grant"
pass_authorization = true

[[upstream]]
name = "svc"
path_prefix = "/svc"
url = "http://127.0.0.1:8082"
auth = "public"
upstream_token = "client_credentials"

[provider.endpoints]
authorization = "https://github.example/login/oauth/authorize"
token = "https://github.example/login/oauth/access_token"
userinfo = "https://api.github.example/user"
`
	c, err := Parse([]byte(doc), env(map[string]string{EnvClientSecret: "s", EnvCookieSecret: testCookieSecret}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Provider.UsesDiscovery() || c.Provider.Endpoints.Userinfo != "https://api.github.example/user" || c.Upstreams[0].UpstreamToken != "client_credentials" {
		t.Errorf("parsed %+v", c.Provider)
	}
	warnings := c.GrantWarnings()
	if len(warnings) != 2 || !strings.Contains(warnings[0], "upstream[1]: auth = \"password_grant\"") || !strings.Contains(warnings[0], "RFC 9700") ||
		!strings.Contains(warnings[1], "upstream[2] (svc): auth = \"public\" with upstream_token = \"client_credentials\"") {
		t.Errorf("GrantWarnings = %q", warnings)
	}
	yes := true
	c.Provider.Discovery = &yes
	if !c.Provider.UsesDiscovery() {
		t.Error("discovery = true is ignored")
	}
}
