// Package config holds Gatehouse's configuration: the TOML schema, strict
// decoding ([Parse], [Load]), defaults, secret resolution and a pure
// [Config.Validate].
//
// Decoding is strict: a key the schema does not know is an error that names it
// by its full path. Parse applies the defaults documented on each field and
// resolves secrets (client secret, cookie secret, Redis password) from the file,
// a *_file, or the environment; it does not validate. Validate performs no I/O
// and reports every problem at once, each prefixed by its key path, joined with
// [errors.Join].
//
// Secrets never print: [Config.String], [Config.Redacted] and the String and
// LogValue methods of the sections that hold a secret replace them with
// "[redacted]".
package config

// Config is the whole Gatehouse configuration, as decoded from TOML. The zero
// value is not useful: obtain one from [Parse] or [Load], which apply defaults,
// then call [Config.Validate].
type Config struct {
	Server    Server     `toml:"server"`
	Provider  Provider   `toml:"provider"`
	Session   Session    `toml:"session"`
	Headers   Headers    `toml:"headers"`
	Upstreams []Upstream `toml:"upstream"`
	// RESTAPI is the REST flow API for mobile and desktop apps.
	RESTAPI RESTAPI `toml:"rest_api"`
	// Authorization holds the default authorization rules of every upstream.
	Authorization Authorization `toml:"authorization"`
	// Bearer configures how access tokens of the AS are accepted.
	Bearer Bearer `toml:"bearer"`
	// Limits bounds what clients without a session can make the gateway do.
	Limits Limits `toml:"limits"`
	// Tracing configures OpenTelemetry tracing (tracing.go).
	Tracing Tracing `toml:"tracing"`
	// UI brands and replaces the pages browsers see (ui.go).
	UI UI `toml:"ui"`
}

// Server configures the listening HTTP server and how Gatehouse presents
// itself to browsers.
type Server struct {
	// Listen is the TCP address to listen on, as host:port.
	// Default "127.0.0.1:4180".
	Listen string `toml:"listen"`
	// PublicURL is the absolute URL at which browsers reach Gatehouse; the
	// OAuth2 redirect URI is derived from it. It has no path (or "/"), query,
	// fragment or user info. It must use https unless its host is a loopback
	// address (127.0.0.0/8, ::1) or "localhost". Required.
	PublicURL string `toml:"public_url"`
	// TrustedProxies lists the CIDRs or single IP addresses whose
	// X-Forwarded-* headers are trusted. Default none.
	TrustedProxies []string `toml:"trusted_proxies"`
	// AllowedRedirectDomains lists the hosts, other than the public URL's,
	// to which Gatehouse may redirect after login or logout. An entry with a
	// leading dot (".example.com") matches every subdomain. Entries are lower
	// case host names or IP addresses, without scheme, port or path.
	AllowedRedirectDomains []string `toml:"allowed_redirect_domains"`
	// LogFormat is "text" (default) or "json".
	LogFormat string `toml:"log_format"`
	// LogLevel is "debug", "info" (default), "warn" or "error".
	LogLevel string `toml:"log_level"`
	// ShutdownTimeout bounds the graceful shutdown. Default 15s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// ReadHeaderTimeout is http.Server.ReadHeaderTimeout. Default 10s.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// IdleTimeout is http.Server.IdleTimeout. Default 120s.
	IdleTimeout Duration `toml:"idle_timeout"`
	// BodyReadTimeout bounds the time to read the request body of the
	// gateway's own endpoints (back-channel logout, sign-out, the REST flow
	// API): 408 when it passes. Their bodies are also limited to 1 MiB
	// (413). Default 10s.
	BodyReadTimeout Duration `toml:"body_read_timeout"`
	// AccessLog writes one log line per request. Default true.
	AccessLog bool `toml:"access_log"`
	// AccessLogFlushInterval batches access log lines: they are written at
	// most this late, many per write. Zero writes each line at once.
	// Default 100ms.
	AccessLogFlushInterval Duration `toml:"access_log_flush_interval"`
	// GCMinHeapMiB lets the heap grow to this many MiB before the garbage
	// collector runs: after each collection GOGC is set between 100 (Go's
	// default, for heaps past this size) and 500. Zero, or a GOGC
	// environment variable, leaves Go's default. Default 16.
	GCMinHeapMiB int `toml:"gc_min_heap_mib"`
	// MetricsListen is the host:port of the Prometheus metrics listener
	// (GET /metrics). Empty (the default) disables it.
	MetricsListen string `toml:"metrics_listen"`
	// Pprof serves Go's profiler (net/http/pprof, /debug/pprof/) on the
	// metrics listener, never on the main one. Default false.
	Pprof bool `toml:"pprof"`
	// HealthAliases answers GET /ping and GET /ready (oauth2-proxy's health
	// paths) as /healthz and /readyz, before any upstream: an upstream's
	// own /ping and /ready are then not reachable through the gateway.
	// Default true.
	HealthAliases bool `toml:"health_aliases"`
	// TLSCertFile and TLSKeyFile make the gateway serve HTTPS (with HTTP/2)
	// itself. Both or neither; the files are re-read when they change.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// SigningKeys are PEM private keys (EC P-256 or Ed25519) of the signed
	// identity assertions sent to upstreams (upstream_options.go): the
	// first signs, all are published at /.well-known/jwks.json.
	SigningKeys []string `toml:"signing_keys"`
}

