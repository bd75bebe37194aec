package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactedNeverPrintsSecrets(t *testing.T) {
	const (
		clientSecret = "client-SECRET-1"
		redisPass    = "redis-SECRET-2"
		urlPass      = "url-SECRET-3"
	)
	secrets := []string{clientSecret, redisPass, urlPass, testCookieSecret}

	c := validConfig(t)
	c.Provider.ClientSecret = clientSecret
	c.Session.CookieSecret = testCookieSecret
	c.Session.Redis.Password = redisPass
	c.Session.Redis.URL = "rediss://gatehouse:" + urlPass + "@redis.example.com:6379/0"
	c.Upstreams[0].URL = "http://user:" + urlPass + "@127.0.0.1:8080"
	orig := *c

	var out []string
	add := func(format string, v any) { out = append(out, fmt.Sprintf(format, v)) }
	for _, v := range []any{c, *c, c.Provider, &c.Provider, c.Session, &c.Session, c.Session.Redis, &c.Session.Redis} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			add(verb, v)
		}
	}
	out = append(out, c.String(), c.Redacted().String())
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("config", "config", c, "value", *c, "provider", c.Provider, "session", c.Session, "redis", c.Session.Redis)
		out = append(out, b.String())
	}
	r := c.Redacted()
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	// Validation and cookie-key errors never quote a secret either.
	c.Session.CookieSecret = "bad-" + testCookieSecret
	out = append(out, fmt.Sprint(c.Validate()))
	_, err = c.CookieSecretBytes()
	out = append(out, fmt.Sprint(err))
	c.Session.CookieSecret = testCookieSecret

	for _, o := range out {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Errorf("output contains secret %q:\n%s", s, o)
			}
		}
	}
	if !strings.Contains(c.String(), `client_secret = "[redacted]"`) {
		t.Errorf("String() does not show the client secret as redacted:\n%s", c)
	}
	if r.Provider.ClientSecret != "[redacted]" || r.Session.CookieSecret != "[redacted]" || r.Session.Redis.Password != "[redacted]" {
		t.Errorf("Redacted() kept a secret field unredacted")
	}
	if strings.Contains(r.Session.Redis.URL, urlPass) || !strings.Contains(r.Session.Redis.URL, "gatehouse:redacted@redis.example.com") {
		t.Errorf("Redacted() Redis URL = %q", r.Session.Redis.URL)
	}

	// Redacted returns a copy: the original keeps its secrets.
	if c.Provider.ClientSecret != orig.Provider.ClientSecret || c.Session.Redis.URL != orig.Session.Redis.URL ||
		c.Upstreams[0].URL != orig.Upstreams[0].URL {
		t.Errorf("Redacted modified the original")
	}
	r.Upstreams[0].Name = "changed"
	if c.Upstreams[0].Name == "changed" {
		t.Errorf("Redacted shares the upstreams slice with the original")
	}

	// Empty secrets stay empty, showing they are unset.
	if got := (Config{}).Redacted().Provider.ClientSecret; got != "" {
		t.Errorf("Redacted() of an empty secret = %q; want empty", got)
	}
}
