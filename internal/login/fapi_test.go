package login_test

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// fapiAS is a minimal FAPI 2.0 authorization server for the client's side
// of PAR, DPoP and the profile: it checks each DPoP proof as RFC 9449 §4.3
// says (signature by the embedded key, typ, alg, htm, htu, iat, jti unique,
// ath, nonce), demands a fresh nonce from the token endpoint and the
// userinfo endpoint (use_dpop_nonce), binds tokens to the proof's key, and
// records what it saw.
type fapiAS struct {
	t       *testing.T
	srv     *httptest.Server
	signer  jose.Signer
	asKey   *ecdsa.PrivateKey
	doc     map[string]any
	bearer  bool // answer token_type Bearer (a downgrade)
	mu      sync.Mutex
	nonce   string // the token endpoint's current nonce
	rsNonce string // the userinfo endpoint's
	rotate  bool   // a new token endpoint nonce after each success, sent in DPoP-Nonce
	seen    map[string]bool
	pushed  []url.Values
	calls   []string // "token:400", "token:200", "userinfo:401", ...
	jkts    []string // thumbprint of the proof key of each successful token call
	// codes: the nonce of each pushed request's code.
	codes      map[string]string
	assertions []string
}

func startFAPIAS(t *testing.T) *fapiAS {
	t.Helper()
	a := &fapiAS{t: t, asKey: ecKey(t), nonce: "n-1", rsNonce: "rs-1", seen: map[string]bool{}, codes: map[string]string{}}
	var err error
	a.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: a.asKey, KeyID: "as"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	iss := a.srv.URL
	a.doc = map[string]any{
		"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
		"jwks_uri": iss + "/jwks", "userinfo_endpoint": iss + "/userinfo", "revocation_endpoint": iss + "/revoke",
		"pushed_authorization_request_endpoint": iss + "/par", "require_pushed_authorization_requests": true,
		"dpop_signing_alg_values_supported":              []string{"ES256", "PS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"id_token_signing_alg_values_supported":          []string{"ES256"},
		"token_endpoint_auth_methods_supported":          []string{"private_key_jwt", "client_secret_basic"},
		"authorization_response_iss_parameter_supported": true,
	}
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(a.doc)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: a.asKey.Public(), KeyID: "as", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /par", a.par)
	mux.HandleFunc("POST /token", a.token)
	mux.HandleFunc("GET /userinfo", a.userinfo)
	mux.HandleFunc("POST /revoke", a.revoke)
	return a
}

func (a *fapiAS) client(t *testing.T, o login.Options) *login.Client {
	t.Helper()
	o.Issuer, o.ClientID = a.srv.URL, "fapi-client"
	o.Scopes = []string{"openid"}
	if o.ClientAuth.PrivateKey == nil && o.ClientSecret == "" {
		o.ClientAuth = login.ClientAuth{Method: login.AuthPrivateKeyJWT, PrivateKey: ecKey(t)}
	}
	c := login.New(o)
	if err := c.Discover(t.Context()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return c
}

func (a *fapiAS) record(call string) {
	a.mu.Lock()
	a.calls = append(a.calls, call)
	a.mu.Unlock()
}

func (a *fapiAS) par(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	a.mu.Lock()
	a.pushed = append(a.pushed, r.PostForm)
	a.assertions = append(a.assertions, r.PostForm.Get("client_assertion"))
	code := fmt.Sprintf("code-%d", len(a.pushed))
	a.codes[code] = r.PostForm.Get("nonce")
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"request_uri": "urn:ietf:params:oauth:request_uri:" + code, "expires_in": 60})
}

// checkProof verifies r's DPoP proof for the endpoint path and returns its
// key's thumbprint, or an error description.
func (a *fapiAS) checkProof(r *http.Request, path, accessToken, nonce string) (string, string) {
	raw := r.Header.Get("DPoP")
	if raw == "" {
		return "", "no DPoP proof"
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", "malformed proof: " + err.Error()
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		return "", "bad proof header"
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return "", "bad proof signature"
	}
	var c struct {
		JTI, HTM, HTU, ATH, Nonce string
		IAT                       int64
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", "bad proof claims"
	}
	tp, _ := h.JSONWebKey.Thumbprint(cryptoSHA256)
	a.mu.Lock()
	replay := a.seen[c.JTI]
	a.seen[c.JTI] = true
	a.mu.Unlock()
	switch {
	case replay || c.JTI == "":
		return "", "jti replayed or missing"
	case c.HTM != r.Method || c.HTU != a.srv.URL+path:
		return "", fmt.Sprintf("htm/htu %s %s", c.HTM, c.HTU)
	case time.Since(time.Unix(c.IAT, 0)).Abs() > time.Minute:
		return "", "iat"
	case accessToken != "" && c.ATH != login.AccessTokenHash(accessToken):
		return "", "ath"
	case c.Nonce != nonce:
		return "", "nonce"
	}
	return b64(tp), ""
}

