package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(minimalTOML), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Server: Server{
			Listen:                 "127.0.0.1:4180",
			PublicURL:              "https://auth.example.com",
			LogFormat:              "text",
			LogLevel:               "info",
			ShutdownTimeout:        dur(15 * time.Second),
			ReadHeaderTimeout:      dur(10 * time.Second),
			IdleTimeout:            dur(120 * time.Second),
			BodyReadTimeout:        dur(10 * time.Second),
			AccessLog:              true,
			AccessLogFlushInterval: dur(100 * time.Millisecond),
			GCMinHeapMiB:           16,
			HealthAliases:          true,
		},
		Provider: Provider{
			Issuer:            "https://idp.example.com/realms/main",
			ClientID:          "gatehouse",
			Scopes:            []string{"openid", "email", "profile", "offline_access"},
			Timeout:           dur(10 * time.Second),
			ResponseType:      "code",
			EndSessionBinding: "post",
		},
		Session: Session{
			Store:         "memory",
			CookieName:    "gatehouse",
			Lifetime:      dur(12 * time.Hour),
			RefreshBefore: dur(60 * time.Second),
			CacheMaxAge:   dur(5 * time.Second),
			Redis:         Redis{KeyPrefix: "gatehouse:"},
		},
		Headers: Headers{User: "sub", Email: "email", PreferredUsername: "preferred_username", Groups: "groups"},
		Upstreams: []Upstream{{
			PathPrefix: "/",
			URL:        "http://127.0.0.1:8080",
			Auth:       "session",
		}},
		RESTAPI: RESTAPI{BasePath: "/auth/rest", FlowTTL: dur(10 * time.Minute), MaxAttempts: 5},
		Bearer: Bearer{IntrospectionCacheSize: 10000, IntrospectionCacheTTL: dur(time.Minute),
			IntrospectionNegativeCacheSize: 10000, IntrospectionNegativeCacheTTL: dur(10 * time.Second)},
		Limits:  Limits{FlowsPerBrowser: 20, FlowsPerClient: 1000, JWKSRefetchInterval: dur(time.Minute)},
		Tracing: Tracing{Exporter: TracingOTLPHTTP, SamplerRatio: 1, ServiceName: "gatehouse"},
		UI:      UI{ProductName: "Gatehouse", PrimaryColor: "#2f6fde", BackgroundColor: "#f4f5f7"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Parse(minimal) (-want +got):\n%s", diff)
	}
}