// Provider configures the OpenID Provider (the authorization server) and
// Gatehouse's client registration with it.
type Provider struct {
	// Issuer is the OpenID Provider's issuer identifier (OpenID Connect
	// Discovery 1.0 §3): an absolute URL without query or fragment, https
	// unless its host is a loopback address or "localhost". Required.
	Issuer string `toml:"issuer"`
	// ClientID is the OAuth2 client identifier (RFC 6749 §2.2). Required.
	ClientID string `toml:"client_id"`
	// ClientSecret is the OAuth2 client secret (RFC 6749 §2.3.1). After
	// [Parse] it holds the resolved secret whatever its source: this key,
	// ClientSecretFile, or the GATEHOUSE_CLIENT_SECRET environment variable.
	// Required. Prefer the file or the environment to this key.
	ClientSecret string `toml:"client_secret"`
	// ClientSecretFile names a file holding the client secret; surrounding
	// white space is trimmed. Mutually exclusive with ClientSecret.
	ClientSecretFile string `toml:"client_secret_file"`
	// Scopes are requested in the authorization request (RFC 6749 §3.3).
	// Default ["openid", "email", "profile", "offline_access"]. Must contain
	// "openid"; entries are non-empty, without white space, and unique.
	Scopes []string `toml:"scopes"`
	// UseUserinfo fetches the UserInfo endpoint (OpenID Connect Core 1.0
	// §5.3) at login and merges its claims; its "sub" must match the ID
	// token's. Default false.
	UseUserinfo bool `toml:"use_userinfo"`
	// Timeout bounds each HTTP call to the authorization server. Default 10s.
	Timeout Duration `toml:"timeout"`
	// ExtraAuthParams are added to the authorization request (for example
	// prompt, login_hint, acr_values). Parameters Gatehouse sets itself, or
	// that would override them, are refused: response_type, client_id,
	// redirect_uri, scope, state, nonce, code_challenge, code_challenge_method,
	// response_mode, request and request_uri.
	ExtraAuthParams map[string]string `toml:"extra_auth_params"`
	// ResponseType is the OAuth2 response_type. Only "code" (the default) is
	// accepted: the implicit and hybrid flows return tokens in the front
	// channel, which RFC 9700 §2.1.2 advises against.
	ResponseType string `toml:"response_type"`
	// RPInitiatedLogout sends the browser to the provider's
	// end_session_endpoint after /oauth2/sign_out (OpenID Connect
	// RP-Initiated Logout 1.0), so the user is logged out there too.
	RPInitiatedLogout bool `toml:"rp_initiated_logout"`
	// PostLogoutRedirectURI is where the provider returns the browser after
	// RP-initiated logout; it must be registered there. Default public_url + "/".
	PostLogoutRedirectURI string `toml:"post_logout_redirect_uri"`
	// EndSessionBinding is how the RP-initiated logout request travels:
	// "post" (default: an auto-submitting form, so the id_token_hint stays
	// out of URLs), "get" (id_token_hint in the query, for an AS without
	// POST support) or "get_without_hint" (client_id only, no ID token).
	EndSessionBinding string `toml:"end_session_binding"`

	// The keys below are in grants.go: how the gateway authenticates to the
	// AS, and ASes without discovery or without OpenID Connect.

	// ClientAuth is how the gateway authenticates to the AS, for every call:
	// "client_secret_basic", "client_secret_post", "private_key_jwt",
	// "tls_client_auth" or "none" (a public client). Default "": the
	// strongest method the AS advertises that the configured credentials
	// allow.
	ClientAuth string `toml:"client_auth"`
	// PrivateKeyFile names a PEM private key (RSA of 2048 bits or more, or
	// EC P-256) that signs private_key_jwt client assertions (RFC 7523).
	PrivateKeyFile string `toml:"private_key_file"`
	// PrivateKeyAlg is the assertions' algorithm: "RS256" or "PS256" for an
	// RSA key (default RS256), "ES256" for an EC key. Default "".
	PrivateKeyAlg string `toml:"private_key_alg"`
	// PrivateKeyID is the assertions' kid. Default "": the key's RFC 7638
	// JWK thumbprint.
	PrivateKeyID string `toml:"private_key_id"`
	// TLSClientCertFile and TLSClientKeyFile are the PEM certificate (chain)
	// and key the gateway presents to the AS on every call
	// (tls_client_auth, RFC 8705). Both or neither.
	TLSClientCertFile string `toml:"tls_client_cert_file"`
	TLSClientKeyFile  string `toml:"tls_client_key_file"`
	// Type is "oidc" (default: OpenID Connect) or "oauth2": a plain OAuth
	// 2.0 server without ID tokens, such as GitHub; the user's identity is
	// then the userinfo endpoint's JSON object, identified by SubjectClaim.
	Type string `toml:"type"`
	// SubjectClaim names, for type "oauth2", the userinfo member that
	// identifies the user (a string or an integer; a dotted path for a
	// nested one). Default "sub".
	SubjectClaim string `toml:"subject_claim"`
	// Discovery fetches the AS's metadata (OpenID Connect Discovery; RFC
	// 8414 for type "oauth2"). Default: true for type "oidc", false for
	// "oauth2". Without it, Endpoints must name the endpoints.
	Discovery *bool `toml:"discovery"`
	// Endpoints replace single discovered endpoints, or name them all when
	// Discovery is false.
	Endpoints Endpoints `toml:"endpoints"`
	// InsecureDisablePKCE sends no PKCE challenge (RFC 7636). It MUST NOT be
	// set for an AS that accepts PKCE: without it an intercepted
	// authorization code can be redeemed. For an AS that rejects the
	// parameters only. Default false.
	InsecureDisablePKCE bool `toml:"insecure_disable_pkce"`
	// InsecureLogoutTokenWithoutExp accepts back-channel logout tokens
	// without exp (Ory Hydra 2.3 and ASes built on drafts before
	// Back-Channel Logout 1.0) when their iat is at most 2 minutes old. It
	// MUST NOT be set for an AS that sends exp. Default false.
	InsecureLogoutTokenWithoutExp bool `toml:"insecure_logout_token_without_exp"`
	// CAFile names a PEM bundle of the CAs that sign the AS's TLS
	// certificates, trusted in addition to the system's, for every call
	// to the AS (upstream_options.go). Default "".
	CAFile string `toml:"ca_file"`

	// ProviderFAPI holds provider.par, provider.dpop and provider.profile
	// (fapi.go).
	ProviderFAPI
}

