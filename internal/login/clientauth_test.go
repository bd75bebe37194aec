package login_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

const (
	gwSecret = "gateway-secret+/=" // needs form-encoding in client_secret_basic
	callback = "https://gw.example/oauth2/callback"
)

var allGrants = []string{devop.GrantClientCredentials, devop.GrantPassword, devop.GrantTokenExchange}

// rsaKey is one RSA key for every test: generating one takes long under the
// race detector.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// thumbprint is the default kid of the gateway's client assertions.
func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// asEnv is a development AS and how to reach it.
type asEnv struct {
	as     *devop.Server
	srv    *httptest.Server
	issuer string
	client *http.Client // plain HTTP client of the AS's server (trusts its TLS certificate)
}

// asOptions vary the development AS.
type asOptions struct {
	clients   []devop.Client
	pkce      string
	tls       bool // serve over TLS, requesting client certificates
	clientCAs *x509.CertPool
	hooks     devop.Hooks
	logs      io.Writer
}

// startAS starts a development AS that approves every authorization request
// as alice at once.
func startAS(t *testing.T, o asOptions) *asEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if o.tls {
		scheme = "https://"
	}
	logs := o.logs
	if logs == nil {
		logs = t.Output()
	}
	as, err := devop.New(devop.Options{
		Issuer: scheme + srv.Listener.Addr().String(), AutoApproveUser: "alice",
		Clients: o.clients, PKCE: o.pkce, ClientCAs: o.clientCAs, Hooks: o.hooks,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = as
	if o.tls {
		srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &asEnv{as: as, srv: srv, issuer: as.Issuer(), client: srv.Client()}
}

// newClient returns a discovered login.Client for the AS.
func (e *asEnv) newClient(t *testing.T, o login.Options) *login.Client {
	t.Helper()
	c := e.newUndiscovered(o)
	if err := c.Discover(t.Context()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return c
}

func (e *asEnv) newUndiscovered(o login.Options) *login.Client {
	if o.Issuer == "" {
		o.Issuer = e.issuer
	}
	if o.Scopes == nil {
		o.Scopes = []string{"openid", "email", "profile", "offline_access"}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = e.client
	}
	return login.New(o)
}

// approve runs req at the AS, which approves it as alice, and returns the
// code.
func approve(t *testing.T, hc *http.Client, req *login.Request) string {
	t.Helper()
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != req.State {
		t.Fatalf("authorization: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return loc.Query().Get("code")
}

// oauthCode returns the OAuth error code in err, or "".
func oauthCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

// selfSigned returns a self-signed client certificate and the SHA-256 hash
// of its DER encoding, hex-encoded.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:])
}

// withCert returns a copy of hc whose transport presents cert.
func withCert(hc *http.Client, cert tls.Certificate) *http.Client {
	tr := hc.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestClientAuthMethods authenticates with each method for every kind of
// call: code exchange, refresh, revocation and the client credentials grant.
func TestClientAuthMethods(t *testing.T) {
	ec := ecKey(t)
	cert, certHash := selfSigned(t)
	jwks := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rsaKey().Public(), KeyID: thumbprint(t, rsaKey().Public())},
		{Key: ec.Public(), KeyID: "ec-1"},
	}}
	clients := []devop.Client{
		{ID: "basic", Secret: gwSecret, RedirectURIs: []string{callback}, GrantTypes: allGrants},
		{ID: "jwt", JWKS: jwks, RedirectURIs: []string{callback}, GrantTypes: allGrants},
		{ID: "mtls", TLSCertSHA256: certHash, RedirectURIs: []string{callback}, GrantTypes: allGrants},
		{ID: "public", Public: true, RedirectURIs: []string{callback}},
	}
	e := startAS(t, asOptions{clients: clients, tls: true})

	tests := []struct {
		name       string
		clientID   string
		secret     string
		auth       login.ClientAuth
		certified  bool // the HTTP client presents cert
		wantMethod string
	}{
		{name: "client_secret_basic", clientID: "basic", secret: gwSecret, auth: login.ClientAuth{Method: login.AuthClientSecretBasic}},
		{name: "client_secret_post", clientID: "basic", secret: gwSecret, auth: login.ClientAuth{Method: login.AuthClientSecretPost}},
		{name: "private_key_jwt RS256", clientID: "jwt", auth: login.ClientAuth{Method: login.AuthPrivateKeyJWT, PrivateKey: rsaKey()}},
		{name: "private_key_jwt PS256", clientID: "jwt", auth: login.ClientAuth{PrivateKey: rsaKey(), Algorithm: login.AlgPS256}},
		{name: "private_key_jwt ES256 with kid", clientID: "jwt", auth: login.ClientAuth{PrivateKey: ec, KeyID: "ec-1"}},
		{name: "tls_client_auth", clientID: "mtls", auth: login.ClientAuth{TLSClientCertificate: true}, certified: true},
		{name: "none", clientID: "public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := e.client
			if tt.certified {
				hc = withCert(hc, cert)
			}
			c := e.newClient(t, login.Options{ClientID: tt.clientID, ClientSecret: tt.secret, ClientAuth: tt.auth, HTTPClient: hc})
			req, err := c.NewRequest(callback)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Exchange(t.Context(), approve(t, hc, req), req.Verifier, req.RedirectURI, req.Nonce)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if res.Subject != "user-alice" || res.RefreshToken == "" {
				t.Fatalf("Exchange: sub %q, refresh token %t", res.Subject, res.RefreshToken != "")
			}
			ref, err := c.Refresh(t.Context(), res.RefreshToken, res.Issuer, res.Subject)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if err := c.Revoke(t.Context(), ref.RefreshToken, "refresh_token"); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if _, err := c.Refresh(t.Context(), ref.RefreshToken, res.Issuer, res.Subject); !errors.Is(err, login.ErrInvalidGrant) {
				t.Fatalf("Refresh after Revoke: %v, want ErrInvalidGrant", err)
			}
			// PostForm, for introspection and the like, authenticates the same way.
			resp, err := c.PostForm(t.Context(), e.issuer+"/revoke", url.Values{"token": {"unknown"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("PostForm: status %d", resp.StatusCode)
			}
			if tt.clientID == "public" {
				return
			}
			tok, err := c.ClientCredentials(t.Context(), login.TokenParams{Scopes: []string{"api"}})
			if err != nil {
				t.Fatalf("ClientCredentials: %v", err)
			}
			if info, ok := e.as.TokenInfo(tok.AccessToken); !ok || info.ClientID != tt.clientID {
				t.Errorf("TokenInfo = %+v, %v", info, ok)
			}
		})
	}
	if got := e.as.Stats().Revocations; got != int64(len(tests)) {
		t.Errorf("Revocations = %d, want %d", got, len(tests))
	}
}

// TestClientAuthFailures: the AS refuses the gateway's authentication.
func TestClientAuthFailures(t *testing.T) {
	ec, otherEC := ecKey(t), ecKey(t)
	cert, certHash := selfSigned(t)
	otherCert, _ := selfSigned(t)
	clients := []devop.Client{
		{ID: "basic", Secret: gwSecret, GrantTypes: allGrants},
		{ID: "jwt", JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ec.Public(), KeyID: "ec-1"}}}, GrantTypes: allGrants},
		{ID: "mtls", TLSCertSHA256: certHash, GrantTypes: allGrants},
	}
	e := startAS(t, asOptions{clients: clients, tls: true})
	tests := []struct {
		name   string
		opts   login.Options
		client *http.Client
	}{
		{name: "wrong secret", opts: login.Options{ClientID: "basic", ClientSecret: "guess"}},
		{name: "wrong key", opts: login.Options{ClientID: "jwt", ClientAuth: login.ClientAuth{PrivateKey: otherEC, KeyID: "ec-1"}}},
		{name: "expired assertion", opts: login.Options{ClientID: "jwt", ClientAuth: login.ClientAuth{PrivateKey: ec, KeyID: "ec-1"},
			Now: func() time.Time { return time.Now().Add(-2 * time.Minute) }}},
		{name: "unregistered certificate", opts: login.Options{ClientID: "mtls", ClientAuth: login.ClientAuth{TLSClientCertificate: true}}, client: withCert(e.client, otherCert)},
		{name: "no certificate", opts: login.Options{ClientID: "mtls", ClientAuth: login.ClientAuth{TLSClientCertificate: true}}},
		{name: "secret for a certificate client", opts: login.Options{ClientID: "mtls", ClientSecret: "x"}, client: withCert(e.client, cert)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.HTTPClient = tt.client
			c := e.newClient(t, o)
			_, err := c.ClientCredentials(t.Context(), login.TokenParams{})
			if !errors.Is(err, login.ErrTokenEndpoint) || oauthCode(err) != "invalid_client" {
				t.Errorf("ClientCredentials: %v, want ErrTokenEndpoint with invalid_client", err)
			}
		})
	}
}

