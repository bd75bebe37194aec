package session

import (
	"bytes"
	"compress/flate"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// With the cookie store (Options.CookieStore) a browser's whole session
// record travels in its cookies, sealed with AES-256-GCM under a key derived
// from the cookie secret with HKDF-SHA256 and the purpose label
// cookieSealLabel (never the raw secret). Several secrets may open a record
// (key rotation): the first seals, every one opens, and a record opened
// under an older one is sealed again under the first on its next write.
//
// The sealed record is the session's ticket, "C." + base64url(sealed): the
// '.' never occurs in a ticket of a server-side session. Its plaintext:
//
//	format (1 byte: 1 raw, 2 DEFLATE) || body (compressed with format 2)
//	body = uvarint len || session ID || uvarint len || JSON of the claim
//	       names restored from the ID token || record (encodeRecord)
//
// Compaction: claims that the ID token carries with the same value are not
// stored twice; their names are, and Load takes their values from the ID
// token's payload (verified when the session was created or refreshed; the
// GCM tag protects it since). When the record is still too large for the
// cookies (maxCookieTicket), the ID token is dropped (it is then only
// missed as id_token_hint at RP-initiated logout) and the claims are kept
// whole, unless Options.KeepIDToken (an upstream receives it); a record
// still too large is refused with ErrCookieTooLarge.
const (
	cookieSealLabel  = "gatehouse cookie session seal"
	cookieTicketHead = "C."
	formatRaw        = 1
	formatDeflate    = 2
)

// The cookie budget. A browser keeps at most 4096 bytes of name and value
// per cookie (RFC 6265 §6.1 asks for at least that much); a chunk's value
// stays well under it so that the name and the attributes fit too. Browsers
// send all cookies of a request in one Cookie header: the total stays under
// 16 KB (nginx's "large_client_header_buffers 4 16k" and Node's default
// 16 KB header limit accept it; nginx's default of 8k does not: see
// docs/sessions.md).
const (
	// CookieChunkMax is the most bytes of sealed record in one cookie.
	CookieChunkMax = 3800
	// CookieChunksMax is the most cookies one session may use.
	CookieChunksMax = 5
	// CookieRecordMax is the most bytes of sealed record in all of them.
	CookieRecordMax = 16000
)

// ErrCookieTooLarge is returned when a session does not fit in
// CookieRecordMax bytes of cookies even compacted (the AS issued very large
// tokens).
var ErrCookieTooLarge = errors.New("session: the session is too large for the cookie store")

// sealer seals and opens cookie session records.
type sealer struct {
	keys        [][]byte // derived; the first seals
	keepIDToken bool     // never drop the ID token to fit (Options.KeepIDToken)
}

func newSealer(secrets [][]byte) (*sealer, error) {
	sl := &sealer{}
	for _, sec := range secrets {
		k, err := hkdf.Key(sha256.New, sec, nil, cookieSealLabel, keyLen)
		if err != nil {
			return nil, fmt.Errorf("session: derive key: %w", err)
		}
		sl.keys = append(sl.keys, k)
	}
	if len(sl.keys) == 0 {
		return nil, errors.New("session: no cookie secret")
	}
	return sl, nil
}

// cookieAAD binds a sealed record to its purpose: a record sealed for
// another use of the same key (a grace entry) does not open as a cookie.
const cookieAAD = "gatehouse cookie session"

// isCookieTicket reports whether ticket is a sealed cookie record (by its
// shape only).
func isCookieTicket(ticket string) bool { return strings.HasPrefix(ticket, cookieTicketHead) }

// sealSession returns the ticket of s: its record, compacted, sealed under
// the first key. It returns ErrCookieTooLarge when the record does not fit.
func (sl *sealer) sealSession(s *Session) (string, error) {
	for _, dropIDToken := range []bool{false, true} {
		if dropIDToken && (s.IDToken == "" || sl.keepIDToken) {
			break
		}
		body, err := encodeCookieBody(s, dropIDToken)
		if err != nil {
			return "", err
		}
		sealed, err := sl.sealBytes(cookieAAD, body)
		if err != nil {
			return "", err
		}
		if t := cookieTicketHead + base64.RawURLEncoding.EncodeToString(sealed); len(t)-len(cookieTicketHead) <= CookieRecordMax {
			if dropIDToken {
				s.IDToken = ""
			}
			return t, nil
		}
	}
	return "", ErrCookieTooLarge
}

// openSession opens a ticket made by sealSession. stale reports that it was
// sealed under an older key (it should be sealed again).
func (sl *sealer) openSession(ticket string) (s *Session, stale bool, err error) {
	data, ok := strings.CutPrefix(ticket, cookieTicketHead)
	if !ok || len(data) > CookieRecordMax {
		return nil, false, errOpen
	}
	sealed, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		return nil, false, errOpen
	}
	body, idx, err := sl.openBytes(cookieAAD, sealed)
	if err != nil {
		return nil, false, err
	}
	s, err = decodeCookieBody(body)
	if err != nil {
		return nil, false, errOpen
	}
	return s, idx > 0, nil
}

