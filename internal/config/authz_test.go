package config

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
	"github.com/google/go-cmp/cmp"
)

func parseRulesConfig(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), func(k string) string {
		return map[string]string{EnvClientSecret: "client-secret", EnvCookieSecret: testCookieSecret}[k]
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

const rulesTOML = `
[server]
public_url = "https://auth.example.com"

[provider]
issuer = "https://idp.example.com"
client_id = "gatehouse"

[authorization]
allowed_email_domains = ["example.com"]
allowed_groups = ["staff"]
skip_auth = ["/favicon.ico"]

[bearer]
audiences = ["https://api.example.com"]
introspection = true
introspection_cache_ttl = "30s"

[[upstream]]
name = "inherits"
url = "http://127.0.0.1:8080"

[[upstream]]
name = "admin"
path_prefix = "/admin"
url = "http://127.0.0.1:8080"
allowed_groups = ["admins"]
required_claims = { acr = "mfa", department = ["eng", "ops"] }
methods = ["GET", "POST"]

[[upstream]]
name = "partners"
path_prefix = "/partners"
url = "http://127.0.0.1:8080"
allowed_email_domains = []
allowed_emails = ["dave@partner.example"]
allowed_groups = []
insecure_allow_unverified_email = true
skip_auth = ["OPTIONS /partners/*"]

[[upstream]]
name = "api"
path_prefix = "/api"
url = "http://127.0.0.1:8081"
auth = "bearer"
`

func TestRulesInheritance(t *testing.T) {
	c := parseRulesConfig(t, rulesTOML)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	def := authz.Rules{AllowedEmailDomains: []string{"example.com"}, AllowedGroups: []string{"staff"}, SkipAuth: []string{"/favicon.ico"}}
	for i, want := range []authz.Rules{
		def,
		{
			AllowedEmailDomains: []string{"example.com"}, AllowedGroups: []string{"admins"}, SkipAuth: []string{"/favicon.ico"},
			RequiredClaims: map[string][]string{"acr": {"mfa"}, "department": {"eng", "ops"}}, Methods: []string{"GET", "POST"},
		},
		{
			AllowedEmails: []string{"dave@partner.example"}, AllowedEmailDomains: []string{}, AllowedGroups: []string{},
			SkipAuth: []string{"OPTIONS /partners/*"}, AllowUnverifiedEmail: true,
		},
		def,
	} {
		if diff := cmp.Diff(want, c.UpstreamRules(i)); diff != "" {
			t.Errorf("UpstreamRules(%d) (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff(def, c.DefaultRules()); diff != "" {
		t.Errorf("DefaultRules (-want +got):\n%s", diff)
	}
	if c.Bearer.IntrospectionCacheTTL.Duration != 30*time.Second || c.Bearer.IntrospectionCacheSize != 10000 {
		t.Errorf("bearer = %+v", c.Bearer)
	}
}

func TestValidateRulesAndBearer(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"bearer needs audiences", func(c *Config) {
			c.Upstreams[0].Auth = vocab.AuthSessionOrBearer
		}, []string{`bearer.audiences: required when an upstream has auth = "bearer" or "session_or_bearer"`}},
		{"bearer fields", func(c *Config) {
			c.Upstreams[0].Auth = vocab.AuthBearer
			c.Bearer.Audiences = []string{"gatehouse", "", "a b"}
			c.Bearer.Issuer = "http://idp.example.com"
			c.Bearer.Algorithms = []string{"RS256", "HS256", "none"}
			c.Bearer.IntrospectionCacheSize = 0
			c.Bearer.IntrospectionCacheTTL = dur(2 * time.Hour)
		}, []string{
			`bearer.audiences[0]: "gatehouse" is provider.client_id, the audience of the gateway's ID tokens; use the API's own identifier (resource indicator)`,
			`bearer.audiences[1]: must not be empty`,
			`bearer.audiences[2]: "a b" must not contain white space`,
			`bearer.issuer: must use https (http is allowed only for a loopback host such as 127.0.0.1 or localhost); try "https://idp.example.com"`,
			`bearer.algorithms[1]: "HS256" is not one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA (asymmetric algorithms only)`,
			`bearer.algorithms[2]: "none" is not one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA (asymmetric algorithms only)`,
			`bearer.introspection_cache_size: 0 is outside 1 to 1000000`,
			`bearer.introspection_cache_ttl: 2h0m0s is outside 1s to 1h`,
		}},
		{"negative cache and limits", func(c *Config) {
			c.Bearer.IntrospectionNegativeCacheSize = -1
			c.Bearer.IntrospectionNegativeCacheTTL = dur(2 * time.Hour)
			c.Limits = Limits{FlowsPerBrowser: 0, FlowsPerClient: 2_000_000, JWKSRefetchInterval: dur(time.Millisecond)}
		}, []string{
			`bearer.introspection_negative_cache_size: -1 is outside 1 to 1000000`,
			`bearer.introspection_negative_cache_ttl: 2h0m0s is outside 1s to 1h`,
			`limits.flows_per_browser: 0 is outside 1 to 1000`,
			`limits.flows_per_client: 2000000 is outside 1 to 1000000`,
			`limits.jwks_refetch_interval: 1ms is outside 1s to 1h`,
		}},
		{"rules with key paths", func(c *Config) {
			c.Authorization.AllowedEmailDomains = []string{"*.example.com"}
			c.Authorization.SkipAuth = []string{"/a/../b"}
			c.Upstreams = append(c.Upstreams, Upstream{
				PathPrefix: "/x", URL: "http://a", Auth: vocab.AuthSession,
				AllowedEmails: []string{"a@b@c"}, Methods: []string{"get"},
				RequiredClaims: map[string]ClaimValues{"dept": {}}, SkipAuth: []string{"/x?y"},
			})
		}, []string{
			`authorization.allowed_email_domains[0]: "*.example.com": subdomains are not matched; list each domain exactly`,
			`authorization.skip_auth[0]: "/a/../b": the path is not clean (no "." or ".." segments, no "//"); write "/b"`,
			`upstream[1].allowed_emails[0]: "a@b@c" is not an e-mail address (one "@", a local part and a domain)`,
			`upstream[1].required_claims.dept: list at least one value`,
			`upstream[1].methods[0]: "get" is not an upper-case method name`,
			`upstream[1].skip_auth[0]: "/x?y": the path must not contain "?", "#", ";", "\", "%", or "*" other than a final "/*"`,
		}},
		{"rules on a public upstream", func(c *Config) {
			c.Upstreams[0].Auth = vocab.AuthPublic
			c.Upstreams[0].AllowedGroups = []string{"admins"}
		}, []string{`upstream[0]: sets authorization rules, but auth = "public" lets everyone through; remove them or use auth = "session"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c)
			if diff := cmp.Diff(tt.want, errLines(c.Validate())); diff != "" {
				t.Errorf("Validate() errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequiredClaimsDecoding(t *testing.T) {
	for _, tc := range []struct{ name, value, err string }{
		{"Number", `{ level = 3 }`, "upstream[0].required_claims.level: must be a string or an array of strings, not an integer"},
		{"MixedArray", `{ level = ["3", 4] }`, "upstream[0].required_claims.level: must be a string or an array of strings, not an array holding an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := minimalTOML + "required_claims = " + tc.value + "\n"
			_, err := Parse([]byte(doc), nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse: %v, want an error containing %q", err, tc.err)
			}
		})
	}
}
