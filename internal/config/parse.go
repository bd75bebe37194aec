package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
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

// Parse decodes TOML data strictly, applies the environment's GATEHOUSE_
// variables over it (see [Read]) and the defaults, and resolves secrets. It
// does not validate: call [Config.Validate].
//
// A syntax error is returned alone, with its line, as a [toml.ParseError].
// Otherwise every problem is reported, all together: each key the schema
// does not know (including a known key spelled with different case), by
// full path ("unknown key "session.redis.urll""), and each value of the
// wrong type, as a [FieldError].
//
// Each secret is taken from its key in the file (or its variable, such as
// GATEHOUSE_PROVIDER_CLIENT_SECRET), else from its *_file key (the file is
// read and trimmed of surrounding white space), else from the environment:
// provider.client_secret (GATEHOUSE_CLIENT_SECRET), session.cookie_secret
// (GATEHOUSE_COOKIE_SECRET) and session.redis.password
// (GATEHOUSE_REDIS_PASSWORD). Setting both a secret and its *_file is an
// error. A nil getenv means an empty environment. A relative *_file path is
// relative to the working directory.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	c, _, err := parse(data, "", Env{Getenv: getenv})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parse is [Parse] that also returns, with a problem, the configuration
// decoded as far as it could be (nil only after a syntax error), and where
// each value came from.
func parse(data []byte, file string, env Env) (*Config, Origins, error) {
	raw := map[string]any{}
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, nil, err
	}
	origins := Origins{}
	lines := keyLines(string(data))
	origins.recordFile("", raw, schemaRoot(), file, lines)
	errs := unknownKeys(md)
	vars, envErrs := env.envVars(raw)
	errs = append(errs, envErrs...)
	for _, v := range vars {
		if err := v.apply(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
			continue
		}
		origins[v.key()] = Origin{Kind: OriginEnv, Name: v.name}
	}
	c := defaults()
	d := decoder{origins: origins, lines: lines}
	d.table("", reflect.ValueOf(c).Elem(), raw)
	errs = append(errs, d.errs...)
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		if u.PathPrefix == "" {
			u.PathPrefix = "/"
		}
		if u.Auth == "" {
			u.Auth = vocab.AuthSession
		}
	}
	secret := func(value *string, file, key, envName string) error {
		was := *value
		err := resolveSecret(value, file, key, envName, env.get)
		switch {
		case err != nil || was != "" || *value == "":
		case file != "":
			origins[key] = Origin{Kind: OriginSecretFile, Name: file}
		default:
			origins[key] = Origin{Kind: OriginEnv, Name: envName}
		}
		return err
	}
	errs = append(errs,
		secret(&c.Provider.ClientSecret, c.Provider.ClientSecretFile, "provider.client_secret", EnvClientSecret),
		secret((*string)(&c.Session.CookieSecret), c.Session.CookieSecretFile, "session.cookie_secret", EnvCookieSecret),
		secret(&c.Session.Redis.Password, c.Session.Redis.PasswordFile, "session.redis.password", EnvRedisPassword),
	)
	errs = append(errs, c.RESTAPI.resolveSecrets()...)
	for i, a := range c.RESTAPI.Applications {
		if a.ClientSecretFile != "" {
			origins[fmt.Sprintf("rest_api.application[%d].client_secret", i)] = Origin{Kind: OriginSecretFile, Name: a.ClientSecretFile}
		}
	}
	return c, origins, errors.Join(errs...)
}

// Source is where a configuration comes from: a TOML file and the
// environment.
type Source struct {
	// Path is the TOML file. "" reads none: the environment alone.
	Path string
	// Optional reads a missing file at Path as an empty one when the
	// environment sets at least one key (a container configured by its
	// environment alone).
	Optional bool
	Env      Env
}

// Read loads the configuration of src: the file, then every GATEHOUSE_
// variable of the environment over it, then the defaults; see [Parse]. A
// variable names a key path in upper case with "_" for "." and the index
// after an array of tables: GATEHOUSE_SERVER_LISTEN, GATEHOUSE_UPSTREAM_0_URL
// ([EnvNames] lists them all). Its value is read as a TOML value of the
// key's type (true, 32, "90s", ["a", "b"], { prompt = "login" }); the text
// of a string key is taken as it is, and a list may be written
// comma-separated (a, b). A variable may set an element of an array of
// tables that the file has, or the next one. A GATEHOUSE_ variable that sets
// no key is an error (with src.Env.Names).
//
// Read reports every problem at once. Unless the file is missing or does
// not parse, it also returns the configuration decoded as far as it could
// be (each bad value left at its default) and where each value came from,
// so that a caller can validate it too and report everything in one run.
func Read(src Source) (*Config, Origins, error) {
	var data []byte
	if src.Path != "" {
		b, err := os.ReadFile(src.Path)
		switch {
		case err == nil:
			data = b
		case src.Optional && errors.Is(err, fs.ErrNotExist) && src.Env.setsAKey():
			src.Path = ""
		default:
			return nil, nil, fmt.Errorf("load config: %w", err)
		}
	}
	c, origins, err := parse(data, src.Path, src.Env)
	if err != nil && src.Path != "" {
		err = fmt.Errorf("load config %s: %w", src.Path, err)
	}
	return c, origins, err
}

// setsAKey reports whether a variable of the environment sets a key.
func (e Env) setsAKey() bool {
	vars, _ := e.envVars(nil)
	return len(vars) > 0
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
		if hint := proxyHint(k[len(k)-1]); hint != "" {
			msg += " (" + hint + ")"
		} else if sug := s.suggest(k); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		errs = append(errs, errors.New(msg))
	}
	// Every key is checked against the schema, exactly (the TOML library
	// would match field names case-insensitively). Report in document order.
	for _, k := range md.Keys() {
		if !s.known(k) && !underLeaf(k) {
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
