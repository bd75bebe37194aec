package session

import (
	"net/http"
	"testing"
)

// TestCookieValueAgreesWithNetHTTP: for well-formed Cookie lines,
// cookieValue finds what (*http.Request).Cookie finds.
func TestCookieValueAgreesWithNetHTTP(t *testing.T) {
	for _, lines := range [][]string{
		nil,
		{""},
		{"gatehouse=abc"},
		{"a=1; gatehouse=abc; b=2"},
		{"a=1;gatehouse=abc"},
		{"gatehouse_csrf=x; gatehouse=abc"},
		{"xgatehouse=1; gatehouse2=2"},
		{"gatehouse=first; gatehouse=second"},
		{"a=1", "b=2; gatehouse=in-the-second-line"},
		{`gatehouse="quoted"`},
		{"gatehouse="},
		{"  gatehouse=spaced  ; a=1"},
		{"a; gatehouse=after-a-name-without-value"},
	} {
		r := &http.Request{Header: http.Header{"Cookie": lines}}
		want := ""
		if c, err := r.Cookie("gatehouse"); err == nil {
			want = c.Value
		}
		if got := cookieValue(r.Header, "gatehouse"); got != want {
			t.Errorf("Cookie lines %q: cookieValue = %q, net/http = %q", lines, got, want)
		}
	}
}
