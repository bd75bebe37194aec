package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

const (
	keyClientID   = "gatehouse-e2e-signed" // authenticates with private_key_jwt only
	keyClientKID  = "e2e-gateway-key"
	ordersAPI     = "https://orders.e2e.test"
	tokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// signedClient returns a private_key_jwt client registration for a gateway
// at gwPublic and the PEM file of its private key.
func signedClient(t *testing.T, gwPublic string) (harness.OPClient, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "client-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return harness.OPClient{
		ID: keyClientID, AuthMethod: "private_key_jwt",
		JWKS:         jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: keyClientKID, Algorithm: "ES256", Use: "sig"}}},
		RedirectURIs: []string{gwPublic + "/oauth2/callback"}, PostLogoutRedirectURIs: []string{gwPublic + "/"},
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials", tokenExchange},
	}, keyFile
}

// verifiedClaims verifies a JWT access token with the OP's keys and returns
// its claims.
func verifiedClaims(t *testing.T, op *harness.OP, tok string) map[string]any {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	p, err := oidc.NewProvider(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	payload, err := oidc.NewRemoteKeySet(ctx, doc.JWKS).VerifySignature(ctx, tok)
	if err != nil {
		t.Fatalf("the upstream's token is not a JWT signed by the OP: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func audience(claims map[string]any) []string {
	switch a := claims["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// grantsWorld is the OP, with the gateway's client registered for
// private_key_jwt and the grants of docs/grants.md, the orders API as a
// resource server, and a gateway in front of the recording upstream with
// a service route (client credentials) and a user route (token exchange).
type grantsWorld struct {
	op *harness.OP
	up *upstream
	gw *gateway
}

func newGrantsWorld(t *testing.T) *grantsWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	port := harness.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	client, keyFile := signedClient(t, public)
	op := harness.StartOP(t, harness.OPConfig{
		Clients:       []harness.OPClient{client},
		Users:         []harness.OPUser{alice},
		Resources:     []harness.OPResource{{Indicator: ordersAPI, Scope: "orders:read"}},
		TokenExchange: true,
	})
	up := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: port, Issuer: op.Issuer, ClientID: keyClientID, UpstreamURL: up.URL,
		ProviderExtra: fmt.Sprintf("client_auth = \"private_key_jwt\"\nprivate_key_file = %q\nprivate_key_id = %q\n", keyFile, keyClientKID),
		Extra: fmt.Sprintf(`
[[upstream]]
name = "orders-service"
path_prefix = "/service"
url = %[1]q
auth = "public"
upstream_token = "client_credentials"
token_scopes = ["orders:read"]
token_resources = [%[2]q]

[[upstream]]
name = "orders"
path_prefix = "/orders"
url = %[1]q
upstream_token = "token_exchange"
token_resources = [%[2]q]
`, up.URL, ordersAPI),
	})
	return &grantsWorld{op: op, up: up, gw: gw}
}

// TestE2EClientCredentialsWithResource: a legacy client calls the orders API
// through the gateway, which authenticates to a real OP with private_key_jwt
// and presents its own token for the API (RFC 8707), fetched once.
func TestE2EClientCredentialsWithResource(t *testing.T) {
	harness.Require(t, "node")
	w := newGrantsWorld(t)
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/service/orders/%d", w.gw.URL, i), nil)
			req.Header.Set("Authorization", "Bearer sent-by-the-client")
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := w.op.Events(t)["grant.client_credentials"]; n != 1 {
		t.Errorf("the OP issued %d client credentials tokens for 5 requests, want 1", n)
	}
	tok, _ := strings.CutPrefix(w.up.last(t).Get("Authorization"), "Bearer ")
	claims := verifiedClaims(t, w.op, tok)
	if !slices.Equal(audience(claims), []string{ordersAPI}) || claims["client_id"] != keyClientID || claims["scope"] != "orders:read" {
		t.Errorf("the upstream's token: %v", claims)
	}
	if _, hasUser := claims["email"]; hasUser {
		t.Errorf("a client credentials token carries user claims: %v", claims)
	}
}

// TestE2EPrivateKeyJWTLoginAndTokenExchange: a user logs in (the code
// exchange, refresh and revocation authenticated with private_key_jwt), and
// the orders upstream receives the user's token exchanged for one for the
// orders API (RFC 8693), exchanged once per session, never the login token.
func TestE2EPrivateKeyJWTLoginAndTokenExchange(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newGrantsWorld(t)
	tab := harness.StartBrowser(t).NewTab(t)
	screenshotOnFailure(t, tab, "grants-token-exchange")
	tab.Navigate(t, w.gw.URL+"/orders/42")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, w.gw.URL+"/orders/42")
	tab.Navigate(t, w.gw.URL+"/orders/43")

	h := w.up.last(t)
	if h.Get("X-Forwarded-User") != "alice-sub" || h.Get("X-Test-Request-URI") != "/orders/43" {
		t.Errorf("upstream saw user %q at %q", h.Get("X-Forwarded-User"), h.Get("X-Test-Request-URI"))
	}
	tok, _ := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	claims := verifiedClaims(t, w.op, tok)
	if !slices.Equal(audience(claims), []string{ordersAPI}) || claims["sub"] != "alice-sub" || claims["client_id"] != keyClientID {
		t.Errorf("the upstream's token: %v", claims)
	}
	if h.Get("X-Forwarded-Access-Token") != "" {
		t.Error("the user's own access token reached the upstream")
	}
	ev := w.op.Events(t)
	if ev["grant.authorization_code"] != 1 || ev["grant."+tokenExchange] != 1 {
		t.Errorf("OP events %v: want one code exchange and one token exchange", ev)
	}

	// Sign-out revokes the refresh token, again with private_key_jwt.
	tab.SignOut(t, w.gw.URL+"/oauth2/sign_out")
	if n := w.op.Events(t)["revocation"]; n != 1 {
		t.Errorf("%d revocations at the OP, want 1", n)
	}
}
