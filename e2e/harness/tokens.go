package harness

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ClientCredentials gets an access token for resource from the OP's token endpoint with the
// client credentials grant (RFC 6749 4.4, RFC 8707): clientID must be registered with
// GrantTypes ["client_credentials"] and a Secret. scope may be empty.
func (op *OP) ClientCredentials(t testing.TB, clientID, secret, resource, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}}
	if scope != "" {
		form.Set("scope", scope)
	}
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	op.call(t, http.MethodGet, "/.well-known/openid-configuration", &doc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, doc.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := op.client.Do(req)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("client credentials for %s: %s %s: %s (%v)", resource, res.Status, body.Error, body.Description, err)
	}
	return body.AccessToken
}
