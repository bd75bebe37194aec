package convert

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testEnv is the environment Gatehouse runs the converted files with: the
// secrets the report tells the operator to set.
var testEnv = map[string]string{
	config.EnvClientSecret:  "s3cret",
	config.EnvCookieSecret:  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", // 32 bytes
	config.EnvRedisPassword: "redis-pw",
}

// secretFile is a client secret file the converted configurations can read
// (the loader reads *_file keys).
const secretFile = "testdata/secrets/client-secret"

// conversion is one realistic oauth2-proxy set-up, written from
// oauth2-proxy's documented options.
type conversion struct {
	name  string
	cfg   string            // the legacy config file, passed as --config oauth2-proxy.cfg
	alpha string            // the alpha config, passed as --alpha-config alpha.yaml
	args  []string          // more flags
	env   map[string]string // OAUTH2_PROXY_* variables
	files map[string]string // other files the options name
	// trusted is the converter's --trusted-proxies.
	trusted []string
	// blocking: the conversion must report a blocking finding for each of
	// these options (and only for these).
	blocking []string
	// invalid: the problems check-config must report, by key (none: the
	// file must load, validate and compile).
	invalid []string
}

var conversions = []conversion{{
	name: "keycloak-reverse-proxy",
	cfg: `
http_address = "0.0.0.0:4180"
reverse_proxy = true
redirect_url = "https://app.example.com/oauth2/callback"
provider = "keycloak-oidc"
oidc_issuer_url = "https://keycloak.example.com/realms/main"
client_id = "app"
client_secret_file = "` + secretFile + `"
cookie_secret = "0123456789abcdef0123456789abcdef"
cookie_expire = "168h"
cookie_refresh = "1h"
session_store_type = "redis"
redis_connection_url = "rediss://redis.example.com:6379/0"
email_domains = ["example.com"]
whitelist_domains = [".example.com"]
upstreams = ["http://127.0.0.1:8080/"]
skip_auth_routes = ["GET=^/static/", "^/favicon.ico$", "^/health/?$"]
skip_auth_preflight = true
pass_access_token = true
allowed_roles = ["gatehouse-users"]
`,
	trusted: []string{"10.0.0.0/8"},
}, {
	// The ingress-nginx set-up of oauth2-proxy's documentation: the auth-url
	// annotation points at /oauth2/auth, the upstream is a placeholder, and
	// the Helm chart passes flags and environment variables.
	name: "ingress-nginx-forward-auth",
	args: []string{
		"--provider=oidc", "--oidc-issuer-url=https://login.example.com",
		"--http-address=0.0.0.0:4180", "--reverse-proxy=true", "--set-xauthrequest=true",
		"--email-domain=*", "--upstream=file:///dev/null", "--cookie-domain=.example.com",
		"--whitelist-domain=.example.com", "--redirect-url=https://auth.example.com/oauth2/callback",
		"--skip-provider-button", "--cookie-samesite=lax", "--silence-ping-logging",
	},
	env: map[string]string{
		"OAUTH2_PROXY_CLIENT_ID":     "ingress",
		"OAUTH2_PROXY_CLIENT_SECRET": "from-the-chart",
		"OAUTH2_PROXY_COOKIE_SECRET": "0123456789abcdef0123456789abcdef",
	},
	invalid: nil,
}, {
	name: "entra-id-groups",
	cfg: `
provider = "entra-id"
oidc_issuer_url = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
client_id = "b7bb5a1d-0000-4d1c-9b9a-5b5c2c8e1a11"
redirect_url = "https://grafana.example.com/oauth2/callback"
scope = "openid email profile"
email_domains = ["*"]
allowed_groups = ["7f2a1c9e-4b7d-4e7e-9a61-3f1c2b9d8e01"]
oidc_email_claim = "preferred_username"
insecure_oidc_allow_unverified_email = true
upstreams = ["http://grafana.monitoring.svc:3000/"]
pass_authorization_header = true
set_xauthrequest = true
`,
}, {
	name: "azure-common-tenant",
	cfg: `
provider = "azure"
client_id = "b7bb5a1d-0000-4d1c-9b9a-5b5c2c8e1a11"
redirect_url = "https://app.example.com/oauth2/callback"
email_domains = ["example.com"]
upstreams = ["http://app:8080"]
`,
	blocking: []string{"provider"},
	invalid:  []string{"provider.issuer"},
}, {
	name: "google-groups",
	env: map[string]string{
		"OAUTH2_PROXY_PROVIDER":                    "google",
		"OAUTH2_PROXY_CLIENT_ID":                   "123-abc.apps.googleusercontent.com",
		"OAUTH2_PROXY_CLIENT_SECRET":               "x",
		"OAUTH2_PROXY_REDIRECT_URL":                "https://app.example.com/oauth2/callback",
		"OAUTH2_PROXY_EMAIL_DOMAINS":               "example.com,example.org",
		"OAUTH2_PROXY_GOOGLE_GROUPS":               "admins@example.com",
		"OAUTH2_PROXY_GOOGLE_ADMIN_EMAIL":          "admin@example.com",
		"OAUTH2_PROXY_GOOGLE_SERVICE_ACCOUNT_JSON": "/etc/google/sa.json",
		"OAUTH2_PROXY_UPSTREAMS":                   "http://app:8080/",
	},
	blocking: []string{"google_groups"},
}, {
	name: "github-org",
	args: []string{
		"--provider=github", "--github-org=acme", "--github-team=platform", "--github-user=alice",
		"--github-user=bob", "--email-domain=*", "--redirect-url=https://ci.example.com/oauth2/callback",
		"--client-id=Ov23liABCDEFGHIJKLMN", "--upstream=http://jenkins:8080/",
	},
	blocking: []string{"github_org", "github_team"},
}, {
	name: "alpha-config-keycloak",
	alpha: `
server:
  BindAddress: 0.0.0.0:4180
metricsServer:
  BindAddress: 0.0.0.0:9100
upstreamConfig:
  upstreams:
    - id: app
      path: /
      uri: http://app.default.svc:8080
      passHostHeader: false
    - id: api
      path: /api/
      uri: http://api.default.svc:9000
      timeout: 15s
    - id: up
      path: /up
      static: true
      staticCode: 204
injectRequestHeaders:
  - name: X-Forwarded-Groups
    values:
      - claim: groups
  - name: X-Forwarded-User
    values:
      - claim: user
  - name: X-Forwarded-Email
    values:
      - claim: email
  - name: X-Forwarded-Access-Token
    values:
      - claim: access_token
  - name: X-Tenant
    values:
      - claim: tenant
injectResponseHeaders:
  - name: X-Auth-Request-User
    values:
      - claim: user
providers:
  - id: keycloak
    provider: keycloak-oidc
    clientID: app
    clientSecretFile: ` + secretFile + `
    scope: openid email profile groups
    allowedGroups: [/admins]
    oidcConfig:
      issuerURL: https://keycloak.example.com/realms/main
      emailClaim: email
      groupsClaim: groups
      audienceClaims: [aud]
    loginURLParameters:
      - name: kc_idp_hint
        default: [corporate-saml]
`,
	args: []string{"--redirect-url=https://app.example.com/oauth2/callback", "--email-domain=example.com",
		"--session-store-type=redis", "--redis-connection-url=redis://:hunter2@redis:6379/1"},
}, {
	// The Kubernetes Dashboard behind oauth2-proxy: the ID token as
	// Authorization: Bearer, the in-cluster https service with its
	// self-signed certificate, Dex behind a private CA (two files), and a
	// directory of documentation (/tmp: check-config wants the directory to
	// exist).
	name: "kubernetes-dashboard",
	cfg: `
provider = "oidc"
oidc_issuer_url = "https://dex.example.com"
client_id = "kubernetes"
client_secret_file = "` + secretFile + `"
redirect_url = "https://dashboard.example.com/oauth2/callback"
email_domains = ["example.com"]
provider_ca_files = ["/etc/ssl/dex/root-ca.pem", "/etc/ssl/dex/intermediate-ca.pem"]
upstreams = ["https://kubernetes-dashboard.kubernetes-dashboard.svc/", "file:///tmp#/docs/"]
ssl_upstream_insecure_skip_verify = true
pass_authorization_header = true
set_authorization_header = true
`,
}, {
	name: "redis-sentinel-env",
	cfg: `
provider = "oidc"
oidc_issuer_url = "https://dex.example.com"
client_id = "app"
redirect_url = "https://app.example.com/oauth2/callback"
email_domains = ["example.com"]
upstreams = ["http://app:8080"]
`,
	env: map[string]string{
		"OAUTH2_PROXY_SESSION_STORE_TYPE":             "redis",
		"OAUTH2_PROXY_REDIS_USE_SENTINEL":             "true",
		"OAUTH2_PROXY_REDIS_SENTINEL_MASTER_NAME":     "mymaster",
		"OAUTH2_PROXY_REDIS_SENTINEL_CONNECTION_URLS": "redis://sentinel-0:26379,redis://sentinel-1:26379",
		"OAUTH2_PROXY_REDIS_PASSWORD":                 "hunter2",
		// The environment overrides the file, as in oauth2-proxy.
		"OAUTH2_PROXY_EMAIL_DOMAINS": "example.org",
	},
}, {
	name: "bearer-extra-issuers",
	cfg: `
provider = "oidc"
oidc_issuer_url = "https://as.example.com"
client_id = "web"
redirect_url = "https://api.example.com/oauth2/callback"
email_domains = ["*"]
upstreams = ["http://api:8080/"]
skip_jwt_bearer_tokens = true
oidc_extra_audiences = ["https://api.example.com"]
extra_jwt_issuers = ["https://other-as.example.com=api"]
`,
	blocking: []string{"extra_jwt_issuers"},
}, {
	name: "insecure-and-wrong",
	cfg: `
provider = "oidc"
oidc_issuer_url = "https://as.internal"
client_id = "app"
redirect_url = "https://app.example.com/auth/callback"
email_domains = ["*", "example.com"]
ssl_insecure_skip_verify = true
ssl_upstream_insecure_skip_verify = true
skip_auth_regex = ["/public", "^/api/.*/docs$", "^/assets/"]
upstreams = ["https://app:8443/", "static://202", "unix:///run/app.sock"]
emial_domains = ["typo.example.com"]
`,
	blocking: []string{"email_domains", "ssl_insecure_skip_verify", "skip_auth_regex", "emial_domains"},
}, {
	name: "emails-file-and-paths",
	args: []string{
		"--provider=oidc", "--oidc-issuer-url=https://auth.example.com/application/o/app/",
		"--client-id=app", "--client-secret-file=" + secretFile,
		"--redirect-url=https://portal.example.com/oauth2/callback",
		"--authenticated-emails-file=/etc/oauth2-proxy/emails.txt",
		"--upstream=http://portal:8080/", "--upstream=http://reports:8080/reports/",
		"--upstream-timeout=45s", "--prefer-email-to-user", "--cookie-name=__Host-portal",
		"--skip-auth-preflight", "--metrics-address=0.0.0.0:9100", "--scope=openid email",
	},
	files: map[string]string{"/etc/oauth2-proxy/emails.txt": "# staff\nalice@example.com\nBob@Example.com,Bob\n"},
}, {
	name: "no-email-rule",
	args: []string{"--provider=oidc", "--oidc-issuer-url=https://as.example.com", "--client-id=app",
		"--redirect-url=https://app.example.com/oauth2/callback", "--upstream=http://app:8080", "--allowed-group=staff"},
	blocking: []string{"email_domains"},
}}

