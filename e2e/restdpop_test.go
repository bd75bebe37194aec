package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
)

// TestE2ERestDPoPBoundSessionTwoReplicas: a native app binds its session
// token to its DPoP key when it starts the flow (docs/rest-flow-api.md).
// Two replicas share Redis: the token is accepted with a fresh proof on
// either, and refused without a proof, with a proof replayed on the other
// replica, and with a proof by another key.
func TestE2ERestDPoPBoundSessionTwoReplicas(t *testing.T) {
	harness.Require(t, "node", "chromium")
	redistest.Require(t)
	rds := redistest.Start(t)
	w := newWorld(t, worldOptions{extra: []harness.OPClient{mobileClient}})
	a, b := w.replicas(t, gwConfig{Store: "redis", RedisURL: rds.URL, Extra: restAppConfig})
	key, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := login.NewDPoPKey()
	proof := func(k *login.DPoPKey, method, path, token string) string {
		p, err := k.Proof(method, w.gwPublic+path, token, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	client := &http.Client{Timeout: 15 * time.Second}
	get := func(base, path string, hdr ...string) *http.Response {
		t.Helper()
		return getDiscarding(t, client, base+path, append([]string{"Accept", "application/json"}, hdr...)...)
	}

	// The app starts the flow on replica A with a proof, logs in in the
	// system browser and posts the redirect on replica B.
	const start = "/auth/rest/public/authentication/applications/app/access/"
	app := &nativeApp{t: t, c: client}
	req, _ := http.NewRequest(http.MethodPost, a.URL+start, nil)
	req.Header.Set("DPoP", proof(key, http.MethodPost, start, ""))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	handle := resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || handle == "" {
		t.Fatalf("start with a proof: %d", resp.StatusCode)
	}
	_, d, raw := app.do(http.MethodPost, a.URL+"/auth/rest/public/authentication/oauth2-client/authorization-request/", handle, nil)
	authURL := d.Data.Attributes.OAuth2Client.AuthorizationRequestURL
	if authURL == "" {
		t.Fatalf("authorization request: %s", raw)
	}
	redirect := w.appLogin(t, authURL, "rest-dpop", "x")
	resp, _, raw = app.do(http.MethodPost, b.URL+"/auth/rest/public/authentication/oauth2-client/authorization-response/", handle, map[string]string{"url": redirect})
	token := resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || token == "" {
		t.Fatalf("authorization response: %d %s", resp.StatusCode, raw)
	}

	const api = "/api/orders"
	good := proof(key, http.MethodGet, api, token)
	if resp := get(a.URL, api, "Authorization", "DPoP "+token, "DPoP", good); resp.StatusCode != http.StatusOK {
		t.Fatalf("replica A with a proof: %d", resp.StatusCode)
	}
	if h := w.up.last(t); h.Get("X-Forwarded-User") != "alice-sub" || h.Get("Authorization") != "" || h.Get("DPoP") != "" {
		t.Errorf("upstream: user %q Authorization %q DPoP %q", h.Get("X-Forwarded-User"), h.Get("Authorization"), h.Get("DPoP"))
	}
	n := w.up.count()
	for name, hdr := range map[string][]string{
		"no proof (bearer)":          {"Authorization", "Bearer " + token},
		"replayed on replica B":      {"Authorization", "DPoP " + token, "DPoP", good},
		"another key":                {"Authorization", "DPoP " + token, "DPoP", proof(other, http.MethodGet, api, token)},
		"DPoP scheme, no proof":      {"Authorization", "DPoP " + token},
		"proof for the session path": {"Authorization", "DPoP " + token, "DPoP", proof(key, http.MethodGet, "/auth/rest/protected/session/", token)},
	} {
		resp := get(b.URL, api, hdr...)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP") {
			t.Errorf("%s: %d %q, want 401 with a DPoP challenge", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if w.up.count() != n {
		t.Error("the upstream was reached without a valid proof")
	}
	if resp := get(b.URL, api, "Authorization", "DPoP "+token, "DPoP", proof(key, http.MethodGet, api, token)); resp.StatusCode != http.StatusOK {
		t.Errorf("replica B with a fresh proof: %d", resp.StatusCode)
	}
}
