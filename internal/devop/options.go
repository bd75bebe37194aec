package devop

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// User is an account that can log in at the development provider.
type User struct {
	// Username and Password are the login form credentials. Username is
	// required and unique.
	Username string
	Password string
	// Subject is the "sub" claim (default: Username).
	Subject string
	// Email and EmailVerified are the "email" and "email_verified" claims
	// (scope "email").
	Email         string
	EmailVerified bool
	// Name and PreferredUsername are the "name" and "preferred_username"
	// claims (scope "profile"). PreferredUsername defaults to Username.
	Name              string
	PreferredUsername string
	// Groups is the "groups" claim (scope "groups").
	Groups []string
}

// Client is a registered OAuth 2.0 client (relying party).
type Client struct {
	// ID is the client_id. Required and unique.
	ID string
	// Secret is the client secret of a confidential client. Required unless
	// Public is set; a public client must not have one.
	Secret string
	// RedirectURIs are the registered redirection endpoints; the redirect_uri
	// of a request must equal one of them exactly. At least one is required.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered post_logout_redirect_uri
	// values for RP-initiated logout (exact match).
	PostLogoutRedirectURIs []string
	// FrontchannelLogoutURI is the client's front-channel logout URI (OpenID
	// Connect Front-Channel Logout 1.0 §2); see Server.FrontchannelLogoutURL.
	FrontchannelLogoutURI string
	// Public marks a public client (token_endpoint_auth_method "none").
	Public bool
	// GrantTypes are the grants the client may use besides
	// authorization_code and refresh_token, which every client may use:
	// GrantClientCredentials, GrantPassword, GrantTokenExchange. Others get
	// unauthorized_client.
	GrantTypes []string
	// JWKS holds the public keys of a private_key_jwt client (RFC 7523,
	// OpenID Connect Core 1.0 §9). Such a client has no secret and must
	// authenticate with a signed assertion.
	JWKS *jose.JSONWebKeySet
	// TLSSubjectDN registers a tls_client_auth client (RFC 8705 §2.1) by its
	// certificate's subject distinguished name, in the RFC 4514 form of
	// crypto/x509's pkix.Name.String ("CN=gatehouse,O=Example"). The
	// certificate must chain to Options.ClientCAs. Such a client has no
	// secret.
	TLSSubjectDN string
	// TLSCertSHA256 registers a tls_client_auth client by the SHA-256 hash of
	// its certificate (DER), hex-encoded: any certificate, self-signed too,
	// with exactly that hash (like RFC 8705 §2.2 self-signed client
	// authentication). Such a client has no secret.
	TLSCertSHA256 string
}

// Grant types beyond authorization_code and refresh_token, for
// Client.GrantTypes.
const (
	GrantClientCredentials = "client_credentials"                              // RFC 6749 §4.4
	GrantPassword          = "password"                                        // RFC 6749 §4.3
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange" // RFC 8693
)

// authMethod returns the client's registered token_endpoint_auth_method.
func (c *Client) authMethod() string {
	switch {
	case c.Public:
		return "none"
	case c.JWKS != nil:
		return "private_key_jwt"
	case c.TLSSubjectDN != "" || c.TLSCertSHA256 != "":
		return "tls_client_auth"
	}
	return "client_secret_basic"
}

// Options configures a [Server]. The zero value of every optional field is
// the documented default.
type Options struct {
	// Issuer is the absolute base URL at which the handler is served, e.g.
	// "http://127.0.0.1:9000", without a trailing slash. Every endpoint is
	// under its path. Required.
	Issuer string
	// Clients are the registered clients.
	Clients []Client
	// Users are the accounts that can log in (default: [DemoUsers]).
	Users []User
	// AccessTokenTTL is the access token lifetime (default 5m).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the refresh token lifetime (default 24h). A rotated
	// refresh token gets a fresh lifetime.
	RefreshTokenTTL time.Duration
	// IDTokenTTL is the ID token lifetime (default 5m).
	IDTokenTTL time.Duration
	// RotateRefreshTokens makes every refresh return a new refresh token and
	// invalidate the old one. Presenting an old one again is treated as
	// token theft: the whole token family is revoked (RFC 9700 §4.14.2).
	RotateRefreshTokens bool
	// AutoApproveUser, when set, makes the authorization endpoint skip the
	// login form and approve every valid request as this username (for
	// benchmarks). It must name one of Users.
	AutoApproveUser string
	// HideCredentialsHint removes the list of usernames and passwords that
	// the login page shows by default.
	HideCredentialsHint bool
	// PKCE is what the server supports of RFC 7636: "" (the default) S256
	// only, required; "plain" the plain method only, required (an old AS,
	// for testing a client's fallback); "none" no PKCE at all: not
	// advertised, and challenges are ignored.
	PKCE string
	// ClientCAs verifies the certificates of clients registered by
	// TLSSubjectDN. Serve the handler over TLS with client certificates
	// requested (tls.RequestClientCert) for tls_client_auth to work.
	ClientCAs *x509.CertPool
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives operational logs (nil: discard). Tokens, codes,
	// secrets and passwords are never logged.
	Logger *slog.Logger
	// Hooks let tests tamper with the server's output. The zero value is an
	// honest server.
	Hooks Hooks
	// Deviations make the server deviate from the specifications the way
	// some real authorization servers do. The zero value conforms.
	Deviations Deviations
}