// Session configures the login session: its store and its cookie.
type Session struct {
	// Store is "memory" (default, a single replica), "redis", or "cookie"
	// (the session sealed in the browser's cookies; [session.redis], when
	// set, then holds revocations only).
	Store string `toml:"store"`
	// CookieName is the session cookie's name, an RFC 6265 token. Default
	// "gatehouse". Gatehouse adds the __Host- prefix itself when the public
	// URL is https, so the name must not carry a __Host- or __Secure- prefix.
	CookieName string `toml:"cookie_name"`
	// CookieDomain, when set, scopes the session cookie to this domain and
	// its subdomains (the Domain attribute) instead of public_url's host
	// alone, so that one gateway can serve forward-auth for several hosts
	// under it. It must be public_url's host or a parent domain of it, and
	// not a public suffix. On https the cookie then gets the __Secure-
	// prefix (__Host- forbids Domain). Default "" (host-only).
	CookieDomain string `toml:"cookie_domain"`
	// CookieSecret is the 32-byte key, base64 encoded, that protects the
	// session cookie; see [Config.CookieSecretBytes]. A list rotates keys:
	// the first signs and seals, every one is accepted (at most 4). After
	// [Parse] it holds the resolved secrets whatever their source: this key,
	// CookieSecretFile, or the GATEHOUSE_COOKIE_SECRET environment variable
	// (there, several are separated by newlines or commas). Required.
	// Generate one with "gatehouse genkey".
	CookieSecret Secrets `toml:"cookie_secret"`
	// CookieSecretFile names a file holding the cookie secret; surrounding
	// white space is trimmed. Mutually exclusive with CookieSecret.
	CookieSecretFile string `toml:"cookie_secret_file"`
	// Lifetime is the absolute session lifetime. Default 12h, minimum 1m.
	Lifetime Duration `toml:"lifetime"`
	// IdleTimeout ends a session unused for this long. Zero (the default)
	// disables it; otherwise it is at least 1m and at most Lifetime.
	IdleTimeout Duration `toml:"idle_timeout"`
	// RefreshBefore refreshes the access token when it expires within this
	// duration. Default 60s.
	RefreshBefore Duration `toml:"refresh_before"`
	// CacheMaxAge is how long a replica serves a session it read recently
	// from memory, without reading the store. Writes and logouts on any
	// replica drop it at once; this bounds an invalidation that got lost.
	// Default 5s; zero disables the cache; at most 1m.
	CacheMaxAge Duration `toml:"cache_max_age"`
	// OutliveAccessToken keeps a session that has no refresh token for its
	// whole lifetime. By default (false) such a session ends when its access
	// token expires, since nothing can renew it.
	OutliveAccessToken bool `toml:"outlive_access_token"`
	// Redis configures the store when Store is "redis", and the revocation
	// store (optional) when Store is "cookie".
	Redis Redis `toml:"redis"`
}

