package convert

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// alphaConfig is what oauth2-proxy's alpha configuration (--alpha-config)
// holds beyond the legacy options it replaces: the upstreams and the
// injected headers.
type alphaConfig struct {
	upstreams []upstreamSpec
	request   []alphaHeader
	response  []alphaHeader
}

// alphaHeader is one entry of injectRequestHeaders or injectResponseHeaders.
type alphaHeader struct {
	path     string
	name     string
	claims   []string // claim of each value, "" for a literal value
	prefixes []string
	preserve bool
}

// alphaNode walks a decoded YAML mapping, remembering which keys were read,
// so that every key it holds is reported.
type alphaNode struct {
	r    *reader // takes the options and the unknown keys
	path string
	m    map[string]any
	used map[string]bool
}

func newAlphaNode(r *reader, path string, v any) *alphaNode {
	m, _ := v.(map[string]any)
	return &alphaNode{r: r, path: path, m: m, used: map[string]bool{}}
}

func (n *alphaNode) get(key string) (any, bool) {
	for k, v := range n.m {
		if strings.EqualFold(k, key) {
			n.used[k] = true
			return v, true
		}
	}
	return nil, false
}

func (n *alphaNode) sub(key string) *alphaNode {
	v, _ := n.get(key)
	return newAlphaNode(n.r, n.child(key), v)
}

// child is the path of a key below this node.
func (n *alphaNode) child(key string) string {
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

func (n *alphaNode) items(key string) []*alphaNode {
	v, _ := n.get(key)
	list, _ := v.([]any)
	out := make([]*alphaNode, len(list))
	for i, e := range list {
		out[i] = newAlphaNode(n.r, fmt.Sprintf("%s[%d]", n.child(key), i), e)
	}
	return out
}

func (n *alphaNode) str(key string) string {
	v, ok := n.get(key)
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// option copies fields into legacy options, by field name.
func (n *alphaNode) options(fields map[string]string) {
	for field, opt := range fields {
		v, ok := n.get(field)
		if !ok || v == nil {
			continue
		}
		if _, set := n.r.opts[opt]; set {
			continue // a flag or variable wins
		}
		if err := n.r.set(opt, rawValue{toml: yamlToTOML(v), source: "alpha-config " + n.child(field)}); err != nil {
			n.r.reportAt(n.child(field), "alpha-config", Changed, err.Error())
		}
	}
}

// done reports the keys nobody read as unknown.
func (n *alphaNode) done() {
	for _, k := range sortedKeys(n.m) {
		if !n.used[k] {
			n.r.unknown = append(n.r.unknown, unknownOption{name: n.child(k), source: "alpha-config"})
		}
	}
}

// yamlToTOML turns YAML scalars and lists into what the legacy TOML
// decoder yields.
func yamlToTOML(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = fmt.Sprint(e)
		}
		return out
	}
	return v
}

// alphaReader reads oauth2-proxy's alpha configuration: the options it
// replaces go to the reader (as if set in the legacy config file), the
// upstreams and injected headers to the alpha config, which upstreamMapper
// and mapAlphaHeaders map later; its provider's login URL parameters are
// written at once.
type alphaReader struct{ *converter }

// read reads the alpha configuration: server, metricsServer,
// providers, upstreamConfig, injectRequestHeaders, injectResponseHeaders.
func (c alphaReader) read(path string, data []byte) error {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("oauth2-proxy alpha config %s: %w", path, err)
	}
	c.alpha = &alphaConfig{}
	root := newAlphaNode(&c.reader, "", doc)
	c.server(root.sub("server"), "http_address", "https_address", "tls_cert_file", "tls_key_file", "tls_min_version", "tls_cipher_suites")
	c.server(root.sub("metricsServer"), "metrics_address", "metrics_secure_address", "metrics_tls_cert_file", "metrics_tls_key_file", "", "")
	provs := root.items("providers")
	for i, p := range provs {
		if i > 0 {
			c.reportAt(p.path, "alpha-config", Blocking, "Gatehouse has one provider: this one is not carried over, so its users cannot sign in; "+
				"run a Gatehouse per provider, or federate them in one (Keycloak, Dex)")
			continue
		}
		c.provider(p)
	}
	uc := root.sub("upstreamConfig")
	if v, ok := uc.get("proxyRawPath"); ok && v == true {
		c.reportAt("upstreamConfig.proxyRawPath", "alpha-config", NoEquivalent, "paths are cleaned before routing and forwarded as received")
	}
	for _, u := range uc.items("upstreams") {
		c.alpha.upstreams = append(c.alpha.upstreams, alphaUpstream(u))
		u.done()
	}
	uc.done()
	c.alpha.request = alphaHeaders(root, "injectRequestHeaders")
	c.alpha.response = alphaHeaders(root, "injectResponseHeaders")
	root.done()
	return nil
}

func (c alphaReader) server(n *alphaNode, addr, secure, cert, key, minVersion, suites string) {
	n.options(map[string]string{"BindAddress": addr, "SecureBindAddress": secure})
	tls := n.sub("TLS")
	for field, opt := range map[string]string{"Cert": cert, "Key": key} {
		src := tls.sub(field)
		if f := src.str("fromFile"); f != "" {
			if _, set := c.opts[opt]; !set {
				c.opts[opt] = &value{str: f, source: "alpha-config " + src.path + ".fromFile"}
			}
		} else if src.m != nil {
			c.reportAt(src.path, "alpha-config", Changed, "write the "+strings.ToLower(field)+" to a file and set server.tls_"+
				strings.ToLower(field)+"_file")
			src.get("value")
			src.get("fromEnv")
		}
		src.done()
	}
	if minVersion != "" {
		tls.options(map[string]string{"MinVersion": minVersion, "CipherSuites": suites})
	}
	tls.done()
	n.done()
}

