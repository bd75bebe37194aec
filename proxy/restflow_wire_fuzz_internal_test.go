package proxy

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRESTDecode: the REST flow API's request bodies are attacker input.
// restDecode never panics, and refuses what it cannot read with a 4xx
// restError, never a 5xx or a bare error.
func FuzzRESTDecode(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"url":"com.example.app:/oauth2redirect?code=a&state=b"}`, `{"code":"a","state":"b","iss":"x"}`,
		`{"url":1}`, `{"nope":1}`, `{}{}`, `[]`, `null`, `{"url":"\ud800"}`, `{"` + strings.Repeat("a", 100) + `":1}`,
		strings.Repeat("[", 5000), `{"redirectUri":"http://127.0.0.1/callback"}`, "\xff",
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(`{}`), "application/json; charset=\"")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for _, v := range []any{&authorizationResponseBody{}, &redirectURIBody{}} {
			r := httptest.NewRequest(http.MethodPost, "/auth/rest/public/authentication/abort/", bytes.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			err := restDecode(httptest.NewRecorder(), r, v)
			if err == nil {
				continue
			}
			var re *restError
			if !errors.As(err, &re) {
				t.Fatalf("restDecode(%q, %q): %v, not a restError", body, contentType, err)
			}
			if re.Status < 400 || re.Status >= 500 {
				t.Fatalf("restDecode(%q, %q): status %d, want 4xx", body, contentType, re.Status)
			}
		}
	})
}
