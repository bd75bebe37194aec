package authz

import (
	"encoding/json"
	"strings"
	"testing"
)

// The users of the rules table.
var (
	alice = Subject{ // verified, admins
		Email: "alice@example.com", EmailVerified: true, Groups: []string{"admins", "staff"},
		Claims: map[string]any{"department": "eng", "scope": "openid api:read api:write", "acr": "mfa",
			"realm_access": map[string]any{"roles": []any{"operator"}}, "level": float64(3), "contractor": false},
	}
	bob = Subject{ // verified, staff only
		Email: "Bob@Example.COM", EmailVerified: true, Groups: []string{"staff"},
		Claims: map[string]any{"department": "sales", "scope": "openid api:read", "level": float64(1), "contractor": true},
	}
	carol = Subject{ // unverified address in the allowed domain
		Email: "carol@example.com", EmailVerified: false, Groups: []string{"admins"},
		Claims: map[string]any{"department": "eng"},
	}
	dave = Subject{ // partner domain
		Email: "dave@partner.example", EmailVerified: true,
		Claims: map[string]any{"department": []any{"eng", "ops"}},
	}
	mallory = Subject{ // two "@": a parser that reads the last one sees example.com
		Email: "mallory@evil.example@example.com", EmailVerified: true, Groups: []string{"admins"},
	}
	kelvin = Subject{ // the Kelvin sign folds to "k" under Unicode case folding
		Email: "eve@\u212Aorp.example", EmailVerified: true,
	}
	subdomain = Subject{Email: "sam@eu.example.com", EmailVerified: true}
	noEmail   = Subject{Groups: []string{"admins"}}
)

// The routes of the rules table.
var routes = map[string]Rules{
	"open":          {},
	"domain":        {AllowedEmailDomains: []string{"example.com"}},
	"domainLenient": {AllowedEmailDomains: []string{"example.com"}, AllowUnverifiedEmail: true},
	"emails":        {AllowedEmails: []string{"dave@partner.example", "BOB@example.com"}},
	"emailOrDomain": {AllowedEmails: []string{"dave@partner.example"}, AllowedEmailDomains: []string{"example.com"}},
	"kdomain":       {AllowedEmailDomains: []string{"korp.example"}},
	"admins":        {AllowedGroups: []string{"admins", "root"}},
	"engineering":   {RequiredClaims: map[string][]string{"department": {"eng"}}},
	"writeScope":    {RequiredClaims: map[string][]string{"scope": {"api:write"}}},
	"nestedRole":    {RequiredClaims: map[string][]string{"realm_access.roles": {"operator"}}},
	"numberBool":    {RequiredClaims: map[string][]string{"level": {"2", "3"}, "contractor": {"false"}}},
	"readOnly":      {Methods: []string{"GET", "HEAD"}},
	"adminsInDomain": {
		AllowedEmailDomains: []string{"example.com"}, AllowedGroups: []string{"admins"},
		RequiredClaims: map[string][]string{"acr": {"mfa", "hwk"}},
	},
}

func TestDecideUsersByRoutes(t *testing.T) {
	users := map[string]Subject{
		"alice": alice, "bob": bob, "carol": carol, "dave": dave, "mallory": mallory,
		"kelvin": kelvin, "subdomain": subdomain, "noEmail": noEmail,
	}
	// want[route][user] is the denying rule, "" for allowed. Every cell is listed.
	want := map[string]map[string]string{
		"open": {"alice": "", "bob": "", "carol": "", "dave": "", "mallory": "", "kelvin": "", "subdomain": "", "noEmail": ""},
		"domain": {"alice": "", "bob": "", "carol": "email_verified", "dave": "allowed_email_domains",
			"mallory": "email", "kelvin": "allowed_email_domains", "subdomain": "allowed_email_domains", "noEmail": "email"},
		"domainLenient": {"alice": "", "bob": "", "carol": "", "dave": "allowed_email_domains",
			"mallory": "email", "kelvin": "allowed_email_domains", "subdomain": "allowed_email_domains", "noEmail": "email"},
		"emails": {"alice": "allowed_emails", "bob": "", "carol": "email_verified", "dave": "",
			"mallory": "email", "kelvin": "allowed_emails", "subdomain": "allowed_emails", "noEmail": "email"},
		"emailOrDomain": {"alice": "", "bob": "", "carol": "email_verified", "dave": "",
			"mallory": "email", "kelvin": "allowed_emails,allowed_email_domains", "subdomain": "allowed_emails,allowed_email_domains", "noEmail": "email"},
		"kdomain": {"alice": "allowed_email_domains", "bob": "allowed_email_domains", "carol": "email_verified", "dave": "allowed_email_domains",
			"mallory": "email", "kelvin": "allowed_email_domains", "subdomain": "allowed_email_domains", "noEmail": "email"},
		"admins": {"alice": "", "bob": "allowed_groups", "carol": "", "dave": "allowed_groups",
			"mallory": "", "kelvin": "allowed_groups", "subdomain": "allowed_groups", "noEmail": ""},
		"engineering": {"alice": "", "bob": "required_claims.department", "carol": "", "dave": "",
			"mallory": "required_claims.department", "kelvin": "required_claims.department", "subdomain": "required_claims.department", "noEmail": "required_claims.department"},
		"writeScope": {"alice": "", "bob": "required_claims.scope", "carol": "required_claims.scope", "dave": "required_claims.scope",
			"mallory": "required_claims.scope", "kelvin": "required_claims.scope", "subdomain": "required_claims.scope", "noEmail": "required_claims.scope"},
		"nestedRole": {"alice": "", "bob": "required_claims.realm_access.roles", "carol": "required_claims.realm_access.roles", "dave": "required_claims.realm_access.roles",
			"mallory": "required_claims.realm_access.roles", "kelvin": "required_claims.realm_access.roles", "subdomain": "required_claims.realm_access.roles", "noEmail": "required_claims.realm_access.roles"},
		"numberBool": {"alice": "", "bob": "required_claims.contractor", "carol": "required_claims.contractor", "dave": "required_claims.contractor",
			"mallory": "required_claims.contractor", "kelvin": "required_claims.contractor", "subdomain": "required_claims.contractor", "noEmail": "required_claims.contractor"},
		"readOnly": {"alice": "", "bob": "", "carol": "", "dave": "", "mallory": "", "kelvin": "", "subdomain": "", "noEmail": ""},
		"adminsInDomain": {"alice": "", "bob": "allowed_groups", "carol": "email_verified", "dave": "allowed_email_domains",
			"mallory": "email", "kelvin": "allowed_email_domains", "subdomain": "allowed_email_domains", "noEmail": "email"},
	}
	for route, rules := range routes {
		p, err := New(rules)
		if err != nil {
			t.Fatalf("route %s: %v", route, err)
		}
		for user, s := range users {
			w, ok := want[route][user]
			if !ok {
				t.Fatalf("the table lacks route %s x user %s", route, user)
			}
			t.Run(route+"/"+user, func(t *testing.T) {
				if got := p.Decide("GET", s).Rule; got != w {
					t.Errorf("Decide(GET, %s) on %s: rule %q, want %q", user, route, got, w)
				}
			})
		}
	}
}

