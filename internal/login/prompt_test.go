package login_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// TestRequestPrompt: "Use another account" asks for select_account where
// the AS supports it (or does not say), else for login; consent is added
// for offline_access.
func TestRequestPrompt(t *testing.T) {
	tests := []struct {
		name      string
		supported []any // prompt_values_supported; nil: not advertised
		scopes    []string
		prompt    string
		want      string
	}{
		{"none asked", []any{"none", "login"}, []string{"openid"}, "", ""},
		{"offline without prompt", nil, []string{"openid", "offline_access"}, "", "consent"},
		{"select_account supported", []any{"none", "login", "select_account"}, []string{"openid"}, "select_account", "select_account"},
		{"select_account not advertised", nil, []string{"openid"}, "select_account", "select_account"},
		{"select_account unsupported", []any{"none", "login"}, []string{"openid"}, "select_account", "login"},
		{"with offline_access", []any{"login", "select_account", "consent"}, []string{"openid", "offline_access"}, "select_account", "select_account consent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startAS(t, asOptions{clients: gatewayClient(), hooks: devop.Hooks{Discovery: func(doc map[string]any) {
				delete(doc, "prompt_values_supported")
				if tt.supported != nil {
					doc["prompt_values_supported"] = tt.supported
				}
			}}})
			c := e.newClient(t, login.Options{ClientID: "gw", ClientSecret: gwSecret, Scopes: tt.scopes})
			req, err := c.NewRequestPrompt(t.Context(), callback, tt.prompt)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Params.Get("prompt"); got != tt.want {
				t.Errorf("prompt = %q, want %q", got, tt.want)
			}
		})
	}
}
