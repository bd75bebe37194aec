package tracing

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestASCallNames: a token request is named by its grant, read from the
// form body (which stays readable), other calls by their endpoint.
func TestASCallNames(t *testing.T) {
	form := func(path string, v url.Values) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "https://as.example.com"+path, strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "https://as.example.com"+path, nil)
		return r
	}
	for _, tc := range []struct {
		r    *http.Request
		want string
	}{
		{form("/token", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}}), "oauth2 code_exchange"},
		{form("/oauth2/v1/token", url.Values{"grant_type": {"refresh_token"}}), "oauth2 refresh"},
		{form("/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}}), "oauth2 token_exchange"},
		{form("/token", url.Values{"grant_type": {"client_credentials"}}), "oauth2 client_credentials"},
		{form("/token", url.Values{"grant_type": {"password"}}), "oauth2 password"},
		{form("/token", url.Values{"grant_type": {"urn:other"}}), "oauth2 token"},
		{form("/oauth2/par", url.Values{"response_type": {"code"}, "client_id": {"c"}, "redirect_uri": {"https://gw/cb"}}), "oauth2 par"},
		{form("/request", url.Values{"client_id": {"c"}, "request": {"eyJ.a.b"}}), "oauth2 par"},
		{form("/token/introspect", url.Values{"token": {"t"}}), "oauth2 introspection"},
		{form("/revoke", url.Values{"token": {"t"}}), "oauth2 revocation"},
		{get("/.well-known/openid-configuration"), "oauth2 discovery"},
		{get("/jwks"), "oauth2 jwks"},
		{get("/userinfo"), "oauth2 userinfo"},
		{get("/elsewhere"), "oauth2 other"},
	} {
		if got, _ := ASCall(tc.r); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.r.Method, tc.r.URL.Path, got, tc.want)
		}
		if tc.r.Body != nil { // still whole for the transport
			var b strings.Builder
			buf := make([]byte, 100)
			for {
				n, err := tc.r.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if !strings.Contains(b.String(), "=") {
				t.Errorf("%s: body consumed: %q", tc.r.URL.Path, b.String())
			}
		}
	}
}
