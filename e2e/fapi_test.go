package e2e

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// The FAPI tests run the real OP (oidc-provider) with PAR, DPoP with
// server nonces and, for the first, its FAPI 2.0 profile. The client
// registration requires PAR and DPoP-bound tokens of the gateway, so the
// OP refuses an unpushed authorization request or an unproven token
// request: each positive test has a twin in which the gateway, configured
// not to push or not to prove, is refused — proof that the positive test's
// gateway really sends what it claims. docs/fapi.md describes the feature.

// fapiWorld is the OP, the recording upstream and a gateway.
type fapiWorld struct {
	op *harness.OP
	up *upstream
	gw *gateway
}

// fapiOptions configure newFAPIWorld.
type fapiOptions struct {
	opFAPI        harness.OPFAPI
	public        bool          // a public client (client_auth "none") instead of private_key_jwt
	accessTTL     time.Duration // the OP's access token lifetime (default 10 minutes)
	refreshBefore string        // session.refresh_before (default "1s")
	providerExtra string        // more [provider] TOML for the gateway
	noPAR, noDPoP bool          // the client registration does not require PAR / DPoP
}

func newFAPIWorld(t *testing.T, o fapiOptions) *fapiWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	port := harness.FreePort(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	client, keyFile := signedClient(t, public)
	client.RequirePAR, client.DPoPBound, client.RequireJAR = !o.noPAR, !o.noDPoP, o.opFAPI.JAR
	client.GrantTypes = []string{"authorization_code", "refresh_token"}
	providerExtra := fmt.Sprintf("client_auth = \"private_key_jwt\"\nprivate_key_file = %q\nprivate_key_id = %q\n", keyFile, keyClientKID)
	if o.public {
		client = harness.OPClient{ID: "gatehouse-e2e-public", AuthMethod: "none", RequirePAR: true, DPoPBound: true,
			RedirectURIs: []string{public + "/oauth2/callback"}, PostLogoutRedirectURIs: []string{public + "/"}}
		providerExtra = "client_auth = \"none\"\n"
	}
	op := harness.StartOP(t, harness.OPConfig{
		Clients: []harness.OPClient{client}, Users: []harness.OPUser{alice},
		AccessTokenTTL: o.accessTTL, FAPI: &o.opFAPI,
	})
	up := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: port, Issuer: op.Issuer, ClientID: client.ID, UpstreamURL: up.URL, RefreshBefore: o.refreshBefore,
		ProviderExtra: providerExtra + o.providerExtra,
		Extra: fmt.Sprintf(`
[[upstream]]
name = "api"
path_prefix = "/api"
url = %q
pass_authorization = true

# Chromium fetches the favicon after each page, at a moment of its own: it
# must not renew the session, or the refresh counts race with it.
[[upstream]]
name = "favicon"
path_prefix = "/favicon.ico"
url = "static://204"
auth = "public"
`, up.URL),
	})
	return &fapiWorld{op: op, up: up, gw: gw}
}

// openTab opens the gateway's path in a new browser's tab (its screenshot
// saved as name if the test fails).
func (w *fapiWorld) openTab(t *testing.T, name, path string) *harness.Tab {
	t.Helper()
	tab := harness.StartBrowser(t).NewTab(t)
	screenshotOnFailure(t, tab, name)
	tab.Navigate(t, w.gw.URL+path)
	return tab
}

// loggedInTab opens path as openTab does and signs alice in at the OP; the
// browser is back at path.
func (w *fapiWorld) loggedInTab(t *testing.T, name, path string) *harness.Tab {
	t.Helper()
	tab := w.openTab(t, name, path)
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, w.gw.URL+path)
	return tab
}

