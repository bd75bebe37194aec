package devop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

const (
	svcID     = "service"
	svcSecret = "service-secret"
	jwtID     = "signed"
)

// grantClients are testClients plus a confidential client registered for
// every grant of grants.go.
func grantClients() []Client {
	return append(testClients(), Client{
		ID: svcID, Secret: svcSecret,
		GrantTypes: []string{GrantClientCredentials, GrantPassword, GrantTokenExchange},
	})
}

func TestClientCredentialsGrant(t *testing.T) {
	tests := []struct {
		name       string
		client     string
		form       url.Values
		wantStatus int
		wantCode   string
		wantAud    []string
		wantScopes []string
	}{
		{name: "resource and scopes", client: svcID,
			form:       url.Values{"scope": {"api.read openid api.write"}, "resource": {"https://api.example/", "https://two.example/"}},
			wantStatus: 200, wantAud: []string{"https://api.example/", "https://two.example/"}, wantScopes: []string{"api.read", "api.write"}},
		{name: "audience", client: svcID, form: url.Values{"audience": {"orders"}}, wantStatus: 200, wantAud: []string{"orders"}},
		{name: "relative resource", client: svcID, form: url.Values{"resource": {"/api"}}, wantStatus: 400, wantCode: "invalid_target"},
		{name: "resource with fragment", client: svcID, form: url.Values{"resource": {"https://api.example/#x"}}, wantStatus: 400, wantCode: "invalid_target"},
		{name: "client not registered for it", client: webID, form: url.Values{}, wantStatus: 400, wantCode: "unauthorized_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Clients: grantClients()})
			secret := svcSecret
			if tt.client == webID {
				secret = webSecret
			}
			form := url.Values{"grant_type": {GrantClientCredentials}}
			for k, v := range tt.form {
				form[k] = v
			}
			resp, body := e.tokenRequest(t, "/token", form, tt.client, secret)
			if resp.StatusCode != tt.wantStatus || (tt.wantCode != "" && body["error"] != tt.wantCode) {
				t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != 200 {
				return
			}
			if body["refresh_token"] != nil || body["id_token"] != nil {
				t.Errorf("client credentials issued a refresh or ID token: %v", body)
			}
			at, _ := body["access_token"].(string)
			info, ok := e.op.TokenInfo(at)
			if !ok {
				t.Fatal("TokenInfo: unknown token")
			}
			want := TokenInfo{ClientID: svcID, Subject: svcID, Scopes: tt.wantScopes, Audience: tt.wantAud, GrantType: GrantClientCredentials, Expiry: info.Expiry}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("TokenInfo (-want +got):\n%s", diff)
			}
			if status, _, _ := e.userinfo(t, at); status != http.StatusUnauthorized {
				t.Errorf("userinfo with a client token: status %d, want 401", status)
			}
			if got := e.op.Stats().ClientCredentialsGrants; got != 1 {
				t.Errorf("ClientCredentialsGrants = %d, want 1", got)
			}
		})
	}
}

func TestPasswordGrant(t *testing.T) {
	e := newEnv(t, Options{Clients: grantClients()})
	resp, body := e.tokenRequest(t, "/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice"}, "scope": {"openid email offline_access"}}, svcID, svcSecret)
	if resp.StatusCode != 200 || body["id_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("status %d body %v, want 200 with ID and refresh tokens", resp.StatusCode, body)
	}
	idt, err := e.verifier(svcID).Verify(e.ctx, body["id_token"].(string))
	if err != nil || idt.Subject != "user-alice" {
		t.Fatalf("ID token: %v, sub %v", err, idt)
	}
	info, _ := e.op.TokenInfo(body["access_token"].(string))
	if info.Username != "alice" || info.GrantType != GrantPassword {
		t.Errorf("TokenInfo = %+v", info)
	}

	resp, body = e.tokenRequest(t, "/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wrong-password"}}, svcID, svcSecret)
	if resp.StatusCode != 400 || body["error"] != "invalid_grant" {
		t.Errorf("wrong password: status %d body %v, want 400 invalid_grant", resp.StatusCode, body)
	}
	if strings.Contains(e.logs.String(), "wrong-password") {
		t.Error("the log contains the password")
	}
	if s := e.op.Stats(); s.PasswordGrants != 1 || s.PasswordGrantFailures != 1 {
		t.Errorf("stats %+v, want 1 grant and 1 failure", s)
	}
}

