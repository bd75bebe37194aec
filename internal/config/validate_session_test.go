package config

import (
	"bytes"
	"strings"
	"testing"
)

const otherCookieSecret = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU=" // 32 bytes

// TestCookieSecretList: session.cookie_secret may be a TOML array, or
// several comma- or newline-separated secrets in the environment; the first
// is the current key.
func TestCookieSecretList(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		env  string
	}{
		{"toml array", `cookie_secret = ["` + testCookieSecret + `", "` + otherCookieSecret + `"]`, ""},
		{"environment, comma", "", testCookieSecret + ", " + otherCookieSecret},
		{"environment, newline", "", testCookieSecret + "\n" + otherCookieSecret + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(minimalTOML, "[[upstream]]", "[session]\nstore = \"cookie\"\n"+tc.toml+"\n\n[[upstream]]", 1)
			c, err := Parse([]byte(doc), env(map[string]string{EnvClientSecret: "s", EnvCookieSecret: tc.env}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			keys, err := c.CookieSecretsBytes()
			if err != nil || len(keys) != 2 {
				t.Fatalf("CookieSecretsBytes = %d keys, %v", len(keys), err)
			}
			first, _ := c.CookieSecretBytes()
			if !bytes.Equal(first, keys[0]) || string(keys[0]) != "0123456789abcdef0123456789abcdef" {
				t.Errorf("the current key is not the first: %q", first)
			}
			rt, err := Compile(c)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if !rt.Session.CookieStore || len(rt.Session.PreviousSecrets) != 1 || !bytes.Equal(rt.Session.PreviousSecrets[0], keys[1]) {
				t.Errorf("session options: cookie store %v, %d previous secrets", rt.Session.CookieStore, len(rt.Session.PreviousSecrets))
			}
			if s := c.String(); strings.Contains(s, testCookieSecret) || strings.Contains(s, otherCookieSecret) {
				t.Errorf("String() prints a cookie secret:\n%s", s)
			}
		})
	}
	doc := strings.Replace(minimalTOML, "[[upstream]]", "[session]\ncookie_secret = [1]\n\n[[upstream]]", 1)
	if _, err := Parse([]byte(doc), env(map[string]string{EnvClientSecret: "s"})); err == nil {
		t.Error("cookie_secret = [1] parsed")
	}
}

// TestSessionWarnings: the cookie store without Redis says which logout
// features are lost; with Redis, or another store, nothing.
func TestSessionWarnings(t *testing.T) {
	c := validConfig(t)
	if w := c.SessionWarnings(); w != nil {
		t.Errorf("memory store: %q", w)
	}
	c.Session.Store = StoreCookie
	w := c.SessionWarnings()
	if len(w) != 1 || !strings.Contains(w[0], "sessions revoke") || !strings.Contains(w[0], "back-channel") {
		t.Errorf("cookie store without Redis: %q", w)
	}
	c.Session.Redis.URL = "redis://localhost:6379/0"
	if w := c.SessionWarnings(); w != nil {
		t.Errorf("cookie store with Redis: %q", w)
	}
}
