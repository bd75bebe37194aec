package convert

import (
	"net/url"
	"strconv"
	"strings"
)

// oidcProviders are oauth2-proxy's presets that are plain OpenID Connect
// for Gatehouse, with their issuer when oidc_issuer_url is not set.
var oidcProviders = map[string]string{
	"oidc":          "",
	"keycloak-oidc": "",
	"entra-id":      "",
	"adfs":          "",
	"gitlab":        "https://gitlab.com",
	"google":        "https://accounts.google.com",
}

// mapProvider: the provider, the client, scopes, endpoints and the options
// of the token checks.
func (c *converter) mapProvider() {
	d := c.doc
	pt := c.providerType
	issuer := c.str("oidc_issuer_url")
	provSrc := c.sourceOr("provider", "default google")
	switch def, oidc := oidcProviders[pt]; {
	case oidc:
		if issuer == "" {
			issuer = def
		}
		if issuer == "" {
			d.set("provider", "issuer", "", todo+": the provider's issuer URL (oidc_issuer_url was not set)")
			c.reportAt("provider", provSrc, Changed, "oidc_issuer_url is not set: fill in provider.issuer", "provider.issuer")
		} else {
			k := d.set("provider", "issuer", issuer, "provider = "+tomlString(pt)+", oidc_issuer_url")
			c.reportAt("provider", provSrc, Mapped, "no presets: every OpenID Connect provider is configured by its issuer "+
				"(docs/provider-recipes.md)", k)
			c.report("oidc_issuer_url", Mapped, "", k)
		}
		if pt == "google" {
			c.reportAt("provider", provSrc, Changed, "Google: the hd claim is not checked by itself; use allowed_email_domains (from email_domains)")
		}
	case pt == "azure":
		c.mapAzure(provSrc, issuer)
	case pt == "keycloak":
		if issuer == "" {
			issuer = keycloakIssuer(c.str("login_url"))
		}
		if issuer == "" {
			d.set("provider", "issuer", "", todo+": the realm's URL, https://keycloak.example.com/realms/REALM")
			c.reportAt("provider", provSrc, Changed, "the legacy keycloak provider: fill in provider.issuer with the realm's URL", "provider.issuer")
		} else {
			k := d.set("provider", "issuer", issuer, "provider = \"keycloak\": the realm's issuer")
			c.reportAt("provider", provSrc, Changed, "Keycloak as OpenID Connect; groups need Keycloak's group membership mapper in the ID token", k)
			c.report("login_url", Mapped, "discovered from the issuer", k)
			for _, o := range []string{"redeem_url", "profile_url", "validate_url"} {
				c.report(o, Builtin, "discovered from the issuer")
			}
		}
	case pt == "github":
		c.mapGitHub(provSrc)
	default:
		c.mapPlainOAuth2(provSrc)
	}

	if id := c.str("client_id"); id != "" {
		c.report("client_id", Mapped, "", d.set("provider", "client_id", id, ""))
	} else {
		d.set("provider", "client_id", "", todo+": the client ID registered at the provider")
	}
	if f := c.str("client_secret_file"); f != "" {
		c.report("client_secret_file", Mapped, "", d.set("provider", "client_secret_file", f, ""))
		c.report("client_secret", Changed, "client_secret_file wins; the secret is not written")
	} else {
		c.report("client_secret", Changed, "not written to the file: set GATEHOUSE_CLIENT_SECRET, or provider.client_secret_file")
	}
	if sc := c.str("scope"); sc != "" && !d.table("provider").has("scopes") {
		scopes := strings.Fields(sc)
		note := ""
		if _, oidc := oidcProviders[pt]; oidc && !containsFold(scopes, "openid") {
			note = "add \"openid\": Gatehouse refuses OpenID Connect without it"
		}
		c.report("scope", Mapped, note, d.set("provider", "scopes", scopes, "scope"))
	}
	if p := c.str("prompt"); p != "" {
		c.report("prompt", Mapped, "", d.set("provider.extra_auth_params", "prompt", p, "prompt"))
	}
	if ap := c.str("approval_prompt"); ap != "" && ap != "force" {
		c.report("approval_prompt", NoEquivalent, "deprecated by OpenID Connect: use provider.extra_auth_params.prompt")
	} else {
		c.report("approval_prompt", Builtin, "not sent")
	}
	if acr := c.str("acr_values"); acr != "" {
		c.report("acr_values", Mapped, "requested, not checked: add required_claims = { acr = [...] } to enforce it",
			d.set("provider.extra_auth_params", "acr_values", acr, "acr_values"))
	}
	c.mapEndpoints()
	c.report("validate_url", NoEquivalent, "sessions are checked on the server; API tokens: auth = \"bearer\"")
	c.report("code_challenge_method", Builtin, "PKCE S256 is always used when the provider supports it")
	c.report("force_code_challenge_method", Builtin, "PKCE S256 is always used when the provider supports it")
	if e := c.str("oidc_email_claim"); e != "" && e != "email" {
		c.report("oidc_email_claim", Mapped, "", d.set("headers", "email", e, "oidc_email_claim"))
	} else {
		c.report("oidc_email_claim", Builtin, "headers.email defaults to \"email\"")
	}
	if u := c.str("user_id_claim"); u != "" && u != "email" && !d.table("headers").has("email") {
		c.report("user_id_claim", Mapped, "deprecated alias of oidc_email_claim", d.set("headers", "email", u, "user_id_claim"))
	} else {
		c.report("user_id_claim", Builtin, "")
	}
	if g := c.str("oidc_groups_claim"); g != "" && g != "groups" {
		c.report("oidc_groups_claim", Mapped, "", d.set("headers", "groups", g, "oidc_groups_claim"))
	} else {
		c.report("oidc_groups_claim", Builtin, "headers.groups defaults to \"groups\"")
	}
	if ac := c.list("oidc_audience_claims"); len(ac) > 0 && !(len(ac) == 1 && ac[0] == "aud") {
		c.report("oidc_audience_claims", NoEquivalent, "ID tokens must name provider.client_id in aud")
	} else {
		c.report("oidc_audience_claims", Builtin, "")
	}
	c.report("oidc_public_key_files", NoEquivalent, "keys come from the provider's jwks_uri")
	if c.on("insecure_oidc_allow_unverified_email", false) {
		c.report("insecure_oidc_allow_unverified_email", Mapped, "MUST NOT stay unless the provider verifies every address it asserts",
			d.set("authorization", "insecure_allow_unverified_email", true, "insecure_oidc_allow_unverified_email"))
	} else {
		c.report("insecure_oidc_allow_unverified_email", Builtin, "")
	}
	if c.on("insecure_oidc_skip_issuer_verification", false) {
		c.report("insecure_oidc_skip_issuer_verification", Changed, "the issuer is always verified: provider.issuer must be "+
			"exactly the discovery document's issuer (for Entra ID, the tenant's)")
	} else {
		c.report("insecure_oidc_skip_issuer_verification", Builtin, "")
	}
	c.report("insecure_oidc_skip_nonce", Builtin, "the nonce is always checked")
	c.mapProviderCA()
	if c.on("ssl_insecure_skip_verify", false) {
		c.report("ssl_insecure_skip_verify", Blocking, "Gatehouse always verifies the provider's certificate: give the provider "+
			"a certificate the system trusts, or name its CA in provider.ca_file")
	} else {
		c.report("ssl_insecure_skip_verify", Builtin, "")
	}
	if f := c.str("jwt_key_file"); f != "" {
		d.set("provider", "client_auth", "private_key_jwt", "jwt_key_file: RFC 7523 client assertions")
		c.report("jwt_key_file", Mapped, "", "provider.client_auth", d.set("provider", "private_key_file", f, ""))
	}
	if c.str("jwt_key") != "" {
		d.set("provider", "client_auth", "private_key_jwt", "jwt_key: RFC 7523 client assertions")
		d.set("provider", "private_key_file", "", todo+": write the jwt_key PEM to a file and name it here")
		c.report("jwt_key", Changed, "not written: save the key to a file and set provider.private_key_file", "provider.client_auth")
	}
	if pt != "azure" {
		c.report("azure_tenant", NoEquivalent, "only used by provider \"azure\"")
	}
	c.report("resource", NoEquivalent, "request the API's scopes in provider.scopes instead (Entra ID v2.0)")
	c.report("azure_graph_group_field", NoEquivalent, "groups come from the token's groups claim (object IDs)")
	c.report("entra_id_allowed_tenants", Blocking, "Gatehouse accepts users of one tenant, its provider.issuer: "+
		"run one Gatehouse per tenant, or decide that the others are refused")
	c.report("entra_id_federated_token_auth", NoEquivalent, "authenticate with a client secret or provider.client_auth = \"private_key_jwt\"")
	if c.str("backend_logout_url") != "" {
		c.report("backend_logout_url", Changed, "RP-Initiated Logout at the provider's end_session_endpoint (from discovery) replaces this URL",
			d.set("provider", "rp_initiated_logout", true, "backend_logout_url"))
	}
	c.report("skip_claims_from_profile_url", NoEquivalent, "claims come from the ID token (provider.use_userinfo = false, the default)")
}

