package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// Authorization is the [authorization] table: the default authorization
// rules of every upstream. An upstream that sets a key itself uses its own
// value for that key (an empty list clears the default); the others keep
// the default. Every rule that is set must pass. See [Upstream] for each
// key.
type Authorization struct {
	AllowedEmails       []string               `toml:"allowed_emails"`
	AllowedEmailDomains []string               `toml:"allowed_email_domains"`
	AllowedGroups       []string               `toml:"allowed_groups"`
	RequiredClaims      map[string]ClaimValues `toml:"required_claims"`
	Methods             []string               `toml:"methods"`
	SkipAuth            []string               `toml:"skip_auth"`
	// InsecureAllowUnverifiedEmail lets allowed_emails and
	// allowed_email_domains accept an address whose email_verified claim is
	// not true. It MUST NOT be set unless the AS verifies every address it
	// asserts: otherwise anyone can sign up with an address of an allowed
	// domain. Default false.
	InsecureAllowUnverifiedEmail bool `toml:"insecure_allow_unverified_email"`
}

// ClaimValues is the value of a required_claims entry: one string, or an
// array of strings (any of which matches).
type ClaimValues []string

// UnmarshalTOML decodes a string or an array of strings.
func (v *ClaimValues) UnmarshalTOML(data any) error {
	switch d := data.(type) {
	case string:
		*v = ClaimValues{d}
		return nil
	case []any:
		out := make(ClaimValues, 0, len(d))
		for _, e := range d {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("must be a string or an array of strings, not an array holding %s", describe(e))
			}
			out = append(out, s)
		}
		*v = out
		return nil
	}
	return fmt.Errorf("must be a string or an array of strings, not %s", describe(data))
}

// Bearer is the [bearer] table: how access tokens of the AS are accepted
// on upstreams with auth "bearer" or "session_or_bearer".
type Bearer struct {
	// Audiences: an access token's aud must name one of them (the
	// resource indicator or API identifier registered at the AS). Required
	// when an upstream accepts bearer tokens. Must not contain
	// provider.client_id: ID tokens have that audience.
	Audiences []string `toml:"audiences"`
	// Issuer is the required iss of access tokens. Default "":
	// provider.issuer.
	Issuer string `toml:"issuer"`
	// Algorithms are the JWS algorithms accepted for JWT access tokens:
	// asymmetric ones only (RS256, RS384, RS512, ES256, ES384, ES512, PS256,
	// PS384, PS512, EdDSA). Default []: those the AS advertises for ID
	// tokens in its discovery document.
	Algorithms []string `toml:"algorithms"`
	// RequireATJWT refuses a JWT access token whose typ header is not
	// "at+jwt" (RFC 9068 §4). Default false: many ASes send "JWT" or no typ.
	// ID tokens are refused either way.
	RequireATJWT bool `toml:"require_at_jwt"`
	// Introspection checks opaque (non-JWT) access tokens at the AS's
	// introspection endpoint (RFC 7662), authenticated as provider.client_id.
	// Default false: opaque tokens are refused.
	Introspection bool `toml:"introspection"`
	// IntrospectionCacheSize bounds the number of introspection answers
	// kept. Between 1 and 1000000. Default 10000.
	IntrospectionCacheSize int `toml:"introspection_cache_size"`
	// IntrospectionCacheTTL is how long an introspection answer is reused
	// (never past the token's exp); a token revoked at the AS is refused at
	// most this long after. Between 1s and 1h. Default 1m.
	IntrospectionCacheTTL Duration `toml:"introspection_cache_ttl"`
	// IntrospectionNegativeCacheSize bounds the "inactive" answers kept,
	// apart from the active ones so that made-up tokens cannot push real
	// ones out. Between 1 and 1000000. Default 10000.
	IntrospectionNegativeCacheSize int `toml:"introspection_negative_cache_size"`
	// IntrospectionNegativeCacheTTL is how long an "inactive" answer is
	// reused, never longer than introspection_cache_ttl. Between 1s and 1h.
	// Default 10s.
	IntrospectionNegativeCacheTTL Duration `toml:"introspection_negative_cache_ttl"`
}

func bearerDefaults() Bearer {
	return Bearer{
		IntrospectionCacheSize: 10000, IntrospectionCacheTTL: Duration{time.Minute},
		IntrospectionNegativeCacheSize: 10000, IntrospectionNegativeCacheTTL: Duration{10 * time.Second},
	}
}

// AcceptsBearerTokens reports whether an upstream has auth "bearer" or
// "session_or_bearer".
func (c *Config) AcceptsBearerTokens() bool { return usesBearer(c.Upstreams) }

func usesBearer(ups []Upstream) bool {
	return slices.ContainsFunc(ups, func(u Upstream) bool { return u.Auth == vocab.AuthBearer || u.Auth == vocab.AuthSessionOrBearer })
}

