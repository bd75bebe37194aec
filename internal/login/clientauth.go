package login

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// Client authentication methods at the AS, by their names in
// token_endpoint_auth_methods_supported (internal/vocab documents each).
const (
	AuthClientSecretBasic = vocab.ClientAuthSecretBasic
	AuthClientSecretPost  = vocab.ClientAuthSecretPost
	AuthPrivateKeyJWT     = vocab.ClientAuthPrivateKeyJWT
	AuthTLSClientAuth     = vocab.ClientAuthTLS
	// AuthSelfSignedTLSClientAuth: a self-signed certificate the AS matches
	// against the client's registered keys (RFC 8705 §2.2).
	AuthSelfSignedTLSClientAuth = vocab.ClientAuthSelfSignedTLS
	AuthNone                    = vocab.ClientAuthNone
)

// AuthMethods lists the methods a Client can use, strongest first: the order
// in which an unset ClientAuth.Method is chosen among those the AS
// advertises. private_key_jwt goes first because its assertion is bound to
// the AS, expires within a minute and is single-use; tls_client_auth next
// (the key never leaves the gateway either, but the AS maps certificates to
// clients by its own PKI rules); then the shared secret, in the header
// before the body (RFC 6749 §2.3.1 makes Basic mandatory to support).
var AuthMethods = []string{AuthPrivateKeyJWT, AuthTLSClientAuth, AuthSelfSignedTLSClientAuth, AuthClientSecretBasic, AuthClientSecretPost, AuthNone}

// Client assertion algorithms for private_key_jwt.
const (
	AlgRS256 = vocab.AlgRS256
	AlgPS256 = vocab.AlgPS256
	AlgES256 = vocab.AlgES256
)

// assertionType is the client_assertion_type of a JWT (RFC 7523 §2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid. Short: it is
// made for one request, and the AS remembers its jti at most that long.
const assertionLifetime = 60 * time.Second

// ClientAuth configures how the gateway authenticates to the AS. The same
// method is used for every call: token (code, refresh and every other
// grant), revocation and introspection.
type ClientAuth struct {
	// Method is one of the Auth* constants. Empty (the default) chooses the
	// first of AuthMethods that the AS lists in
	// token_endpoint_auth_methods_supported (client_secret_basic when it
	// lists none, RFC 8414 §2) and the credentials below allow: a secret for
	// client_secret_*, PrivateKey for private_key_jwt, TLSClientCertificate
	// for tls_client_auth, and none of them for none.
	Method string
	// PrivateKey signs private_key_jwt assertions: an *rsa.PrivateKey
	// (2048 bits or more) or an *ecdsa.PrivateKey on P-256. See
	// ParsePrivateKey.
	PrivateKey crypto.Signer
	// Algorithm is the assertion's signature algorithm: RS256 or PS256 for
	// an RSA key (default RS256), ES256 for an EC key (the default).
	Algorithm string
	// KeyID is the assertion's kid header, which the AS uses to find the key
	// among those registered. Default: the key's JWK thumbprint (RFC 7638),
	// base64url-encoded.
	KeyID string
	// TLSClientCertificate says that Options.HTTPClient presents a client
	// certificate to the AS (RFC 8705): the caller configures its transport.
	// Endpoints listed in the AS's mtls_endpoint_aliases are then used
	// instead of the plain ones.
	TLSClientCertificate bool
}

// ParsePrivateKey parses a PEM private key for private_key_jwt: PKCS #8
// ("PRIVATE KEY"), PKCS #1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE
// KEY"). Only RSA keys of 2048 bits or more and EC keys on P-256 are
// accepted. Errors never include key material.
func ParsePrivateKey(pemData []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("login: private key: no PEM block")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("login: private key: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("login: private key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("login: private key: unsupported key type %T", key)
	}
	if _, err := KeyAlgorithm(s, ""); err != nil {
		return nil, err
	}
	return s, nil
}

// KeyAlgorithm returns the assertion algorithm for key: alg when the key
// can make it, or the key's default when alg is empty.
func KeyAlgorithm(key crypto.Signer, alg string) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("login: private key: RSA key of %d bits; at least 2048 are required", k.N.BitLen())
		}
		switch alg {
		case "":
			return AlgRS256, nil
		case AlgRS256, AlgPS256:
			return alg, nil
		}
		return "", fmt.Errorf("login: private key: an RSA key signs RS256 or PS256, not %q", alg)
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("login: private key: EC key on %s; only P-256 is supported", k.Curve.Params().Name)
		}
		if alg == "" || alg == AlgES256 {
			return AlgES256, nil
		}
		return "", fmt.Errorf("login: private key: an EC P-256 key signs ES256, not %q", alg)
	case nil:
		return "", errors.New("login: private key: none")
	}
	return "", fmt.Errorf("login: private key: unsupported key type %T (RSA or EC P-256)", key)
}

