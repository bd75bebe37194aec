package config

import (
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// ProviderFAPI holds the [provider] keys of pushed authorization requests,
// DPoP and the FAPI 2.0 profile (docs/fapi.md). It is embedded in Provider:
// its keys are provider.par, provider.dpop and provider.profile.
type ProviderFAPI struct {
	// PAR is "auto" (default: push the authorization request when the AS
	// advertises a pushed_authorization_request_endpoint, RFC 9126),
	// "required" (always; the AS must offer it) or "off" (never; refused
	// when the AS requires PAR). With PAR the browser only carries
	// client_id and request_uri.
	PAR string `toml:"par"`
	// DPoP binds the user's tokens to a key of their session (RFC 9449):
	// false or "off" (default), true or "on" (the AS must support ES256
	// proofs), or "auto" (when the AS advertises ES256 in
	// dpop_signing_alg_values_supported). Upstreams that receive a bound
	// token get "Authorization: DPoP" with a proof.
	DPoP DPoPSetting `toml:"dpop"`
	// Profile is "" (default) or "fapi2": the FAPI 2.0 Security Profile,
	// enforced at start-up and per request (PAR, PKCE S256,
	// private_key_jwt or mTLS client authentication, DPoP or mTLS-bound
	// tokens, the RFC 9207 iss parameter, PS256/ES256/EdDSA only).
	Profile string `toml:"profile"`
	// RequestObject is "auto" (default: send the authorization request as a
	// request object signed with private_key_file when the AS requires it,
	// require_signed_request_object, RFC 9101), "signed" (always) or "off".
	RequestObject string `toml:"request_object"`
	// ResponseMode is "" (default: the response in the callback's query) or
	// "jwt" (JARM: the AS signs the response; Gatehouse verifies signature,
	// iss, aud and exp before it reads the state).
	ResponseMode string `toml:"response_mode"`
}

// DPoPSetting is provider.dpop: a boolean or "on", "off", "auto".
type DPoPSetting string

// UnmarshalTOML accepts true, false and the strings of vocab.DPoPModes (any
// other string is kept for Validate to name).
func (d *DPoPSetting) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case bool:
		*d = DPoPSetting(vocab.DPoPOff)
		if v {
			*d = DPoPSetting(vocab.DPoPOn)
		}
	case string:
		*d = DPoPSetting(v)
	default:
		return fmt.Errorf("expected true, false, \"on\", \"off\" or \"auto\", got %s", describe(v))
	}
	return nil
}

// validateFAPI checks the keys of ProviderFAPI and, with profile =
// "fapi2", every other key the profile constrains, each refusal naming its
// key and the clause.
func (pr *Provider) validateFAPI(p *problems) {
	if pr.PAR != "" {
		checkOneOf(p, "provider.par", pr.PAR, vocab.PARModes...)
	}
	if pr.DPoP != "" {
		checkOneOf(p, "provider.dpop", string(pr.DPoP), vocab.DPoPModes...)
	}
	checkOneOf(p, "provider.profile", pr.Profile, vocab.Profiles...)
	if pr.RequestObject != "" {
		checkOneOf(p, "provider.request_object", pr.RequestObject, vocab.JARModes...)
	}
	if pr.RequestObject == vocab.JAROn && pr.PrivateKeyFile == "" {
		p.add("provider.request_object", `"signed" needs private_key_file: the request object is signed with the private_key_jwt key`)
	}
	checkOneOf(p, "provider.response_mode", pr.ResponseMode, "", vocab.ResponseModeJWT)
	if pr.ClientAuth == vocab.ClientAuthSelfSignedTLS && pr.TLSClientCertFile == "" {
		p.add("provider.tls_client_cert_file", `required with client_auth = "self_signed_tls_client_auth"`)
	}
	if pr.Profile != vocab.ProfileFAPI2 {
		return
	}
	const fapi = `refused by profile = "fapi2": `
	mtls := pr.TLSClientCertFile != "" && (pr.ClientAuth == "" || pr.ClientAuth == vocab.ClientAuthTLS || pr.ClientAuth == vocab.ClientAuthSelfSignedTLS)
	if pr.PAR == vocab.PAROff {
		p.add("provider.par", fapi+`FAPI 2.0 §5.3.2.2 requires pushed authorization requests; remove the key or set "required"`)
	}
	switch pr.ClientAuth {
	case vocab.ClientAuthPrivateKeyJWT, vocab.ClientAuthTLS, vocab.ClientAuthSelfSignedTLS:
	case "":
		if pr.PrivateKeyFile == "" && pr.TLSClientCertFile == "" {
			p.add("provider.client_auth", fapi+`FAPI 2.0 §5.3.2.1 allows only private_key_jwt (with private_key_file) or mTLS (tls_client_auth with tls_client_cert_file)`)
		}
	default:
		p.add("provider.client_auth", fapi+`%q: FAPI 2.0 §5.3.2.1 allows only private_key_jwt, tls_client_auth or self_signed_tls_client_auth`, pr.ClientAuth)
	}
	if pr.ClientSecret != "" || pr.ClientSecretFile != "" {
		p.add("provider.client_secret", fapi+"FAPI 2.0 §5.3.2.1 forbids client secrets; remove client_secret, client_secret_file and %s", EnvClientSecret)
	}
	if pr.PrivateKeyAlg != "" && !slices.Contains(vocab.FAPI2Algs, pr.PrivateKeyAlg) {
		p.add("provider.private_key_alg", fapi+`%q: FAPI 2.0 §5.4 allows PS256, ES256 and EdDSA (an RSA key signs PS256 by default under the profile)`, pr.PrivateKeyAlg)
	}
	if pr.InsecureDisablePKCE {
		p.add("provider.insecure_disable_pkce", fapi+"FAPI 2.0 §5.3.2.2 requires PKCE S256")
	}
	if pr.DPoP == DPoPSetting(vocab.DPoPOff) && !mtls {
		p.add("provider.dpop", fapi+"FAPI 2.0 §5.3.2.1 requires sender-constrained tokens: DPoP, or mTLS client authentication with tls_client_cert_file")
	}
	if pr.ResponseType != "" && pr.ResponseType != "code" {
		p.add("provider.response_type", fapi+`FAPI 2.0 §5.3.2.2 allows only "code"`)
	}
}

// compileFAPI converts ProviderFAPI into login options. Under the FAPI 2.0
// profile an RSA private_key_jwt key signs PS256 unless private_key_alg
// says otherwise (RS256 is not allowed, §5.4).
func (pr *Provider) compileFAPI(o *login.Options) {
	o.FAPI = login.FAPIOptions{PAR: pr.PAR, DPoP: string(pr.DPoP), Profile: pr.Profile, JAR: pr.RequestObject, ResponseMode: pr.ResponseMode}
	if pr.Profile == vocab.ProfileFAPI2 && pr.PrivateKeyAlg == "" && o.ClientAuth.Algorithm == vocab.AlgRS256 {
		o.ClientAuth.Algorithm = vocab.AlgPS256
	}
}
