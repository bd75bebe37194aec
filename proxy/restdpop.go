package proxy

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// Sender-constrained REST session tokens: an app of the REST flow API that
// sends a DPoP proof (RFC 9449) when it starts a flow registers that proof's
// key. The session the flow ends in is bound to the key's thumbprint
// (session.Session.ProofKey), and from then on its token is accepted only
// as "Authorization: DPoP <token>" with a valid proof by that key for the
// request (htm, htu, a recent iat, a jti never seen by any replica, ath):
// a stolen session token alone is useless. docs/rest-flow-api.md has the
// client's side.

// proofWindow is how old (and how far in the future) a proof's iat may be;
// its jti is remembered twice as long, across replicas, so a proof cannot
// be replayed while its iat is acceptable.
const (
	proofWindow     = 60 * time.Second
	proofFutureSkew = 10 * time.Second
	maxProofLen     = 8 << 10
)

// proofAlgs are the proof algorithms accepted: asymmetric, FAPI 2.0's
// PS256/ES256/EdDSA and ES384/RS256 for older client libraries.
var proofAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.PS256, jose.RS256, jose.EdDSA}

var errDPoPProof = &httpError{Status: http.StatusUnauthorized, Code: "invalid_dpop_proof", Title: "Proof of possession required",
	Detail:    "This session token is bound to a key: send it as \"Authorization: DPoP <token>\" with a DPoP proof signed by that key.",
	Challenge: `DPoP error="invalid_dpop_proof", algs="ES256 ES384 PS256 RS256 EdDSA"`}

// proofChecker verifies the DPoP proofs of requests to the gateway.
type proofChecker struct {
	sessions  *session.Manager
	publicURL string // without trailing slash
	now       func() time.Time
}

func newProofChecker(sessions *session.Manager, publicURL string, now func() time.Time) *proofChecker {
	return &proofChecker{sessions: sessions, publicURL: strings.TrimSuffix(publicURL, "/"), now: now}
}

// proofTarget is the request a DPoP proof must name when it is not the
// one the gateway received: a forward-auth request's original (its method
// and URL, from a trusted proxy's X-Forwarded-* headers).
type proofTarget struct{ method, url string }

type proofTargetKey struct{}

// withProofTarget returns r with the original request its proofs must
// name (forwardauth.go).
func withProofTarget(r *http.Request, method, rawURL string) *http.Request {
	htu, err := login.HTU(rawURL)
	if err != nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), proofTargetKey{}, proofTarget{method: method, url: htu}))
}

// atHost returns r with the proofs it carries checked against its own
// host (hostport, canonical) under public_url's scheme: a request to a
// route with a host of its own names that host in its htu, not public_url's.
func (pc *proofChecker) atHost(r *http.Request, hostport string) *http.Request {
	scheme, _, _ := strings.Cut(pc.publicURL, "://")
	return withProofTarget(r, r.Method, scheme+"://"+hostport+r.URL.EscapedPath())
}

// verify checks r's DPoP proof (RFC 9449 §4.3) for the request at the
// gateway's public URL (or for the original request of a forward-auth
// request, withProofTarget), with ath for token when token is not empty,
// and returns the thumbprint of the key that signed it.
func (pc *proofChecker) verify(r *http.Request, token string) (string, error) {
	method, wantHTU := r.Method, pc.publicURL+r.URL.EscapedPath()
	if t, ok := r.Context().Value(proofTargetKey{}).(proofTarget); ok {
		method, wantHTU = t.method, t.url
	}
	vals := r.Header.Values("DPoP")
	if len(vals) != 1 || len(vals[0]) > maxProofLen {
		return "", fmt.Errorf("%w: want exactly one DPoP header", errDPoPProof)
	}
	jws, err := jose.ParseSignedCompact(vals[0], proofAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return "", fmt.Errorf("%w: malformed proof", errDPoPProof)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return "", fmt.Errorf("%w: typ or jwk", errDPoPProof)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return "", fmt.Errorf("%w: signature", errDPoPProof)
	}
	var c struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT *int64 `json:"iat"`
		ATH string `json:"ath"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.IAT == nil {
		return "", fmt.Errorf("%w: claims", errDPoPProof)
	}
	htu, err := login.HTU(c.HTU)
	now := pc.now()
	iat := time.Unix(*c.IAT, 0)
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return "", fmt.Errorf("%w: jti", errDPoPProof)
	case c.HTM != method:
		return "", fmt.Errorf("%w: htm", errDPoPProof)
	case err != nil || htu != wantHTU:
		return "", fmt.Errorf("%w: htu is not this request's URL", errDPoPProof)
	case iat.Before(now.Add(-proofWindow)) || iat.After(now.Add(proofFutureSkew)):
		return "", fmt.Errorf("%w: iat outside the window", errDPoPProof)
	case token != "" && c.ATH != login.AccessTokenHash(token):
		return "", fmt.Errorf("%w: ath", errDPoPProof)
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: key", errDPoPProof)
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	fresh, err := pc.sessions.FirstUse(r.Context(), "dpop-proof:"+jkt, c.JTI, 2*proofWindow+proofFutureSkew)
	if err != nil {
		return "", storeErr(err)
	}
	if !fresh {
		return "", fmt.Errorf("%w: jti replayed", errDPoPProof)
	}
	return jkt, nil
}

// checkSessionProof refuses a request with a session bound to a key
// (ProofKey) unless it presents the token in the DPoP scheme with a proof
// by that key. Sessions without a key pass.
func (pc *proofChecker) checkSessionProof(r *http.Request, ticket string, s *session.Session) error {
	if s.ProofKey == "" {
		return nil
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, login.TokenTypeDPoP) || strings.TrimSpace(tok) != ticket {
		return fmt.Errorf("%w: the token is not sent in the DPoP scheme", errDPoPProof)
	}
	jkt, err := pc.verify(r, ticket)
	if err != nil {
		return err
	}
	if jkt != s.ProofKey {
		return fmt.Errorf("%w: signed by another key", errDPoPProof)
	}
	return nil
}
