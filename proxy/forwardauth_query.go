package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
)

// oauth2-proxy's forward-auth query rules: a front proxy may narrow the
// rules of one of its locations with /oauth2/auth?allowed_groups=a,b
// (and allowed_emails, allowed_email_domains). In Gatehouse they only ever
// narrow: the request must pass the route's own rules (gate.decide) and,
// then, every rule of the query. A query the gateway cannot read in full
// (an unknown parameter, an empty or malformed rule) is refused with 403,
// never ignored: an operator who wrote it believes in a restriction.

// The forward-auth query parameters the gateway reads. "redirect=false"
// is nginx's (no login redirect, forwardauth.go).
const (
	queryRedirect            = "redirect"
	queryAllowedGroups       = "allowed_groups"
	queryAllowedEmails       = "allowed_emails"
	queryAllowedEmailDomains = "allowed_email_domains"
)

// queryRuleCacheSize bounds the compiled query rules kept: a front proxy
// has one query per location, so a few hundred is plenty; a client that
// sends many distinct queries only costs compiling them again.
const queryRuleCacheSize = 256

// queryRules are the compiled rules of one forward-auth query: each policy
// holds the one rule of one parameter, and every one must admit the user
// (oauth2-proxy checks them independently too). strict requires verified
// e-mail addresses; lax, for a route with AllowUnverifiedEmail, does not:
// the query's e-mail rules trust the AS as far as the route does.
type queryRules struct {
	strict, lax []*authz.Policy
}

// errForwardAuthQuery refuses a forward-auth request whose query the
// gateway cannot apply in full.
var errForwardAuthQuery = &httpError{Status: http.StatusForbidden, Code: "forward_auth_query", Title: "Access denied",
	Detail: "The proxy asked with rules the gateway cannot apply."}

// errQueryRulesUnauthenticated refuses a request that the route lets pass
// without a user (auth = "public", skip_auth) while the query has rules.
var errQueryRulesUnauthenticated = &httpError{Status: http.StatusForbidden, Code: "forward_auth_query", Title: "Access denied",
	Detail: "The proxy asked with rules that need a signed-in user, but this address is served without sign-in."}

// parseQueryRules compiles the rules of a forward-auth query. It returns
// nil for a query without rules, and an error naming the reason for one
// that cannot be applied in full.
func parseQueryRules(raw string) (*queryRules, error) {
	if raw == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %w", err)
	}
	var qr queryRules
	for _, name := range sortedParams(q) {
		var rules authz.Rules
		entries := splitEntries(q[name])
		switch name {
		case queryRedirect:
			continue
		case queryAllowedGroups:
			rules.AllowedGroups = entries
		case queryAllowedEmails:
			rules.AllowedEmails = entries
		case queryAllowedEmailDomains:
			rules.AllowedEmailDomains = entries
		default:
			return nil, fmt.Errorf("unknown parameter %q", name)
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("%s names nothing", name)
		}
		strict, err := authz.New(rules)
		if err != nil {
			return nil, err
		}
		rules.AllowUnverifiedEmail = true
		lax, err := authz.New(rules)
		if err != nil {
			return nil, err
		}
		qr.strict, qr.lax = append(qr.strict, strict), append(qr.lax, lax)
	}
	if len(qr.strict) == 0 {
		return nil, nil
	}
	return &qr, nil
}

// splitEntries splits comma-separated values, dropping empty entries, as
// oauth2-proxy does ("a,b" and a repeated parameter alike).
func splitEntries(values []string) []string {
	var out []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if e != "" && !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

func sortedParams(q url.Values) []string {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// decide returns the rule of the query that s does not satisfy, or "".
func (qr *queryRules) decide(s authz.Subject, allowUnverifiedEmail bool) string {
	policies := qr.strict
	if allowUnverifiedEmail {
		policies = qr.lax
	}
	for _, p := range policies {
		if d := p.DecideUser(s); !d.Allowed() {
			return d.Rule
		}
	}
	return ""
}

// queryRules reads the rules of a forward-auth query, before the gate
// decides: a query that cannot be applied in full is refused (403) even
// for a request without credentials. It returns nil when the query has no
// rules; Envoy's path form carries the original's query, not rules. A
// query read for the first time is logged at info when a trusted proxy
// sent it (at debug otherwise).
func (fa *forwardAuth) queryRules(r *http.Request, o original) (*queryRules, error) {
	raw := r.URL.RawQuery
	if o.envoy || raw == "" {
		return nil, nil
	}
	if qr, ok := fa.queries.Get(raw, time.Time{}); ok {
		return qr, nil
	}
	qr, err := parseQueryRules(raw)
	if err != nil {
		fa.audit(slog.LevelInfo, "forward-auth request refused: its query rules cannot be applied", audit.Event{Kind: audit.AccessDenied},
			slog.String("rule", "forward_auth_query"), slog.String("reason", err.Error()))
		return nil, errForwardAuthQuery
	}
	fa.queries.Add(raw, qr, time.Time{})
	if qr != nil {
		// Anyone can send a query: only a trusted proxy's is worth an info line.
		level := slog.LevelDebug
		if o.trusted {
			level = slog.LevelInfo
		}
		fa.logger.Log(r.Context(), level, "forward-auth query rules in use: they narrow the rules of the routes they are sent for", "query", raw)
	}
	return qr, nil
}

// applyQueryRules applies a forward-auth query's rules to a request the
// gate allowed (v): the user must satisfy them too. A request the route
// lets pass without a user (auth = "public", skip_auth) is refused: the
// query asks for a user that the route does not. Every use is logged at
// debug; a refusal is an access_denied audit event.
func (fa *forwardAuth) applyQueryRules(qr *queryRules, o original, v *verdict) error {
	if qr == nil {
		return nil
	}
	fa.logger.Debug("forward-auth query rules applied", "route", v.pol.Name)
	if v.fwd == nil {
		fa.audit(slog.LevelInfo, "forward-auth request refused: query rules on a request that passes without sign-in", audit.Event{Kind: audit.AccessDenied, Route: v.pol.Name},
			slog.String("rule", "forward_auth_query"), slog.String("path", o.gr.path.Clean))
		return errQueryRulesUnauthenticated
	}
	id := v.fwd.id
	if rule := qr.decide(authz.Subject{Email: id.Email, EmailVerified: id.EmailVerified, Groups: id.Groups}, v.pol.Rules.AllowUnverifiedEmail); rule != "" {
		fa.audit(slog.LevelInfo, "access denied", audit.Event{Kind: audit.AccessDenied, Route: v.pol.Name}, slog.String("sub", id.Subject),
			slog.String("rule", rule), slog.String("source", "forward_auth_query"), slog.String("method", o.gr.method), slog.String("path", o.gr.path.Clean))
		return &denial{rule: rule, bearer: v.bearer}
	}
	return nil
}