// TestClientAuthChoice: without a configured method, the gateway uses the
// strongest one the AS advertises that its credentials allow.
func TestClientAuthChoice(t *testing.T) {
	ec := ecKey(t)
	tests := []struct {
		name       string
		advertised []string // nil: not advertised
		secret     string
		auth       login.ClientAuth
		want       string // the method seen at the AS; "" when discovery must fail
	}{
		{name: "key and secret, both advertised", advertised: []string{"client_secret_basic", "private_key_jwt"}, secret: "s", auth: login.ClientAuth{PrivateKey: ec}, want: "private_key_jwt"},
		{name: "key and secret, jwt not advertised", advertised: []string{"client_secret_post"}, secret: "s", auth: login.ClientAuth{PrivateKey: ec}, want: "client_secret_post"},
		{name: "secret, both advertised", advertised: []string{"client_secret_post", "client_secret_basic"}, secret: "s", want: "client_secret_basic"},
		{name: "secret, nothing advertised", secret: "s", want: "client_secret_basic"},
		{name: "key only, nothing advertised", auth: login.ClientAuth{PrivateKey: ec}},
		{name: "key only, only secrets advertised", advertised: []string{"client_secret_basic"}, auth: login.ClientAuth{PrivateKey: ec}},
		{name: "certificate and secret", advertised: []string{"client_secret_basic", "tls_client_auth"}, secret: "s", auth: login.ClientAuth{TLSClientCertificate: true}, want: "tls_client_auth"},
		{name: "nothing: public", advertised: []string{"client_secret_basic"}, want: "none"},
		{name: "explicit method without its credential", secret: "s", auth: login.ClientAuth{Method: login.AuthPrivateKeyJWT}},
		{name: "explicit method not advertised", advertised: []string{"client_secret_basic"}, secret: "s", auth: login.ClientAuth{Method: login.AuthClientSecretPost}, want: "client_secret_post"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/.well-known/openid-configuration" {
					doc := `{"issuer":"http://` + r.Host + `","authorization_endpoint":"http://` + r.Host + `/authorize",` +
						`"token_endpoint":"http://` + r.Host + `/token","jwks_uri":"http://` + r.Host + `/jwks"`
					if tt.advertised != nil {
						doc += `,"token_endpoint_auth_methods_supported":["` + strings.Join(tt.advertised, `","`) + `"]`
					}
					w.Write([]byte(doc + "}"))
					return
				}
				r.ParseForm()
				_, _, basic := r.BasicAuth()
				switch {
				case basic:
					seen = "client_secret_basic"
				case r.PostForm.Get("client_secret") != "":
					seen = "client_secret_post"
				case r.PostForm.Get("client_assertion") != "":
					seen = "private_key_jwt"
				default:
					seen = "none or tls_client_auth"
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":60}`))
			}))
			t.Cleanup(as.Close)
			c := login.New(login.Options{Issuer: as.URL, ClientID: "gw", ClientSecret: tt.secret, ClientAuth: tt.auth, Scopes: []string{"openid"}})
			err := c.Discover(t.Context())
			if tt.want == "" {
				if err == nil {
					t.Fatal("Discover succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if _, err := c.ClientCredentials(t.Context(), login.TokenParams{}); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "none" || want == "tls_client_auth" {
				want = "none or tls_client_auth"
			}
			if seen != want {
				t.Errorf("the AS saw %s, want %s", seen, tt.want)
			}
		})
	}
}

