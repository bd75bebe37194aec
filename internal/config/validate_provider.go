package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// reservedAuthParams are the authorization request parameters Gatehouse sets
// itself (RFC 6749 §4.1.1, OpenID Connect Core 1.0 §3.1.2.1, RFC 7636 §4.3),
// or that would override them (RFC 9101 request objects) or move the response
// away from the callback's query (response_mode).
var reservedAuthParams = []string{
	"client_id", "code_challenge", "code_challenge_method", "nonce",
	"redirect_uri", "request", "request_uri", "response_mode",
	"response_type", "scope", "state",
}

func (pr *Provider) validate(p *problems) {
	if pr.Issuer == "" {
		p.add("provider.issuer", "required")
	} else if msg := checkBaseURL(pr.Issuer, true); msg != "" {
		p.add("provider.issuer", "%s", msg)
	}
	if pr.ClientID == "" {
		p.add("provider.client_id", "required")
	}
	if pr.PostLogoutRedirectURI != "" {
		if msg := checkBaseURL(pr.PostLogoutRedirectURI, true); msg != "" {
			p.add("provider.post_logout_redirect_uri", "%s", msg)
		}
	}
	if !slices.Contains(login.EndSessionBindings, pr.EndSessionBinding) {
		p.add("provider.end_session_binding", "%q is not one of %s", pr.EndSessionBinding, strings.Join(login.EndSessionBindings, ", "))
	}
	if pr.ClientSecret == "" && pr.needsSecret() {
		p.add("provider.client_secret", "required (or client_secret_file, or %s)", EnvClientSecret)
	}
	switch {
	case pr.Type == ProviderOAuth2: // no OpenID Connect: any scopes, or none
	case len(pr.Scopes) > 0 && !slices.Contains(pr.Scopes, "openid"):
		p.add("provider.scopes", `must contain "openid"`)
	case len(pr.Scopes) == 0:
		p.add("provider.scopes", `required; must contain "openid"`)
	}
	for i, sc := range pr.Scopes {
		key := fmt.Sprintf("provider.scopes[%d]", i)
		switch {
		case sc == "":
			p.add(key, "must not be empty")
		case strings.ContainsFunc(sc, isSpaceOrControl):
			p.add(key, "%q must not contain white space; list each scope separately", sc)
		case slices.Index(pr.Scopes, sc) < i:
			p.add(key, "duplicate scope %q", sc)
		}
	}
	checkPositive(p, "provider.timeout", pr.Timeout)
	for _, name := range slices.Sorted(maps.Keys(pr.ExtraAuthParams)) {
		key := "provider.extra_auth_params." + name
		switch {
		case name == "":
			p.add("provider.extra_auth_params", "a parameter name must not be empty")
		case slices.Contains(reservedAuthParams, name):
			p.add(key, "reserved: Gatehouse sets or forbids this parameter itself")
		}
	}
	checkResponseType(p, pr.ResponseType)
	pr.validateGrants(p)
	pr.validateFAPI(p) // fapi.go
}

// checkResponseType accepts only the authorization code flow. The implicit
// and hybrid flows return tokens in the front channel (the browser's URL,
// history and Referer); RFC 9700 §2.1.2 says clients should not use them.
func checkResponseType(p *problems, rt string) {
	const key = "provider.response_type"
	if rt == "code" {
		return
	}
	parts := strings.Fields(rt)
	tokens := slices.Contains(parts, "token") || slices.Contains(parts, "id_token")
	switch {
	case tokens && !slices.Contains(parts, "code"):
		p.add(key, `%q is the implicit grant, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`, rt)
	case tokens:
		p.add(key, `%q is a hybrid flow, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`, rt)
	default:
		p.add(key, `%q is not supported; use "code"`, rt)
	}
}
