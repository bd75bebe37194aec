package login

import (
	"context"
	"crypto"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// JAR (RFC 9101): the authorization request's parameters travel as a JWT
// signed with the client's private_key_jwt key (the request object), so the
// AS knows they come from the client unaltered. JARM (JWT Secured
// Authorization Response Mode): the AS answers with one parameter,
// response, a JWT it signs, which the gateway verifies (signature with the
// AS's keys, iss, aud, exp) before it reads state, code or error from it.

// ErrAuthorizationResponse: a JARM response is missing or fails verification.
var ErrAuthorizationResponse = errors.New("login: authorization response JWT invalid")

// requestObjectLifetime is a request object's exp - nbf: short, well under
// the 60 minutes FAPI 2.0 allows.
const requestObjectLifetime = 5 * time.Minute

// requestObject returns params as a signed request object (RFC 9101 §4):
// every parameter as a claim, with iss = the client, aud = the issuer, nbf,
// iat, exp and a jti.
func (a *asClient) requestObject(md *metadata, params url.Values) (string, error) {
	alg, err := KeyAlgorithm(a.auth.PrivateKey, a.auth.Algorithm)
	if err != nil {
		return "", err
	}
	kid, err := a.keyID()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: a.auth.PrivateKey, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("oauth-authz-req+jwt"),
	)
	if err != nil {
		return "", fmt.Errorf("login: request object: %w", err)
	}
	claims := map[string]any{}
	for k := range params {
		claims[k] = params.Get(k)
	}
	jti, err := randomString()
	if err != nil {
		return "", err
	}
	now := a.now()
	std := jwt.Claims{
		Issuer: a.clientID, Audience: jwt.Audience{md.fapi.issuer}, ID: jti,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(requestObjectLifetime)),
	}
	raw, err := jwt.Signed(signer).Claims(claims).Claims(std).Serialize()
	if err != nil {
		return "", fmt.Errorf("login: request object: %w", err)
	}
	return raw, nil
}

// securedParams returns what the authorization request sends for params:
// with JAR, client_id and the request object; else params.
func (a *asClient) securedParams(md *metadata, params url.Values) (url.Values, error) {
	if !md.fapi.jar {
		return params, nil
	}
	ro, err := a.requestObject(md, params)
	if err != nil {
		return nil, err
	}
	return url.Values{"client_id": {a.clientID}, "request": {ro}}, nil
}

// maxResponseJWTSkew is the clock skew allowed on a JARM response's exp.
const maxResponseJWTSkew = 10 * time.Second

// AuthorizationResponse returns the parameters of an authorization
// response (the callback's query): as they are, or, when the Client uses
// JARM (response_mode=jwt), the claims of the verified response JWT. The
// JWT must be signed by the AS with an allowed algorithm, and name the
// issuer as iss, this client in aud, and an exp not past. Any failure is
// ErrAuthorizationResponse (and the state is not to be believed).
func (c *Client) AuthorizationResponse(ctx context.Context, q url.Values) (url.Values, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	if !md.fapi.jarm {
		return q, nil
	}
	raw := q.Get("response")
	if raw == "" || len(q["response"]) > 1 {
		return nil, fmt.Errorf("%w: no response parameter", ErrAuthorizationResponse)
	}
	// The algorithm must be one allowed for ID tokens (under FAPI 2.0:
	// PS256, ES256, EdDSA); the key set checks the signature.
	if _, err := jwt.ParseSigned(raw, josealgs(md.algs)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthorizationResponse, err)
	}
	payload, err := md.keys.VerifySignature(c.as.ctx(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrAuthorizationResponse, err)
	}
	var std jwt.Claims
	var all map[string]any
	if json.Unmarshal(payload, &std) != nil || json.Unmarshal(payload, &all) != nil {
		return nil, fmt.Errorf("%w: malformed claims", ErrAuthorizationResponse)
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(std.Issuer), []byte(c.opts.Issuer)) != 1:
		return nil, fmt.Errorf("%w: iss is not the issuer", ErrAuthorizationResponse)
	case !slices.Contains(std.Audience, c.opts.ClientID):
		return nil, fmt.Errorf("%w: aud does not name this client", ErrAuthorizationResponse)
	case std.Expiry == nil || c.now().After(std.Expiry.Time().Add(maxResponseJWTSkew)):
		return nil, fmt.Errorf("%w: expired or no exp", ErrAuthorizationResponse)
	}
	out := url.Values{}
	for _, k := range []string{"code", "state", "iss", "error", "error_description", "error_uri"} {
		if s, ok := all[k].(string); ok {
			out.Set(k, s)
		}
	}
	return out, nil
}

func josealgs(names []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(names))
	for i, n := range names {
		out[i] = jose.SignatureAlgorithm(n)
	}
	return out
}

// decideJAR makes the JAR and JARM choices (FAPIOptions.JAR, ResponseMode).
func decideJAR(o *Options, md *metadata, doc fapiDoc, canSign bool) error {
	switch o.FAPI.JAR {
	case "", vocab.JARAuto:
		if doc.RequireSignedRequestObject {
			if !canSign {
				return fmt.Errorf("login: discovery: the AS requires signed request objects (require_signed_request_object) and the client has no private key to sign them (provider.private_key_file)")
			}
			md.fapi.jar = true
		}
	case vocab.JAROn:
		if !canSign {
			return fmt.Errorf("login: provider.request_object is %q and the client has no private key to sign it (provider.private_key_file)", vocab.JAROn)
		}
		md.fapi.jar = true
	case vocab.JAROff:
		if doc.RequireSignedRequestObject {
			return fmt.Errorf("login: discovery: the AS requires signed request objects (require_signed_request_object) and provider.request_object is %q", vocab.JAROff)
		}
	default:
		return fmt.Errorf("login: provider.request_object %q is not one of %v", o.FAPI.JAR, vocab.JARModes)
	}
	switch o.FAPI.ResponseMode {
	case "":
	case vocab.ResponseModeJWT:
		if len(doc.ResponseModes) > 0 && !slices.Contains(doc.ResponseModes, vocab.ResponseModeJWT) {
			return fmt.Errorf("login: discovery: provider.response_mode is %q and the AS does not list it in response_modes_supported (%v)", vocab.ResponseModeJWT, doc.ResponseModes)
		}
		md.fapi.jarm = true
	default:
		return fmt.Errorf("login: provider.response_mode %q is not %q", o.FAPI.ResponseMode, vocab.ResponseModeJWT)
	}
	return nil
}

// keyID is the kid of what the client signs: ClientAuth.KeyID, or the
// key's RFC 7638 thumbprint.
func (a *asClient) keyID() (string, error) {
	if a.auth.KeyID != "" {
		return a.auth.KeyID, nil
	}
	tp, err := (&jose.JSONWebKey{Key: a.auth.PrivateKey.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("login: key id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