// TestMTLSEndpointAliases: with a client certificate, the token and
// revocation endpoints of mtls_endpoint_aliases are used (RFC 8705 §5).
func TestMTLSEndpointAliases(t *testing.T) {
	cert, certHash := selfSigned(t)
	clients := []devop.Client{{ID: "mtls", TLSCertSHA256: certHash, GrantTypes: allGrants}}
	// The AS's own server is plain HTTP; the aliases point at a TLS server
	// that requests client certificates, serving the same AS.
	var aliasURL string
	e := startAS(t, asOptions{clients: clients, hooks: devop.Hooks{Discovery: func(doc map[string]any) {
		doc["mtls_endpoint_aliases"] = map[string]any{"token_endpoint": aliasURL + "/token", "revocation_endpoint": aliasURL + "/revoke"}
	}}})
	alias := httptest.NewUnstartedServer(e.as)
	alias.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	alias.StartTLS()
	t.Cleanup(alias.Close)
	aliasURL = alias.URL

	c := e.newClient(t, login.Options{ClientID: "mtls", ClientAuth: login.ClientAuth{TLSClientCertificate: true}, HTTPClient: withCert(alias.Client(), cert)})
	tok, err := c.ClientCredentials(t.Context(), login.TokenParams{})
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	resp, err := c.PostForm(t.Context(), e.issuer+"/revoke", url.Values{"token": {tok.AccessToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || e.as.Stats().Revocations != 1 {
		t.Errorf("PostForm to the plain revocation endpoint: status %d, %d revocations; want the alias used", resp.StatusCode, e.as.Stats().Revocations)
	}
}

func TestParsePrivateKey(t *testing.T) {
	der, _ := x509.MarshalPKCS8PrivateKey(ecKey(t))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalECPrivateKey(p384)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name    string
		pem     []byte
		wantErr string
	}{
		{"PKCS #8 EC", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), ""},
		{"PKCS #1 RSA", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())}), ""},
		{"P-384", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der384}), "only P-256"},
		{"RSA 1024", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}), "at least 2048"},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "unsupported PEM block"},
		{"not PEM", []byte("secret"), "no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := login.ParsePrivateKey(tt.pem)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ParsePrivateKey: %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := login.KeyAlgorithm(rsaKey(), login.AlgES256); err == nil {
		t.Error("KeyAlgorithm(RSA, ES256) succeeded")
	}
	if alg, err := login.KeyAlgorithm(ecKey(t), ""); err != nil || alg != login.AlgES256 {
		t.Errorf("KeyAlgorithm(EC) = %q, %v", alg, err)
	}
}