func TestParseExplicitValueOverridesDefault(t *testing.T) {
	// A key written with a zero value is kept, and then validated as written,
	// rather than silently replaced by its default.
	c, err := Parse([]byte(`
[server]
shutdown_timeout = "0s"
log_level = ""
[provider]
scopes = ["openid"]
[session]
idle_timeout = "15m"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.ShutdownTimeout.Duration != 0 || c.Server.LogLevel != "" {
		t.Errorf("explicit zero values replaced by defaults: %+v", c.Server)
	}
	if diff := cmp.Diff([]string{"openid"}, c.Provider.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if c.Session.IdleTimeout.Duration != 15*time.Minute {
		t.Errorf("idle_timeout = %v", c.Session.IdleTimeout)
	}
	// Parsing twice must not share the default scopes' backing array.
	c2, err := Parse(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Provider.Scopes) != 4 {
		t.Errorf("default scopes changed by an earlier Parse: %v", c2.Provider.Scopes)
	}
}

func TestParseUnknownKeys(t *testing.T) {
	doc := `
[server]
listen = "127.0.0.1:4180"
Listen = "0.0.0.0:4180"
publicurl = "https://auth.example.com"

[sesion]
store = "memory"
cookie_name = "x"

[session.redis]
urll = "redis://r:6379"

[provider.extra_auth_params]
prompt = "login"

[headers.x]
y = 1

[[upstream]]
url = "http://127.0.0.1:8080"
pass_acces_token = true

[[upstream]]
url = "http://127.0.0.1:8081"
path_prefix = "/b"
timeuot = "5s"

[metrics]
`
	_, err := Parse([]byte(doc), nil)
	if err == nil {
		t.Fatal("Parse succeeded; want unknown-key errors")
	}
	want := []string{
		`unknown key "server.Listen" (did you mean "server.listen"?)`,
		`unknown key "server.publicurl" (did you mean "server.public_url"?)`,
		`unknown key "sesion" (did you mean "session"?)`,
		`unknown key "session.redis.urll" (did you mean "session.redis.url"?)`,
		`unknown key "headers.x"`,
		`unknown key "upstream.pass_acces_token" (did you mean "upstream.pass_access_token"?)`,
		`unknown key "upstream.timeuot" (did you mean "upstream.timeout"?)`,
		`unknown key "metrics"`,
	}
	if diff := cmp.Diff(want, errLines(err)); diff != "" {
		t.Errorf("Parse errors (-want +got):\n%s", diff)
	}
}

func TestParseSyntaxAndTypeErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // substrings of the error
	}{
		{"syntax", "[server]\nlisten = \"127.0.0.1:4180\"\nlog_level = = \"info\"\n", []string{"line 3"}},
		{"type", "[server]\n\nlisten = 4180\n", []string{"server.listen (line 3): expected a string, got an integer"}},
		{"bad duration names key", "[session]\nlifetime = \"12 hours\"\n",
			[]string{`session.lifetime (line 2): "12 hours" is not a duration (use e.g. "90s", "5m" or "12h")`}},
		{"duration without unit", "[provider]\ntimeout = 10\n",
			[]string{`provider.timeout (line 2): 10 has no unit`}},
		{"single brackets for upstream", "[upstream]\nurl = \"http://a\"\n",
			[]string{"write [[upstream]], with double brackets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), nil)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Callers can print the offending line with toml.ParseError.
	_, err := Parse([]byte("[server\n"), nil)
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		t.Errorf("syntax error %T is not a toml.ParseError", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.toml")
	if err := os.WriteFile(path, []byte("[server]\nbogus = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `unknown key "server.bogus"`) {
		t.Errorf("Load error = %v; want the path and the unknown key", err)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want os.ErrNotExist", err)
	}
}

func TestSecretsFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clientFile := write("client", "  client-from-file\n")
	cookieFile := write("cookie", testCookieSecret+"\n")
	redisFile := write("redis", "redis-from-file\r\n")
	emptyFile := write("empty", " \n")
	allEnv := env(map[string]string{
		EnvClientSecret:  "client-from-env",
		EnvCookieSecret:  "cookie-from-env",
		EnvRedisPassword: "redis-from-env",
	})

	type secrets struct{ Client, Cookie, Redis string }
	tests := []struct {
		name    string
		doc     string
		getenv  func(string) string
		want    secrets
		wantErr []string
	}{
		{
			name:   "from the file's keys, ahead of the environment",
			doc:    "[provider]\nclient_secret = \"c\"\n[session]\ncookie_secret = \"k\"\n[session.redis]\npassword = \"r\"\n",
			getenv: allEnv,
			want:   secrets{"c", "k", "r"},
		},
		{
			name: "from *_file, trimmed, ahead of the environment",
			doc: "[provider]\nclient_secret_file = " + quote(clientFile) +
				"\n[session]\ncookie_secret_file = " + quote(cookieFile) +
				"\n[session.redis]\npassword_file = " + quote(redisFile) + "\n",
			getenv: allEnv,
			want:   secrets{"client-from-file", testCookieSecret, "redis-from-file"},
		},
		{
			name:   "from the environment",
			getenv: allEnv,
			want:   secrets{"client-from-env", "cookie-from-env", "redis-from-env"},
		},
		{
			name:   "nil getenv is an empty environment",
			getenv: nil,
			want:   secrets{},
		},
		{
			name: "value and file both set",
			doc: "[provider]\nclient_secret = \"c\"\nclient_secret_file = " + quote(clientFile) +
				"\n[session]\ncookie_secret = \"k\"\ncookie_secret_file = " + quote(cookieFile) +
				"\n[session.redis]\npassword = \"r\"\npassword_file = " + quote(redisFile) + "\n",
			wantErr: []string{
				"provider.client_secret: set only one of provider.client_secret and provider.client_secret_file",
				"session.cookie_secret: set only one of session.cookie_secret and session.cookie_secret_file",
				"session.redis.password: set only one of session.redis.password and session.redis.password_file",
			},
		},
		{
			name: "missing and empty files",
			doc: "[provider]\nclient_secret_file = " + quote(filepath.Join(dir, "nope")) +
				"\n[session]\ncookie_secret_file = " + quote(emptyFile) + "\n",
			wantErr: []string{
				"provider.client_secret_file: open " + filepath.Join(dir, "nope") + ": no such file or directory",
				"session.cookie_secret_file: " + emptyFile + " is empty",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc), tt.getenv)
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, errLines(err)); diff != "" {
					t.Errorf("Parse errors (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := secrets{c.Provider.ClientSecret, string(c.Session.CookieSecret), c.Session.Redis.Password}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCookieSecretBytes(t *testing.T) {
	want := []byte("0123456789abcdef0123456789abcdef")
	for _, s := range []string{
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", // standard
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",  // raw URL
	} {
		c := &Config{Session: Session{CookieSecret: Secrets(s)}}
		got, err := c.CookieSecretBytes()
		if err != nil {
			t.Errorf("CookieSecretBytes(%q): %v", s, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CookieSecretBytes(%q) (-want +got):\n%s", s, diff)
		}
	}
	// 32 bytes with - and _ in the URL alphabet.
	c := &Config{Session: Session{CookieSecret: "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8"}}
	if k, err := c.CookieSecretBytes(); err != nil || len(k) != 32 {
		t.Errorf("URL alphabet: %d bytes, %v", len(k), err)
	}
	for _, s := range []string{"", "c2hvcnQ=", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYx"} {
		c := &Config{Session: Session{CookieSecret: Secrets(s)}}
		if _, err := c.CookieSecretBytes(); err == nil {
			t.Errorf("CookieSecretBytes(%q) succeeded", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error prints the secret: %v", err)
		}
	}
}

func TestDurationText(t *testing.T) {
	for in, want := range map[string]string{"90s": "1m30s", "12h": "12h", "120s": "2m", "1h30m": "1h30m", "0s": "0s", "1.5s": "1.5s"} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", in, err)
		}
		got, _ := d.MarshalText()
		if string(got) != want {
			t.Errorf("MarshalText(%q) = %q; want %q", in, got, want)
		}
		var back Duration
		if err := back.UnmarshalText(got); err != nil || back != d {
			t.Errorf("round trip of %q: %v, %v", in, back, err)
		}
	}
}