// Redis configures the Redis session store. When the store is "redis",
// exactly one of URL, SentinelAddrs (with MasterName) and ClusterAddrs is set.
type Redis struct {
	// URL is a redis:// or rediss:// URL for a single server.
	URL string `toml:"url"`
	// SentinelAddrs are the host:port addresses of Redis Sentinels.
	SentinelAddrs []string `toml:"sentinel_addrs"`
	// MasterName is the Sentinel master name; required with SentinelAddrs.
	MasterName string `toml:"master_name"`
	// ClusterAddrs are host:port addresses of Redis Cluster nodes.
	ClusterAddrs []string `toml:"cluster_addrs"`
	// Username is the Redis ACL user name, if any.
	Username string `toml:"username"`
	// Password is the Redis password. After [Parse] it holds the resolved
	// password whatever its source: this key, PasswordFile, or the
	// GATEHOUSE_REDIS_PASSWORD environment variable. Prefer the file or the
	// environment to this key.
	Password string `toml:"password"`
	// PasswordFile names a file holding the Redis password; surrounding white
	// space is trimmed. Mutually exclusive with Password.
	PasswordFile string `toml:"password_file"`
	// KeyPrefix prefixes every key Gatehouse writes. Default "gatehouse:".
	KeyPrefix string `toml:"key_prefix"`
}

// Headers names the claims projected into the identity headers sent to
// upstreams. Each is a claim name, non-empty and without white space.
type Headers struct {
	// User is the claim identifying the user. Default "sub".
	User string `toml:"user"`
	// Email is the claim holding the e-mail address. Default "email".
	Email string `toml:"email"`
	// PreferredUsername is the claim holding the display user name.
	// Default "preferred_username".
	PreferredUsername string `toml:"preferred_username"`
	// Groups is the claim holding the group list. Default "groups".
	Groups string `toml:"groups"`
}