// TestConversions converts each set-up, compares the file and the report
// with the golden files in testdata, and loads the file as check-config
// does, with the secrets the report names in the environment.
func TestConversions(t *testing.T) {
	for _, tc := range conversions {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc)
			golden(t, tc.name+".toml", res.TOML)
			golden(t, tc.name+".report", []byte(res.Report()))

			var blocking []string
			for _, f := range res.Findings {
				if f.Status == Blocking {
					blocking = append(blocking, f.Option)
				}
			}
			slices.Sort(blocking)
			want := slices.Sorted(slices.Values(tc.blocking))
			if !slices.Equal(blocking, want) {
				t.Errorf("blocking findings %q, want %q\n%s", blocking, want, res.Report())
			}
			if res.Blocking() != (len(want) > 0) {
				t.Errorf("Blocking() = %v", res.Blocking())
			}

			problems := checkConfig(t, res.TOML)
			if !slices.Equal(problems, tc.invalid) {
				t.Errorf("check-config problems %q, want %q\n%s", problems, tc.invalid, res.TOML)
			}
			for _, s := range []string{"s3cret", "from-the-chart", "hunter2", "0123456789abcdef0123456789abcdef"} {
				if strings.Contains(string(res.TOML), s) || strings.Contains(res.Report(), s) {
					t.Errorf("a secret (%s) was written", s)
				}
			}
		})
	}
}

