package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// restConfig returns a valid config with the REST API enabled for the
// upstream "app".
func restConfig(t *testing.T) *Config {
	t.Helper()
	c := validConfig(t)
	c.Upstreams[0].Name = "app"
	c.RESTAPI.Enabled = true
	c.RESTAPI.Applications = []RESTApplication{{
		Name:         "app",
		RedirectURIs: []string{"com.example.app:/oauth2redirect"},
		ClientID:     "mobile",
	}}
	if err := c.Validate(); err != nil {
		t.Fatalf("REST config does not validate:\n%v", err)
	}
	return c
}

func TestValidateRESTAPI(t *testing.T) {
	app := func(f func(a *RESTApplication)) func(c *Config) {
		return func(c *Config) { f(&c.RESTAPI.Applications[0]) }
	}
	uris := func(u ...string) func(c *Config) {
		return app(func(a *RESTApplication) { a.RedirectURIs = u })
	}
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string
	}{
		{"valid", func(c *Config) {}, nil},
		{"disabled without applications", func(c *Config) { c.RESTAPI = restAPIDefaults() }, nil},
		{"enabled without applications", func(c *Config) { c.RESTAPI.Applications = nil },
			[]string{"rest_api.application: at least one [[rest_api.application]] is required when rest_api.enabled is true"}},
		{"base_path root", func(c *Config) { c.RESTAPI.BasePath = "/" },
			[]string{`rest_api.base_path: "/" must start with "/" and name a path other than "/"`}},
		{"base_path relative", func(c *Config) { c.RESTAPI.BasePath = "auth" },
			[]string{`rest_api.base_path: "auth" must start with "/" and name a path other than "/"`}},
		{"base_path trailing slash", func(c *Config) { c.RESTAPI.BasePath = "/auth/rest/" },
			[]string{`rest_api.base_path: "/auth/rest/" must not end with "/"; try "/auth/rest"`}},
		{"base_path unclean", func(c *Config) { c.RESTAPI.BasePath = "/auth/../rest" },
			[]string{`rest_api.base_path: "/auth/../rest" must be a clean path of letters, digits and -._~/`}},
		{"base_path query", func(c *Config) { c.RESTAPI.BasePath = "/auth?x" },
			[]string{`rest_api.base_path: "/auth?x" must be a clean path of letters, digits and -._~/`}},
		{"base_path under oauth2", func(c *Config) { c.RESTAPI.BasePath = "/oauth2/rest" },
			[]string{`rest_api.base_path: "/oauth2/rest" is reserved by the gateway`}},
		{"base_path custom", func(c *Config) { c.RESTAPI.BasePath = "/api/v1/login" }, nil},
		{"flow_ttl short", func(c *Config) { c.RESTAPI.FlowTTL = dur(30 * time.Second) },
			[]string{"rest_api.flow_ttl: 30s is not between 1m and 1h"}},
		{"flow_ttl long", func(c *Config) { c.RESTAPI.FlowTTL = dur(2 * time.Hour) },
			[]string{"rest_api.flow_ttl: 2h0m0s is not between 1m and 1h"}},
		{"max_attempts zero", func(c *Config) { c.RESTAPI.MaxAttempts = 0 },
			[]string{"rest_api.max_attempts: 0 is not between 1 and 100"}},
		{"default_application unknown", func(c *Config) { c.RESTAPI.DefaultApplication = "other" },
			[]string{`rest_api.default_application: "other" is not the name of a [[rest_api.application]]`}},
		{"default_application known", func(c *Config) { c.RESTAPI.DefaultApplication = "app" }, nil},
		{"name required", app(func(a *RESTApplication) { a.Name = "" }),
			[]string{"rest_api.application[0].name: required (the name of an [[upstream]])"}},
		{"name not an upstream", app(func(a *RESTApplication) { a.Name = "billing" }),
			[]string{`rest_api.application[0].name: "billing" is not the name of an [[upstream]]`}},
		{"name duplicate", func(c *Config) {
			c.RESTAPI.Applications = append(c.RESTAPI.Applications, c.RESTAPI.Applications[0])
		}, []string{`rest_api.application[1].name: "app" is already the name of rest_api.application[0]`}},
		{"redirect_uris required", uris(),
			[]string{"rest_api.application[0].redirect_uris: at least one redirect URI is required"}},
		{"redirect claimed https", uris("https://app.example.com/oauth2redirect"), nil},
		{"redirect loopback any port", uris("http://127.0.0.1/callback", "http://[::1]/callback"), nil},
		{"redirect loopback fixed port", uris("http://127.0.0.1:53117/callback"), nil},
		{"redirect private-use double slash", uris("com.example.app://callback"), nil},
		{"redirect localhost", uris("http://localhost/callback"),
			[]string{`rest_api.application[0].redirect_uris[0]: "http://localhost/callback": use the loopback IP literal (127.0.0.1 or [::1]) instead of localhost (RFC 8252 §8.3)`}},
		{"redirect http remote", uris("http://app.example.com/cb"),
			[]string{`rest_api.application[0].redirect_uris[0]: "http://app.example.com/cb": http is allowed only on a loopback IP literal, such as http://127.0.0.1/callback (RFC 8252 §7.3)`}},
		{"redirect scheme not reverse DNS", uris("myapp:/cb"),
			[]string{`rest_api.application[0].redirect_uris[0]: "myapp:/cb": a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)`}},
		{"redirect javascript", uris("javascript:alert(1)"),
			[]string{`rest_api.application[0].redirect_uris[0]: "javascript:alert(1)": a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)`}},
		{"redirect fragment", uris("com.example.app:/cb#x"),
			[]string{`rest_api.application[0].redirect_uris[0]: "com.example.app:/cb#x" must not have a fragment (RFC 6749 §3.1.2)`}},
		{"redirect relative", uris("/cb"),
			[]string{`rest_api.application[0].redirect_uris[0]: "/cb" must be an absolute URI`}},
		{"redirect duplicate", uris("com.example.app:/cb", "com.example.app:/cb"),
			[]string{`rest_api.application[0].redirect_uris[1]: duplicate redirect URI "com.example.app:/cb"`}},
		{"secret without client_id", app(func(a *RESTApplication) { a.ClientID, a.ClientSecret = "", "s" }),
			[]string{"rest_api.application[0].client_secret: set only with client_id (without client_id the app uses provider.client_id and its secret)"}},
		{"client_id is the provider's", app(func(a *RESTApplication) { a.ClientID = "gatehouse" }),
			[]string{`rest_api.application[0].client_id: "gatehouse" is provider.client_id; leave client_id empty to use the gateway's own client`}},
		{"gateway's own client", app(func(a *RESTApplication) { a.ClientID = "" }), nil},
		{"several problems", func(c *Config) {
			c.RESTAPI.MaxAttempts = 1000
			c.RESTAPI.Applications[0].RedirectURIs = []string{"ftp://x"}
		}, []string{
			"rest_api.max_attempts: 1000 is not between 1 and 100",
			`rest_api.application[0].redirect_uris[0]: "ftp://x": a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := restConfig(t)
			tc.modify(c)
			if diff := cmp.Diff(tc.want, errLines(c.Validate())); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRESTAPI(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("  app-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := minimalTOML + `
[rest_api]
enabled = true
flow_ttl = "5m"

[[rest_api.application]]
name = "app"
redirect_uris = ["com.example.app:/oauth2redirect"]
client_id = "mobile"
client_secret_file = "` + secretFile + `"

[[rest_api.application]]
name = "desktop"
redirect_uris = ["http://127.0.0.1/callback"]
client_id = "desktop"
`
	c, err := Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := RESTAPI{
		Enabled: true, BasePath: "/auth/rest", FlowTTL: dur(5 * time.Minute), MaxAttempts: 5,
		Applications: []RESTApplication{
			{Name: "app", RedirectURIs: []string{"com.example.app:/oauth2redirect"}, ClientID: "mobile", ClientSecret: "app-secret", ClientSecretFile: secretFile},
			{Name: "desktop", RedirectURIs: []string{"http://127.0.0.1/callback"}, ClientID: "desktop"},
		},
	}
	if diff := cmp.Diff(want, c.RESTAPI); diff != "" {
		t.Errorf("RESTAPI (-want +got):\n%s", diff)
	}
	for _, s := range []string{c.String(), c.RESTAPI.String()} {
		if strings.Contains(s, "app-secret") {
			t.Errorf("the application's client secret is printed:\n%s", s)
		}
	}
	if c.RESTAPI.Applications[0].ClientSecret != "app-secret" {
		t.Errorf("String redacted the configuration itself")
	}

	_, err = Parse([]byte(minimalTOML+`
[[rest_api.application]]
name = "app"
client_secret = "x"
client_secret_file = "`+secretFile+`"
redirect_urls = ["com.example.app:/cb"]
`), nil)
	for _, w := range []string{
		`unknown key "rest_api.application.redirect_urls" (did you mean "rest_api.application.redirect_uris"?)`,
		"rest_api.application[0].client_secret: set only one of rest_api.application[0].client_secret and rest_api.application[0].client_secret_file",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Parse error %v, want it to contain %q", err, w)
		}
	}
}
