package login

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// FAPIOptions are the settings of pushed authorization requests (RFC 9126),
// DPoP (RFC 9449) and the FAPI 2.0 Security Profile. The zero value pushes
// requests when the AS offers it (PAR "auto"), binds no tokens and applies
// no profile.
type FAPIOptions struct {
	// PAR is vocab.PARAuto (also for ""), PARRequired or PAROff.
	PAR string
	// DPoP is vocab.DPoPOff (also for ""), DPoPOn or DPoPAuto.
	DPoP string
	// Profile is vocab.ProfileNone or vocab.ProfileFAPI2. FAPI 2.0 makes
	// discovery refuse an AS that cannot do the profile (no PAR endpoint,
	// no RFC 9207 iss parameter, no PKCE S256, no ES256 DPoP proofs unless
	// the client uses mTLS), restricts ID token algorithms to PS256, ES256
	// and EdDSA, requires the iss parameter in every authorization
	// response, sets the client assertion's audience to the issuer, and
	// refuses a bearer token where a DPoP-bound one was asked for.
	Profile string
	// JAR is vocab.JARAuto (also for ""), JAROn or JAROff: whether the
	// authorization request is a request object signed with
	// ClientAuth.PrivateKey (RFC 9101; jar.go).
	JAR string
	// ResponseMode is "" (the query) or vocab.ResponseModeJWT (JARM).
	ResponseMode string
}

// fapiDoc holds the metadata fields of PAR, DPoP and FAPI (RFC 9126 §5,
// RFC 9449 §5.1, RFC 9101 §10.5).
type fapiDoc struct {
	PAREndpoint string   `json:"pushed_authorization_request_endpoint"`
	RequirePAR  bool     `json:"require_pushed_authorization_requests"`
	DPoPAlgs    []string `json:"dpop_signing_alg_values_supported"`

	RequireSignedRequestObject bool     `json:"require_signed_request_object"`
	ResponseModes              []string `json:"response_modes_supported"`
}

// fapiMetadata is what discovery decided for PAR, DPoP and the profile.
type fapiMetadata struct {
	par    string // the PAR endpoint (its mTLS alias with a client certificate); "" when requests are not pushed
	dpop   bool   // the user's tokens are DPoP-bound
	jar    bool   // the request is a signed request object (RFC 9101)
	jarm   bool   // response_mode=jwt
	fapi2  bool
	issuer string
}

// decideFAPI makes the PAR, DPoP and profile choices for md, whose other
// choices (client authentication method, PKCE, algorithms) are made.
func decideFAPI(o *Options, md *metadata, method string) error {
	var doc fapiDoc
	if err := json.Unmarshal(md.doc, &doc); err != nil {
		return fmt.Errorf("login: discovery: malformed metadata: %w", err)
	}
	f := o.FAPI
	fm := fapiMetadata{fapi2: f.Profile == vocab.ProfileFAPI2, issuer: o.Issuer}
	if fm.fapi2 {
		if err := checkFAPI2(md, method, doc); err != nil {
			return err
		}
		if f.PAR != vocab.PAROff {
			f.PAR = vocab.PARRequired
		}
		if f.DPoP == "" && !isTLSAuth(method) {
			f.DPoP = vocab.DPoPOn
		}
	}
	switch f.PAR {
	case "", vocab.PARAuto:
		if doc.PAREndpoint != "" {
			fm.par = md.endpointFor("pushed_authorization_request_endpoint", doc.PAREndpoint, method)
		}
	case vocab.PARRequired:
		if doc.PAREndpoint == "" {
			return fmt.Errorf("login: discovery: provider.par is %q and the AS advertises no pushed_authorization_request_endpoint", vocab.PARRequired)
		}
		fm.par = md.endpointFor("pushed_authorization_request_endpoint", doc.PAREndpoint, method)
	case vocab.PAROff:
		if doc.RequirePAR {
			return fmt.Errorf("login: discovery: the AS requires pushed authorization requests (require_pushed_authorization_requests) and provider.par is %q", vocab.PAROff)
		}
	default:
		return fmt.Errorf("login: provider.par %q is not one of %v", f.PAR, vocab.PARModes)
	}
	es256 := slices.Contains(doc.DPoPAlgs, AlgES256)
	switch f.DPoP {
	case "", vocab.DPoPOff:
	case vocab.DPoPOn:
		if !es256 {
			return fmt.Errorf("login: discovery: provider.dpop is on and the AS does not list ES256 in dpop_signing_alg_values_supported (%v)", doc.DPoPAlgs)
		}
		fm.dpop = true
	case vocab.DPoPAuto:
		fm.dpop = es256
	default:
		return fmt.Errorf("login: provider.dpop %q is not one of %v", f.DPoP, vocab.DPoPModes)
	}
	if fm.fapi2 && !fm.dpop && !isTLSAuth(method) {
		return fmt.Errorf("login: discovery: the FAPI 2.0 profile needs sender-constrained tokens: DPoP (provider.dpop) or mTLS client authentication")
	}
	md.fapi = fm
	return decideJAR(o, md, doc, o.ClientAuth.PrivateKey != nil)
}

// checkFAPI2 refuses an AS or a client configuration that cannot do the
// FAPI 2.0 Security Profile (§5.2.2, §5.3.2, §5.4), and narrows the ID
// token algorithms to those it allows.
func checkFAPI2(md *metadata, method string, doc fapiDoc) error {
	switch {
	case doc.PAREndpoint == "":
		return fmt.Errorf("login: discovery: FAPI 2.0 needs pushed authorization requests; the AS advertises no pushed_authorization_request_endpoint")
	case !md.issParam:
		return fmt.Errorf("login: discovery: FAPI 2.0 needs the RFC 9207 iss parameter; the AS does not advertise authorization_response_iss_parameter_supported")
	case md.pkce != PKCES256:
		return fmt.Errorf("login: discovery: FAPI 2.0 needs PKCE S256")
	case method != AuthPrivateKeyJWT && !isTLSAuth(method):
		return fmt.Errorf("login: discovery: FAPI 2.0 allows only private_key_jwt or mTLS client authentication, not %q", method)
	}
	var algs []string
	for _, a := range md.algs {
		if slices.Contains(vocab.FAPI2Algs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 && !md.plainOAuth2 {
		return fmt.Errorf("login: discovery: FAPI 2.0 allows ID tokens signed with %v; the AS offers %v", vocab.FAPI2Algs, md.algs)
	}
	md.algs = algs
	return nil
}

// isTLSAuth reports whether method authenticates with a client certificate.
func isTLSAuth(method string) bool {
	return method == AuthTLSClientAuth || method == AuthSelfSignedTLSClientAuth
}

// assertionAudience is the aud of a private_key_jwt assertion: the issuer
// under FAPI 2.0 (§5.3.2.1: the issuer identifier as the sole audience),
// else the token endpoint (RFC 7523 §3).
func (md *metadata) assertionAudience() string {
	if md.fapi.fapi2 {
		return md.fapi.issuer
	}
	return md.tokenURL
}
