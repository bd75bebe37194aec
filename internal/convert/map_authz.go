package convert

import (
	"bufio"
	"bytes"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// mapAuthorization: who may pass, and what skips authentication.
func (c *converter) mapAuthorization() {
	c.mapEmails()
	c.mapGroups()
	c.mapSkipAuth()
	c.mapBearer()
	c.report("api_routes", Builtin, "a request that does not accept text/html, an XHR or a non-GET gets 401 with JSON instead of a redirect")
	c.report("skip_provider_button", Builtin, "a browser goes straight to the provider; /oauth2/sign_in shows a one-button "+
		"page only where nginx sends the browser to it (error_page 401 = /oauth2/sign_in)")
	c.report("force_json_errors", Builtin, "JSON for API clients, HTML for browsers")
	c.report("encode_state", Builtin, "the state is an opaque random value")
}

// mapEmails: email_domains and authenticated_emails_file, which admit a user
// when either matches (as allowed_email_domains and allowed_emails do).
func (c *converter) mapEmails() {
	d := c.doc
	domains := c.list("email_domains")
	file := c.str("authenticated_emails_file")
	star := slices.Contains(domains, "*")
	if star && (len(domains) > 1 || file != "") {
		c.report("email_domains", Blocking, "\"*\" admits every address, so the other domains (and authenticated_emails_file) "+
			"restrict nothing: oauth2-proxy admitted everyone. Decide: remove \"*\" to keep the restriction, or the others to admit everyone")
		if file != "" {
			c.report("authenticated_emails_file", Blocking, "")
		}
		return
	}
	if star {
		c.report("email_domains", Mapped, "\"*\": no e-mail rule, every signed-in user is admitted (other rules still apply)")
		return
	}
	if len(domains) == 0 && file == "" {
		c.reportAt("email_domains", "not set", Blocking, "without email_domains or authenticated_emails_file oauth2-proxy admits "+
			"nobody; Gatehouse would admit every signed-in user the other rules allow. Set email_domains = [\"*\"] if that is "+
			"meant, or the domains")
		return
	}
	if len(domains) > 0 {
		var exact []string
		var sub []string
		for _, dm := range domains {
			dm = strings.TrimPrefix(dm, "@")
			if strings.HasPrefix(dm, ".") || strings.HasPrefix(dm, "*.") {
				sub = append(sub, dm)
				continue
			}
			exact = append(exact, strings.ToLower(dm))
		}
		k := d.set("authorization", "allowed_email_domains", exact, "email_domains")
		if c.providerType == "github" && len(exact) > 0 {
			c.report("email_domains", Changed, "GitHub's /user has no email_verified claim, so e-mail rules refuse every "+
				"GitHub user: authorize on the login instead (github_users, required_claims = { login = [...] })", k)
		} else if len(sub) > 0 {
			c.report("email_domains", Changed, "subdomain wildcards ("+strings.Join(sub, ", ")+") have no equivalent: "+
				"allowed_email_domains is exact; list each subdomain (until then their users are refused)", k)
		} else {
			c.report("email_domains", Mapped, "verified addresses only (email_verified), unless insecure_allow_unverified_email", k)
		}
	}
	if file != "" {
		data, err := c.in.readFile(file)
		if err != nil {
			c.report("authenticated_emails_file", Blocking, "could not be read ("+err.Error()+"): the addresses it admitted are not "+
				"carried over; run the converter where the file is, or write allowed_emails by hand")
			return
		}
		var emails []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			// CSV as oauth2-proxy reads it: the address is the first field.
			l, _, _ := strings.Cut(sc.Text(), ",")
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				emails = append(emails, strings.ToLower(l))
			}
		}
		c.report("authenticated_emails_file", Mapped, "a list in the configuration, not a watched file",
			d.set("authorization", "allowed_emails", emails, "authenticated_emails_file "+file))
	}
}

// groupsFromAPI are presets whose group rules need calls to the provider's
// APIs, which Gatehouse does not make.
var groupsFromAPI = map[string]string{
	"google":    "Google groups come from the Admin SDK",
	"github":    "GitHub organizations and teams come from GitHub's API",
	"bitbucket": "Bitbucket teams come from Bitbucket's API",
}