// Deviations are switches that make the server behave like real
// authorization servers that deviate from the specifications, so that tests
// can show a client tolerates them. Each false switch is conforming.
type Deviations struct {
	// BareRefusals answers every token request refused after client
	// authentication (invalid_grant, invalid_request, unauthorized_client,
	// ...) with its HTTP status and an empty body instead of an RFC 6749
	// §5.2 error object.
	BareRefusals bool
	// LogoutTokenWithoutExp leaves exp out of the logout tokens of
	// LogoutTokenClaims, as drafts of Back-Channel Logout before 1.0 did.
	LogoutTokenWithoutExp bool
	// FrontchannelWithoutSID makes FrontchannelLogoutURL leave out iss and
	// sid (OpenID Connect Front-Channel Logout 1.0 §2 makes them optional).
	FrontchannelWithoutSID bool
	// AudienceArray writes aud as a one-element array in ID tokens and
	// logout tokens (allowed by OpenID Connect Core §2; many servers do).
	AudienceArray bool
	// NoIssParameter leaves out the RFC 9207 iss parameter of authorization
	// responses and its discovery flag, as servers before RFC 9207 do.
	NoIssParameter bool
}

// Hooks are test-only tampering points. Each nil hook is inactive.
type Hooks struct {
	// Discovery mutates the discovery document before it is served.
	Discovery func(doc map[string]any)
	// IDToken mutates ID token claims before they are signed.
	IDToken func(claims map[string]any)
	// SignIDToken replaces signing entirely (alg none, HS256, a foreign
	// key): it receives the final claims and returns the compact JWT.
	SignIDToken func(claims map[string]any) (string, error)
	// AuthResponse mutates the query of every redirect from the
	// authorization endpoint back to the client (code or error, state, iss),
	// after the redirect URI's own query parameters have been merged in.
	AuthResponse func(q url.Values)
	// Userinfo mutates the UserInfo response claims.
	Userinfo func(claims map[string]any)
}

