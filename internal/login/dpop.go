package login

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoP (RFC 9449) binds the user's tokens to a key of the gateway: a stolen
// access or refresh token is useless without it. Each session has its own
// ES256 key, made at the code exchange and sealed in the session store with
// the tokens it binds (docs/fapi.md says why per session and what it
// costs). The Client adds a proof to every call it makes with such a token
// (token, refresh, userinfo, revocation), and the gateway signs a fresh one
// for each upstream request that carries the token (DPoPKey.Proof).

// TokenTypeDPoP is the token_type of a DPoP-bound access token (RFC 9449 §5).
const TokenTypeDPoP = "DPoP"

// dpopHeader carries a proof (RFC 9449 §4.1).
const dpopHeader = "DPoP"

// errUseDPoPNonce is the error code with which a server asks for a nonce
// in the proof (RFC 9449 §8, §9).
const errUseDPoPNonce = "use_dpop_nonce"

// DPoPKey is a DPoP proof key: an ECDSA P-256 key that signs ES256 proofs.
// It is safe for concurrent use.
type DPoPKey struct {
	key    *ecdsa.PrivateKey
	signer jose.Signer
	jkt    string // RFC 7638 thumbprint of the public key, base64url
}

// NewDPoPKey makes a fresh proof key.
func NewDPoPKey() (*DPoPKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("login: dpop key: %w", err)
	}
	return newDPoPKey(k)
}

func newDPoPKey(k *ecdsa.PrivateKey) (*DPoPKey, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, fmt.Errorf("login: dpop key: %w", err)
	}
	tp, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("login: dpop key: %w", err)
	}
	return &DPoPKey{key: k, signer: signer, jkt: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// ParseDPoPKey parses a key that MarshalText returned.
func ParseDPoPKey(text string) (*DPoPKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(text)); err != nil {
		return nil, errors.New("login: dpop key: malformed")
	}
	k, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("login: dpop key: not an EC P-256 private key")
	}
	return newDPoPKey(k)
}

// MarshalText returns the private key as a JWK, to be stored sealed with the
// tokens it binds, never anywhere else.
func (k *DPoPKey) MarshalText() (string, error) {
	b, err := (&jose.JSONWebKey{Key: k.key}).MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("login: dpop key: %w", err)
	}
	return string(b), nil
}

// Thumbprint is the RFC 7638 JWK thumbprint of the public key, base64url
// (the jkt of RFC 9449 §6).
func (k *DPoPKey) Thumbprint() string { return k.jkt }

// proofClaims are a DPoP proof's claims (RFC 9449 §4.2).
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a fresh proof for a request of method to target (its query
// and fragment are left out of htu, RFC 9449 §4.2), issued at now.
// accessToken, when not empty, is hashed into ath (for a resource request);
// nonce, when not empty, is the server's latest DPoP-Nonce.
func (k *DPoPKey) Proof(method, target, accessToken, nonce string, now time.Time) (string, error) {
	htu, err := HTU(target)
	if err != nil {
		return "", err
	}
	jti, err := randomString()
	if err != nil {
		return "", err
	}
	c := proofClaims{JTI: jti, HTM: method, HTU: htu, IAT: now.Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = AccessTokenHash(accessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("login: dpop proof: %w", err)
	}
	return jws.CompactSerialize()
}

// AccessTokenHash is the ath of a proof: base64url(SHA-256(token)).
func AccessTokenHash(accessToken string) string {
	h := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// HTU returns target without query and fragment, as a proof's htu.
func HTU(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil || !u.IsAbs() {
		return "", fmt.Errorf("login: dpop proof: %q is not an absolute URL", target)
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	return u.String(), nil
}

// dpopNonces holds the latest DPoP-Nonce of each server (by origin) that
// sent one (RFC 9449 §8.2: a nonce is valid until the server sends
// another). The AS's and the resource servers' are kept apart: one origin
// may serve both with different nonces.
type dpopNonces struct {
	m sync.Map // origin -> string
}

func origin(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

func (n *dpopNonces) get(target string) string {
	v, _ := n.m.Load(origin(target))
	s, _ := v.(string)
	return s
}

// remember keeps the nonce resp carries, if any, and reports whether it
// carried one.
func (n *dpopNonces) remember(target string, resp *http.Response) bool {
	v := resp.Header.Get("DPoP-Nonce")
	if v == "" || len(v) > 512 {
		return false
	}
	n.m.Store(origin(target), v)
	return true
}

// wantsNonce reports whether a resource server's 401 asks for a nonce
// (RFC 9449 §9: WWW-Authenticate: DPoP error="use_dpop_nonce").
func wantsNonce(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "dpop") && strings.Contains(v, errUseDPoPNonce) {
			return true
		}
	}
	return false
}

// dpopTransport adds a proof to each request that carries
// "Authorization: DPoP <token>" (go-oidc's userinfo call), and repeats a
// bodiless request once with the nonce a 401 asks for.
type dpopTransport struct {
	base   http.RoundTripper
	key    *DPoPKey
	nonces *dpopNonces
	now    func() time.Time
}

func (t *dpopTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, TokenTypeDPoP) {
		return t.base.RoundTrip(r)
	}
	target := r.URL.String()
	send := func() (*http.Response, error) {
		proof, err := t.key.Proof(r.Method, target, tok, t.nonces.get(target), t.now())
		if err != nil {
			return nil, err
		}
		r2 := r.Clone(r.Context())
		r2.Header.Set(dpopHeader, proof)
		return t.base.RoundTrip(r2)
	}
	resp, err := send()
	if err != nil {
		return nil, err
	}
	if t.nonces.remember(target, resp) && wantsNonce(resp) && r.Body == nil {
		resp.Body.Close()
		return send()
	}
	return resp, nil
}

// askedForNonce reports whether an AS's 400 response is the error
// use_dpop_nonce (RFC 9449 §8). It reads the body and puts it back.
func askedForNonce(resp *http.Response) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(body, &e) == nil && e.Error == errUseDPoPNonce
}