// mapGroups: group, role and user rules.
func (c *converter) mapGroups() {
	d := c.doc
	groups := append(slices.Clone(c.list("allowed_groups")), c.list("keycloak_groups")...)
	if len(groups) > 0 {
		if why, api := groupsFromAPI[c.providerType]; api {
			c.report("allowed_groups", Blocking, why+": put a broker that turns them into a groups claim (Keycloak, Dex) "+
				"in front, or decide on another rule")
			c.report("keycloak_groups", Blocking, "")
		} else {
			k := d.set("authorization", "allowed_groups", groups, "allowed_groups: the claim named by headers.groups")
			note := ""
			switch c.providerType {
			case "azure", "entra-id":
				note = "Entra ID: group object IDs; a user in too many groups (overage) has no groups claim and is refused"
			case "keycloak", "keycloak-oidc":
				note = "Keycloak: the group membership mapper must put the groups in the ID token (full paths such as /admins)"
			}
			c.report("allowed_groups", Mapped, note, k)
			c.report("keycloak_groups", Mapped, "", k)
		}
	}
	if gl := c.list("gitlab_groups"); len(gl) > 0 {
		all := append(slices.Clone(groups), gl...)
		c.report("gitlab_groups", Mapped, "GitLab's OpenID Connect groups claim (docs/provider-recipes.md)",
			d.set("authorization", "allowed_groups", all, "gitlab_groups"))
	}
	if roles := c.list("allowed_roles"); len(roles) > 0 {
		claims := map[string][]string{}
		for _, r := range roles {
			claim := "realm_access.roles"
			if client, role, ok := strings.Cut(r, ":"); ok {
				claim, r = "resource_access."+client+".roles", role
			}
			claims[claim] = append(claims[claim], r)
		}
		if len(claims) > 1 {
			c.report("allowed_roles", Blocking, "realm and client roles together: oauth2-proxy admitted any one of them, Gatehouse's "+
				"required_claims require every claim listed; choose one claim or give the users one common role")
		} else {
			c.report("allowed_roles", Mapped, "Keycloak roles from the access token's claims, which must be in the ID token (roles mapper)",
				d.set("authorization", "required_claims", claims, "allowed_roles"))
		}
	}
	if users := c.list("github_users"); len(users) > 0 {
		c.report("github_users", Mapped, "", d.set("authorization", "required_claims", map[string][]string{"login": users}, "github_users"))
	}
	for _, o := range []string{"github_org", "github_team", "github_repo"} {
		c.report(o, Blocking, "GitHub organization, team and repository membership need GitHub's API: put a broker in front "+
			"(Keycloak, Dex) that turns them into a groups claim, or list the users (github_users)")
	}
	c.report("github_token", NoEquivalent, "")
	c.report("gitlab_projects", Blocking, "GitLab project membership needs GitLab's API; use gitlab_groups")
	for _, o := range []string{"google_group", "google_groups"} {
		c.report(o, Blocking, "Google groups come from the Admin SDK: put a broker in front that turns them into a groups claim")
	}
	for _, o := range []string{"google_admin_email", "google_service_account_json", "google_use_application_default_credentials", "google_target_principal"} {
		c.report(o, NoEquivalent, "only used for Google groups")
	}
	for _, o := range []string{"bitbucket_team", "bitbucket_repository"} {
		c.report(o, Blocking, "Bitbucket membership needs Bitbucket's API")
	}
	c.report("htpasswd_file", NoEquivalent, "users sign in at the provider; clients that can only send HTTP Basic: auth = \"password_grant\" (docs/grants.md)")
	c.report("htpasswd_user_groups", NoEquivalent, "")
}

// methodPrefix is the "METHOD=" of a skip_auth_routes entry.
var methodPrefix = regexp.MustCompile(`^([A-Z]+)=(.*)$`)

// mapSkipAuth: skip_auth_regex, skip_auth_routes and skip_auth_preflight.
func (c *converter) mapSkipAuth() {
	var entries []string
	for _, o := range []string{"skip_auth_regex", "skip_auth_routes"} {
		v, ok := c.get(o)
		if !ok || len(v.list) == 0 {
			continue
		}
		var bad, narrower []string
		for _, pat := range v.list {
			method := ""
			if o == "skip_auth_routes" {
				if m := methodPrefix.FindStringSubmatch(pat); m != nil {
					method, pat = m[1]+" ", m[2]
				}
			}
			paths, narrow, err := skipPaths(pat)
			if err != nil {
				bad = append(bad, tomlString(pat)+": "+err.Error())
				continue
			}
			if narrow {
				narrower = append(narrower, pat)
			}
			for _, p := range paths {
				entries = append(entries, method+p)
			}
		}
		switch {
		case len(bad) > 0:
			c.report(o, Blocking, "not converted, so these paths now need sign-in; write skip_auth entries (\"/path\", "+
				"\"/path/*\") for what each was meant to allow: "+strings.Join(bad, "; "), "authorization.skip_auth")
		case len(narrower) > 0:
			c.report(o, Changed, "converted to exact paths and prefixes, which match less than "+strings.Join(narrower, ", ")+
				" did (^/public also matched /publicity; an unescaped \".\" matched any character)", "authorization.skip_auth")
		default:
			c.report(o, Mapped, "paths, matched after decoding and cleaning, never the query", "authorization.skip_auth")
		}
	}
	if c.on("skip_auth_preflight", false) {
		var roots bool
		for _, r := range c.upstreams {
			if r.prefix == "/" {
				roots = true
				continue
			}
			entries = append(entries, "OPTIONS "+r.prefix+"/*")
		}
		note := "OPTIONS skipped per route prefix"
		st := Mapped
		if roots {
			st, note = Changed, "not for the route \"/\": \"OPTIONS /*\" is refused; add \"OPTIONS /api/*\"-style entries for the paths "+
				"that take cross-origin calls"
		}
		c.report("skip_auth_preflight", st, note, "authorization.skip_auth")
	}
	if len(entries) > 0 {
		c.doc.set("authorization", "skip_auth", entries, "skip_auth_regex, skip_auth_routes, skip_auth_preflight: paths, not regular expressions")
	}
}

