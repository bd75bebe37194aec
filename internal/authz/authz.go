// Package authz decides whether a signed-in user may make a request: the
// authorization rules of a route (allowed e-mail addresses and domains,
// groups, required claims, methods) and the paths that need no
// authentication at all (skip_auth). It is pure: no I/O, no logging.
//
// Rules match on a request path that has been percent-decoded once and
// cleaned (see canon.CleanPath), never on the raw request URI or the query. A
// path is also read the ways other servers are known to read it (see
// canon.Path); a path skips authentication only when every reading is under
// a skip_auth pattern.
//
// Two classes of past advisories in peers shape the e-mail rules: an
// unverified email claim is a claim the user typed (OpenID Connect Core 1.0
// §5.1 email_verified), and an address with several "@" is read differently
// by different parsers. Letters are compared by ASCII case folding only, so
// that no Unicode folding (the Kelvin sign folds to "k") can make a foreign
// domain equal an allowed one.
package authz

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Rules is the authorization policy of one route, as configured. A rule
// left empty does not restrict; every rule that is set must pass.
type Rules struct {
	// AllowedEmails admits the users whose e-mail address is listed
	// (compared ASCII case-insensitively).
	AllowedEmails []string
	// AllowedEmailDomains admits the users whose e-mail address is in one
	// of these domains: an exact match of the part after the "@" (compared
	// ASCII case-insensitively); subdomains do not match. When both
	// AllowedEmails and AllowedEmailDomains are set, either admits.
	AllowedEmailDomains []string
	// AllowedGroups admits the users in any of these groups (exact match).
	AllowedGroups []string
	// RequiredClaims maps a claim name (a dotted path into nested objects,
	// as for the identity mapping) to the values it may have: the claim must
	// equal one of them, or, for an array claim, contain one. The claim
	// "scope" is read as a space-separated list (RFC 9068 §2.2.3). Every
	// listed claim must match.
	RequiredClaims map[string][]string
	// Methods lists the request methods allowed (upper case). Empty allows
	// every method.
	Methods []string
	// SkipAuth lists the paths that need no authentication: "/path" matches
	// exactly that path, "/path/*" every path under "/path/" (and "/path/"
	// itself). A pattern may start with a method and a space ("OPTIONS
	// /api/*") to skip authentication only for that method.
	SkipAuth []string
	// AllowUnverifiedEmail lets AllowedEmails and AllowedEmailDomains accept
	// an e-mail address whose email_verified claim is not true. Set it only
	// when the AS verifies every address it asserts.
	AllowUnverifiedEmail bool
}

// Subject is the signed-in user that rules look at.
type Subject struct {
	Email         string
	EmailVerified bool
	Groups        []string
	// Claims are the verified claims (ID token, userinfo or access token),
	// for RequiredClaims.
	Claims map[string]any
}

// Rule names, as reported in Decision.Rule and in audit logs.
const (
	RuleMethods             = "methods"
	RuleEmailVerified       = "email_verified"
	RuleEmail               = "email"
	RuleAllowedEmails       = "allowed_emails"
	RuleAllowedEmailDomains = "allowed_email_domains"
	RuleAllowedGroups       = "allowed_groups"
	RuleRequiredClaims      = "required_claims"
)

// Decision is the outcome of Policy.Decide.
type Decision struct {
	// Rule names the rule that denied the request: "methods",
	// "email_verified" (an e-mail rule met an unverified address), "email"
	// (an e-mail rule met a missing or malformed address),
	// "allowed_emails", "allowed_email_domains" (either, or both joined by
	// a comma when both are set), "allowed_groups" or
	// "required_claims.CLAIM". It is "" when the request is allowed.
	Rule string
}

// Allowed reports whether the request may pass.
func (d Decision) Allowed() bool { return d.Rule == "" }

// Policy is a compiled Rules. Its methods are safe for concurrent use.
type Policy struct {
	emails               []string // lower-cased
	domains              []string // lower-cased
	groups               []string
	claims               []claimRule // sorted by name
	methods              []string
	skip                 []skipPattern
	allowUnverifiedEmail bool
}

type claimRule struct {
	name   string
	values []string
}

