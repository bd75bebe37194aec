package session

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Session
	}{
		{"Full", Session{
			Issuer: "https://as.example", Subject: "alice", SID: "sid-1",
			Claims:      map[string]any{"email": "alice@example.com", "groups": []any{"a", "b"}, "n": 1.5},
			AccessToken: "at", RefreshToken: "rt", IDToken: string(make([]byte, 300)), AccessExpiry: 10,
			CreatedAt: 1, ExpiresAt: 2, LastSeen: 3,
		}},
		{"NoTokens", Session{Issuer: "i", Subject: "s", CreatedAt: 1, ExpiresAt: 2, LastSeen: 1}},
		{"UnicodeTokens", Session{Subject: "s", AccessToken: "é\x00\"{}", IDToken: "{"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encodeRecord(&tc.s)
			if err != nil {
				t.Fatal(err)
			}
			var got Session
			if err := decodeRecord(b, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.s, got, cmp.AllowUnexported(Session{})); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// TestRecordReadsJSON: records written as plain JSON still load.
func TestRecordReadsJSON(t *testing.T) {
	want := Session{Issuer: "i", Subject: "s", Claims: map[string]any{"email": "e"}, AccessToken: "at", RefreshToken: "rt", IDToken: "it", ExpiresAt: 5}
	b, err := json.Marshal(&want)
	if err != nil {
		t.Fatal(err)
	}
	var got Session
	if err := decodeRecord(b, &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(Session{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRecordMalformed(t *testing.T) {
	good, _ := encodeRecord(&Session{Subject: "s", AccessToken: "access"})
	for name, b := range map[string][]byte{
		"Empty":         {},
		"UnknownFormat": {0x02, '{', '}'},
		"LengthTooLong": {recordTokens, 200, 'x'},
		"BadVarint":     {recordTokens, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"Truncated":     good[:len(good)-1],
		"NoJSON":        good[:1+1+len("access")+2],
	} {
		t.Run(name, func(t *testing.T) {
			var s Session
			if err := decodeRecord(b, &s); err == nil {
				t.Errorf("decoded %x without error", b)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	good, _ := encodeRecord(&Session{Subject: "s", AccessToken: "a", Claims: map[string]any{"x": "y"}})
	f.Add(good)
	f.Add([]byte(`{"sub":"s"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Session
		if decodeRecord(b, &s) != nil {
			return
		}
		again, err := encodeRecord(&s)
		if err != nil {
			return // a decoded value JSON cannot encode (NaN cannot appear; be lenient)
		}
		var s2 Session
		if err := decodeRecord(again, &s2); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