// run converts a conversion's input.
func run(t *testing.T, tc conversion) *Result {
	t.Helper()
	files := map[string]string{}
	for k, v := range tc.files {
		files[k] = v
	}
	args := []string{}
	if tc.cfg != "" {
		files["oauth2-proxy.cfg"] = tc.cfg
		args = append(args, "--config", "oauth2-proxy.cfg")
	}
	if tc.alpha != "" {
		files["alpha.yaml"] = tc.alpha
		args = append(args, "--alpha-config=alpha.yaml")
	}
	args = append(args, tc.args...)
	var env []string
	for _, k := range sortedKeys(tc.env) {
		env = append(env, k+"="+tc.env[k])
	}
	env = append(env, "PATH=/usr/bin", "OAUTH2_PROXY=not-an-option")
	res, err := Convert(Input{Args: args, Env: env, TrustedProxies: tc.trusted, ReadFile: func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return res
}

// checkConfig loads, validates and compiles the file as `gatehouse
// check-config` does, and returns the keys of the problems.
func checkConfig(t *testing.T, toml []byte) []string {
	t.Helper()
	cfg, err := config.Parse(toml, func(k string) string { return testEnv[k] })
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, toml)
	}
	err = cfg.Validate()
	if err == nil {
		_, err = config.Compile(cfg)
	}
	return problemKeys(err)
}

// problemKeys returns the key of each problem ("server.public_url: ...").
func problemKeys(err error) []string {
	if err == nil {
		return nil
	}
	var keys []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		k, _, _ := strings.Cut(e.Error(), ":")
		keys = append(keys, k)
	}
	walk(err)
	slices.Sort(keys)
	return keys
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestNoInput: nothing to convert is an error, not an empty file.
func TestNoInput(t *testing.T) {
	if _, err := Convert(Input{Env: []string{"HOME=/root"}}); !errors.Is(err, ErrNoInput) {
		t.Errorf("Convert with no option: %v, want ErrNoInput", err)
	}
	if _, err := Convert(Input{Args: []string{"--config=missing.cfg"}}); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Convert with a missing config file: %v", err)
	}
	if _, err := Convert(Input{Args: []string{"oidc"}}); err == nil || !strings.Contains(err.Error(), "unexpected argument") {
		t.Errorf("Convert with a positional argument: %v", err)
	}
}