func (b *Bearer) validate(p *problems, clientID string, ups []Upstream) {
	if usesBearer(ups) && len(b.Audiences) == 0 {
		p.add("bearer.audiences", `required when an upstream has auth = "bearer" or "session_or_bearer"`)
	}
	for i, a := range b.Audiences {
		key := fmt.Sprintf("bearer.audiences[%d]", i)
		switch {
		case a == "":
			p.add(key, "must not be empty")
		case strings.ContainsFunc(a, isSpaceOrControl):
			p.add(key, "%q must not contain white space", a)
		case a == clientID:
			p.add(key, "%q is provider.client_id, the audience of the gateway's ID tokens; use the API's own identifier (resource indicator)", a)
		}
	}
	if b.Issuer != "" {
		if msg := checkBaseURL(b.Issuer, true); msg != "" {
			p.add("bearer.issuer", "%s", msg)
		}
	}
	for i, a := range b.Algorithms {
		if !slices.Contains(vocab.AsymmetricAlgs, a) {
			p.add(fmt.Sprintf("bearer.algorithms[%d]", i), "%q is not one of %s (asymmetric algorithms only)", a, strings.Join(vocab.AsymmetricAlgs, ", "))
		}
	}
	if n := b.IntrospectionCacheSize; n < 1 || n > 1_000_000 {
		p.add("bearer.introspection_cache_size", "%d is outside 1 to 1000000", n)
	}
	if d := b.IntrospectionCacheTTL.Duration; d < time.Second || d > time.Hour {
		p.add("bearer.introspection_cache_ttl", "%v is outside 1s to 1h", d)
	}
	if n := b.IntrospectionNegativeCacheSize; n < 1 || n > 1_000_000 {
		p.add("bearer.introspection_negative_cache_size", "%d is outside 1 to 1000000", n)
	}
	if d := b.IntrospectionNegativeCacheTTL.Duration; d < time.Second || d > time.Hour {
		p.add("bearer.introspection_negative_cache_ttl", "%v is outside 1s to 1h", d)
	}
}

// rules converts the table to authz.Rules.
func (a *Authorization) rules() authz.Rules {
	return authz.Rules{
		AllowedEmails:        a.AllowedEmails,
		AllowedEmailDomains:  a.AllowedEmailDomains,
		AllowedGroups:        a.AllowedGroups,
		RequiredClaims:       claimMap(a.RequiredClaims),
		Methods:              a.Methods,
		SkipAuth:             a.SkipAuth,
		AllowUnverifiedEmail: a.InsecureAllowUnverifiedEmail,
	}
}

// ownRules returns the rules the upstream sets itself, as an Authorization.
func (u *Upstream) ownRules() Authorization {
	a := Authorization{
		AllowedEmails:       u.AllowedEmails,
		AllowedEmailDomains: u.AllowedEmailDomains,
		AllowedGroups:       u.AllowedGroups,
		RequiredClaims:      u.RequiredClaims,
		Methods:             u.Methods,
		SkipAuth:            u.SkipAuth,
	}
	if u.InsecureAllowUnverifiedEmail != nil {
		a.InsecureAllowUnverifiedEmail = *u.InsecureAllowUnverifiedEmail
	}
	return a
}

// setsRules reports whether the upstream sets any authorization key.
func (u *Upstream) setsRules() bool {
	return u.AllowedEmails != nil || u.AllowedEmailDomains != nil || u.AllowedGroups != nil ||
		u.RequiredClaims != nil || u.Methods != nil || u.SkipAuth != nil || u.InsecureAllowUnverifiedEmail != nil
}

// DefaultRules returns the [authorization] table's rules: those of every
// upstream that sets none itself, and of forward-auth requests for which
// no upstream matches.
func (c *Config) DefaultRules() authz.Rules { return c.Authorization.rules() }

// UpstreamRules returns the effective rules of upstream i: each key from
// the upstream when it sets it, else from [authorization].
func (c *Config) UpstreamRules(i int) authz.Rules {
	u := &c.Upstreams[i]
	eff := c.Authorization
	pick := func(own, def []string) []string {
		if own != nil {
			return own
		}
		return def
	}
	eff.AllowedEmails = pick(u.AllowedEmails, eff.AllowedEmails)
	eff.AllowedEmailDomains = pick(u.AllowedEmailDomains, eff.AllowedEmailDomains)
	eff.AllowedGroups = pick(u.AllowedGroups, eff.AllowedGroups)
	eff.Methods = pick(u.Methods, eff.Methods)
	eff.SkipAuth = pick(u.SkipAuth, eff.SkipAuth)
	if u.RequiredClaims != nil {
		eff.RequiredClaims = u.RequiredClaims
	}
	if u.InsecureAllowUnverifiedEmail != nil {
		eff.InsecureAllowUnverifiedEmail = *u.InsecureAllowUnverifiedEmail
	}
	return eff.rules()
}

func claimMap(m map[string]ClaimValues) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// validateRules reports the problems of the [authorization] table and of
// each upstream's own rules, with their key paths.
func validateRules(p *problems, a *Authorization, ups []Upstream) {
	check := func(prefix string, r authz.Rules) {
		if _, err := authz.New(r); err != nil {
			for _, e := range unjoin(err) {
				*p = append(*p, fmt.Errorf("%s.%w", prefix, e))
			}
		}
	}
	check("authorization", a.rules())
	for i := range ups {
		u := &ups[i]
		key := fmt.Sprintf("upstream[%d]", i)
		if u.Auth == vocab.AuthPublic && u.setsRules() {
			p.add(key, `sets authorization rules, but auth = "public" lets everyone through; remove them or use auth = "session"`)
			continue
		}
		own := u.ownRules()
		check(key, own.rules())
	}
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