// Upstream is one route: requests matching Host and PathPrefix are proxied to
// URL. At least one is required.
type Upstream struct {
	// Name is an optional label for logs and metrics: lower-case letters,
	// digits and '-', unique among upstreams.
	Name string `toml:"name"`
	// Host, if set, restricts the route to requests with exactly this Host:
	// a lower-case host name or IP address, without port.
	Host string `toml:"host"`
	// PathPrefix restricts the route to paths under this prefix. It starts
	// with "/" and has no "." or ".." segment, empty segment, query or
	// fragment. Default (and empty) "/".
	PathPrefix string `toml:"path_prefix"`
	// CaseSensitivePaths says the application tells "/Admin" from "/admin".
	// By default (false) it is assumed not to, as Express, ASP.NET and IIS
	// do not: a request whose path matches path_prefix only when letter
	// case is ignored is refused (400) instead of being sent to another
	// route's rules.
	CaseSensitivePaths bool `toml:"case_sensitive_paths"`
	// URL is the absolute http or https URL requests are proxied to, without
	// query, fragment or user info. Required.
	URL string `toml:"url"`
	// Auth is "session" (default: a login session is required), "public"
	// (no login required), "bearer" (an access token of the AS is required,
	// see [Bearer]; sessions are not accepted), "session_or_bearer"
	// (either) or "password_grant" (legacy clients: HTTP Basic credentials,
	// exchanged at the AS with the resource owner password grant, which RFC
	// 9700 deprecates; see grants.go).
	Auth string `toml:"auth"`
	// PassAccessToken sends the access token in X-Forwarded-Access-Token.
	PassAccessToken bool `toml:"pass_access_token"`
	// PassAuthorization sends the access token as
	// "Authorization: Bearer <token>" (RFC 6750 §2.1).
	PassAuthorization bool `toml:"pass_authorization"`
	// Timeout bounds the wait for the upstream's response headers once the
	// request (body included) was sent: 504 when it passes. A streaming
	// response (server-sent events, WebSocket) is unaffected once its
	// headers arrived. Zero: the default, 60s.
	Timeout Duration `toml:"timeout"`
	// IdleTimeout closes keep-alive connections to the upstream idle this
	// long. Zero: the default, 90s.
	IdleTimeout Duration `toml:"idle_timeout"`
	// BodyReadTimeout bounds the time to read a client's request body while
	// it is proxied (408 when it passes). Zero (the default): no limit, as
	// uploads can be long.
	BodyReadTimeout Duration `toml:"body_read_timeout"`

	// The authorization rules of the upstream. A key left out takes its
	// value from [authorization]; every rule that is set must pass
	// (otherwise 403). A list set to [] clears the default.

	// AllowedEmails admits the users whose verified e-mail address is
	// listed (ASCII case-insensitive). With AllowedEmailDomains, either
	// admits.
	AllowedEmails []string `toml:"allowed_emails"`
	// AllowedEmailDomains admits the users whose verified e-mail address
	// is in one of these domains, exactly (no subdomains). An address with
	// several "@" is refused.
	AllowedEmailDomains []string `toml:"allowed_email_domains"`
	// AllowedGroups admits the members of any of these groups (the claim
	// named by headers.groups).
	AllowedGroups []string `toml:"allowed_groups"`
	// RequiredClaims maps a claim (a dotted path for nested claims) to the
	// value it must have, or an array of values any of which it may have;
	// an array claim must contain one. "scope" is read as a space-separated
	// list. Every listed claim must match.
	RequiredClaims map[string]ClaimValues `toml:"required_claims"`
	// Methods lists the request methods allowed (upper case). Default: all.
	Methods []string `toml:"methods"`
	// SkipAuth lists paths that need no authentication: "/path" exactly,
	// or "/path/*" for everything under "/path/"; "METHOD /path" for one
	// method only. Matched on the cleaned, once-decoded path, never the
	// query.
	SkipAuth []string `toml:"skip_auth"`
	// InsecureAllowUnverifiedEmail: see [Authorization]. Default: the
	// [authorization] value.
	InsecureAllowUnverifiedEmail *bool `toml:"insecure_allow_unverified_email"`

	// The keys below are in grants.go: which token the upstream gets.

	// UpstreamToken is the token the gateway sends the upstream: "user"
	// (default: the user's access token, as pass_access_token and
	// pass_authorization say), "client_credentials" (the gateway's own
	// token, in Authorization), "token_exchange" (the user's token exchanged
	// for one for this upstream, RFC 8693, in Authorization) or "none".
	UpstreamToken string `toml:"upstream_token"`
	// TokenScopes, TokenResources (RFC 8707 resource indicators: absolute
	// URIs) and TokenAudiences (RFC 8693 audience values) are requested
	// for the client credentials, token exchange and password grants.
	TokenScopes    []string `toml:"token_scopes"`
	TokenResources []string `toml:"token_resources"`
	TokenAudiences []string `toml:"token_audiences"`

	// The keys below are in upstream_options.go: how the gateway talks to
	// the upstream and what else it sends it.

	PreserveHost            bool   `toml:"preserve_host"`
	StripPrefix             bool   `toml:"strip_prefix"`
	TLSCAFile               string `toml:"tls_ca_file"`
	TLSClientCertFile       string `toml:"tls_client_cert_file"`
	TLSClientKeyFile        string `toml:"tls_client_key_file"`
	TLSInsecureSkipVerify   bool   `toml:"tls_insecure_skip_verify"`
	H2C                     bool   `toml:"h2c"`
	PassIDToken             string `toml:"pass_id_token"`
	IdentityAssertion       bool   `toml:"identity_assertion"`
	IdentityAssertionHeader string `toml:"identity_assertion_header"`
}