// mapEndpoints: endpoints set by hand. For the legacy keycloak and github
// providers they were handled already.
func (c *converter) mapEndpoints() {
	d := c.doc
	if c.on("skip_oidc_discovery", false) {
		c.report("skip_oidc_discovery", Mapped, "", d.set("provider", "discovery", false, "skip_oidc_discovery"))
	}
	for _, e := range []struct{ opt, key string }{
		{"login_url", "authorization"}, {"redeem_url", "token"}, {"oidc_jwks_url", "jwks"},
		{"pubjwk_url", "jwks"}, {"profile_url", "userinfo"},
	} {
		if v := c.str(e.opt); v != "" && !c.done[e.opt] {
			c.report(e.opt, Mapped, "overrides the discovered endpoint", d.set("provider.endpoints", e.key, v, e.opt))
		}
	}
}

// mapAzure: oauth2-proxy's azure provider, by tenant.
func (c *converter) mapAzure(provSrc, issuer string) {
	d := c.doc
	tenant := c.str("azure_tenant")
	if tenant == "" {
		tenant = "common"
	}
	if issuer == "" {
		switch tenant {
		case "common", "organizations", "consumers":
			d.set("provider", "issuer", "", todo+": https://login.microsoftonline.com/TENANT-ID/v2.0")
			c.reportAt("provider", provSrc, Blocking, "azure_tenant "+tomlString(tenant)+" admits users of any tenant; Gatehouse "+
				"accepts one tenant's tokens: set provider.issuer to your tenant's https://login.microsoftonline.com/TENANT-ID/v2.0",
				"provider.issuer")
			c.report("azure_tenant", Blocking, "")
			return
		}
		issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
	}
	k := d.set("provider", "issuer", issuer, "provider = \"azure\", azure_tenant: Microsoft Entra ID v2.0")
	c.reportAt("provider", provSrc, Changed, "Entra ID through OpenID Connect v2.0: groups are object IDs; a user in too many "+
		"groups (overage) gets no groups claim and fails allowed_groups (docs/provider-recipes.md)", k)
	c.report("azure_tenant", Mapped, "", k)
	c.report("oidc_issuer_url", Mapped, "", k)
}

