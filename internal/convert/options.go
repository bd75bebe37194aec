package convert

import "strings"

// kind is the type of an oauth2-proxy option's value.
type kind int

const (
	kString kind = iota
	kBool
	kList
)

// known lists oauth2-proxy's options (v7), by their config-file name, with
// their type. Flags use "-" for "_" (see flagAliases for the exceptions) and
// environment variables are OAUTH2_PROXY_ + the upper-case name. An option
// outside this table is reported as unknown, and stops the conversion: it
// could have been a restriction.
var known = map[string]kind{
	// Server and TLS.
	"http_address": kString, "https_address": kString, "reverse_proxy": kBool,
	"real_client_ip_header": kString, "force_https": kBool, "tls_cert_file": kString,
	"tls_key_file": kString, "tls_min_version": kString, "tls_cipher_suites": kList,
	"metrics_address": kString, "metrics_secure_address": kString,
	"metrics_tls_cert_file": kString, "metrics_tls_key_file": kString,
	"redirect_url": kString, "relative_redirect_url": kBool, "proxy_prefix": kString,
	"ping_path": kString, "ping_user_agent": kString, "ready_path": kString,
	"gcp_healthchecks": kBool, "trusted_ips": kList, "trusted_proxy_ips": kList,

	// Provider.
	"provider": kString, "provider_display_name": kString, "client_id": kString,
	"client_secret": kString, "client_secret_file": kString, "oidc_issuer_url": kString,
	"scope": kString, "prompt": kString, "approval_prompt": kString, "acr_values": kString,
	"login_url": kString, "redeem_url": kString, "profile_url": kString,
	"validate_url": kString, "oidc_jwks_url": kString, "skip_oidc_discovery": kBool,
	"oidc_email_claim": kString, "oidc_groups_claim": kString, "user_id_claim": kString,
	"oidc_audience_claims": kList, "oidc_extra_audiences": kList,
	"oidc_public_key_files": kList, "insecure_oidc_allow_unverified_email": kBool,
	"insecure_oidc_skip_issuer_verification": kBool, "insecure_oidc_skip_nonce": kBool,
	"code_challenge_method": kString, "force_code_challenge_method": kString,
	"provider_ca_files": kList, "use_system_trust_store": kBool,
	"ssl_insecure_skip_verify": kBool, "jwt_key": kString, "jwt_key_file": kString,
	"pubjwk_url": kString, "resource": kString, "azure_tenant": kString,
	"azure_graph_group_field": kString, "entra_id_allowed_tenants": kList,
	"entra_id_federated_token_auth": kBool, "backend_logout_url": kString,
	"skip_claims_from_profile_url": kBool, "allowed_groups": kList,
	"allowed_roles": kList, "keycloak_groups": kList, "github_org": kString,
	"github_team": kString, "github_repo": kString, "github_token": kString,
	"github_users": kList, "gitlab_groups": kList, "gitlab_projects": kList,
	"google_group": kList, "google_groups": kList, "google_admin_email": kString,
	"google_service_account_json":                kString,
	"google_use_application_default_credentials": kBool,
	"google_target_principal":                    kString, "bitbucket_team": kString,
	"bitbucket_repository": kString,

	// Cookies and sessions.
	"cookie_name": kString, "cookie_secret": kString, "cookie_secret_file": kString,
	"cookie_domains": kList, "cookie_path": kString, "cookie_expire": kString,
	"cookie_refresh": kString, "cookie_secure": kBool, "cookie_httponly": kBool,
	"cookie_samesite": kString, "cookie_csrf_per_request": kBool,
	"cookie_csrf_per_request_limit": kString, "cookie_csrf_expire": kString,
	"session_store_type": kString, "session_cookie_minimal": kBool,
	"redis_connection_url": kString, "redis_username": kString, "redis_password": kString,
	"redis_use_sentinel": kBool, "redis_sentinel_password": kString,
	"redis_sentinel_master_name": kString, "redis_sentinel_connection_urls": kList,
	"redis_use_cluster": kBool, "redis_cluster_connection_urls": kList,
	"redis_connection_idle_timeout": kString, "redis_insecure_skip_tls_verify": kBool,
	"redis_ca_path": kString,

	// Who may pass.
	"email_domains": kList, "authenticated_emails_file": kString,
	"htpasswd_file": kString, "htpasswd_user_groups": kList,
	"display_htpasswd_form": kBool, "whitelist_domains": kList,
	"skip_auth_regex": kList, "skip_auth_routes": kList, "skip_auth_preflight": kBool,
	"skip_jwt_bearer_tokens": kBool, "bearer_token_login_fallback": kBool,
	"extra_jwt_issuers": kList, "api_routes": kList, "skip_provider_button": kBool,
	"force_json_errors": kBool, "encode_state": kBool,

	// Upstreams and headers.
	"upstreams": kList, "pass_host_header": kBool, "proxy_websockets": kBool,
	"flush_interval": kString, "ssl_upstream_insecure_skip_verify": kBool,
	"upstream_timeout": kString, "pass_basic_auth": kBool, "pass_access_token": kBool,
	"pass_user_headers": kBool, "pass_authorization_header": kBool,
	"set_basic_auth": kBool, "set_xauthrequest": kBool, "set_authorization_header": kBool,
	"prefer_email_to_user": kBool, "basic_auth_password": kString,
	"skip_auth_strip_headers": kBool, "signature_key": kString,

	// Pages and logging.
	"custom_templates_dir": kString, "custom_sign_in_logo": kString, "banner": kString,
	"footer": kString, "show_debug_on_error": kBool, "logging_filename": kString,
	"logging_max_size": kString, "logging_max_age": kString,
	"logging_max_backups": kString, "logging_local_time": kBool,
	"logging_compress": kBool, "standard_logging": kBool,
	"standard_logging_format": kString, "request_logging": kBool,
	"request_logging_format": kString, "exclude_logging_paths": kList,
	"silence_ping_logging": kBool, "auth_logging": kBool, "auth_logging_format": kString,
	"request_id_header": kString, "errors_to_info_log": kBool,

	// The configuration itself.
	"config": kString, "alpha_config": kString, "convert_config_to_alpha": kBool,
	"version": kBool,
}