func TestTokenExchangeGrant(t *testing.T) {
	e := newEnv(t, Options{Clients: grantClients()})
	_, body := e.tokenRequest(t, "/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bob"}, "scope": {"openid email profile"}}, svcID, svcSecret)
	subject := body["access_token"].(string)
	exchange := func(extra url.Values) (*http.Response, map[string]any) {
		form := url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {subject}, "subject_token_type": {tokenTypeAccessToken}}
		for k, v := range extra {
			form[k] = v
		}
		return e.tokenRequest(t, "/token", form, svcID, svcSecret)
	}

	resp, body := exchange(url.Values{"audience": {"orders"}, "resource": {"https://orders.example/"}, "scope": {"email"}})
	if resp.StatusCode != 200 || body["issued_token_type"] != tokenTypeAccessToken || body["refresh_token"] != nil {
		t.Fatalf("status %d body %v", resp.StatusCode, body)
	}
	info, _ := e.op.TokenInfo(body["access_token"].(string))
	want := TokenInfo{ClientID: svcID, Subject: "user-bob", Username: "bob", Scopes: []string{"email"},
		Audience: []string{"https://orders.example/", "orders"}, GrantType: GrantTokenExchange, Expiry: info.Expiry}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("TokenInfo (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name  string
		extra url.Values
		code  string
	}{
		{"scope beyond the subject token's", url.Values{"scope": {"groups"}}, "invalid_scope"},
		{"unknown subject token", url.Values{"subject_token": {"nope"}}, "invalid_request"},
		{"ID token as subject", url.Values{"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}}, "invalid_request"},
		{"refresh token requested", url.Values{"requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"}}, "invalid_request"},
		{"actor token", url.Values{"actor_token": {subject}}, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exchange(tt.extra)
			if resp.StatusCode != 400 || body["error"] != tt.code {
				t.Errorf("status %d body %v, want 400 %s", resp.StatusCode, body, tt.code)
			}
		})
	}
	if got := e.op.Stats().TokenExchanges; got != 1 {
		t.Errorf("TokenExchanges = %d, want 1", got)
	}
}

func TestDiscoveryAdvertisesRegisteredMethods(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	clients := append(grantClients(),
		Client{ID: jwtID, JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1"}}}, GrantTypes: []string{GrantClientCredentials}},
		Client{ID: "cert", TLSCertSHA256: strings.Repeat("ab", 32), GrantTypes: []string{GrantClientCredentials}})
	e := newEnv(t, Options{Clients: clients, PKCE: "plain"})
	_, body := e.get(t, e.op.Issuer()+"/.well-known/openid-configuration")
	for _, want := range []string{
		`"grant_types_supported":["authorization_code","refresh_token","client_credentials","password","urn:ietf:params:oauth:grant-type:token-exchange"]`,
		`"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none","private_key_jwt","tls_client_auth"]`,
		`"token_endpoint_auth_signing_alg_values_supported":["RS256","PS256","ES256"]`,
		`"code_challenge_methods_supported":["plain"]`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("discovery lacks %s:\n%s", want, body)
		}
	}
	e = newEnv(t, Options{PKCE: "none"})
	if _, body := e.get(t, e.op.Issuer()+"/.well-known/openid-configuration"); strings.Contains(body, "code_challenge_methods_supported") {
		t.Errorf("PKCE none still advertises code_challenge_methods_supported")
	}
}