// asClient makes the Client's calls to the AS: it holds the registration's
// credentials and authenticates every call with one method (the
// authentication here, the token requests in token.go). A Client from
// ForClient has its own, which never inherits its parent's key or
// certificate: it is another registration, with a secret or none.
type asClient struct {
	clientID, clientSecret string
	auth                   ClientAuth
	http                   *http.Client
	now                    func() time.Time
	nonces                 *dpopNonces // the AS's DPoP-Nonce by origin, for token, PAR and revocation (RFC 9449 §8)
	rsNonces               *dpopNonces // a resource server's (userinfo), by origin (RFC 9449 §9)
}

// ctx returns ctx carrying the HTTP client for go-oidc and x/oauth2.
func (a *asClient) ctx(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, a.http)
	return context.WithValue(ctx, oauth2.HTTPClient, a.http)
}

// canUse reports whether the configured credentials allow method.
func (a *asClient) canUse(method string) bool {
	switch method {
	case AuthClientSecretBasic, AuthClientSecretPost:
		return a.clientSecret != ""
	case AuthPrivateKeyJWT:
		return a.auth.PrivateKey != nil
	case AuthTLSClientAuth, AuthSelfSignedTLSClientAuth:
		return a.auth.TLSClientCertificate
	case AuthNone:
		return a.clientSecret == "" && a.auth.PrivateKey == nil && !a.auth.TLSClientCertificate
	}
	return false
}

// chooseAuthMethod returns the client authentication method: the configured
// one, or the strongest that the AS advertises (advertised is its
// token_endpoint_auth_methods_supported, nil when absent) and the
// credentials allow. It is the only place the method is decided.
func (a *asClient) chooseAuthMethod(advertised []string) (string, error) {
	if m := a.auth.Method; m != "" {
		if !slices.Contains(AuthMethods, m) {
			return "", fmt.Errorf("login: client authentication method %q is not one of %v", m, AuthMethods)
		}
		if !a.canUse(m) {
			return "", fmt.Errorf("login: client authentication method %q lacks its credential (%s)", m, credentialOf(m))
		}
		return m, nil
	}
	if a.canUse(AuthNone) {
		return AuthNone, nil // a public client has nothing else to offer
	}
	if len(advertised) == 0 {
		advertised = []string{AuthClientSecretBasic} // RFC 8414 §2
	}
	for _, m := range AuthMethods {
		if m != AuthNone && a.canUse(m) && slices.Contains(advertised, m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("login: the AS accepts client authentication by %v, and the configured credentials allow none of them; configure the credential of one (or set the method explicitly)", advertised)
}

func credentialOf(method string) string {
	switch method {
	case AuthClientSecretBasic, AuthClientSecretPost:
		return "a client secret"
	case AuthPrivateKeyJWT:
		return "a private key"
	case AuthTLSClientAuth, AuthSelfSignedTLSClientAuth:
		return "a TLS client certificate"
	}
	return "no secret, key or certificate"
}

// authMethod is the method used with md's AS. Discovery already checked the
// parent's choice; a derived Client's is rechecked here.
func (a *asClient) authMethod(md *metadata) (string, error) {
	return a.chooseAuthMethod(md.authMethods)
}

// endpointFor returns the URL of an AS endpoint for method: its RFC 8705
// mtls_endpoint_aliases entry when the client authenticates with a
// certificate, else the plain one.
func (md *metadata) endpointFor(name, plain, method string) string {
	if isTLSAuth(method) {
		if alias := md.mtlsAliases[name]; alias != "" {
			return alias
		}
	}
	return plain
}

// PostForm posts form to endpoint, an endpoint of the AS, with the client's
// authentication (see ClientAuth) and Accept: application/json; with a
// client certificate, to the endpoint's mtls_endpoint_aliases entry if it
// has one. The caller closes the response body. It is for the calls the
// Client does not make itself, such as token introspection (RFC 7662).
func (c *Client) PostForm(ctx context.Context, endpoint string, form url.Values) (*http.Response, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	if method, err := c.as.authMethod(md); err == nil && isTLSAuth(method) && len(md.mtlsAliases) > 0 {
		var doc map[string]any
		_ = md.claims(&doc)
		for name, alias := range md.mtlsAliases {
			if plain, _ := doc[name].(string); plain == endpoint && alias != "" {
				endpoint = alias
				break
			}
		}
	}
	return c.as.postForm(ctx, md, endpoint, form)
}

// postForm posts form to endpoint with the client's authentication.
func (a *asClient) postForm(ctx context.Context, md *metadata, endpoint string, form url.Values) (*http.Response, error) {
	return a.post(ctx, md, endpoint, form, nil)
}

// post posts form to endpoint with the client's authentication and, when
// key is set, a fresh DPoP proof (RFC 9449 §5). A server that answers 400
// use_dpop_nonce with a DPoP-Nonce (§8) gets the request once more, with a
// new proof carrying that nonce and a new client assertion (the AS may
// have spent the first one's jti).
func (a *asClient) post(ctx context.Context, md *metadata, endpoint string, form url.Values, key *DPoPKey) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := a.newPost(ctx, md, endpoint, form)
		if err != nil {
			return nil, err
		}
		if key != nil {
			proof, err := key.Proof(http.MethodPost, endpoint, "", a.nonces.get(endpoint), a.now())
			if err != nil {
				return nil, err
			}
			req.Header.Set(dpopHeader, proof)
		}
		resp, err := a.http.Do(req)
		if err != nil || key == nil {
			return resp, err
		}
		if a.nonces.remember(endpoint, resp) && attempt == 0 && resp.StatusCode == http.StatusBadRequest && askedForNonce(resp) {
			resp.Body.Close()
			continue
		}
		return resp, nil
	}
}