// flagAliases maps the flags whose name is not the config name with "_"
// turned into "-" (repeatable flags are singular, their config names plural).
var flagAliases = map[string]string{
	"upstream":                "upstreams",
	"email-domain":            "email_domains",
	"whitelist-domain":        "whitelist_domains",
	"cookie-domain":           "cookie_domains",
	"skip-auth-route":         "skip_auth_routes",
	"allowed-group":           "allowed_groups",
	"allowed-role":            "allowed_roles",
	"keycloak-group":          "keycloak_groups",
	"github-user":             "github_users",
	"gitlab-group":            "gitlab_groups",
	"gitlab-project":          "gitlab_projects",
	"google-group":            "google_groups",
	"provider-ca-file":        "provider_ca_files",
	"oidc-audience-claim":     "oidc_audience_claims",
	"oidc-extra-audience":     "oidc_extra_audiences",
	"oidc-public-key-file":    "oidc_public_key_files",
	"tls-cipher-suite":        "tls_cipher_suites",
	"trusted-ip":              "trusted_ips",
	"trusted-proxy-ip":        "trusted_proxy_ips",
	"api-route":               "api_routes",
	"entra-id-allowed-tenant": "entra_id_allowed_tenants",
	"exclude-logging-path":    "exclude_logging_paths",
	"htpasswd-user-group":     "htpasswd_user_groups",
}

// optionName turns a flag name (without dashes) into the config name.
func optionName(flag string) string {
	if n, ok := flagAliases[flag]; ok {
		return n
	}
	return strings.ReplaceAll(flag, "-", "_")
}

// flagName turns a config name into the flag oauth2-proxy accepts.
func flagName(option string) string {
	for f, o := range flagAliases {
		if o == option {
			return f
		}
	}
	return strings.ReplaceAll(option, "_", "-")
}

// EnvVars returns the names of the environment variables oauth2-proxy reads
// for its options (OAUTH2_PROXY_ + the upper-case config name), sorted.
func EnvVars() []string {
	out := make([]string, 0, len(known))
	for _, name := range sortedKeys(known) {
		out = append(out, envPrefix+strings.ToUpper(name))
	}
	return out
}
