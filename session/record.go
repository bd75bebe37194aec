package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// The plaintext of a sealed session record. The three tokens, which make up
// most of a record (an ID token alone is often 1 KB or more), are stored as
// length-prefixed bytes in front of the JSON of every other field, so that
// loading a record does not scan them as JSON strings (with encoding/json,
// most of the cost of a load) and storing one spends no field names or
// quotes on them:
//
//	0x01 || uvarint len || access token || uvarint len || refresh token ||
//	uvarint len || ID token || JSON of the Session without its tokens
//
// Records that are plain JSON (they start with '{') are read too.
const recordTokens = 0x01

var errRecord = errors.New("session: malformed record")

// encodeRecord returns the plaintext of s.
func encodeRecord(s *Session) ([]byte, error) {
	rest := *s
	rest.AccessToken, rest.RefreshToken, rest.IDToken = "", "", ""
	js, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	toks := [...]string{s.AccessToken, s.RefreshToken, s.IDToken}
	n := 1 + len(js)
	for _, t := range toks {
		n += binary.MaxVarintLen64 + len(t)
	}
	b := make([]byte, 1, n)
	b[0] = recordTokens
	for _, t := range toks {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return append(b, js...), nil
}

// decodeRecord fills s from a plaintext made by encodeRecord, or from a
// plain JSON record.
func decodeRecord(b []byte, s *Session) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, s)
	}
	if len(b) == 0 || b[0] != recordTokens {
		return errRecord
	}
	b = b[1:]
	var toks [3]string
	for i := range toks {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return errRecord
		}
		toks[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if err := json.Unmarshal(b, s); err != nil {
		return err
	}
	s.AccessToken, s.RefreshToken, s.IDToken = toks[0], toks[1], toks[2]
	return nil
}
