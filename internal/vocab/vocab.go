// Package vocab holds the named values that the configuration and the
// runtime packages share, each said once: how a route authenticates, which
// token an upstream receives, how the gateway authenticates to the
// authorization server, and which signature algorithms it accepts.
// internal/config validates against these lists; proxy and login act on
// the same constants. It is a leaf: it imports no other package.
package vocab

// How a route authenticates a request (upstream.auth).
const (
	// AuthSession requires a session; browsers are sent to log in. "" means
	// AuthSession.
	AuthSession = "session"
	// AuthPublic lets everyone through (identity headers are still stripped).
	AuthPublic = "public"
	// AuthBearer accepts only an "Authorization: Bearer" access token of
	// the AS (RFC 6750), never a session.
	AuthBearer = "bearer"
	// AuthSessionOrBearer accepts a session (cookie, or a session ticket as
	// bearer token) or an access token of the AS.
	AuthSessionOrBearer = "session_or_bearer"
	// AuthPasswordGrant requires HTTP Basic credentials, exchanged at the AS
	// with the resource owner password grant (RFC 6749 §4.3), which RFC 9700
	// §2.4 says MUST NOT be used: for legacy clients only.
	AuthPasswordGrant = "password_grant"
)

// AuthModes lists every route authentication mode.
var AuthModes = []string{AuthSession, AuthPublic, AuthBearer, AuthSessionOrBearer, AuthPasswordGrant}

// Which token an upstream receives (upstream.upstream_token).
const (
	// UpstreamTokenUser (the default, also "") sends the user's access token
	// where pass_access_token and pass_authorization say.
	UpstreamTokenUser = "user"
	// UpstreamTokenClientCredentials sends the gateway's own token (RFC 6749
	// §4.4) in "Authorization: Bearer", whoever the user is.
	UpstreamTokenClientCredentials = "client_credentials"
	// UpstreamTokenExchange sends the user's access token exchanged for one
	// for this upstream (RFC 8693).
	UpstreamTokenExchange = "token_exchange"
	// UpstreamTokenNone sends no token; an Authorization header the client
	// sent is removed too.
	UpstreamTokenNone = "none"
)

// UpstreamTokens lists every upstream token kind.
var UpstreamTokens = []string{UpstreamTokenUser, UpstreamTokenClientCredentials, UpstreamTokenExchange, UpstreamTokenNone}

// Client authentication methods at the AS (provider.client_auth), by their
// names in token_endpoint_auth_methods_supported (RFC 8414 §2, IANA "OAuth
// Token Endpoint Authentication Methods").
const (
	// ClientAuthSecretBasic sends the client ID and secret in HTTP Basic
	// (RFC 6749 §2.3.1), each form-encoded first.
	ClientAuthSecretBasic = "client_secret_basic"
	// ClientAuthSecretPost sends them as client_id and client_secret in the
	// request body (RFC 6749 §2.3.1).
	ClientAuthSecretPost = "client_secret_post"
	// ClientAuthPrivateKeyJWT sends a JWT signed with the client's private
	// key (RFC 7523 §2.2, OpenID Connect Core 1.0 §9).
	ClientAuthPrivateKeyJWT = "private_key_jwt"
	// ClientAuthTLS presents a client certificate in the TLS handshake
	// (RFC 8705 §2.1).
	ClientAuthTLS = "tls_client_auth"
	// ClientAuthNone is a public client: it only names itself (RFC 6749
	// §2.1), and relies on PKCE.
	ClientAuthNone = "none"
)

// ClientAuthMethods lists every client authentication method (login.AuthMethods
// orders them by preference).
var ClientAuthMethods = []string{ClientAuthSecretBasic, ClientAuthSecretPost, ClientAuthPrivateKeyJWT, ClientAuthTLS, ClientAuthSelfSignedTLS, ClientAuthNone}

// AsymmetricAlgs are the JWS algorithms (RFC 7518 §3.1, RFC 8037) the
// gateway accepts on tokens the AS signs: ID tokens, JWT access tokens,
// logout tokens, JWKS keys. Symmetric (HS*) and "none" are never accepted.
var AsymmetricAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// Client assertion algorithms for private_key_jwt (provider.private_key_alg).
const (
	AlgRS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)
	AlgPS256 = "PS256" // RSASSA-PSS with SHA-256 (RFC 7518 §3.5)
	AlgES256 = "ES256" // ECDSA P-256 with SHA-256 (RFC 7518 §3.4)
)

// AssertionAlgs lists the client assertion algorithms.
var AssertionAlgs = []string{AlgRS256, AlgPS256, AlgES256}

// Where an upstream receives the session's ID token (upstream.pass_id_token).
const (
	// PassIDTokenHeader sends it in X-Forwarded-Id-Token.
	PassIDTokenHeader = "header"
	// PassIDTokenAuthorization sends it as "Authorization: Bearer <ID
	// token>" (the Kubernetes Dashboard; oauth2-proxy's
	// pass_authorization_header).
	PassIDTokenAuthorization = "authorization"
)

// PassIDTokens lists every pass_id_token value but "" (not sent).
var PassIDTokens = []string{PassIDTokenHeader, PassIDTokenAuthorization}
