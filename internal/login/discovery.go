package login

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/jwks"
)

// Endpoints are the AS's endpoints. Each one set replaces the value from
// discovery; with Options.SkipDiscovery they are the only source, and
// Authorization and Token are required (and JWKS, to verify ID tokens,
// unless Options.PlainOAuth2; Userinfo when it is).
type Endpoints struct {
	Authorization string // authorization_endpoint (RFC 6749 §3.1)
	Token         string // token_endpoint (RFC 6749 §3.2)
	JWKS          string // jwks_uri: the keys that sign ID tokens
	Userinfo      string // userinfo_endpoint (OpenID Connect Core 1.0 §5.3)
	EndSession    string // end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0)
	Revocation    string // revocation_endpoint (RFC 7009)
	Introspection string // introspection_endpoint (RFC 7662)
}

// fields returns the endpoints by their metadata names (RFC 8414 §2).
func (e Endpoints) fields() map[string]string {
	return map[string]string{
		"authorization_endpoint": e.Authorization,
		"token_endpoint":         e.Token,
		"jwks_uri":               e.JWKS,
		"userinfo_endpoint":      e.Userinfo,
		"end_session_endpoint":   e.EndSession,
		"revocation_endpoint":    e.Revocation,
		"introspection_endpoint": e.Introspection,
	}
}

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// providerDoc holds the metadata fields the Client uses (OpenID Connect
// Discovery 1.0 §3, RFC 8414 §2, RFC 8705 §5, RFC 9207 §3).
type providerDoc struct {
	Issuer             string            `json:"issuer"`
	Authorization      string            `json:"authorization_endpoint"`
	Token              string            `json:"token_endpoint"`
	JWKS               string            `json:"jwks_uri"`
	Userinfo           string            `json:"userinfo_endpoint"`
	EndSession         string            `json:"end_session_endpoint"`
	Revocation         string            `json:"revocation_endpoint"`
	Introspection      string            `json:"introspection_endpoint"`
	IssParamSupported  bool              `json:"authorization_response_iss_parameter_supported"`
	AuthMethods        []string          `json:"token_endpoint_auth_methods_supported"`
	CodeChallenge      []string          `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgs []string          `json:"id_token_signing_alg_values_supported"`
	MTLSAliases        map[string]string `json:"mtls_endpoint_aliases"`
	PromptValues       []string          `json:"prompt_values_supported"`
}

// maxDiscoveryDoc bounds a discovery document.
const maxDiscoveryDoc = 1 << 20

// loadMetadata builds the metadata: the discovery document (unless
// SkipDiscovery) with the configured Endpoints laid over it, the PKCE
// method, the ID token algorithm allowlist and the client authentication
// method, each checked.
func loadMetadata(ctx context.Context, o *Options, as *asClient, logger *slog.Logger) (*metadata, error) {
	raw := map[string]any{"issuer": o.Issuer}
	if !o.SkipDiscovery {
		var err error
		if raw, err = fetchDiscovery(ctx, as.http, o.Issuer, o.PlainOAuth2); err != nil {
			return nil, fmt.Errorf("login: discovery: %w", err)
		}
	}
	for name, v := range o.Endpoints.fields() {
		if v != "" {
			raw[name] = v
		}
	}
	docJSON, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("login: discovery: %w", err)
	}
	var doc providerDoc
	if err := json.Unmarshal(docJSON, &doc); err != nil {
		return nil, fmt.Errorf("login: discovery: malformed metadata: %w", err)
	}
	switch {
	case doc.Authorization == "":
		return nil, fmt.Errorf("login: discovery: no authorization_endpoint (configure it)")
	case doc.Token == "":
		return nil, fmt.Errorf("login: discovery: no token_endpoint (configure it)")
	case !o.PlainOAuth2 && doc.JWKS == "":
		return nil, fmt.Errorf("login: discovery: no jwks_uri to verify ID tokens with (configure it)")
	case o.PlainOAuth2 && doc.Userinfo == "":
		return nil, fmt.Errorf("login: discovery: a plain OAuth 2.0 provider needs a userinfo endpoint: the user's identity comes from it")
	}
	pkce, err := choosePKCE(o.InsecureDisablePKCE, doc.CodeChallenge)
	if err != nil {
		return nil, err
	}
	algs, err := idTokenAlgs(doc.IDTokenSigningAlgs)
	if err != nil && !o.PlainOAuth2 {
		return nil, err
	}
	method, err := as.chooseAuthMethod(doc.AuthMethods)
	if err != nil {
		return nil, fmt.Errorf("login: discovery: %w", err)
	}
	if method == AuthNone && pkce == "" {
		return nil, fmt.Errorf("login: discovery: a public client (no client authentication) must use PKCE")
	}
	md := &metadata{
		issParam:      doc.IssParamSupported,
		endSession:    doc.EndSession,
		revocation:    doc.Revocation,
		introspection: doc.Introspection,
		tokenURL:      doc.Token,
		algs:          algs,
		authMethods:   doc.AuthMethods,
		mtlsAliases:   doc.MTLSAliases,
		pkce:          pkce,
		plainOAuth2:   o.PlainOAuth2,
		prompts:       doc.PromptValues,
		doc:           docJSON,
	}
	if err := decideFAPI(o, md, method); err != nil {
		return nil, err
	}
	algs = md.algs // the profile may narrow them
	md.userinfo = md.endpointFor("userinfo_endpoint", doc.Userinfo, method)
	md.provider = (&oidc.ProviderConfig{
		IssuerURL:   o.Issuer,
		AuthURL:     doc.Authorization,
		TokenURL:    doc.Token,
		UserInfoURL: md.userinfo,
		JWKSURL:     doc.JWKS,
		Algorithms:  algs,
	}).NewProvider(as.ctx(ctx))
	md.keys = jwks.New(jwks.Options{
		URL: doc.JWKS, HTTPClient: o.HTTPClient, RefetchInterval: o.KeyRefetchInterval,
		Observe: o.ObserveKeys, Now: o.Now,
	})
	md.verifier = oidc.NewVerifier(o.Issuer, md.keys, &oidc.Config{
		ClientID:             o.ClientID,
		SupportedSigningAlgs: algs,
		Now:                  as.now,
	})
	md.oauth = oauth2.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		Endpoint:     md.provider.Endpoint(),
		Scopes:       o.Scopes,
	}
	logChoices(logger, as.auth.Method, doc, pkce)
	return md, nil
}

// logChoices logs what discovery decided, with a warning for each weaker
// choice the AS or the configuration forced.
func logChoices(logger *slog.Logger, m string, doc providerDoc, pkce string) {
	if m != "" && len(doc.AuthMethods) > 0 && !slices.Contains(doc.AuthMethods, m) {
		logger.Warn("the configured client authentication method is not among those the AS advertises; using it anyway",
			"client_auth", m, "advertised", doc.AuthMethods)
	}
	switch pkce {
	case PKCEPlain:
		logger.Warn("the AS supports only the PKCE plain method; using it. plain does not protect a code whose request was observed (RFC 7636 §7.2): ask the AS's operator for S256",
			"code_challenge_methods_supported", doc.CodeChallenge)
	case "":
		logger.Warn("PKCE is disabled (insecure_disable_pkce): a stolen authorization code can be redeemed (RFC 9700 §2.1.1)")
	}
}

// choosePKCE returns the PKCE method: S256 whenever the AS supports it or
// advertises nothing (RFC 7636 §4.2 makes S256 mandatory to implement),
// plain only when that is all it advertises, and none only when
// InsecureDisablePKCE (disable) says so.
func choosePKCE(disable bool, advertised []string) (string, error) {
	switch {
	case disable:
		return "", nil
	case len(advertised) == 0 || slices.Contains(advertised, PKCES256):
		return PKCES256, nil
	case slices.Contains(advertised, PKCEPlain):
		return PKCEPlain, nil
	}
	return "", fmt.Errorf("login: discovery: the AS supports neither PKCE S256 nor plain (code_challenge_methods_supported=%v)", advertised)
}

// idTokenAlgs returns the asymmetric algorithms among those the AS
// advertises for ID tokens (RS256 when it advertises none, OpenID Connect
// Discovery 1.0 §3).
func idTokenAlgs(advertised []string) ([]string, error) {
	if len(advertised) == 0 {
		return []string{oidc.RS256}, nil
	}
	var algs []string
	for _, a := range advertised {
		if slices.Contains(asymmetricAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("login: discovery: no acceptable ID token signing algorithm in %v (asymmetric algorithms only)", advertised)
	}
	return algs, nil
}

// discoveryURLs returns where the metadata may be published: for OpenID
// Connect, Issuer + "/.well-known/openid-configuration" (OpenID Connect
// Discovery 1.0 §4); for a plain OAuth 2.0 server first the RFC 8414 §3
// location, the well-known path inserted before the issuer's path.
func discoveryURLs(issuer string, plainOAuth2 bool) []string {
	oidcURL := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	if !plainOAuth2 {
		return []string{oidcURL}
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return []string{oidcURL}
	}
	u.Path = "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return []string{u.String(), oidcURL}
}

// fetchDiscovery fetches the discovery document, whose issuer must be the
// configured one exactly (OpenID Connect Discovery 1.0 §4.3, RFC 8414 §3.3).
func fetchDiscovery(ctx context.Context, hc *http.Client, issuer string, plainOAuth2 bool) (map[string]any, error) {
	var lastErr error
	for _, u := range discoveryURLs(issuer, plainOAuth2) {
		doc, status, err := getJSON(ctx, hc, u)
		if err != nil {
			lastErr = err
			if status == http.StatusNotFound {
				continue
			}
			return nil, err
		}
		iss, _ := doc["issuer"].(string)
		if iss != issuer {
			return nil, fmt.Errorf("issuer did not match the issuer returned by provider, expected %q got %q", issuer, iss)
		}
		return doc, nil
	}
	return nil, lastErr
}

// getJSON fetches a JSON object.
func getJSON(ctx context.Context, hc *http.Client, u string) (map[string]any, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryDoc))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("%s: %s", u, resp.Status)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s: not a JSON object: %w", u, err)
	}
	return doc, resp.StatusCode, nil
}

// claims decodes the metadata document (discovered, with the configured
// endpoints laid over it) into v.
func (md *metadata) claims(v any) error {
	return json.Unmarshal(md.doc, v)
}