// alphaProviderFields map the provider's fields to legacy options.
var alphaProviderFields = map[string]map[string]string{
	"": {
		"provider": "provider", "clientID": "client_id", "clientSecret": "client_secret",
		"clientSecretFile": "client_secret_file", "scope": "scope", "allowedGroups": "allowed_groups",
		"codeChallengeMethod": "code_challenge_method", "code_challenge_method": "code_challenge_method", "backendLogoutURL": "backend_logout_url",
		"caFiles": "provider_ca_files", "useSystemTrustStore": "use_system_trust_store",
		"loginURL": "login_url", "redeemURL": "redeem_url", "profileURL": "profile_url",
		"skipClaimsFromProfileURL": "skip_claims_from_profile_url", "validateURL": "validate_url",
		"resource": "resource", "name": "provider_display_name",
	},
	"oidcConfig": {
		"issuerURL": "oidc_issuer_url", "insecureAllowUnverifiedEmail": "insecure_oidc_allow_unverified_email",
		"insecureSkipIssuerVerification": "insecure_oidc_skip_issuer_verification",
		"insecureSkipNonce":              "insecure_oidc_skip_nonce", "skipDiscovery": "skip_oidc_discovery",
		"jwksURL": "oidc_jwks_url", "emailClaim": "oidc_email_claim", "groupsClaim": "oidc_groups_claim",
		"userIDClaim": "user_id_claim", "audienceClaims": "oidc_audience_claims",
		"extraAudiences": "oidc_extra_audiences", "publicKeyFiles": "oidc_public_key_files",
	},
	"keycloakConfig": {"groups": "keycloak_groups", "roles": "allowed_roles"},
	"azureConfig":    {"tenant": "azure_tenant", "graphGroupField": "azure_graph_group_field"},
	"githubConfig": {"org": "github_org", "team": "github_team", "repo": "github_repo",
		"token": "github_token", "users": "github_users"},
	"gitlabConfig": {"group": "gitlab_groups", "projects": "gitlab_projects"},
	"googleConfig": {"groups": "google_groups", "adminEmail": "google_admin_email",
		"serviceAccountJson":               "google_service_account_json",
		"useApplicationDefaultCredentials": "google_use_application_default_credentials",
		"targetPrincipal":                  "google_target_principal"},
	"bitbucketConfig":        {"team": "bitbucket_team", "repository": "bitbucket_repository"},
	"loginGovConfig":         {"jwtKey": "jwt_key", "jwtKeyFile": "jwt_key_file", "pubjwkURL": "pubjwk_url"},
	"microsoftEntraIDConfig": {"allowedTenants": "entra_id_allowed_tenants", "federatedTokenAuth": "entra_id_federated_token_auth"},
}

func (c alphaReader) provider(p *alphaNode) {
	p.get("id")
	for sub, fields := range alphaProviderFields {
		if sub == "" {
			p.options(fields)
			continue
		}
		n := p.sub(sub)
		n.options(fields)
		n.done()
	}
	for _, lp := range p.items("loginURLParameters") {
		name := lp.str("name")
		def, _ := lp.get("default")
		if list, ok := def.([]any); ok && len(list) > 0 && name != "" {
			k := c.doc.set("provider.extra_auth_params", name, fmt.Sprint(list[0]), "loginURLParameters "+name)
			c.reportAt(lp.path, "alpha-config", Mapped, "", k)
		}
		if _, ok := lp.get("allow"); ok {
			c.reportAt(lp.path+".allow", "alpha-config", NoEquivalent, "parameters from the /oauth2/start query are not passed on")
		}
		lp.done()
	}
	p.done()
}

func alphaUpstream(u *alphaNode) upstreamSpec {
	s := upstreamSpec{option: "alpha-config " + u.path, source: "alpha-config", uri: u.str("uri"), path: u.str("path")}
	u.get("id")
	if v, ok := u.get("static"); ok && v == true {
		s.static = true
	}
	if code := u.str("staticCode"); code != "" {
		s.code, _ = strconv.Atoi(code)
	}
	if v, ok := u.get("insecureSkipTLSVerify"); ok {
		b := v == true
		s.insecure = &b
	}
	if v, ok := u.get("passHostHeader"); ok {
		b := v == true
		s.passHost = &b
	}
	s.timeout = u.str("timeout")
	s.rewrite = u.str("rewriteTarget")
	u.get("proxyWebSockets")
	u.get("flushInterval")
	return s
}

// upstreamSpecs returns the alpha config's upstreams; none without an
// alpha config (a nil a).
func (a *alphaConfig) upstreamSpecs() []upstreamSpec {
	if a == nil {
		return nil
	}
	return a.upstreams
}

func alphaHeaders(root *alphaNode, key string) []alphaHeader {
	var out []alphaHeader
	for _, h := range root.items(key) {
		ah := alphaHeader{path: h.path, name: h.str("name")}
		if v, ok := h.get("preserveRequestValue"); ok && v == true {
			ah.preserve = true
		}
		for _, v := range h.items("values") {
			ah.claims = append(ah.claims, v.str("claim"))
			ah.prefixes = append(ah.prefixes, v.str("prefix"))
			v.get("value")
			v.get("fromEnv")
			v.get("fromFile")
			v.get("basicAuthPassword")
			v.done()
		}
		h.done()
		out = append(out, ah)
	}
	return out
}
