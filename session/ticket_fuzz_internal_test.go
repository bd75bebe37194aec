package session

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzTicketDecode: a cookie or bearer value is attacker input. Decoding
// never panics, and whatever decodes is a well-formed ID and key that encode
// back to a ticket naming the same session.
func FuzzTicketDecode(f *testing.F) {
	c := newTicketCodec([][]byte{bytes.Repeat([]byte{7}, 32)}, 12*time.Hour)
	id, key, err := newIDAndKey()
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.encode(id, key)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, good[:len(good)-1], good + "A", "", "%", "a|b|c", "MTc2MDAwMDAwMHx0aWNrZXR8bWFj",
		strings.Repeat("A", 600), strings.ToUpper(good)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, key, err := c.decode(v)
		if err != nil {
			if err != ErrBadTicket {
				t.Fatalf("decode(%q): error %v, want ErrBadTicket", v, err)
			}
			return
		}
		if len(key) != keyLen {
			t.Fatalf("decode(%q): key of %d bytes", v, len(key))
		}
		again, err := c.encode(id, key)
		if err != nil {
			t.Fatalf("decode(%q) gave an ID that does not encode: %v", v, err)
		}
		id2, key2, err := c.decode(again)
		if err != nil || id2 != id || !bytes.Equal(key2, key) {
			t.Fatalf("round trip of decode(%q) changed the session", v)
		}
	})
}

// FuzzCookieValue: the Cookie header is attacker input. cookieValue never
// panics, never invents a value (what it returns occurs in a Cookie line),
// and finds what net/http finds whenever net/http finds the cookie once.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"gatehouse=abc", "a=1; gatehouse=abc; b=2", `gatehouse="quoted"`, "gatehouse=", "gatehouse",
		"gatehouse=a; gatehouse=b", ";;;=;", "  gatehouse=spaced  ; a=1", "gatehouse_csrf=x; gatehouse=y", "gatehouse=\x00"} {
		f.Add(s, "")
	}
	f.Add("a=1", "gatehouse=second-line")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		h := http.Header{"Cookie": {line1, line2}}
		got := cookieValue(h, "gatehouse")
		if got != "" && !strings.Contains(line1, got) && !strings.Contains(line2, got) {
			t.Fatalf("cookieValue(%q, %q) = %q, which neither line holds", line1, line2, got)
		}
		r := &http.Request{Header: h}
		if cs := r.CookiesNamed("gatehouse"); len(cs) == 1 && strings.Count(line1+";"+line2, "gatehouse") == 1 && got != cs[0].Value {
			t.Fatalf("cookieValue(%q, %q) = %q, net/http finds %q", line1, line2, got, cs[0].Value)
		}
	})
}
