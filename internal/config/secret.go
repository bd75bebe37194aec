package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Secrets holds one secret or several (key rotation): in TOML a string or
// an array of strings; in a *_file or the environment, several separated by
// newlines or commas (base64 has neither). It is held as one string, the
// secrets separated by newlines; the first is the current one.
type Secrets string

// UnmarshalTOML accepts a string or an array of strings.
func (s *Secrets) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = Secrets(v)
		return nil
	case []any:
		parts := make([]string, 0, len(v))
		for i, e := range v {
			str, ok := e.(string)
			if !ok {
				return fmt.Errorf("element %d: must be a string", i)
			}
			parts = append(parts, str)
		}
		*s = Secrets(strings.Join(parts, "\n"))
		return nil
	}
	return errors.New("must be a string or an array of strings")
}

// List returns the secrets, the current one first, each trimmed of white
// space; empty ones are skipped.
func (s Secrets) List() []string {
	var out []string
	for _, p := range strings.FieldsFunc(string(s), func(r rune) bool { return r == '\n' || r == ',' }) {
		if p = strings.TrimFunc(p, unicode.IsSpace); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// maxCookieSecrets bounds session.cookie_secret's list (each one is tried
// on every cookie that does not open under the current one).
const maxCookieSecrets = 4

// cookieKeyLen is the length of the cookie secret, in bytes.
const cookieKeyLen = 32

// CookieSecretBytes returns the session cookie key: session.cookie_secret
// (its first secret, when it is a list) decoded from standard or URL-safe
// base64, padded or not. It is an error unless the result is exactly 32
// bytes. The error never includes the secret.
func (c *Config) CookieSecretBytes() ([]byte, error) {
	keys, err := c.CookieSecretsBytes()
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// CookieSecretsBytes returns every key of session.cookie_secret, the
// current one (which seals and signs) first, then the previous ones (which
// still open).
func (c *Config) CookieSecretsBytes() ([][]byte, error) {
	list := c.Session.CookieSecret.List()
	if len(list) == 0 {
		return nil, errors.New(`session.cookie_secret: required; generate one with "gatehouse genkey"`)
	}
	keys := make([][]byte, 0, len(list))
	for i, s := range list {
		k := decodeKey(s)
		if k == nil {
			key := "session.cookie_secret"
			if len(list) > 1 {
				key = fmt.Sprintf("session.cookie_secret[%d]", i)
			}
			return nil, fmt.Errorf(`%s: must decode (base64) to exactly 32 bytes; generate one with "gatehouse genkey"`, key)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// decodeKey decodes s as a 32-byte key in any base64 alphabet and padding,
// or returns nil.
func decodeKey(s string) []byte {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding, base64.URLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == cookieKeyLen {
			return b
		}
	}
	return nil
}
