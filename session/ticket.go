package session

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/securecookie"
)

// A ticket is what the user agent holds: the session ID and the key that opens
// the session record, authenticated with HMAC-SHA256 (gorilla/securecookie)
// and stamped with its creation time. It is the cookie value for browsers and
// the bearer session token for the REST flow API.
const (
	idLen     = 16
	keyLen    = 32
	ticketLen = idLen + keyLen
	// ticketName is bound into the MAC; it does not depend on the cookie name so
	// the same ticket also works as a bearer token.
	ticketName = "gatehouse-ticket"
)

// ErrBadTicket is returned for a ticket that is malformed, forged or too old.
var ErrBadTicket = errors.New("session: invalid ticket")

// ticketCodec encodes tickets under the first MAC key and decodes them
// under any (cookie secret rotation).
type ticketCodec struct{ codecs []securecookie.Codec }

func newTicketCodec(hashKeys [][]byte, maxAge time.Duration) *ticketCodec {
	c := &ticketCodec{}
	for _, k := range hashKeys {
		sc := securecookie.New(k, nil)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(int(maxAge / time.Second))
		sc.MaxLength(512)
		c.codecs = append(c.codecs, sc)
	}
	return c
}

func (c *ticketCodec) encode(id string, key []byte) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != idLen || len(key) != keyLen {
		return "", fmt.Errorf("session: encode ticket: bad id or key")
	}
	v, err := c.codecs[0].Encode(ticketName, append(raw, key...))
	if err != nil {
		return "", fmt.Errorf("session: encode ticket: %w", err)
	}
	return v, nil
}

func (c *ticketCodec) decode(v string) (id string, key []byte, err error) {
	var raw []byte
	if err := securecookie.DecodeMulti(ticketName, v, &raw, c.codecs...); err != nil || len(raw) != ticketLen {
		return "", nil, ErrBadTicket
	}
	return base64.RawURLEncoding.EncodeToString(raw[:idLen]), raw[idLen:], nil
}

func newIDAndKey() (string, []byte, error) {
	b := make([]byte, ticketLen)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("session: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:idLen]), b[idLen:], nil
}
