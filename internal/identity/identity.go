// Package identity builds the signed-in user from verified ID-token or
// userinfo claims (OpenID Connect Core 1.0 §5.1) and projects it onto the
// request headers that upstream applications trust.
//
// An upstream that reads X-Forwarded-User takes it as proof of
// authentication, so the gateway must remove every copy a client sent before
// it sets its own (StripHeaders), and must not set a value that the upstream
// could read differently from what the identity provider asserted
// (Identity.Headers, Headers.Set). Two classes of past advisories in peers shape this package:
//
//   - Header name variants. net/http canonicalizes letter case, but CGI
//     (RFC 3875 §4.1.18), WSGI, Rack, PHP and many frameworks map a header
//     name to a variable by upper-casing it and turning "-" into "_", so
//     "x_forwarded_user" and "X-Forwarded_User" reach the application as the
//     very same HTTP_X_FORWARDED_USER. StripHeaders removes every identity
//     header in any letter case and with "_" for "-", including the
//     X-Auth-Request-* family that forward-auth responses use.
//   - Header values. A field value must not contain CR, LF or NUL
//     (RFC 9110 §5.5), and receivers drop leading and trailing whitespace; a
//     list is comma-separated (RFC 9110 §5.6.1), so a group named
//     "staff,admins" would read as two. Identity.Headers drops such values instead
//     of repairing them.
package identity

import (
	"errors"
	"fmt"
	"strings"
)

// Identity is the signed-in user, built by FromClaims from verified claims.
type Identity struct {
	// Subject is the value of the user claim (Mapping.User, "sub" by
	// default): non-empty and a valid header value.
	Subject string
	// Email is the email claim, or "".
	Email string
	// EmailVerified is the email_verified claim (OpenID Connect Core 1.0
	// §5.1). It is recorded, not enforced: authorization rules decide
	// whether an unverified email may be trusted.
	EmailVerified bool
	// PreferredUsername is the preferred_username claim, or "". It is often
	// chosen by the user; it is not an identifier (OpenID Connect Core 1.0
	// §5.7).
	PreferredUsername string
	// Name is the name claim (the full name), or "".
	Name string
	// Groups are the group or role names, in claim order, or nil.
	Groups []string
}

// Mapping names the claims FromClaims reads. A field left empty takes its
// default: User "sub", Email "email", PreferredUsername
// "preferred_username", Groups "groups".
//
// A claim name may be a dotted path into nested objects, such as Keycloak's
// "realm_access.roles" or "resource_access.my-client.roles". A top-level
// claim whose name is the whole string, such as Auth0's namespaced
// "https://example.com/roles", takes precedence over a path.
type Mapping struct {
	User, Email, PreferredUsername, Groups string
}

func (m Mapping) withDefaults() Mapping {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&m.User, "sub")
	def(&m.Email, "email")
	def(&m.PreferredUsername, "preferred_username")
	def(&m.Groups, "groups")
	return m
}

// ErrInvalidUser is the error, wrapped with the claim name, that FromClaims
// returns when the user claim is absent, not a string, empty, or not a valid
// header value. The claim value itself is never part of the error.
var ErrInvalidUser = errors.New("identity: invalid user claim")

// FromClaims returns the Identity described by claims, which must come from a
// verified ID token or userinfo response. The user claim must be a non-empty
// string that is a valid header value (see SetHeaders). The email, name and
// preferred_username claims are used when they are strings and ignored
// otherwise. email_verified counts as true when it is the boolean true or
// the string "true" in any case (some providers send strings). The groups
// claim may be an array, whose non-string and empty entries are ignored, a
// single string, which is one group (it is not split on commas), or absent.
func FromClaims(claims map[string]any, m Mapping) (Identity, error) {
	m = m.withDefaults()
	v, ok := lookup(claims, m.User)
	sub, isString := v.(string)
	switch {
	case !ok:
		return Identity{}, fmt.Errorf("%w: claim %q is missing", ErrInvalidUser, m.User)
	case !isString:
		return Identity{}, fmt.Errorf("%w: claim %q is a %T, not a string", ErrInvalidUser, m.User, v)
	case sub == "":
		return Identity{}, fmt.Errorf("%w: claim %q is empty", ErrInvalidUser, m.User)
	case !safeValue(sub):
		return Identity{}, fmt.Errorf("%w: claim %q has control characters or surrounding spaces", ErrInvalidUser, m.User)
	}
	id := Identity{
		Subject:           sub,
		Email:             stringClaim(claims, m.Email),
		EmailVerified:     trueClaim(claims["email_verified"]),
		PreferredUsername: stringClaim(claims, m.PreferredUsername),
		Name:              stringClaim(claims, "name"),
	}
	if g, ok := lookup(claims, m.Groups); ok {
		id.Groups = groupList(g)
	}
	return id, nil
}

// lookup finds the claim called name in obj: the top-level member named name
// if there is one, or else the member that a dotted path leads to, trying the
// shortest first segment first.
func lookup(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		if sub, ok := obj[name[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, name[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

func stringClaim(claims map[string]any, name string) string {
	v, _ := lookup(claims, name)
	s, _ := v.(string)
	return s
}

func trueClaim(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

func groupList(v any) []string {
	var groups []string
	switch v := v.(type) {
	case string:
		if v != "" {
			groups = []string{v}
		}
	case []string:
		for _, g := range v {
			if g != "" {
				groups = append(groups, g)
			}
		}
	case []any:
		for _, e := range v {
			if g, ok := e.(string); ok && g != "" {
				groups = append(groups, g)
			}
		}
	}
	return groups
}