// assertion signs a private_key_jwt client assertion; mutate edits the
// claims first.
func assertion(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestPrivateKeyJWT(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey := must(sharedKey()).priv
	jwks := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: ecKey.Public(), KeyID: "ec", Algorithm: "ES256"},
		{Key: rsaKey.Public(), KeyID: "rsa"},
	}}
	type req struct {
		key    any
		alg    jose.SignatureAlgorithm
		kid    string
		mutate func(c map[string]any)
		form   func(f url.Values)
		basic  bool
	}
	tests := []struct {
		name       string
		reqs       []req // sent in order; all but the last must succeed
		wantStatus int
	}{
		{name: "ES256 with kid", reqs: []req{{key: ecKey, alg: jose.ES256, kid: "ec"}}, wantStatus: 200},
		{name: "PS256 without kid", reqs: []req{{key: rsaKey, alg: jose.PS256}}, wantStatus: 200},
		{name: "RS256, aud the issuer", reqs: []req{{key: rsaKey, alg: jose.RS256, kid: "rsa", mutate: func(c map[string]any) { c["aud"] = "ISSUER" }}}, wantStatus: 200},
		{name: "wrong key", reqs: []req{{key: otherKey, alg: jose.ES256, kid: "ec"}}, wantStatus: 401},
		{name: "HS256", reqs: []req{{key: []byte("0123456789abcdef0123456789abcdef"), alg: jose.HS256}}, wantStatus: 401},
		{name: "expired", reqs: []req{{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Second).Unix() }}}, wantStatus: 401},
		{name: "no exp", reqs: []req{{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { delete(c, "exp") }}}, wantStatus: 401},
		{name: "exp too far ahead", reqs: []req{{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() }}}, wantStatus: 401},
		{name: "wrong aud", reqs: []req{{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { c["aud"] = "https://elsewhere.example/token" }}}, wantStatus: 401},
		{name: "sub is not the client", reqs: []req{{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { c["sub"] = "alice" }}}, wantStatus: 401},
		{name: "no jti", reqs: []req{{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { delete(c, "jti") }}}, wantStatus: 401},
		{name: "replayed jti", reqs: []req{
			{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { c["jti"] = "once" }},
			{key: ecKey, alg: jose.ES256, mutate: func(c map[string]any) { c["jti"] = "once" }},
		}, wantStatus: 401},
		{name: "wrong assertion type", reqs: []req{{key: ecKey, alg: jose.ES256, form: func(f url.Values) { f.Set("client_assertion_type", "urn:example") }}}, wantStatus: 401},
		{name: "assertion and Basic", reqs: []req{{key: ecKey, alg: jose.ES256, basic: true}}, wantStatus: 400},
		{name: "client_id of another client", reqs: []req{{key: ecKey, alg: jose.ES256, form: func(f url.Values) { f.Set("client_id", svcID) }}}, wantStatus: 400},
		{name: "secret instead", reqs: []req{{form: func(f url.Values) {
			f.Del("client_assertion")
			f.Del("client_assertion_type")
			f.Set("client_secret", "x")
		}}}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := append(grantClients(), Client{ID: jwtID, JWKS: jwks, GrantTypes: []string{GrantClientCredentials}})
			e := newEnv(t, Options{Clients: clients, Now: time.Now})
			var resp *http.Response
			var body map[string]any
			for i, r := range tt.reqs {
				claims := map[string]any{"iss": jwtID, "sub": jwtID, "aud": e.op.Issuer() + "/token", "jti": rand.Text(),
					"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()}
				if r.mutate != nil {
					r.mutate(claims)
				}
				if claims["aud"] == "ISSUER" {
					claims["aud"] = e.op.Issuer()
				}
				form := url.Values{"grant_type": {GrantClientCredentials}, "client_id": {jwtID}, "client_assertion_type": {jwtBearerAssertion}}
				if r.key != nil {
					form.Set("client_assertion", assertion(t, r.key, r.alg, r.kid, claims))
				}
				if r.form != nil {
					r.form(form)
				}
				user, pass := "", ""
				if r.basic {
					user, pass = jwtID, "x"
				}
				resp, body = e.tokenRequest(t, "/token", form, user, pass)
				if i < len(tt.reqs)-1 && resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d body %v", i, resp.StatusCode, body)
				}
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d body %v, want %d", resp.StatusCode, body, tt.wantStatus)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// testCert issues a certificate for key, signed by parent (self-signed when
// parent is nil).
func testCert(t *testing.T, subject string, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: subject, Organization: []string{"Gatehouse Test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestTLSClientAuth(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := testCert(t, "Test CA", caKey, nil, nil, true)
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issued := testCert(t, "gatehouse", clientKey, ca, caKey, false)
	selfSigned := testCert(t, "gatehouse", clientKey, nil, nil, false)
	sum := sha256.Sum256(selfSigned.Raw)
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	ts := httptest.NewUnstartedServer(nil)
	op, err := newServer(Options{
		Issuer: "https://" + ts.Listener.Addr().String(),
		Clients: append(grantClients(),
			Client{ID: "by-dn", TLSSubjectDN: issued.Subject.String(), GrantTypes: []string{GrantClientCredentials}},
			Client{ID: "by-hash", TLSCertSHA256: hex.EncodeToString(sum[:]), GrantTypes: []string{GrantClientCredentials}}),
		ClientCAs: roots,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), nil)),
	}, sharedKey)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = op
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	t.Cleanup(ts.Close)

	tests := []struct {
		name       string
		clientID   string
		cert       *x509.Certificate // nil: no certificate
		wantStatus int
	}{
		{"subject DN, CA-issued", "by-dn", issued, 200},
		{"subject DN, self-signed", "by-dn", selfSigned, 401},
		{"hash, registered certificate", "by-hash", selfSigned, 200},
		{"hash, another certificate", "by-hash", issued, 401},
		{"no certificate", "by-dn", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := ts.Client().Transport.(*http.Transport).Clone()
			if tt.cert != nil {
				tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{tt.cert.Raw}, PrivateKey: clientKey}}
			}
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := c.PostForm(op.Issuer()+"/token", url.Values{"grant_type": {GrantClientCredentials}, "client_id": {tt.clientID}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

func TestPKCEPlainOnly(t *testing.T) {
	e := newEnv(t, Options{PKCE: "plain"})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()

	// S256 is refused: this AS knows only plain.
	authURL, _ := start(cfg)
	resp, body := e.get(t, authURL)
	if q := e.redirectQuery(t, resp, body, cfg.RedirectURL); q.Get("error") != "invalid_request" {
		t.Fatalf("S256 request: %v, want invalid_request", q)
	}

	authURL = cfg.AuthCodeURL("state-123456", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
	resp, body = e.submit(t, e.openLogin(t, authURL), "login", "alice", "alice")
	code := e.redirectQuery(t, resp, body, cfg.RedirectURL).Get("code")
	if _, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("wrong verifier: %v, want invalid_grant", err)
	}

	resp, body = e.submit(t, e.openLogin(t, authURL), "login", "alice", "alice")
	code = e.redirectQuery(t, resp, body, cfg.RedirectURL).Get("code")
	if _, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("plain exchange: %v", err)
	}
}

func TestPKCENone(t *testing.T) {
	e := newEnv(t, Options{PKCE: "none"})
	cfg := e.config(webID, oauth2.AuthStyleInHeader)
	authURL := cfg.AuthCodeURL("state-123456", oauth2.SetAuthURLParam("nonce", "n"))
	resp, body := e.submit(t, e.openLogin(t, authURL), "login", "alice", "alice")
	code := e.redirectQuery(t, resp, body, cfg.RedirectURL).Get("code")
	if _, err := cfg.Exchange(e.ctx, code); err != nil {
		t.Fatalf("exchange without PKCE: %v", err)
	}
}

func TestGrantClientValidation(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public()}}}
	_, err := New(Options{Issuer: "http://127.0.0.1:1", Clients: []Client{
		{ID: "a", Secret: "s", JWKS: jwks, GrantTypes: []string{GrantClientCredentials}},
		{ID: "b", TLSSubjectDN: "CN=b", GrantTypes: []string{GrantClientCredentials}},
		{ID: "c", JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key}}}, GrantTypes: []string{"implicit"}},
		{ID: "d", Secret: "s"},
	}, PKCE: "S256"})
	for _, want := range []string{
		"Clients[0]: register one way",
		"Clients[1].TLSSubjectDN: needs Options.ClientCAs",
		"Clients[2].JWKS.Keys[0]: not a valid public key",
		`Clients[2].GrantTypes[0]: "implicit" is not supported`,
		"Clients[3].RedirectURIs: at least one is required",
		`PKCE: "S256" is not one of`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v lacks %q", err, want)
		}
	}
	if err != nil && slices.Contains(strings.Split(err.Error(), "\n"), "Clients[0].RedirectURIs: at least one is required") {
		t.Errorf("a client with grant types needs no redirect URI: %v", err)
	}
}
