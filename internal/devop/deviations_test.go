package devop

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDeviations: each switch changes exactly what it documents.
func TestDeviations(t *testing.T) {
	t.Run("BareRefusals", func(t *testing.T) {
		for _, bare := range []bool{false, true} {
			e := newEnv(t, Options{Deviations: Deviations{BareRefusals: bare}})
			req, _ := http.NewRequest(http.MethodPost, e.op.Issuer()+"/token",
				strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(webID), url.QueryEscape(webSecret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("bare=%v: status %d, want 400", bare, resp.StatusCode)
			}
			if got := strings.Contains(string(body), "invalid_grant"); got == bare || (bare && len(body) != 0) {
				t.Errorf("bare=%v: body %q", bare, body)
			}
		}
	})
	t.Run("LogoutTokenWithoutExp", func(t *testing.T) {
		for _, without := range []bool{false, true} {
			e := newEnv(t, Options{Deviations: Deviations{LogoutTokenWithoutExp: without}})
			if _, has := e.op.LogoutTokenClaims(webID, "sub", "")["exp"]; has == without {
				t.Errorf("without=%v: exp present %v", without, has)
			}
		}
	})
	t.Run("AudienceArray", func(t *testing.T) {
		for _, array := range []bool{false, true} {
			e := newEnv(t, Options{Deviations: Deviations{AudienceArray: array}})
			aud := e.op.LogoutTokenClaims(webID, "sub", "")["aud"]
			if _, isArray := aud.([]string); isArray != array || fmt.Sprint(aud) != fmt.Sprint(e.op.audience(webID)) {
				t.Errorf("array=%v: aud %#v", array, aud)
			}
		}
	})
	t.Run("NoIssParameter", func(t *testing.T) {
		for _, without := range []bool{false, true} {
			e := newEnv(t, Options{Deviations: Deviations{NoIssParameter: without}})
			resp, err := http.Get(e.op.Issuer() + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if _, has := doc["authorization_response_iss_parameter_supported"]; has == without {
				t.Errorf("without=%v: discovery flag present %v", without, has)
			}
		}
	})
	t.Run("FrontchannelWithoutSID", func(t *testing.T) {
		clients := testClients()
		clients[0].FrontchannelLogoutURI = "https://rp.example/fc?x=1"
		for _, tc := range []struct {
			without bool
			want    string
		}{
			{false, "https://rp.example/fc?iss=ISS&sid=s1&x=1"},
			{true, "https://rp.example/fc?x=1"},
		} {
			e := newEnv(t, Options{Clients: clients, Deviations: Deviations{FrontchannelWithoutSID: tc.without}})
			want := strings.Replace(tc.want, "ISS", url.QueryEscape(e.op.Issuer()), 1)
			if got := e.op.FrontchannelLogoutURL(webID, "s1"); got != want {
				t.Errorf("without=%v: %q, want %q", tc.without, got, want)
			}
			if got := e.op.FrontchannelLogoutURL(spaID, "s1"); got != "" {
				t.Errorf("a client without a front-channel logout URI: %q", got)
			}
		}
	})
}