// sealBytes seals plaintext under the first key, with aad, compressing it
// when that makes it shorter.
func (sl *sealer) sealBytes(aad string, plain []byte) ([]byte, error) {
	pt := append([]byte{formatRaw}, plain...)
	var z bytes.Buffer
	z.WriteByte(formatDeflate)
	fw, _ := flate.NewWriter(&z, flate.BestCompression) // a valid level: no error
	if _, err := fw.Write(plain); err == nil && fw.Close() == nil && z.Len() < len(pt) {
		pt = z.Bytes()
	}
	return seal(sl.keys[0], aad, pt)
}

// maxCookiePlain bounds a decompressed body (a record of CookieRecordMax
// bytes cannot honestly inflate beyond it).
const maxCookiePlain = 1 << 20

// openBytes opens sealed under any key and returns the plaintext and the
// index of the key that opened it.
func (sl *sealer) openBytes(aad string, sealed []byte) ([]byte, int, error) {
	for i, k := range sl.keys {
		pt, err := open(k, aad, sealed)
		if err != nil {
			continue
		}
		switch {
		case len(pt) > 0 && pt[0] == formatRaw:
			return pt[1:], i, nil
		case len(pt) > 0 && pt[0] == formatDeflate:
			out, err := inflate(pt[1:])
			if err != nil {
				return nil, 0, errOpen
			}
			return out, i, nil
		}
		return nil, 0, errOpen
	}
	return nil, 0, errOpen
}

// inflaters holds DEFLATE readers for reuse: a new one allocates tens of
// kilobytes, which would be most of the cost of opening a record.
var inflaters sync.Pool

// inflate decompresses b, up to maxCookiePlain bytes.
func inflate(b []byte) ([]byte, error) {
	src := bytes.NewReader(b)
	r, _ := inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	defer inflaters.Put(r)
	var out bytes.Buffer
	out.Grow(4 * len(b))
	if _, err := out.ReadFrom(io.LimitReader(r, maxCookiePlain+1)); err != nil {
		return nil, err
	}
	if out.Len() > maxCookiePlain {
		return nil, errOpen
	}
	return out.Bytes(), nil
}

// encodeCookieBody returns the plaintext body of s's cookie record: its ID,
// the names of the claims left out because the ID token carries them, and
// the record.
func encodeCookieBody(s *Session, dropIDToken bool) ([]byte, error) {
	rec := *s
	var fromIDT []string
	if dropIDToken {
		rec.IDToken = ""
	} else if s.IDToken != "" && len(s.Claims) > 0 {
		if idc := idTokenClaims(s.IDToken); idc != nil {
			rest := make(map[string]any, len(s.Claims))
			for k, v := range s.Claims {
				if iv, ok := idc[k]; ok && jsonEqual(v, iv) {
					fromIDT = append(fromIDT, k)
					continue
				}
				rest[k] = v
			}
			rec.Claims = rest
		}
	}
	names, err := json.Marshal(fromIDT)
	if err != nil {
		return nil, err
	}
	record, err := encodeRecord(&rec)
	if err != nil {
		return nil, fmt.Errorf("session: encode: %w", err)
	}
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(s.ID)+len(names)+len(record))
	b = binary.AppendUvarint(b, uint64(len(s.ID)))
	b = append(b, s.ID...)
	b = binary.AppendUvarint(b, uint64(len(names)))
	b = append(b, names...)
	return append(b, record...), nil
}

func decodeCookieBody(b []byte) (*Session, error) {
	var parts [2][]byte
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errRecord
		}
		parts[i] = b[k : k+int(n)]
		b = b[k+int(n):]
	}
	s := &Session{}
	if err := decodeRecord(b, s); err != nil {
		return nil, err
	}
	s.ID = string(parts[0])
	var names []string
	if err := json.Unmarshal(parts[1], &names); err != nil {
		return nil, errRecord
	}
	if len(names) > 0 {
		idc := idTokenClaims(s.IDToken)
		if idc == nil {
			return nil, errRecord
		}
		claims := make(map[string]any, len(s.Claims)+len(names))
		for k, v := range s.Claims {
			claims[k] = v
		}
		for _, k := range names {
			v, ok := idc[k]
			if !ok {
				return nil, errRecord
			}
			claims[k] = v
		}
		s.Claims = claims
	}
	return s, nil
}

// idTokenClaims returns the payload of a compact JWS as JSON claims, or nil.
// It does not verify the token: the gateway verified it when it got it.
func idTokenClaims(idToken string) map[string]any {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// jsonEqual reports whether a and b have the same JSON value (claims come
// from JSON: numbers are float64, arrays []any, objects map[string]any).
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	return bytes.Equal(ja, jb)
}