// mapBearer: skip_jwt_bearer_tokens.
func (c *converter) mapBearer() {
	if !c.on("skip_jwt_bearer_tokens", false) {
		c.report("skip_jwt_bearer_tokens", Builtin, "")
		for _, o := range []string{"extra_jwt_issuers", "oidc_extra_audiences", "bearer_token_login_fallback"} {
			c.report(o, NoEquivalent, "unused without skip_jwt_bearer_tokens")
		}
		return
	}
	c.report("bearer_token_login_fallback", Builtin, "a request without a usable token gets 401 on an API route, a login redirect in a browser")
	if iss := c.list("extra_jwt_issuers"); len(iss) > 0 {
		c.report("extra_jwt_issuers", Blocking, "Gatehouse accepts bearer tokens of its one provider only: tokens of "+
			strings.Join(iss, ", ")+" would be refused; decide whether those clients move to the provider")
	}
	var auds []string
	for _, a := range c.list("oidc_extra_audiences") {
		if a != c.str("client_id") {
			auds = append(auds, a)
		}
	}
	if len(auds) == 0 {
		c.report("oidc_extra_audiences", NoEquivalent, "only provider.client_id: ID tokens are not accepted as bearer tokens")
		c.report("skip_jwt_bearer_tokens", Changed, "not carried over: oauth2-proxy accepted ID tokens (aud = client_id); Gatehouse "+
			"accepts access tokens for an API audience: register one, then set [bearer] audiences and auth = \"session_or_bearer\" "+
			"(docs/integrations.md#bearer-tokens). Until then bearer tokens are refused")
		return
	}
	k := c.doc.set("bearer", "audiences", auds, "oidc_extra_audiences: the audiences of access tokens accepted as bearer tokens")
	for _, r := range c.upstreams {
		if r.http {
			r.t.set("auth", "session_or_bearer", "skip_jwt_bearer_tokens", false)
		}
	}
	c.report("skip_jwt_bearer_tokens", Changed, "access tokens of the provider for these audiences (ID tokens are refused)", k, "upstream.auth")
	c.report("oidc_extra_audiences", Mapped, "", k)
}

// setAuthorizationAdvice is what to do instead of oauth2-proxy's
// set_authorization_header (the ID token in the /oauth2/auth answer's
// Authorization header).
const setAuthorizationAdvice = "forward-auth answers carry no ID token (with pass_authorization they carry the ACCESS token " +
	"in Authorization, to server.trusted_proxies only). An application that needs the ID token as Authorization: Bearer " +
	"(the Kubernetes Dashboard) runs behind Gatehouse in proxy mode, with pass_id_token = \"authorization\" on its [[upstream]]"

// mapHeaders: what the upstream and the forward-auth answer carry.
func (c *converter) mapHeaders() {
	if c.on("pass_access_token", false) {
		c.setProxied("pass_access_token", true, "pass_access_token: X-Forwarded-Access-Token")
		c.report("pass_access_token", Mapped, "also X-Auth-Request-Access-Token in forward-auth answers to server.trusted_proxies", "upstream.pass_access_token")
	}
	if c.on("pass_authorization_header", false) {
		c.setProxied("pass_id_token", vocab.PassIDTokenAuthorization, "pass_authorization_header: Authorization: Bearer <ID token>")
		c.report("pass_authorization_header", Mapped, "the ID token as Authorization: Bearer on each proxied upstream, "+
			"the one of the last login or refresh", "upstream.pass_id_token")
	}
	if c.on("set_authorization_header", false) {
		c.report("set_authorization_header", NoEquivalent, setAuthorizationAdvice)
	}
	c.report("set_xauthrequest", Builtin, "X-Auth-Request-User, -Email, -Preferred-Username and -Groups are always in /oauth2/auth answers")
	if c.str("basic_auth_password") != "" || c.on("set_basic_auth", false) {
		c.report("pass_basic_auth", NoEquivalent, "no Authorization: Basic header: the application reads X-Forwarded-User")
		c.report("set_basic_auth", NoEquivalent, "no Authorization: Basic header")
		c.report("basic_auth_password", NoEquivalent, "not written")
	} else {
		c.report("pass_basic_auth", Builtin, "X-Forwarded-User and -Email are always set")
	}
	if c.on("prefer_email_to_user", false) {
		c.report("prefer_email_to_user", Mapped, "", c.doc.set("headers", "user", "email", "prefer_email_to_user"))
	}
	if !c.on("pass_user_headers", true) {
		c.report("pass_user_headers", Changed, "the identity headers are always set")
	} else {
		c.report("pass_user_headers", Builtin, "")
	}
	if !c.on("skip_auth_strip_headers", true) {
		c.report("skip_auth_strip_headers", Changed, "identity headers a client sends are always stripped")
	} else {
		c.report("skip_auth_strip_headers", Builtin, "")
	}
	c.report("signature_key", NoEquivalent, "no GAP-Signature: keep the upstream unreachable except through the gateway")
}