func TestDecideMethods(t *testing.T) {
	p, err := New(Rules{Methods: []string{"GET", "HEAD"}, AllowedGroups: []string{"admins"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method string
		s            Subject
		want         string
	}{
		{"GetAllowed", "GET", alice, ""},
		{"HeadAllowed", "HEAD", alice, ""},
		{"PostDenied", "POST", alice, "methods"},
		{"LowerCaseIsAnotherMethod", "get", alice, "methods"},
		{"MethodCheckedBeforeGroups", "DELETE", bob, "methods"},
		{"GroupsStillApply", "GET", bob, "allowed_groups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Decide(tc.method, tc.s).Rule; got != tc.want {
				t.Errorf("rule %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecideClaimTypes(t *testing.T) {
	var claims map[string]any
	d := json.NewDecoder(strings.NewReader(`{"n": 42, "big": 12345678901, "f": 1.5, "b": true, "arr": [1, "x", false], "obj": {"k": "v"}}`))
	d.UseNumber()
	if err := d.Decode(&claims); err != nil {
		t.Fatal(err)
	}
	plain := map[string]any{"n": float64(42), "big": float64(12345678901), "f": 1.5, "b": true, "arr": []any{float64(1), "x", false}, "obj": map[string]any{"k": "v"}}
	for _, tc := range []struct {
		claim string
		want  []string
		ok    bool
	}{
		{"n", []string{"42"}, true},
		{"big", []string{"12345678901"}, true},
		{"f", []string{"1.5"}, true},
		{"b", []string{"true"}, true},
		{"b", []string{"True"}, false},
		{"arr", []string{"1"}, true},
		{"arr", []string{"false"}, true},
		{"arr", []string{"y"}, false},
		{"obj", []string{"v"}, false},
		{"obj.k", []string{"v"}, true},
		{"missing", []string{""}, false},
	} {
		for name, c := range map[string]map[string]any{"Float": plain, "JSONNumber": claims} {
			p, err := New(Rules{RequiredClaims: map[string][]string{tc.claim: tc.want}})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Decide("GET", Subject{Claims: c}).Allowed(); got != tc.ok {
				t.Errorf("%s: claim %s = %v, want one of %q: allowed %v, want %v", name, tc.claim, c[tc.claim], tc.want, got, tc.ok)
			}
		}
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Rules{
		AllowedEmails:       []string{"a@b@c", "nobody"},
		AllowedEmailDomains: []string{"@example.com", ".example.com", "exa mple.com", "bücher.example"},
		AllowedGroups:       []string{""},
		RequiredClaims:      map[string][]string{"": {"x"}, "dept": {}},
		Methods:             []string{"get"},
		SkipAuth:            []string{"health", "/a/../b", "/x?y", "/p*", "/*", "get /x", "/a/*/b", "/%2e"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"allowed_emails[0]", "allowed_emails[1]", "allowed_email_domains[0]", "allowed_email_domains[1]",
		"allowed_email_domains[2]", "allowed_email_domains[3]", "allowed_groups[0]", "required_claims",
		"required_claims.dept", "methods[0]", "skip_auth[0]", "skip_auth[1]", "skip_auth[2]", "skip_auth[3]",
		"skip_auth[4]", "skip_auth[5]", "skip_auth[6]", "skip_auth[7]",
	} {
		if !strings.Contains(err.Error(), want+":") {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDecideUserIgnoresMethods(t *testing.T) {
	p, err := New(Rules{Methods: []string{"GET"}, AllowedGroups: []string{"admins"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.DecideUser(alice); !d.Allowed() {
		t.Errorf("alice: %q", d.Rule)
	}
	if d := p.DecideUser(bob); d.Rule != RuleAllowedGroups {
		t.Errorf("bob: %q, want allowed_groups", d.Rule)
	}
	if d := p.Decide("POST", alice); d.Rule != RuleMethods {
		t.Errorf("Decide after DecideUser: %q, want methods (the policy is unchanged)", d.Rule)
	}
}
