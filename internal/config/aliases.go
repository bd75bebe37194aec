package config

import "strings"

// alias is what an oauth2-proxy option (docs/migrating-from-oauth2-proxy.md)
// is in Gatehouse: a key path without indexes, and a note when the key
// alone would mislead.
type alias struct {
	key  string // "" when nothing needs setting
	note string
}

// proxyAliases maps oauth2-proxy's option names (config file spelling;
// flags use "-") to Gatehouse's keys, for the suggestions of unknown keys
// and variables. A test checks that every key exists.
var proxyAliases = map[string]alias{
	"http_address":                         {key: "server.listen"},
	"https_address":                        {key: "server.listen", note: "HTTPS when server.tls_cert_file and server.tls_key_file are set"},
	"tls_cert_file":                        {key: "server.tls_cert_file"},
	"tls_key_file":                         {key: "server.tls_key_file"},
	"redirect_url":                         {key: "server.public_url", note: "the redirect URI is public_url + \"/oauth2/callback\""},
	"reverse_proxy":                        {key: "server.trusted_proxies", note: "a list of the proxies' CIDRs"},
	"metrics_address":                      {key: "server.metrics_listen"},
	"whitelist_domains":                    {key: "server.allowed_redirect_domains"},
	"request_logging":                      {key: "server.access_log"},
	"oidc_issuer_url":                      {key: "provider.issuer"},
	"client_id":                            {key: "provider.client_id"},
	"client_secret":                        {key: "provider.client_secret", note: "better: provider.client_secret_file or GATEHOUSE_CLIENT_SECRET"},
	"client_secret_file":                   {key: "provider.client_secret_file"},
	"scope":                                {key: "provider.scopes", note: "a list"},
	"skip_oidc_discovery":                  {key: "provider.discovery", note: "discovery = false, with [provider.endpoints]"},
	"login_url":                            {key: "provider.endpoints.authorization"},
	"redeem_url":                           {key: "provider.endpoints.token"},
	"oidc_jwks_url":                        {key: "provider.endpoints.jwks"},
	"profile_url":                          {key: "provider.endpoints.userinfo"},
	"oidc_email_claim":                     {key: "headers.email"},
	"oidc_groups_claim":                    {key: "headers.groups"},
	"prefer_email_to_user":                 {key: "headers.user", note: `user = "email"`},
	"insecure_oidc_allow_unverified_email": {key: "authorization.insecure_allow_unverified_email"},
	"backend_logout_url":                   {key: "provider.rp_initiated_logout"},
	"prompt":                               {key: "provider.extra_auth_params", note: `extra_auth_params = { prompt = "login" }`},
	"approval_prompt":                      {key: "provider.extra_auth_params", note: `extra_auth_params = { prompt = "consent" }`},
	"acr_values":                           {key: "provider.extra_auth_params", note: `extra_auth_params = { acr_values = "..." }`},
	"cookie_name":                          {key: "session.cookie_name"},
	"cookie_secret":                        {key: "session.cookie_secret", note: "better: session.cookie_secret_file or GATEHOUSE_COOKIE_SECRET; generate one with gatehouse genkey"},
	"cookie_domain":                        {key: "session.cookie_domain"},
	"cookie_domains":                       {key: "session.cookie_domain", note: "one domain"},
	"cookie_expire":                        {key: "session.lifetime"},
	"cookie_refresh":                       {key: "session.refresh_before"},
	"session_store_type":                   {key: "session.store"},
	"redis_connection_url":                 {key: "session.redis.url"},
	"redis_sentinel_connection_urls":       {key: "session.redis.sentinel_addrs", note: "host:port, not URLs"},
	"redis_sentinel_master_name":           {key: "session.redis.master_name"},
	"redis_cluster_connection_urls":        {key: "session.redis.cluster_addrs", note: "host:port, not URLs"},
	"redis_password":                       {key: "session.redis.password", note: "better: session.redis.password_file or GATEHOUSE_REDIS_PASSWORD"},
	"email_domains":                        {key: "authorization.allowed_email_domains", note: "or per [[upstream]]"},
	"authenticated_emails_file":            {key: "authorization.allowed_emails", note: "a list in the config"},
	"allowed_groups":                       {key: "authorization.allowed_groups", note: "or per [[upstream]]"},
	"allowed_roles":                        {key: "authorization.allowed_groups", note: `with headers.groups = "realm_access.roles"`},
	"skip_auth_regex":                      {key: "authorization.skip_auth", note: "paths such as \"/public/*\", not regular expressions; or per [[upstream]]"},
	"skip_auth_routes":                     {key: "authorization.skip_auth", note: "\"METHOD /path\" or \"/path/*\", not regular expressions; or per [[upstream]]"},
	"skip_auth_preflight":                  {key: "authorization.skip_auth", note: `skip_auth = ["OPTIONS /api/*"]`},
	"upstreams":                            {key: "upstream.url", note: "one [[upstream]] table per upstream, with url and path_prefix"},
	"upstream_timeout":                     {key: "upstream.timeout", note: "per [[upstream]]"},
	"pass_access_token":                    {key: "upstream.pass_access_token", note: "per [[upstream]]"},
	"pass_authorization_header":            {key: "upstream.pass_id_token", note: `pass_id_token = "authorization" per [[upstream]] sends the ID token as Authorization: Bearer`},
	"pass_host_header":                     {key: "upstream.preserve_host", note: "per [[upstream]]; default false"},
	"ssl_upstream_insecure_skip_verify":    {key: "upstream.tls_insecure_skip_verify", note: "per [[upstream]]; prefer tls_ca_file"},
	"provider_ca_file":                     {key: "provider.ca_file"},
	"provider_ca_files":                    {key: "provider.ca_file", note: "one PEM bundle"},
	"ssl_insecure_skip_verify":             {key: "provider.ca_file", note: "no way to skip verification: trust the provider's CA instead"},
	"ping_path":                            {key: "server.health_aliases", note: "/ping and /ready answer by default, besides /healthz and /readyz"},
	"ready_path":                           {key: "server.health_aliases", note: "/ping and /ready answer by default, besides /healthz and /readyz"},
	"proxy_prefix":                         {note: "the gateway's endpoints are always under /oauth2/: remove it"},
	"set_xauthrequest":                     {note: "the X-Auth-Request-* headers are always in /oauth2/auth answers: remove it"},
	"set_authorization_header":             {key: "upstream.pass_id_token", note: `pass_id_token = "authorization" per [[upstream]]`},
	"proxy_websockets":                     {note: "WebSocket upgrades are always proxied: remove it"},
	"pass_user_headers":                    {note: "the identity headers are always set: remove it"},
	"cookie_secure":                        {note: "Secure is set whenever public_url is https: remove it"},
	"cookie_httponly":                      {note: "HttpOnly is always set: remove it"},
}

// proxyHint returns the hint for name if it is an oauth2-proxy option
// ("email_domains" or "email-domains"), else "".
func proxyHint(name string) string {
	a, ok := proxyAliases[strings.ReplaceAll(strings.ToLower(name), "-", "_")]
	if !ok {
		return ""
	}
	var hint string
	if a.key != "" {
		hint = "oauth2-proxy's " + name + " is " + displayKey(a.key) + " here"
	} else {
		hint = "oauth2-proxy's " + name + " has no key here"
	}
	if a.note != "" {
		hint += ": " + a.note
	}
	return hint
}

// displayKey renders a key path without indexes the way it is written:
// "upstream.url" is "url in [[upstream]]".
func displayKey(key string) string {
	n := schemaRoot()
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if n = n.child(p); n == nil {
			break
		}
		if n.array && i < len(parts)-1 {
			return `"` + strings.Join(parts[i+1:], ".") + `" in [[` + strings.Join(parts[:i+1], ".") + `]]`
		}
	}
	return `"` + key + `"`
}