func (a *fapiAS) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	a.mu.Lock()
	nonce := a.nonce
	a.assertions = append(a.assertions, r.PostForm.Get("client_assertion"))
	a.mu.Unlock()
	jkt, problem := a.checkProof(r, "/token", "", nonce)
	w.Header().Set("Content-Type", "application/json")
	if problem == "nonce" {
		w.Header().Set("DPoP-Nonce", nonce)
		w.WriteHeader(http.StatusBadRequest)
		a.record("token:400")
		_, _ = w.Write([]byte(`{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}`))
		return
	}
	if problem != "" {
		w.WriteHeader(http.StatusBadRequest)
		a.record("token:400 " + problem)
		_, _ = fmt.Fprintf(w, `{"error":"invalid_dpop_proof","error_description":%q}`, problem)
		return
	}
	a.mu.Lock()
	a.jkts = append(a.jkts, jkt)
	if a.rotate {
		a.nonce += "+"
		w.Header().Set("DPoP-Nonce", a.nonce)
	}
	codeNonce := a.codes[r.PostForm.Get("code")]
	a.mu.Unlock()
	a.record("token:200")
	typ := "DPoP"
	if a.bearer {
		typ = "Bearer"
	}
	resp := map[string]any{"access_token": "at-" + jkt, "token_type": typ, "expires_in": 300, "refresh_token": "rt-" + jkt}
	if r.PostForm.Get("grant_type") == "authorization_code" {
		now := time.Now()
		idt, err := jwt.Signed(a.signer).Claims(jwt.Claims{
			Issuer: a.srv.URL, Subject: "alice", Audience: jwt.Audience{"fapi-client"},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
		}).Claims(map[string]any{"nonce": codeNonce}).Serialize()
		if err != nil {
			a.t.Error(err)
		}
		resp["id_token"] = idt
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (a *fapiAS) userinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	a.mu.Lock()
	nonce := a.rsNonce
	a.mu.Unlock()
	if scheme != "DPoP" {
		a.record("userinfo:401 scheme " + scheme)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_, problem := a.checkProof(r, "/userinfo", tok, nonce)
	if problem == "nonce" {
		w.Header().Set("DPoP-Nonce", nonce)
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
		w.WriteHeader(http.StatusUnauthorized)
		a.record("userinfo:401")
		return
	}
	if problem != "" {
		a.record("userinfo:401 " + problem)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	a.record("userinfo:200")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"sub":"alice","email":"alice@example.com"}`))
}

func (a *fapiAS) revoke(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	nonce := a.nonce
	a.mu.Unlock()
	if _, problem := a.checkProof(r, "/revoke", "", nonce); problem != "" {
		a.record("revoke:400 " + problem)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	a.record("revoke:200")
}

// codeOf returns the code the AS issues for a pushed request.
func codeOf(t *testing.T, req *login.Request) string {
	t.Helper()
	uri := req.Params.Get("request_uri")
	code, ok := strings.CutPrefix(uri, "urn:ietf:params:oauth:request_uri:")
	if !ok {
		t.Fatalf("request_uri %q", uri)
	}
	return code
}

// TestPushedAuthorizationRequest: with PAR the browser's URL carries only
// client_id and request_uri; the parameters went to the PAR endpoint with
// the client's authentication, and under FAPI 2.0 the assertion's audience
// is the issuer.
func TestPushedAuthorizationRequest(t *testing.T) {
	for _, profile := range []string{"", vocab.ProfileFAPI2} {
		t.Run("profile="+profile, func(t *testing.T) {
			as := startFAPIAS(t)
			c := as.client(t, login.Options{FAPI: login.FAPIOptions{Profile: profile}})
			req, err := c.NewRequestPrompt(t.Context(), callback, "")
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(req.URL)
			if got := u.Query(); len(got) != 2 || got.Get("client_id") != "fapi-client" || got.Get("request_uri") == "" || !req.Pushed {
				t.Errorf("browser URL query = %v, want client_id and request_uri only", got)
			}
			if len(as.pushed) != 1 {
				t.Fatalf("pushed %d requests", len(as.pushed))
			}
			p := as.pushed[0]
			for k, want := range map[string]string{"state": req.State, "nonce": req.Nonce, "redirect_uri": callback, "code_challenge_method": "S256",
				"response_type": "code", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"} {
				if p.Get(k) != want {
					t.Errorf("pushed %s = %q, want %q", k, p.Get(k), want)
				}
			}
			wantAud := as.srv.URL + "/token"
			if profile == vocab.ProfileFAPI2 {
				wantAud = as.srv.URL
			}
			if aud := assertionAud(t, p.Get("client_assertion")); aud != wantAud {
				t.Errorf("assertion aud = %q, want %q", aud, wantAud)
			}
		})
	}
	t.Run("par off refused when the AS requires it", func(t *testing.T) {
		as := startFAPIAS(t)
		err := login.New(login.Options{Issuer: as.srv.URL, ClientID: "c", ClientSecret: "s", Scopes: []string{"openid"},
			FAPI: login.FAPIOptions{PAR: vocab.PAROff}}).Discover(t.Context())
		if err == nil || !strings.Contains(err.Error(), "require_pushed_authorization_requests") {
			t.Errorf("Discover: %v", err)
		}
	})
	t.Run("PAR endpoint failure", func(t *testing.T) {
		as := startFAPIAS(t)
		c := as.client(t, login.Options{})
		as.srv.Config.Handler.(*http.ServeMux).HandleFunc("POST /par-broken", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
		})
		as.doc["pushed_authorization_request_endpoint"] = as.srv.URL + "/par-broken"
		if err := c.Discover(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.NewRequestPrompt(t.Context(), callback, ""); !errors.Is(err, login.ErrPushedRequest) {
			t.Errorf("err = %v, want ErrPushedRequest", err)
		}
	})
}

func assertionAud(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.RS256})
	if err != nil {
		t.Fatalf("client assertion: %v", err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || len(c.Audience) != 1 {
		t.Fatalf("client assertion claims: %v %v", err, c.Audience)
	}
	return c.Audience[0]
}

// TestDPoPLifecycle: a FAPI 2.0 login binds the tokens to a fresh key: the
// code exchange, userinfo, refresh and revocation each carry a valid proof
// by that one key; each server's use_dpop_nonce gets exactly one retry
// with its nonce (and a fresh client assertion), and a rotated nonce sent
// in DPoP-Nonce is used next time without a retry.
func TestDPoPLifecycle(t *testing.T) {
	as := startFAPIAS(t)
	as.rotate = true
	c := as.client(t, login.Options{UseUserinfo: true, FAPI: login.FAPIOptions{Profile: vocab.ProfileFAPI2}})
	req, err := c.NewRequestPrompt(t.Context(), callback, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Exchange(t.Context(), codeOf(t, req), req.Verifier, req.RedirectURI, req.Nonce)
	if err != nil {
		t.Fatalf("Exchange: %v (AS saw %v)", err, as.calls)
	}
	if res.DPoPKey == nil || res.TokenType != login.TokenTypeDPoP || res.Claims["email"] != "alice@example.com" {
		t.Fatalf("result: key %v type %q claims %v", res.DPoPKey, res.TokenType, res.Claims)
	}
	if want := []string{"token:400", "token:200", "userinfo:401", "userinfo:200"}; fmt.Sprint(as.calls) != fmt.Sprint(want) {
		t.Errorf("AS calls = %v, want %v", as.calls, want)
	}
	// The key survives the session store.
	text, err := res.DPoPKey.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	key, err := login.ParseDPoPKey(text)
	if err != nil || key.Thumbprint() != res.DPoPKey.Thumbprint() {
		t.Fatalf("ParseDPoPKey: %v", err)
	}
	as.calls = nil
	ref, err := c.Refresh(t.Context(), res.RefreshToken, res.Issuer, res.Subject, login.WithDPoPKey(key))
	if err != nil {
		t.Fatalf("Refresh: %v (AS saw %v)", err, as.calls)
	}
	if ref.DPoPKey == nil || ref.DPoPKey.Thumbprint() != key.Thumbprint() {
		t.Error("the refreshed tokens are not bound to the session's key")
	}
	if err := c.Revoke(t.Context(), ref.RefreshToken, "refresh_token", login.WithDPoPKey(key)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	// The rotated nonce came with the last success: no retry is needed.
	if want := []string{"token:200", "revoke:200"}; fmt.Sprint(as.calls) != fmt.Sprint(want) {
		t.Errorf("AS calls = %v, want %v", as.calls, want)
	}
	for _, jkt := range as.jkts {
		if jkt != key.Thumbprint() {
			t.Errorf("a token request was proven with key %s, want %s", jkt, key.Thumbprint())
		}
	}
	seen := map[string]bool{}
	for _, a := range as.assertions {
		if seen[a] {
			t.Error("a client assertion was sent twice (the retry must make a new one)")
		}
		seen[a] = true
	}

	t.Run("silent rotation: one retry", func(t *testing.T) {
		as.calls = nil
		as.mu.Lock()
		as.nonce = "silently-rotated"
		as.mu.Unlock()
		if _, err := c.Refresh(t.Context(), "rt", "iss", "alice", login.WithDPoPKey(key)); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if want := []string{"token:400", "token:200"}; fmt.Sprint(as.calls) != fmt.Sprint(want) {
			t.Errorf("AS calls = %v, want %v", as.calls, want)
		}
	})
}

// TestDPoPDowngrade: a bearer token where a DPoP-bound one was asked for is
// refused under FAPI 2.0 and left unbound otherwise.
func TestDPoPDowngrade(t *testing.T) {
	for _, tt := range []struct {
		profile string
		wantErr bool
	}{{vocab.ProfileFAPI2, true}, {"", false}} {
		t.Run("profile="+tt.profile, func(t *testing.T) {
			as := startFAPIAS(t)
			as.bearer = true
			c := as.client(t, login.Options{FAPI: login.FAPIOptions{Profile: tt.profile, DPoP: vocab.DPoPOn}})
			req, err := c.NewRequestPrompt(t.Context(), callback, "")
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Exchange(t.Context(), codeOf(t, req), req.Verifier, req.RedirectURI, req.Nonce)
			switch {
			case tt.wantErr && !errors.Is(err, login.ErrTokenEndpoint):
				t.Errorf("err = %v, want ErrTokenEndpoint", err)
			case !tt.wantErr && (err != nil || res.DPoPKey != nil || res.TokenType != ""):
				t.Errorf("Exchange = %+v, %v; want unbound tokens", res, err)
			}
		})
	}
}

// TestFAPIDiscoveryRefusals: the profile refuses, at start-up, an AS or a
// client that cannot do it.
func TestFAPIDiscoveryRefusals(t *testing.T) {
	tests := []struct {
		name   string
		doc    func(map[string]any)
		opts   login.Options
		secret bool
		want   string
	}{
		{"no PAR endpoint", func(d map[string]any) { delete(d, "pushed_authorization_request_endpoint") }, login.Options{}, false, "pushed_authorization_request_endpoint"},
		{"no iss parameter", func(d map[string]any) { delete(d, "authorization_response_iss_parameter_supported") }, login.Options{}, false, "RFC 9207"},
		{"client secret", func(map[string]any) {}, login.Options{}, true, "only private_key_jwt or mTLS"},
		{"no ES256 proofs", func(d map[string]any) { d["dpop_signing_alg_values_supported"] = []string{"PS256"} }, login.Options{}, false, "ES256"},
		{"RS256 ID tokens only", func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"RS256"} }, login.Options{}, false, "PS256 ES256 EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := startFAPIAS(t)
			tt.doc(as.doc)
			o := tt.opts
			o.Issuer, o.ClientID, o.Scopes = as.srv.URL, "fapi-client", []string{"openid"}
			o.FAPI.Profile = vocab.ProfileFAPI2
			if tt.secret {
				o.ClientSecret = "s"
			} else {
				o.ClientAuth = login.ClientAuth{PrivateKey: ecKey(t)}
			}
			err := login.New(o).Discover(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Discover: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

var cryptoSHA256 = crypto.SHA256

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
