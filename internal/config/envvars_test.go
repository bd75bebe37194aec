package config

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEveryKeyHasAVariable: each key of the schema, found by an independent
// walk of the struct, has exactly one variable, which reads back as that
// key; so does every key config.example.toml writes.
func TestEveryKeyHasAVariable(t *testing.T) {
	keys, freeform := map[string]bool{}, map[string]bool{}
	tomlKeyPaths("", reflect.TypeFor[Config](), keys, freeform)
	names := EnvNames()
	byName := map[string]string{}
	for key := range keys {
		if isTable(key) {
			continue
		}
		name, ok := names[key]
		if !ok {
			t.Errorf("key %q has no variable", key)
			continue
		}
		if other, dup := byName[name]; dup {
			t.Errorf("keys %q and %q share the variable %s", key, other, name)
		}
		byName[name] = key
		// With indexes 0 and 12 for arrays of tables.
		for _, n := range []string{"0", "12"} {
			concrete := strings.ReplaceAll(name, "_N_", "_"+n+"_")
			v, ok := matchEnv(concrete)
			if !ok {
				t.Errorf("%s does not read back as a key", concrete)
				continue
			}
			if got := strings.Join(v.leaf.path, "."); got != key {
				t.Errorf("%s reads back as %q, want %q", concrete, got, key)
			}
		}
	}
	for name := range byName {
		if _, ok := legacyEnv[name]; ok || toolEnv[name] {
			t.Errorf("the variable %s of key %q is also a legacy or tool variable", name, byName[name])
		}
		if concrete := strings.ReplaceAll(name, "_N_", "_0_"); serviceLinkEnv.MatchString(concrete) {
			t.Errorf("the variable %s of key %q looks like a Kubernetes service link", concrete, byName[name])
		}
	}
	if len(byName) != len(names) {
		t.Errorf("EnvNames has %d variables, the struct %d leaf keys", len(names), len(byName))
	}
	for _, a := range exampleAssignments(t) {
		parent := a.path[:max(0, strings.LastIndexByte(a.path, '.'))]
		if a.text == "" || freeform[parent] {
			continue
		}
		if _, ok := names[a.path]; !ok {
			t.Errorf("config.example.toml:%d: key %q has no variable", a.line, a.path)
		}
	}
	for _, want := range []struct{ key, name string }{
		{"server.listen", "GATEHOUSE_SERVER_LISTEN"},
		{"provider.issuer", "GATEHOUSE_PROVIDER_ISSUER"},
		{"upstream.url", "GATEHOUSE_UPSTREAM_N_URL"},
		{"upstream.allowed_groups", "GATEHOUSE_UPSTREAM_N_ALLOWED_GROUPS"},
		{"session.redis.url", "GATEHOUSE_SESSION_REDIS_URL"},
		{"rest_api.application.redirect_uris", "GATEHOUSE_REST_API_APPLICATION_N_REDIRECT_URIS"},
	} {
		if names[want.key] != want.name {
			t.Errorf("variable of %s = %q, want %q", want.key, names[want.key], want.name)
		}
	}
}

// isTable reports whether key is a table (or array of tables) of the schema.
func isTable(key string) bool {
	n := schemaRoot()
	for _, p := range strings.Split(key, ".") {
		if n = n.child(p); n == nil {
			return false
		}
	}
	return n.children != nil
}

func envList(kv map[string]string) Env {
	return Env{Getenv: func(k string) string { return kv[k] }, Names: slices.Sorted(maps.Keys(kv))}
}

