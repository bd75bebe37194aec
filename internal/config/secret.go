package config

import (
	"encoding/base64"
	"errors"
)

// cookieKeyLen is the length of the cookie secret, in bytes.
const cookieKeyLen = 32

// CookieSecretBytes returns the session cookie key: session.cookie_secret
// decoded from standard or URL-safe base64, padded or not. It is an error
// unless the result is exactly 32 bytes. The error never includes the secret.
func (c *Config) CookieSecretBytes() ([]byte, error) {
	if k := decodeKey(c.Session.CookieSecret); k != nil {
		return k, nil
	}
	return nil, errors.New(`session.cookie_secret: must decode (base64) to exactly 32 bytes; generate one with "gatehouse genkey"`)
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
