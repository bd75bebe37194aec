package config

import (
	"bytes"
	"log/slog"
	"maps"
	"net/url"
	"slices"

	"github.com/BurntSushi/toml"
)

// redacted replaces a secret in [Config.Redacted] and in printed output.
const redacted = "[redacted]"

// Redacted returns a deep copy of c in which every secret is replaced by
// "[redacted]": the client secret, the cookie secret, the Redis password, and
// the password of any URL. Empty secrets stay empty, so the copy still shows
// which were set.
func (c Config) Redacted() Config {
	c.Server = c.Server.clone()
	c.Server.PublicURL = redactURL(c.Server.PublicURL)
	c.Provider = c.Provider.redacted()
	c.Session = c.Session.redacted()
	c.RESTAPI = c.RESTAPI.redacted()
	c.Tracing = c.Tracing.redacted()
	c.Upstreams = slices.Clone(c.Upstreams)
	for i := range c.Upstreams {
		c.Upstreams[i].URL = redactURL(c.Upstreams[i].URL)
	}
	return c
}

// String renders the configuration as TOML with every secret redacted (see
// [Config.Redacted]).
func (c Config) String() string { return encode(c.Redacted()) }

// GoString implements [fmt.GoStringer] so that %#v, too, redacts secrets.
func (c Config) GoString() string { return c.String() }

// LogValue implements [slog.LogValuer] so that logging a Config, with any
// handler, redacts secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (s Server) clone() Server {
	s.TrustedProxies = slices.Clone(s.TrustedProxies)
	s.AllowedRedirectDomains = slices.Clone(s.AllowedRedirectDomains)
	return s
}

func (p Provider) redacted() Provider {
	p.Issuer = redactURL(p.Issuer)
	p.ClientSecret = redactString(p.ClientSecret)
	p.Scopes = slices.Clone(p.Scopes)
	p.ExtraAuthParams = maps.Clone(p.ExtraAuthParams)
	return p
}

// String renders the provider section as TOML with the client secret
// redacted.
func (p Provider) String() string { return encode(p.redacted()) }

// GoString implements [fmt.GoStringer] so that %#v redacts the client secret.
func (p Provider) GoString() string { return p.String() }

// LogValue implements [slog.LogValuer]; the client secret is redacted.
func (p Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }

func (s Session) redacted() Session {
	s.CookieSecret = Secrets(redactString(string(s.CookieSecret)))
	s.Redis = s.Redis.redacted()
	return s
}

// String renders the session section as TOML with the cookie secret and the
// Redis password redacted.
func (s Session) String() string { return encode(s.redacted()) }

// GoString implements [fmt.GoStringer] so that %#v redacts secrets.
func (s Session) GoString() string { return s.String() }

// LogValue implements [slog.LogValuer]; secrets are redacted.
func (s Session) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (r Redis) redacted() Redis {
	r.URL = redactURL(r.URL)
	r.Password = redactString(r.Password)
	r.SentinelAddrs = slices.Clone(r.SentinelAddrs)
	r.ClusterAddrs = slices.Clone(r.ClusterAddrs)
	return r
}

// String renders the Redis section as TOML with the password redacted.
func (r Redis) String() string { return encode(r.redacted()) }

// GoString implements [fmt.GoStringer] so that %#v redacts the password.
func (r Redis) GoString() string { return r.String() }

// LogValue implements [slog.LogValuer]; the password is redacted.
func (r Redis) LogValue() slog.Value { return slog.StringValue(r.String()) }

func redactString(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// redactURL hides the password of a URL. A string that does not parse is
// hidden whole: it may be anything.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

// encode renders v, already redacted, as TOML.
func encode(v any) string {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(v); err != nil {
		return "config: " + err.Error()
	}
	return b.String()
}