// newPost builds a POST of form to endpoint with the client's authentication.
func (a *asClient) newPost(ctx context.Context, md *metadata, endpoint string, form url.Values) (*http.Request, error) {
	method, err := a.authMethod(md)
	if err != nil {
		return nil, err
	}
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	var basic bool
	switch method {
	case AuthClientSecretBasic:
		basic = true
	case AuthClientSecretPost:
		form.Set("client_id", a.clientID)
		form.Set("client_secret", a.clientSecret)
	case AuthPrivateKeyJWT:
		assertion, err := a.clientAssertion(md.assertionAudience())
		if err != nil {
			return nil, err
		}
		form.Set("client_id", a.clientID)
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", assertion)
	default: // tls_client_auth (RFC 8705 §2: client_id is required), none
		form.Set("client_id", a.clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic { // RFC 6749 §2.3.1: both parts form-encoded first
		req.SetBasicAuth(url.QueryEscape(a.clientID), url.QueryEscape(a.clientSecret))
	}
	return req, nil
}

// clientAssertion returns a fresh private_key_jwt assertion (RFC 7523 §3,
// OpenID Connect Core 1.0 §9): iss and sub are the client ID, aud the token
// endpoint URL (a single string), a random jti, and a lifetime of a minute.
func (a *asClient) clientAssertion(tokenURL string) (string, error) {
	alg, err := KeyAlgorithm(a.auth.PrivateKey, a.auth.Algorithm)
	if err != nil {
		return "", err
	}
	kid := a.auth.KeyID
	if kid == "" {
		tp, err := (&jose.JSONWebKey{Key: a.auth.PrivateKey.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("login: client assertion: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: a.auth.PrivateKey, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("login: client assertion: %w", err)
	}
	jti, err := randomString()
	if err != nil {
		return "", err
	}
	now := a.now()
	claims := jwt.Claims{
		Issuer:   a.clientID,
		Subject:  a.clientID,
		Audience: jwt.Audience{tokenURL},
		ID:       jti,
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("login: client assertion: %w", err)
	}
	return raw, nil
}

// LoadPrivateKey reads the PEM private key that signs private_key_jwt
// assertions from file and returns it with its algorithm: alg when set
// (checked against the key), else the key's default (see KeyAlgorithm).
func LoadPrivateKey(file, alg string) (crypto.Signer, string, error) {
	pemData, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	key, err := ParsePrivateKey(pemData)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	alg, err = KeyAlgorithm(key, alg)
	if err != nil {
		return nil, "", err
	}
	return key, alg, nil
}
