package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestExplain(t *testing.T) {
	const (
		clientSecret = "client-SECRET-1"
		redisPass    = "redis-SECRET-2"
		urlPass      = "url-SECRET-3"
		appSecret    = "app-SECRET-4"
	)
	cookieFile := filepath.Join(t.TempDir(), "cookie")
	if err := os.WriteFile(cookieFile, []byte(testCookieSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := minimalTOML + `
[session]
cookie_secret_file = "` + cookieFile + `"
[session.redis]
url = "rediss://gh:` + urlPass + `@redis.example.com:6379"
[[rest_api.application]]
name = "app"
client_id = "native"
client_secret = "` + appSecret + `"
`
	kv := map[string]string{
		"GATEHOUSE_SERVER_LISTEN":          ":4180",
		"GATEHOUSE_CLIENT_SECRET":          clientSecret,
		"GATEHOUSE_SESSION_REDIS_PASSWORD": redisPass,
	}
	c, origins, err := parse([]byte(doc), "gatehouse.toml", envList(kv))
	if err != nil {
		t.Fatal(err)
	}
	out := c.Explain(origins)
	for _, s := range []string{clientSecret, redisPass, urlPass, appSecret, testCookieSecret} {
		if strings.Contains(out, s) {
			t.Errorf("Explain prints the secret %q:\n%s", s, out)
		}
	}
	for _, want := range []string{
		`listen = ":4180"`, "# env GATEHOUSE_SERVER_LISTEN",
		`public_url = "https://auth.example.com"`, "# file gatehouse.toml line 3",
		`client_secret = "[redacted]"`, "# env GATEHOUSE_CLIENT_SECRET",
		`cookie_secret = "[redacted]"`, "# secret file " + cookieFile,
		`password = "[redacted]"`, "# env GATEHOUSE_SESSION_REDIS_PASSWORD",
		`lifetime = "12h"`,
		"[[upstream]]  # upstream[0]",
		"[[rest_api.application]]  # rest_api.application[0]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Explain lacks %q:\n%s", want, out)
		}
	}
	lineOf := func(prefix string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		return ""
	}
	if l := lineOf("lifetime = "); !strings.HasSuffix(l, "# default") {
		t.Errorf("lifetime line %q does not say default", l)
	}
	// Every key of the schema is shown (an array of tables without
	// elements says so), and the output is TOML.
	for _, l := range schemaLeaves() {
		key := strings.Join(l.path, ".")
		if i := slices.Index(l.array, true); i >= 0 {
			table := strings.Join(l.path[:i+1], ".")
			if strings.Contains(out, "# [["+table+"]]: none") {
				continue
			}
		}
		name := l.path[len(l.path)-1]
		if !strings.Contains(out, "\n"+name+" = ") && !strings.Contains(out, "# "+name+" is not set") {
			t.Errorf("Explain does not show %s", key)
		}
	}
	var m map[string]any
	if _, err := toml.Decode(out, &m); err != nil {
		t.Errorf("Explain output is not TOML: %v\n%s", err, out)
	}
}

func TestIsSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"provider.client_secret":                    true,
		"provider.client_secret_file":               false,
		"session.redis.password":                    true,
		"rest_api.application[0].client_secret":     true,
		"tracing.headers.Authorization":             true, // a table of headers: every value
		"tracing.api_key":                           true,
		"provider.private_key_file":                 false,
		"server.listen":                             false,
		"session.redis.key_prefix":                  false,
		"upstream[0].upstream_token":                false,
		`upstream[0].required_claims."realm.roles"`: false,
	} {
		if got := isSecretKey(key); got != want {
			t.Errorf("isSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}
