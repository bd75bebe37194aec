package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// Environment variables consulted by [Parse] when a secret is set neither in
// the file nor through its *_file key.
const (
	EnvClientSecret  = "GATEHOUSE_CLIENT_SECRET"
	EnvCookieSecret  = "GATEHOUSE_COOKIE_SECRET"
	EnvRedisPassword = "GATEHOUSE_REDIS_PASSWORD"
)

// Accepted values of [Session.Store]. Those of [Upstream.Auth] and the
// other enumerations the runtime shares are in internal/vocab.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
	StoreCookie = "cookie"
)

// defaults returns a Config holding every default. Parse decodes on top of it,
// so a key present in the file, even with a zero value, overrides its default
// and is then validated as written.
func defaults() *Config {
	return &Config{
		Server: Server{
			Listen:                 "127.0.0.1:4180",
			LogFormat:              "text",
			LogLevel:               "info",
			ShutdownTimeout:        Duration{15 * time.Second},
			ReadHeaderTimeout:      Duration{10 * time.Second},
			IdleTimeout:            Duration{120 * time.Second},
			BodyReadTimeout:        Duration{10 * time.Second},
			AccessLog:              true,
			AccessLogFlushInterval: Duration{100 * time.Millisecond},
			GCMinHeapMiB:           16,
			HealthAliases:          true,
		},
		Provider: Provider{
			Scopes:            []string{"openid", "email", "profile", "offline_access"},
			Timeout:           Duration{10 * time.Second},
			ResponseType:      "code",
			EndSessionBinding: login.EndSessionPost,
		},
		Session: Session{
			Store:         StoreMemory,
			CookieName:    "gatehouse",
			Lifetime:      Duration{12 * time.Hour},
			RefreshBefore: Duration{60 * time.Second},
			CacheMaxAge:   Duration{5 * time.Second},
			Redis:         Redis{KeyPrefix: "gatehouse:"},
		},
		Headers: Headers{
			User:              "sub",
			Email:             "email",
			PreferredUsername: "preferred_username",
			Groups:            "groups",
		},
		RESTAPI: restAPIDefaults(),
		Bearer:  bearerDefaults(),
		Limits:  limitsDefaults(),
		Tracing: tracingDefaults(),
		UI:      uiDefaults(),
	}
}

// Load reads the TOML file at path and parses it with [Parse]. Errors are
// wrapped with the path.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := Parse(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes TOML data strictly, applies defaults and resolves secrets. It
// does not validate: call [Config.Validate].
//
// A syntax or type error is returned with its line. Every key the schema does
// not know (including a known key spelled with different case) is reported,
// all together, by full path: unknown key "session.redis.urll".
//
// Each secret is taken from its key in the file, else from its *_file key (the
// file is read and trimmed of surrounding white space), else from the
// environment: provider.client_secret (GATEHOUSE_CLIENT_SECRET),
// session.cookie_secret (GATEHOUSE_COOKIE_SECRET) and session.redis.password
// (GATEHOUSE_REDIS_PASSWORD). Setting both a secret and its *_file is an
// error. A nil getenv means an empty environment. A relative *_file path is
// relative to the working directory.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := defaults()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		if md.Type("upstream") == "Hash" {
			err = fmt.Errorf("%w (write [[upstream]], with double brackets: upstreams are an array of tables)", err)
		}
		return nil, err
	}
	errs := unknownKeys(md)
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		if u.PathPrefix == "" {
			u.PathPrefix = "/"
		}
		if u.Auth == "" {
			u.Auth = vocab.AuthSession
		}
	}
	errs = append(errs,
		resolveSecret(&c.Provider.ClientSecret, c.Provider.ClientSecretFile,
			"provider.client_secret", EnvClientSecret, getenv),
		resolveSecret((*string)(&c.Session.CookieSecret), c.Session.CookieSecretFile,
			"session.cookie_secret", EnvCookieSecret, getenv),
		resolveSecret(&c.Session.Redis.Password, c.Session.Redis.PasswordFile,
			"session.redis.password", EnvRedisPassword, getenv),
	)
	errs = append(errs, c.RESTAPI.resolveSecrets()...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// unknownKeys reports every key of md that the schema lacks. A key under an
// already reported one (the keys of a misspelled table) is not repeated.
func unknownKeys(md toml.MetaData) []error {
	s := configSchema()
	var (
		errs     []error
		reported []string
	)
	report := func(k toml.Key) {
		path := k.String()
		for _, r := range reported {
			if path == r || strings.HasPrefix(path, r+".") {
				return
			}
		}
		reported = append(reported, path)
		msg := fmt.Sprintf("unknown key %q", path)
		if sug := s.suggest(k); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		errs = append(errs, errors.New(msg))
	}
	// Undecoded lists keys matching no field. The decoder also matches field
	// names case-insensitively, which strict decoding refuses: check every key
	// against the schema too. Report in document order.
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	for _, k := range md.Keys() {
		if undecoded[k.String()] || !s.known(k) {
			report(k)
		}
	}
	return errs
}

// resolveSecret sets *value from file or the environment variable env when
// the file did not set it. key names the secret in errors, which never
// include its value.
func resolveSecret(value *string, file, key, env string, getenv func(string) string) error {
	switch {
	case *value != "" && file != "":
		return fmt.Errorf("%s: set only one of %s and %s_file", key, key, key)
	case *value != "":
		return nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%s_file: %w", key, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return fmt.Errorf("%s_file: %s is empty", key, file)
		}
		*value = v
	default:
		*value = getenv(env)
	}
	return nil
}