// mapGitHub: GitHub as plain OAuth 2.0, as in docs/provider-recipes.md.
func (c *converter) mapGitHub(provSrc string) {
	d := c.doc
	d.set("provider", "type", "oauth2", "provider = \"github\": GitHub has no OpenID Connect for users")
	d.set("provider", "issuer", "https://github.com", "recorded as the sessions' issuer")
	d.set("provider", "subject_claim", "id", "/user's numeric id: stable, unlike the login")
	scopes := []string{"user:email"}
	if sc := c.str("scope"); sc != "" {
		scopes = strings.Fields(sc)
		c.report("scope", Mapped, "", "provider.scopes")
	}
	d.set("provider", "scopes", scopes, "")
	d.set("provider.endpoints", "authorization", "https://github.com/login/oauth/authorize", "")
	d.set("provider.endpoints", "token", "https://github.com/login/oauth/access_token", "")
	d.set("provider.endpoints", "userinfo", "https://api.github.com/user", "")
	d.set("headers", "preferred_username", "login", "the GitHub user name")
	c.reportAt("provider", provSrc, Changed, "plain OAuth 2.0 with /user's claims: no email_verified (e-mail rules refuse "+
		"every user) and no groups", "provider.type", "provider.issuer", "provider.endpoints")
	for _, o := range []string{"login_url", "redeem_url", "profile_url", "validate_url"} {
		c.report(o, Builtin, "the GitHub endpoints are written out")
	}
}