func TestEnvironmentOverFile(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := minimalTOML + `
[[upstream]]
url = "http://127.0.0.1:8081"
path_prefix = "/b"
`
	kv := map[string]string{
		"GATEHOUSE_SERVER_LISTEN":                        ":4180",
		"GATEHOUSE_SERVER_LOG_LEVEL":                     `""`, // an empty string, not unset
		"GATEHOUSE_SERVER_ACCESS_LOG":                    "false",
		"GATEHOUSE_SERVER_GC_MIN_HEAP_MIB":               "32",
		"GATEHOUSE_SERVER_IDLE_TIMEOUT":                  "5m",
		"GATEHOUSE_SERVER_TRUSTED_PROXIES":               "10.0.0.0/8, 192.0.2.7",
		"GATEHOUSE_PROVIDER_SCOPES":                      `["openid", "email"]`,
		"GATEHOUSE_PROVIDER_EXTRA_AUTH_PARAMS":           `{ prompt = "login" }`,
		"GATEHOUSE_PROVIDER_CLIENT_ID":                   "12345", // a string key keeps its text
		"GATEHOUSE_PROVIDER_DISCOVERY":                   "true",
		"GATEHOUSE_PROVIDER_CLIENT_SECRET_FILE":          secretFile,
		"GATEHOUSE_SESSION_COOKIE_SECRET":                testCookieSecret,
		"GATEHOUSE_SESSION_REDIS_KEY_PREFIX":             `"quoted:"`,
		"GATEHOUSE_UPSTREAM_1_URL":                       "http://127.0.0.1:9999",
		"GATEHOUSE_UPSTREAM_2_URL":                       "http://127.0.0.1:8082",
		"GATEHOUSE_UPSTREAM_2_PATH_PREFIX":               "/c",
		"GATEHOUSE_UPSTREAM_2_ALLOWED_GROUPS":            "admins",
		"GATEHOUSE_UPSTREAM_2_REQUIRED_CLAIMS":           `{ "realm_access.roles" = ["a", "b"] }`,
		"GATEHOUSE_AUTHORIZATION_ALLOWED_EMAILS":         "[]",
		"GATEHOUSE_REST_API_APPLICATION_0_NAME":          "app",
		"GATEHOUSE_REST_API_APPLICATION_0_REDIRECT_URIS": "com.example.app:/cb",
		"GATEHOUSE_CHAOS":                                "full", // the test tools' own
		"GATEHOUSE_CLIENT_SECRET":                        "ignored: the *_file key wins",
	}
	c, origins, err := parse([]byte(doc), "gatehouse.toml", envList(kv))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if s.Listen != ":4180" || s.LogLevel != "" || s.AccessLog || s.GCMinHeapMiB != 32 || s.IdleTimeout.Duration != 5*time.Minute {
		t.Errorf("server = %+v", s)
	}
	if diff := cmp.Diff([]string{"10.0.0.0/8", "192.0.2.7"}, s.TrustedProxies); diff != "" {
		t.Errorf("trusted_proxies (-want +got):\n%s", diff)
	}
	p := c.Provider
	if diff := cmp.Diff([]string{"openid", "email"}, p.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if p.ExtraAuthParams["prompt"] != "login" || p.ClientID != "12345" || p.Discovery == nil || !*p.Discovery {
		t.Errorf("provider = %+v", p)
	}
	if p.ClientSecret != "from-file" || c.Session.CookieSecret != testCookieSecret || c.Session.Redis.KeyPrefix != "quoted:" {
		t.Errorf("secrets/prefix: %q %q %q", p.ClientSecret, c.Session.CookieSecret, c.Session.Redis.KeyPrefix)
	}
	if len(c.Upstreams) != 3 {
		t.Fatalf("%d upstreams, want 3", len(c.Upstreams))
	}
	u := c.Upstreams
	if u[0].URL != "http://127.0.0.1:8080" || u[1].URL != "http://127.0.0.1:9999" || u[1].PathPrefix != "/b" ||
		u[2].URL != "http://127.0.0.1:8082" || u[2].PathPrefix != "/c" || u[2].Auth != "session" {
		t.Errorf("upstreams = %+v", u)
	}
	if diff := cmp.Diff(ClaimValues{"a", "b"}, u[2].RequiredClaims["realm_access.roles"]); diff != "" || !slices.Equal(u[2].AllowedGroups, []string{"admins"}) {
		t.Errorf("upstream[2] rules: %v %v", u[2].RequiredClaims, u[2].AllowedGroups)
	}
	if c.Authorization.AllowedEmails == nil || len(c.Authorization.AllowedEmails) != 0 {
		t.Errorf("allowed_emails = %#v, want []", c.Authorization.AllowedEmails)
	}
	if a := c.RESTAPI.Applications; len(a) != 1 || a[0].Name != "app" || !slices.Equal(a[0].RedirectURIs, []string{"com.example.app:/cb"}) {
		t.Errorf("applications = %+v", a)
	}
	for key, want := range map[string]string{
		"server.listen":           "env GATEHOUSE_SERVER_LISTEN",
		"server.public_url":       "file gatehouse.toml line 3",
		"upstream[1].url":         "env GATEHOUSE_UPSTREAM_1_URL",
		"upstream[1].path_prefix": "file gatehouse.toml line 14",
		"provider.client_secret":  "secret file " + secretFile,
		"session.lifetime":        "default",
	} {
		if got := origins.Of(key).String(); got != want {
			t.Errorf("origin of %s = %q, want %q", key, got, want)
		}
	}
}

func TestEnvironmentOnly(t *testing.T) {
	kv := map[string]string{
		"GATEHOUSE_SERVER_PUBLIC_URL":  "https://auth.example.com",
		"GATEHOUSE_PROVIDER_ISSUER":    "https://idp.example.com",
		"GATEHOUSE_PROVIDER_CLIENT_ID": "gatehouse",
		"GATEHOUSE_CLIENT_SECRET":      "s3cret",
		"GATEHOUSE_COOKIE_SECRET":      testCookieSecret,
		"GATEHOUSE_UPSTREAM_0_URL":     "http://127.0.0.1:8080",
	}
	missing := filepath.Join(t.TempDir(), "gatehouse.toml")
	c, _, err := Read(Source{Path: missing, Optional: true, Env: envList(kv)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// Without the environment a missing file is still an error, as is a
	// missing file named on purpose.
	if _, _, err := Read(Source{Path: missing, Optional: true}); err == nil {
		t.Error("a missing file with an empty environment was accepted")
	}
	if _, _, err := Read(Source{Path: missing, Env: envList(kv)}); err == nil {
		t.Error("a missing file that is not optional was accepted")
	}
	// Getenv alone (no list of names) still finds every key's variable,
	// for every element any of whose keys is set.
	kv["GATEHOUSE_UPSTREAM_1_AUTH"] = "public"
	kv["GATEHOUSE_UPSTREAM_2_PATH_PREFIX"] = "/two"
	c, err = Parse(nil, envList(kv).Getenv)
	if err != nil || len(c.Upstreams) != 3 || c.Upstreams[0].URL != "http://127.0.0.1:8080" ||
		c.Upstreams[1].Auth != "public" || c.Upstreams[2].PathPrefix != "/two" {
		t.Errorf("Parse with getenv only: %v, %+v", err, c)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	kv := map[string]string{
		"GATEHOUSE_SERVER_ACCESS_LOG":        "yes",
		"GATEHOUSE_SERVER_GC_MIN_HEAP_MIB":   "lots",
		"GATEHOUSE_SESSION_LIFETIME":         "12 hours",
		"GATEHOUSE_UPSTREAM_3_URL":           "http://127.0.0.1:8083",
		"GATEHOUSE_SERVER_LISTN":             ":4180",
		"GATEHOUSE_UPSTREAM_0_ALLOWED_GROUP": "admins",
		"GATEHOUSE_EMAIL_DOMAINS":            "example.com",
		"GATEHOUSE_NOTHING_LIKE_IT_AT_ALL":   "1",
		// Kubernetes service links of Services "gatehouse" and
		// "gatehouse-metrics": no error.
		"GATEHOUSE_SERVICE_HOST":               "10.0.0.11",
		"GATEHOUSE_SERVICE_PORT":               "4180",
		"GATEHOUSE_SERVICE_PORT_HTTP":          "4180",
		"GATEHOUSE_PORT":                       "tcp://10.0.0.11:4180",
		"GATEHOUSE_PORT_4180_TCP":              "tcp://10.0.0.11:4180",
		"GATEHOUSE_PORT_4180_TCP_PROTO":        "tcp",
		"GATEHOUSE_PORT_4180_TCP_PORT":         "4180",
		"GATEHOUSE_PORT_4180_TCP_ADDR":         "10.0.0.11",
		"GATEHOUSE_METRICS_SERVICE_HOST":       "10.0.0.12",
		"GATEHOUSE_METRICS_PORT_9090_TCP_ADDR": "10.0.0.12",
	}
	_, err := Parse(nil, nil) // no error without variables
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = parse([]byte(minimalTOML), "", envList(kv))
	want := []string{
		"GATEHOUSE_EMAIL_DOMAINS: no configuration key has this variable; did you mean GATEHOUSE_AUTHORIZATION_ALLOWED_EMAIL_DOMAINS?",
		"GATEHOUSE_NOTHING_LIKE_IT_AT_ALL: no configuration key has this variable",
		"GATEHOUSE_SERVER_LISTN: no configuration key has this variable; did you mean GATEHOUSE_SERVER_LISTEN?",
		"GATEHOUSE_UPSTREAM_0_ALLOWED_GROUP: no configuration key has this variable; did you mean GATEHOUSE_UPSTREAM_0_ALLOWED_GROUPS?",
		"GATEHOUSE_UPSTREAM_3_URL: there is no upstream[1]: number the elements from 0, without gaps (the file has 1)",
		`server.access_log (GATEHOUSE_SERVER_ACCESS_LOG): expected true or false, got a string "yes"`,
		`server.gc_min_heap_mib (GATEHOUSE_SERVER_GC_MIN_HEAP_MIB): expected a whole number, got a string "lots"`,
		`session.lifetime (GATEHOUSE_SESSION_LIFETIME): "12 hours" is not a duration (use e.g. "90s", "5m" or "12h")`,
	}
	if diff := cmp.Diff(want, errLines(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestParseReportsEveryProblem: type and duration errors do not hide each
// other, nor the unknown keys; each names its key and line in plain words.
func TestParseReportsEveryProblem(t *testing.T) {
	doc := `[server]
listen = 4180
idle_timeout = "5 minutes"
access_log = "true"
trusted_proxies = "10.0.0.0/8"
gc_min_heap_mib = 2.5
email_domains = ["example.com"]

[provider]
issuer = "https://idp.example.com"
timeout = 30
scopes = ["openid", 3]

[limits]
flows_per_browser = 32.0

[[upstream]]
url = "http://127.0.0.1:8080"
skip_auth_regex = ["^/public"]

[[upstream]]
url = 8081
`
	c, _, err := parse([]byte(doc), "", Env{})
	want := []string{
		`unknown key "server.email_domains" (oauth2-proxy's email_domains is "authorization.allowed_email_domains" here: or per [[upstream]])`,
		`unknown key "upstream.skip_auth_regex" (oauth2-proxy's skip_auth_regex is "authorization.skip_auth" here: paths such as "/public/*", not regular expressions; or per [[upstream]])`,
		`server.listen (line 2): expected a string, got an integer (put it in quotes)`,
		`server.trusted_proxies (line 5): expected an array, got a string (write ["10.0.0.0/8"], even for one entry)`,
		`server.idle_timeout (line 3): "5 minutes" is not a duration (use e.g. "90s", "5m" or "12h")`,
		`server.access_log (line 4): expected true or false, got a string (write true, without quotes)`,
		`server.gc_min_heap_mib (line 6): expected a whole number, got 2.5`,
		`provider.scopes[1] (line 12): expected a string, got an integer (put it in quotes)`,
		`provider.timeout (line 11): 30 has no unit (write a string with a unit, e.g. "30s" for seconds)`,
		`upstream[1].url (line 22): expected a string, got an integer (put it in quotes)`,
	}
	if diff := cmp.Diff(want, errLines(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	// The rest decodes: a whole number written 32.0 (as Helm renders
	// them) is 32.
	if c == nil || c.Limits.FlowsPerBrowser != 32 || c.Provider.Issuer != "https://idp.example.com" {
		t.Errorf("decoded config = %+v", c)
	}
}

func TestUnknownKeysKnowOAuth2ProxyNames(t *testing.T) {
	for name, want := range map[string]string{
		"email_domains":     `"authorization.allowed_email_domains"`,
		"skip_auth_regex":   `"authorization.skip_auth"`,
		"upstreams":         `"url" in [[upstream]]`,
		"cookie_secret":     `"session.cookie_secret"`,
		"client_id":         `"provider.client_id"`,
		"oidc_issuer_url":   `"provider.issuer"`,
		"redirect_url":      `"server.public_url"`,
		"http_address":      `"server.listen"`,
		"pass_access_token": `"pass_access_token" in [[upstream]]`,
		"set_xauthrequest":  "always in /oauth2/auth answers",
	} {
		_, err := Parse([]byte(name+" = \"x\"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "oauth2-proxy's "+name) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want a hint naming %s", name, err, want)
		}
	}
	for name, a := range proxyAliases {
		if a.key != "" && !configSchema().keys[a.key] {
			t.Errorf("proxyAliases[%q] names %q, which is not a key", name, a.key)
		}
		if a.key == "" && a.note == "" {
			t.Errorf("proxyAliases[%q] says nothing", name)
		}
	}
}

// TestEveryKeyRefusesAWrongTypeInPlainWords: a table where any key's value
// belongs is reported with that key's path, in words without Go or
// library jargon; so for any key added later.
func TestEveryKeyRefusesAWrongTypeInPlainWords(t *testing.T) {
	jargon := regexp.MustCompile(`slice|int64|float64|interface|map\[|\[\]|destination|incompatible|reflect|config\.|toml:`)
	for _, l := range schemaLeaves() {
		header, table := "", ""
		var key []string
		for i, p := range l.path[:len(l.path)-1] {
			table = strings.TrimPrefix(table+"."+p, ".")
			key = append(key, p)
			if l.array[i] {
				header = "[[" + table + "]]"
				key[len(key)-1] += "[0]"
			} else {
				header = "[" + table + "]"
			}
		}
		name := l.path[len(l.path)-1]
		want := strings.Join(append(key, name), ".")
		doc := header + "\n" + name + " = { x = { y = 1 } }\n"
		_, err := Parse([]byte(doc), nil)
		if err == nil {
			t.Errorf("%s: a table was accepted", want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, want) {
			t.Errorf("%s: error %q does not start with the key", want, msg)
		}
		if m := jargon.FindString(msg); m != "" {
			t.Errorf("%s: error %q has jargon %q", want, msg, m)
		}
	}
}

// TestEnvironmentSecretRotation: a cookie secret variable holds one key or
// several, as a TOML array or comma-separated.
func TestEnvironmentSecretRotation(t *testing.T) {
	const old = "b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9sZC0="
	for _, v := range []string{`["` + testCookieSecret + `", "` + old + `"]`, testCookieSecret + "," + old} {
		c, err := Parse(nil, envList(map[string]string{"GATEHOUSE_SESSION_COOKIE_SECRET": v}).Getenv)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Session.CookieSecret.List(); !slices.Equal(got, []string{testCookieSecret, old}) {
			t.Errorf("%s: secrets %d, want 2 in order", "GATEHOUSE_SESSION_COOKIE_SECRET", len(got))
		}
	}
}

// TestEnvironmentDPoPBoolean: provider.dpop takes true and false in the
// environment as in the file (GATEHOUSE_PROVIDER_DPOP=true was refused as
// the string "true").
func TestEnvironmentDPoPBoolean(t *testing.T) {
	for text, want := range map[string]DPoPSetting{"true": "on", "false": "off", "on": "on", "auto": "auto", `"off"`: "off"} {
		c, err := Parse([]byte(minimalTOML), envList(map[string]string{"GATEHOUSE_PROVIDER_DPOP": text}).Getenv)
		if err != nil {
			t.Errorf("GATEHOUSE_PROVIDER_DPOP=%s: %v", text, err)
			continue
		}
		if c.Provider.DPoP != want {
			t.Errorf("GATEHOUSE_PROVIDER_DPOP=%s: provider.dpop %q, want %q", text, c.Provider.DPoP, want)
		}
	}
}
