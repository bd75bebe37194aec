package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

func TestParseFAPIKeys(t *testing.T) {
	tests := []struct {
		name, toml string
		want       ProviderFAPI
	}{
		{"defaults", ``, ProviderFAPI{}},
		{"dpop true", `dpop = true`, ProviderFAPI{DPoP: "on"}},
		{"dpop false", `dpop = false`, ProviderFAPI{DPoP: "off"}},
		{"strings", "par = \"required\"\ndpop = \"auto\"\nprofile = \"fapi2\"", ProviderFAPI{PAR: "required", DPoP: "auto", Profile: "fapi2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(minimalTOML, `client_id = "gatehouse"`, "client_id = \"gatehouse\"\n"+tt.toml, 1)
			c, err := Parse([]byte(doc), env(map[string]string{EnvClientSecret: "s", EnvCookieSecret: testCookieSecret}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.Provider.ProviderFAPI); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	doc := strings.Replace(minimalTOML, `client_id = "gatehouse"`, "client_id = \"gatehouse\"\ndpop = 3", 1)
	if _, err := Parse([]byte(doc), env(nil)); err == nil || !strings.Contains(err.Error(), "provider.dpop") {
		t.Errorf("dpop = 3: err = %v, want one naming provider.dpop", err)
	}
}

// fapiBase is a valid FAPI 2.0 configuration: private_key_jwt, no secret.
func fapiBase(t *testing.T) *Config {
	t.Helper()
	c := validConfig(t)
	c.Provider.ClientSecret = ""
	c.Provider.ClientAuth = vocab.ClientAuthPrivateKeyJWT
	c.Provider.PrivateKeyFile = "/keys/client.pem"
	c.Provider.Profile = vocab.ProfileFAPI2
	if err := c.Validate(); err != nil {
		t.Fatalf("FAPI base config does not validate:\n%v", err)
	}
	return c
}

func TestValidateFAPI(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // each a substring of one problem, in order
	}{
		{"unknown par", func(c *Config) { c.Provider.PAR = "sometimes" }, []string{`provider.par: "sometimes" is not one of`}},
		{"unknown dpop", func(c *Config) { c.Provider.DPoP = "maybe" }, []string{`provider.dpop: "maybe" is not one of`}},
		{"unknown profile", func(c *Config) { c.Provider.Profile = "fapi1" }, []string{`provider.profile: "fapi1" is not one of`}},
		{"par off", func(c *Config) { c.Provider.PAR = vocab.PAROff }, []string{"provider.par: refused by profile = \"fapi2\": FAPI 2.0 §5.3.2.2 requires pushed authorization requests"}},
		{"client secret basic", func(c *Config) {
			c.Provider.ClientAuth, c.Provider.ClientSecret, c.Provider.PrivateKeyFile = vocab.ClientAuthSecretBasic, "s", ""
		}, []string{`provider.client_auth: refused by profile = "fapi2": "client_secret_basic"`, "provider.client_secret: refused by profile"}},
		{"no credential", func(c *Config) { c.Provider.ClientAuth, c.Provider.PrivateKeyFile = "", "" }, []string{
			"provider.client_secret: required", "provider.client_auth: refused by profile = \"fapi2\": FAPI 2.0 §5.3.2.1 allows only private_key_jwt",
		}},
		{"RS256", func(c *Config) { c.Provider.PrivateKeyAlg = vocab.AlgRS256 }, []string{`provider.private_key_alg: refused by profile = "fapi2": "RS256"`}},
		{"no pkce", func(c *Config) { c.Provider.InsecureDisablePKCE = true }, []string{"provider.insecure_disable_pkce: refused by profile"}},
		{"bearer tokens", func(c *Config) { c.Provider.DPoP = DPoPSetting(vocab.DPoPOff) }, []string{"provider.dpop: refused by profile = \"fapi2\": FAPI 2.0 §5.3.2.1 requires sender-constrained tokens"}},
		{"mtls instead of dpop", func(c *Config) {
			c.Provider.DPoP = DPoPSetting(vocab.DPoPOff)
			c.Provider.ClientAuth, c.Provider.PrivateKeyFile = vocab.ClientAuthTLS, ""
			c.Provider.TLSClientCertFile, c.Provider.TLSClientKeyFile = "/c.pem", "/k.pem"
		}, nil},
		{"request object without key", func(c *Config) { c.Provider.RequestObject, c.Provider.PrivateKeyFile = vocab.JAROn, "" }, []string{
			"provider.private_key_file: required with client_auth", "provider.request_object: \"signed\" needs private_key_file",
		}},
		{"unknown response mode", func(c *Config) { c.Provider.ResponseMode = "form_post" }, []string{`provider.response_mode: "form_post" is not one of "", "jwt"`}},
		{"self-signed without certificate", func(c *Config) {
			c.Provider.ClientAuth, c.Provider.PrivateKeyFile = vocab.ClientAuthSelfSignedTLS, ""
		}, []string{`provider.tls_client_cert_file: required with client_auth = "self_signed_tls_client_auth"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fapiBase(t)
			tt.mutate(c)
			got := errLines(c.Validate())
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant %d: %q", strings.Join(got, "\n"), len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
