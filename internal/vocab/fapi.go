package vocab

// Pushed authorization requests (RFC 9126), provider.par.
const (
	// PARAuto pushes the request when the AS advertises a
	// pushed_authorization_request_endpoint (the default).
	PARAuto = "auto"
	// PARRequired always pushes; discovery fails when the AS has no endpoint.
	PARRequired = "required"
	// PAROff never pushes (refused when the AS requires PAR).
	PAROff = "off"
)

// PARModes lists the provider.par values.
var PARModes = []string{PARAuto, PARRequired, PAROff}

// DPoP (RFC 9449) use for the user's tokens, provider.dpop.
const (
	// DPoPOff sends no proofs: tokens are bearer tokens (the default).
	DPoPOff = "off"
	// DPoPOn binds every user token to a key of its session; discovery fails
	// when the AS does not support ES256 proofs.
	DPoPOn = "on"
	// DPoPAuto binds when the AS advertises dpop_signing_alg_values_supported
	// with ES256.
	DPoPAuto = "auto"
)

// DPoPModes lists the provider.dpop values.
var DPoPModes = []string{DPoPOff, DPoPOn, DPoPAuto}

// Security profiles (provider.profile).
const (
	// ProfileNone applies no profile beyond the gateway's defaults.
	ProfileNone = ""
	// ProfileFAPI2 is the FAPI 2.0 Security Profile (OpenID Foundation).
	ProfileFAPI2 = "fapi2"
)

// Profiles lists the provider.profile values.
var Profiles = []string{ProfileNone, ProfileFAPI2}

// FAPI2Algs are the only JWS algorithms FAPI 2.0 Security Profile §5.4
// allows, for what the AS signs and what the client signs.
var FAPI2Algs = []string{AlgPS256, AlgES256, AlgEdDSA}

// AlgEdDSA is EdDSA with Ed25519 (RFC 8037).
const AlgEdDSA = "EdDSA"

// ClientAuthSelfSignedTLS presents a self-signed client certificate that the
// AS matches against the client's registered keys (RFC 8705 §2.2).
const ClientAuthSelfSignedTLS = "self_signed_tls_client_auth"

// Signed request objects (RFC 9101), provider.request_object.
const (
	// JARAuto signs the request when the AS requires it
	// (require_signed_request_object), the default.
	JARAuto = "auto"
	// JAROn always signs (the client needs its private_key_jwt key).
	JAROn = "signed"
	// JAROff never signs (refused when the AS requires it).
	JAROff = "off"
)

// JARModes lists the provider.request_object values.
var JARModes = []string{JARAuto, JAROn, JAROff}

// ResponseModeJWT is JARM's response mode (provider.response_mode): the
// authorization response is a JWT signed by the AS.
const ResponseModeJWT = "jwt"