// mapPlainOAuth2: a preset without OpenID Connect (or an unknown one):
// plain OAuth 2.0 when the endpoints are given.
func (c *converter) mapPlainOAuth2(provSrc string) {
	d := c.doc
	login := c.str("login_url")
	if login == "" || c.str("redeem_url") == "" {
		d.set("provider", "issuer", "", todo+": the provider's issuer (docs/provider-recipes.md)")
		c.reportAt("provider", provSrc, Changed, "provider "+tomlString(c.providerType)+" has no Gatehouse preset: "+
			"configure it by its issuer, or as provider.type = \"oauth2\" with its endpoints (docs/grants.md)", "provider.issuer")
		return
	}
	iss := login
	if u, err := url.Parse(login); err == nil && u.Host != "" {
		iss = u.Scheme + "://" + u.Host
	}
	d.set("provider", "type", "oauth2", "provider = "+tomlString(c.providerType)+": plain OAuth 2.0 with the endpoints below")
	d.set("provider", "issuer", iss, "recorded as the sessions' issuer")
	d.set("provider", "discovery", false, "")
	c.reportAt("provider", provSrc, Changed, "plain OAuth 2.0: the identity comes from the userinfo endpoint (profile_url); "+
		"check the claims against docs/provider-recipes.md", "provider.type", "provider.issuer")
}

// keycloakIssuer derives a realm's issuer from the legacy provider's
// login_url (.../realms/REALM/protocol/openid-connect/auth).
func keycloakIssuer(login string) string {
	i := strings.Index(login, "/protocol/openid-connect/")
	if i < 0 || !strings.Contains(login[:i], "/realms/") {
		return ""
	}
	return login[:i]
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// providerCABundle is the file the report asks for when provider_ca_files
// names several: provider.ca_file is one PEM file, which may hold several
// certificates.
const providerCABundle = "/etc/gatehouse/provider-ca.pem"

// mapProviderCA: provider_ca_files and use_system_trust_store. Gatehouse
// trusts provider.ca_file in addition to the system's roots, always.
func (c *converter) mapProviderCA() {
	d := c.doc
	cas := c.list("provider_ca_files")
	const also = "the CAs are trusted in addition to the system's roots, for every call to the provider"
	c.report("use_system_trust_store", Builtin, "the system's roots are always trusted for the provider, provider.ca_file in addition")
	switch {
	case len(cas) == 0:
	case len(cas) == 1 && c.on("use_system_trust_store", false):
		c.report("provider_ca_files", Mapped, also, d.set("provider", "ca_file", cas[0], "provider_ca_files: "+also))
	case len(cas) == 1:
		c.report("provider_ca_files", Changed, also+"; oauth2-proxy without use_system_trust_store trusted them alone",
			d.set("provider", "ca_file", cas[0], "provider_ca_files: "+also))
	default:
		cat := "cat " + strings.Join(cas, " ") + " > " + providerCABundle
		k := d.set("provider", "ca_file", providerCABundle, todo+": provider_ca_files named "+strconv.Itoa(len(cas))+
			" files; provider.ca_file is one PEM file, which may hold\nseveral certificates: create it with\n  "+cat)
		c.report("provider_ca_files", Changed, "provider.ca_file is one PEM file, which may hold several certificates: create "+
			providerCABundle+" from the "+strconv.Itoa(len(cas))+" files before Gatehouse starts ("+cat+"); "+also, k)
	}
}