// New compiles r, reporting every invalid entry.
func New(r Rules) (*Policy, error) {
	var errs []error
	p := &Policy{allowUnverifiedEmail: r.AllowUnverifiedEmail}
	for i, e := range r.AllowedEmails {
		if _, _, ok := splitEmail(e); !ok {
			errs = append(errs, fmt.Errorf("allowed_emails[%d]: %q is not an e-mail address (one \"@\", a local part and a domain)", i, e))
			continue
		}
		p.emails = append(p.emails, asciiLower(e))
	}
	for i, d := range r.AllowedEmailDomains {
		if msg := checkDomain(d); msg != "" {
			errs = append(errs, fmt.Errorf("allowed_email_domains[%d]: %s", i, msg))
			continue
		}
		p.domains = append(p.domains, asciiLower(d))
	}
	for i, g := range r.AllowedGroups {
		if g == "" {
			errs = append(errs, fmt.Errorf("allowed_groups[%d]: must not be empty", i))
		}
	}
	p.groups = slices.Clone(r.AllowedGroups)
	for _, name := range sortedKeys(r.RequiredClaims) {
		vals := r.RequiredClaims[name]
		switch {
		case name == "":
			errs = append(errs, errors.New("required_claims: a claim name must not be empty"))
		case len(vals) == 0:
			errs = append(errs, fmt.Errorf("required_claims.%s: list at least one value", name))
		}
		p.claims = append(p.claims, claimRule{name: name, values: slices.Clone(vals)})
	}
	for i, m := range r.Methods {
		if !isMethod(m) {
			errs = append(errs, fmt.Errorf("methods[%d]: %q is not an upper-case method name", i, m))
		}
	}
	p.methods = slices.Clone(r.Methods)
	for i, s := range r.SkipAuth {
		sp, err := parseSkipPattern(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("skip_auth[%d]: %w", i, err))
			continue
		}
		p.skip = append(p.skip, sp)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Decide reports whether s may make a request with method. The rules are
// checked in this order: methods, e-mail, groups, required claims.
func (p *Policy) Decide(method string, s Subject) Decision {
	if len(p.methods) > 0 && !slices.Contains(p.methods, method) {
		return Decision{Rule: RuleMethods}
	}
	if rule := p.checkEmail(s); rule != "" {
		return Decision{Rule: rule}
	}
	if len(p.groups) > 0 && !slices.ContainsFunc(s.Groups, func(g string) bool { return slices.Contains(p.groups, g) }) {
		return Decision{Rule: RuleAllowedGroups}
	}
	for _, c := range p.claims {
		v, ok := lookup(s.Claims, c.name)
		if !ok || !claimMatches(c.name, v, c.values) {
			return Decision{Rule: RuleRequiredClaims + "." + c.name}
		}
	}
	return Decision{}
}

// DecideUser reports whether s may make some request: every rule but
// Methods. The gateway applies it at login.
func (p *Policy) DecideUser(s Subject) Decision {
	q := *p
	q.methods = nil
	return q.Decide("", s)
}

func (p *Policy) checkEmail(s Subject) string {
	if len(p.emails) == 0 && len(p.domains) == 0 {
		return ""
	}
	denied := RuleAllowedEmails
	switch {
	case len(p.emails) == 0:
		denied = RuleAllowedEmailDomains
	case len(p.domains) > 0:
		denied = RuleAllowedEmails + "," + RuleAllowedEmailDomains
	}
	_, domain, ok := splitEmail(s.Email)
	if !ok {
		return RuleEmail
	}
	if !s.EmailVerified && !p.allowUnverifiedEmail {
		return RuleEmailVerified
	}
	email := asciiLower(s.Email)
	domain = asciiLower(domain)
	if slices.Contains(p.emails, email) || slices.Contains(p.domains, domain) {
		return ""
	}
	return denied
}

// splitEmail splits an address with exactly one "@" and a non-empty local
// part and domain, without white space or control characters.
func splitEmail(e string) (local, domain string, ok bool) {
	local, domain, found := strings.Cut(e, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", "", false
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; c <= ' ' || c == 0x7f {
			return "", "", false
		}
	}
	return local, domain, true
}

// checkDomain returns why d is not an acceptable e-mail domain for
// AllowedEmailDomains, or "": a DNS name of ASCII letters, digits, "-" and
// ".", without a leading "@" or ".", a trailing "." or an empty label.
func checkDomain(d string) string {
	switch {
	case d == "":
		return "must not be empty"
	case strings.HasPrefix(d, "@"):
		return fmt.Sprintf("%q: write the domain without \"@\"", d)
	case strings.HasPrefix(d, "*.") || strings.HasPrefix(d, "."):
		return fmt.Sprintf("%q: subdomains are not matched; list each domain exactly", d)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || strings.IndexFunc(label, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-')
		}) >= 0 {
			return fmt.Sprintf("%q is not a domain name (ASCII letters, digits, \"-\"; write an internationalized domain in its xn-- form)", d)
		}
	}
	return ""
}

// isMethod reports whether m is an upper-case HTTP method token.
func isMethod(m string) bool {
	return m != "" && strings.IndexFunc(m, func(r rune) bool { return !('A' <= r && r <= 'Z') }) < 0
}

// asciiLower lower-cases ASCII letters only.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// lookup finds the claim called name in claims: the top-level member named
// name if there is one, or else the member that a dotted path leads to
// ("realm_access.roles"), trying the shortest first segment first. It
// follows the identity mapping's rules for claim names.
func lookup(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		if sub, ok := claims[name[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, name[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// claimMatches reports whether the claim value v equals one of want, or,
// for an array, has an element that does. Strings compare exactly, booleans
// as "true" and "false", numbers in their shortest decimal form.
func claimMatches(name string, v any, want []string) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s, ok := scalarString(e); ok && slices.Contains(want, s) {
				return true
			}
		}
		return false
	case []string:
		return slices.ContainsFunc(v, func(s string) bool { return slices.Contains(want, s) })
	case string:
		if name == "scope" {
			return slices.ContainsFunc(strings.Fields(v), func(s string) bool { return slices.Contains(want, s) })
		}
	}
	s, ok := scalarString(v)
	return ok && slices.Contains(want, s)
}

func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case interface{ String() string }: // json.Number
		return v.String(), true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