// validate reports every problem with opts, naming the field.
func validate(opts *Options) error {
	var errs []error
	if opts.Issuer == "" {
		errs = append(errs, errors.New("Issuer: required"))
	} else if u, err := url.Parse(opts.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("Issuer: %q is not an absolute http(s) URL", opts.Issuer))
	} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(opts.Issuer, "/") || strings.HasSuffix(opts.Issuer, "#") || strings.HasSuffix(opts.Issuer, "?") {
		errs = append(errs, fmt.Errorf("Issuer: %q must have no query, fragment, user info or trailing slash", opts.Issuer))
	} else if p := u.EscapedPath(); p != "" && path.Clean(p) != p {
		errs = append(errs, fmt.Errorf("Issuer: path %q is not clean", p))
	} else if strings.Trim(u.EscapedPath(), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/") != "" {
		errs = append(errs, fmt.Errorf("Issuer: path %q may only contain letters, digits and -._~/", u.EscapedPath()))
	}
	for name, d := range map[string]time.Duration{"AccessTokenTTL": opts.AccessTokenTTL, "RefreshTokenTTL": opts.RefreshTokenTTL, "IDTokenTTL": opts.IDTokenTTL} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: negative duration %v", name, d))
		}
	}
	ids := make(map[string]bool)
	for i, c := range opts.Clients {
		p := fmt.Sprintf("Clients[%d]", i)
		switch {
		case c.ID == "":
			errs = append(errs, fmt.Errorf("%s.ID: required", p))
		case ids[c.ID]:
			errs = append(errs, fmt.Errorf("%s.ID: duplicate %q", p, c.ID))
		}
		ids[c.ID] = true
		kinds := 0
		for _, set := range []bool{c.Public, c.Secret != "", c.JWKS != nil, c.TLSSubjectDN != "" || c.TLSCertSHA256 != ""} {
			if set {
				kinds++
			}
		}
		switch {
		case c.Public && c.Secret != "":
			errs = append(errs, fmt.Errorf("%s.Secret: a public client must not have a secret", p))
		case kinds == 0:
			errs = append(errs, fmt.Errorf("%s.Secret: required for a confidential client (or JWKS, or TLSSubjectDN/TLSCertSHA256)", p))
		case kinds > 1:
			errs = append(errs, fmt.Errorf("%s: register one way to authenticate: Public, Secret, JWKS or a TLS certificate", p))
		}
		if c.JWKS != nil {
			for j, k := range c.JWKS.Keys {
				if !k.Valid() || !k.IsPublic() {
					errs = append(errs, fmt.Errorf("%s.JWKS.Keys[%d]: not a valid public key", p, j))
				}
			}
		}
		if c.TLSSubjectDN != "" && opts.ClientCAs == nil {
			errs = append(errs, fmt.Errorf("%s.TLSSubjectDN: needs Options.ClientCAs to verify the certificate chain", p))
		}
		for j, g := range c.GrantTypes {
			if g != GrantClientCredentials && g != GrantPassword && g != GrantTokenExchange {
				errs = append(errs, fmt.Errorf("%s.GrantTypes[%d]: %q is not supported", p, j, g))
			}
		}
		if len(c.RedirectURIs) == 0 && len(c.GrantTypes) == 0 {
			errs = append(errs, fmt.Errorf("%s.RedirectURIs: at least one is required", p))
		}
		for j, r := range c.RedirectURIs {
			if err := validRedirectURI(r); err != nil {
				errs = append(errs, fmt.Errorf("%s.RedirectURIs[%d]: %w", p, j, err))
			}
		}
		for j, r := range c.PostLogoutRedirectURIs {
			if err := validRedirectURI(r); err != nil {
				errs = append(errs, fmt.Errorf("%s.PostLogoutRedirectURIs[%d]: %w", p, j, err))
			}
		}
		if c.FrontchannelLogoutURI != "" {
			if err := validRedirectURI(c.FrontchannelLogoutURI); err != nil {
				errs = append(errs, fmt.Errorf("%s.FrontchannelLogoutURI: %w", p, err))
			}
		}
	}
	names := make(map[string]bool)
	for i, u := range opts.Users {
		p := fmt.Sprintf("Users[%d]", i)
		switch {
		case u.Username == "":
			errs = append(errs, fmt.Errorf("%s.Username: required", p))
		case names[u.Username]:
			errs = append(errs, fmt.Errorf("%s.Username: duplicate %q", p, u.Username))
		}
		names[u.Username] = true
	}
	if opts.PKCE != "" && opts.PKCE != "plain" && opts.PKCE != "none" {
		errs = append(errs, fmt.Errorf("PKCE: %q is not one of \"\", \"plain\", \"none\"", opts.PKCE))
	}
	if opts.AutoApproveUser != "" && !names[opts.AutoApproveUser] {
		errs = append(errs, fmt.Errorf("AutoApproveUser: %q is not one of Users", opts.AutoApproveUser))
	}
	return errors.Join(errs...)
}

// validRedirectURI checks that r is an absolute URL without a fragment
// (RFC 6749 §3.1.2).
func validRedirectURI(r string) error {
	u, err := url.Parse(r)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URL", r)
	}
	if u.Fragment != "" || strings.Contains(r, "#") {
		return fmt.Errorf("%q must not have a fragment", r)
	}
	return nil
}

// DemoUsers returns the two demo accounts: alice/alice (groups admins and
// staff) and bob/bob (group staff), both with verified example.com emails.
func DemoUsers() []User {
	return []User{
		{
			Username: "alice", Password: "alice", Subject: "user-alice",
			Email: "alice@example.com", EmailVerified: true,
			Name: "Alice Example", PreferredUsername: "alice",
			Groups: []string{"admins", "staff"},
		},
		{
			Username: "bob", Password: "bob", Subject: "user-bob",
			Email: "bob@example.com", EmailVerified: true,
			Name: "Bob Example", PreferredUsername: "bob",
			Groups: []string{"staff"},
		},
	}
}

func cloneClient(c Client) Client {
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	c.PostLogoutRedirectURIs = append([]string(nil), c.PostLogoutRedirectURIs...)
	c.GrantTypes = append([]string(nil), c.GrantTypes...)
	if c.JWKS != nil {
		c.JWKS = &jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), c.JWKS.Keys...)}
	}
	return c
}

func cloneUser(u User) User {
	u.Groups = append([]string(nil), u.Groups...)
	return u
}