// checkUpstreamDPoP checks that the upstream's last request carried the
// user's token as a DPoP-bound one with a valid proof for that request,
// and returns the token and the proof key's thumbprint.
func checkUpstreamDPoP(t *testing.T, w *fapiWorld, path string) (string, string) {
	t.Helper()
	h := w.up.last(t)
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "DPoP ")
	if !ok || tok == "" {
		t.Fatalf("upstream Authorization = %q, want a DPoP token", h.Get("Authorization"))
	}
	jws, err := jose.ParseSignedCompact(h.Get("DPoP"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("upstream DPoP proof: %v", err)
	}
	hdr := jws.Signatures[0].Protected
	if hdr.ExtraHeaders["typ"] != "dpop+jwt" || hdr.JSONWebKey == nil || !hdr.JSONWebKey.IsPublic() {
		t.Fatalf("upstream DPoP proof header: %+v", hdr)
	}
	payload, err := jws.Verify(hdr.JSONWebKey)
	if err != nil {
		t.Fatalf("upstream DPoP proof signature: %v", err)
	}
	var c struct {
		HTM, HTU, ATH, JTI string
		IAT                int64
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if c.HTM != http.MethodGet || c.HTU != w.up.URL+path || c.ATH != login.AccessTokenHash(tok) || c.JTI == "" ||
		time.Since(time.Unix(c.IAT, 0)).Abs() > time.Minute {
		t.Errorf("upstream DPoP proof claims %+v; want GET %s with ath of the token", c, w.up.URL+path)
	}
	tp, err := hdr.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return tok, fmt.Sprintf("%x", tp)
}

// bearerUserinfo calls the OP's userinfo endpoint with tok as a bearer
// token and returns the status.
func bearerUserinfo(t *testing.T, w *fapiWorld, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.op.Issuer+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestE2EFAPI2LoginWithPARAndDPoP: a FAPI 2.0 login against the OP's FAPI
// 2.0 profile, which requires PAR of every client and a nonce in every DPoP
// proof: the gateway pushes the request, authenticates with
// private_key_jwt, proves possession at the token endpoint (after one
// use_dpop_nonce) and at userinfo, and hands the upstream the DPoP-bound
// token with a proof for the upstream's URL. The OP refuses that token
// presented as a bearer token.
func TestE2EFAPI2LoginWithPARAndDPoP(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newFAPIWorld(t, fapiOptions{
		opFAPI:        harness.OPFAPI{Profile: true, RequirePAR: true, DPoPNonce: true},
		providerExtra: "profile = \"fapi2\"\nuse_userinfo = true\n",
	})
	w.loggedInTab(t, "fapi2-login", "/api/accounts")

	ev := w.op.Events(t)
	if ev["pushed_authorization_request.success"] != 1 || ev["grant.authorization_code"] != 1 || ev["userinfo"] != 1 || ev["par.required"] != 0 {
		t.Errorf("OP events %v: want one pushed request, one code exchange, one userinfo call", ev)
	}
	if ev["dpop.use_nonce"] != 1 {
		t.Errorf("OP events %v: want exactly one use_dpop_nonce (the first proof has no nonce; the retry has it)", ev)
	}
	tok, _ := checkUpstreamDPoP(t, w, "/api/accounts")
	if w.up.last(t).Get("X-Forwarded-User") != "alice-sub" {
		t.Errorf("upstream user %q", w.up.last(t).Get("X-Forwarded-User"))
	}
	if st := bearerUserinfo(t, w, tok); st != http.StatusUnauthorized {
		t.Errorf("the OP answered %d to the DPoP-bound token used as a bearer token, want 401", st)
	}
}

// TestE2EFAPIUnpushedRequestRefused is the PAR twin: the same client
// registration, a gateway with par = "off": the OP refuses the request the
// browser carries, and no code is issued.
func TestE2EFAPIUnpushedRequestRefused(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newFAPIWorld(t, fapiOptions{opFAPI: harness.OPFAPI{DPoPNonce: true}, providerExtra: "par = \"off\"\ndpop = true\n"})
	tab := w.openTab(t, "fapi-unpushed", "/api/accounts")
	tab.WaitURLPrefix(t, w.gw.URL+"/oauth2/callback")
	if text := tab.Text(t); !strings.Contains(text, "refused the gateway's sign-in request") {
		t.Errorf("page: %q", text)
	}
	ev := w.op.Events(t)
	if ev["par.required"] != 1 || ev["pushed_authorization_request.success"] != 0 || ev["grant.authorization_code"] != 0 {
		t.Errorf("OP events %v: want the unpushed request refused and no code exchange", ev)
	}
	if w.up.count() != 0 {
		t.Error("the upstream was reached")
	}
}

// TestE2EFAPIUnprovenTokenRequestRefused is the DPoP twin: a gateway with
// dpop = false: the OP refuses the code exchange without a proof.
func TestE2EFAPIUnprovenTokenRequestRefused(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newFAPIWorld(t, fapiOptions{opFAPI: harness.OPFAPI{DPoPNonce: true}, providerExtra: "dpop = false\n"})
	tab := w.openTab(t, "fapi-unproven", "/api/accounts")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, w.gw.URL+"/oauth2/callback")
	ev := w.op.Events(t)
	if ev["pushed_authorization_request.success"] != 1 || ev["dpop.refused"] != 1 || ev["grant.authorization_code"] != 0 {
		t.Errorf("OP events %v: want the pushed request accepted and the unproven code exchange refused", ev)
	}
	if w.up.count() != 0 {
		t.Error("the upstream was reached")
	}
}

// TestE2EDPoPBoundRefreshAndNonceRotation: a public client's refresh token
// is bound to the session's DPoP key (RFC 9449 §5): every request renews
// the short-lived access token with a proof by that key; after the OP
// rotates its nonce, the next refresh gets use_dpop_nonce once and
// succeeds with the new nonce. The twin: the same refresh token with a
// proof by another key, or without a proof, is refused by the OP.
func TestE2EDPoPBoundRefreshAndNonceRotation(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newFAPIWorld(t, fapiOptions{
		opFAPI: harness.OPFAPI{RequirePAR: true, DPoPNonce: true}, public: true,
		accessTTL: time.Minute, refreshBefore: "2m", // every request refreshes
		providerExtra: "dpop = true\n",
	})
	tab := w.loggedInTab(t, "dpop-refresh", "/api/one")
	tok1, jkt1 := checkUpstreamDPoP(t, w, "/api/one")
	before := w.op.Events(t)

	tab.Navigate(t, w.gw.URL+"/api/two")
	tok2, jkt2 := checkUpstreamDPoP(t, w, "/api/two")
	w.op.RotateDPoPNonce(t)
	tab.Navigate(t, w.gw.URL+"/api/three")
	tok3, jkt3 := checkUpstreamDPoP(t, w, "/api/three")

	after := w.op.Events(t)
	if n := after["grant.refresh_token"] - before["grant.refresh_token"]; n != 2 {
		t.Errorf("%d refreshes for two requests, want 2 (events %v)", n, after)
	}
	if n := after["dpop.use_nonce"] - before["dpop.use_nonce"]; n != 1 {
		t.Errorf("%d use_dpop_nonce answers to the refreshes, want 1: after the rotation (events %v)", n, after)
	}
	if tok1 == tok2 || tok2 == tok3 {
		t.Error("the upstream got the same access token after a refresh")
	}
	if jkt1 != jkt2 || jkt2 != jkt3 {
		t.Error("the session's proofs were signed by different keys")
	}

	// The twin: the current refresh token is useless without the session's key.
	rt := w.op.LastRefreshToken(t, "gatehouse-e2e-public")
	if rt == "" {
		t.Fatal("the OP issued no refresh token")
	}
	other, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []*login.DPoPKey{other, nil} {
		code, desc := refreshAt(t, w.op.Issuer, rt, key)
		if code != "invalid_grant" {
			t.Errorf("refresh with key %v: error %q (%s), want invalid_grant", key != nil, code, desc)
		}
	}
	tab.Navigate(t, w.gw.URL+"/api/four")
	checkUpstreamDPoP(t, w, "/api/four")
}

// refreshAt posts a refresh token request for the public client with a
// proof by key (nil: none), following one use_dpop_nonce, and returns the
// OAuth error and its description ("" on success).
func refreshAt(t *testing.T, issuer, rt string, key *login.DPoPKey) (string, string) {
	t.Helper()
	tokenURL := issuer + "/token"
	nonce := ""
	for range 2 {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"gatehouse-e2e-public"}}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if key != nil {
			proof, err := key.Proof(http.MethodPost, tokenURL, "", nonce, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("DPoP", proof)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body.Error == "use_dpop_nonce" {
			nonce = resp.Header.Get("DPoP-Nonce")
			continue
		}
		return body.Error, body.ErrorDescription
	}
	return "use_dpop_nonce", "twice"
}

// TestE2EJARAndJARMLogin: the client registration requires signed request
// objects; the gateway signs the (pushed) request with its private_key_jwt
// key, asks for a JWT response, and verifies the OP's signed response
// before its state. The twins: the same client without the request object
// is refused by the OP; a response JWT the OP did not sign is refused by the
// gateway.
func TestE2EJARAndJARMLogin(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newFAPIWorld(t, fapiOptions{opFAPI: harness.OPFAPI{JAR: true, JARM: true}, noDPoP: true,
		providerExtra: "request_object = \"signed\"\nresponse_mode = \"jwt\"\n"})
	browser := harness.StartBrowser(t)
	tab := browser.NewTab(t)
	screenshotOnFailure(t, tab, "jar-jarm-login")
	tab.Navigate(t, w.gw.URL+"/api/accounts")
	tab.OPLogin(t, "alice", "x")
	tab.WaitURLPrefix(t, w.gw.URL+"/api/accounts")
	ev := w.op.Events(t)
	if ev["pushed_authorization_request.success"] != 1 || ev["grant.authorization_code"] != 1 {
		t.Errorf("OP events %v: want one pushed request and one code exchange", ev)
	}
	if w.up.last(t).Get("X-Forwarded-User") != "alice-sub" {
		t.Errorf("upstream user %q", w.up.last(t).Get("X-Forwarded-User"))
	}

	t.Run("forged response JWT refused", func(t *testing.T) {
		key, err := login.NewDPoPKey() // any key the OP does not have
		if err != nil {
			t.Fatal(err)
		}
		forged, err := key.Proof("GET", w.gw.URL+"/oauth2/callback", "", "", time.Now()) // a JWT signed by someone else
		if err != nil {
			t.Fatal(err)
		}
		tab2 := browser.NewIsolatedTab(t)
		tab2.Navigate(t, w.gw.URL+"/oauth2/callback?response="+url.QueryEscape(forged))
		if text := tab2.Text(t); !strings.Contains(text, "could not be verified") {
			t.Errorf("page: %q", text)
		}
	})
}

// TestE2EUnsignedRequestRefused is the JAR twin: the client registration
// requires request objects, the gateway does not sign (request_object =
// "off"): the OP refuses the pushed request.
func TestE2EUnsignedRequestRefused(t *testing.T) {
	harness.Require(t, "node", "chromium")
	w := newFAPIWorld(t, fapiOptions{opFAPI: harness.OPFAPI{JAR: true}, noDPoP: true, providerExtra: "request_object = \"off\"\n"})
	tab := w.openTab(t, "jar-unsigned", "/api/accounts")
	if text := tab.Text(t); !strings.Contains(text, "Sign-in service error") {
		t.Errorf("page: %q", text)
	}
	ev := w.op.Events(t)
	if ev["pushed_authorization_request.success"] != 0 || ev["grant.authorization_code"] != 0 {
		t.Errorf("OP events %v: want the unsigned request refused", ev)
	}
	if !strings.Contains(w.gw.log(), "pushed authorization request failed") {
		t.Error("the gateway did not log the refused pushed request")
	}
}
