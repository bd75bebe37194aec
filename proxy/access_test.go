package proxy_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// logBuffer collects the gateway's log as JSON lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

// events returns the logged records whose event attribute is name.
func (b *logBuffer) events(name string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["event"] == name {
			out = append(out, rec)
		}
	}
	return out
}

// ruleUsers are the AS's accounts for the rules tables.
func ruleUsers() []devop.User {
	return []devop.User{
		{Username: "alice", Password: "alice", Subject: "user-alice", Email: "alice@example.com", EmailVerified: true,
			PreferredUsername: "alice", Groups: []string{"admins", "staff"}},
		{Username: "bob", Password: "bob", Subject: "user-bob", Email: "Bob@Example.com", EmailVerified: true,
			PreferredUsername: "bob", Groups: []string{"staff"}},
		{Username: "carol", Password: "carol", Subject: "user-carol", Email: "carol@example.com", EmailVerified: false,
			PreferredUsername: "carol", Groups: []string{"admins"}},
		{Username: "dave", Password: "dave", Subject: "user-dave", Email: "dave@partner.example", EmailVerified: true,
			PreferredUsername: "dave"},
		{Username: "mallory", Password: "mallory", Subject: "user-mallory", Email: "mallory@evil.example@example.com", EmailVerified: true,
			PreferredUsername: "mallory", Groups: []string{"admins"}},
	}
}

// ruleRoutes are the routes of the rules tables.
func ruleRoutes() []proxy.Route {
	return []proxy.Route{
		{Name: "open", PathPrefix: "/open"},
		{Name: "domain", PathPrefix: "/domain", Rules: authz.Rules{AllowedEmailDomains: []string{"example.com"}}},
		{Name: "admins", PathPrefix: "/admins", Rules: authz.Rules{AllowedGroups: []string{"admins"}}},
		{Name: "partners", PathPrefix: "/partners", Rules: authz.Rules{AllowedEmails: []string{"dave@partner.example"}}},
		{Name: "staff-in-domain", PathPrefix: "/staff", Rules: authz.Rules{AllowedEmailDomains: []string{"example.com"}, AllowedGroups: []string{"staff"}}},
		{Name: "named", PathPrefix: "/named", Rules: authz.Rules{RequiredClaims: map[string][]string{"preferred_username": {"alice", "dave"}}}},
		{Name: "unverified-ok", PathPrefix: "/lenient", Rules: authz.Rules{AllowedEmailDomains: []string{"example.com"}, AllowUnverifiedEmail: true}},
		{Name: "public", PathPrefix: "/public", Auth: proxy.AuthPublic},
	}
}

// TestRulesUsersByRoutes logs each user in and requests every route: the
// table lists the status of each cell (200 passed to the upstream, 403
// refused by a rule).
func TestRulesUsersByRoutes(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{users: ruleUsers(), routes: ruleRoutes(), logger: logs.logger()})
	routes := []string{"/open", "/domain", "/admins", "/partners", "/staff", "/named", "/lenient", "/public"}
	want := map[string][]int{ //  open domain admins partners staff named lenient public
		"alice":   {200, 200, 200, 403, 200, 200, 200, 200},
		"bob":     {200, 200, 403, 403, 200, 403, 200, 200},
		"carol":   {200, 403, 200, 403, 403, 403, 200, 200},
		"dave":    {200, 403, 403, 200, 403, 200, 403, 200},
		"mallory": {200, 403, 200, 403, 403, 403, 403, 200},
	}
	for user, statuses := range want {
		t.Run(user, func(t *testing.T) {
			c := e.browser()
			if resp := e.loginAs(c, "/open", user); resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			for i, p := range routes {
				before := e.upstream.count()
				resp := e.get(c, e.gwURL+p+"/page")
				if resp.StatusCode != statuses[i] {
					t.Errorf("%s GET %s: %d, want %d", user, p, resp.StatusCode, statuses[i])
					continue
				}
				reached := e.upstream.count() > before
				if reached != (statuses[i] == http.StatusOK) {
					t.Errorf("%s GET %s: upstream reached = %v", user, p, reached)
				}
				if statuses[i] == http.StatusForbidden && !strings.Contains(bodyOf(resp), "Access denied") {
					t.Errorf("%s GET %s: 403 page: %s", user, p, bodyOf(resp))
				}
				if reached && p != "/public" {
					if got := e.upstream.last().Header.Get("X-Forwarded-User"); got != "user-"+user {
						t.Errorf("%s GET %s: X-Forwarded-User %q", user, p, got)
					}
				}
			}
		})
	}
	// One audit line per denial, naming the user, the route and the rule.
	denials := logs.events("access_denied")
	if len(denials) != 17 {
		t.Errorf("%d access_denied lines, want 17", len(denials))
	}
	found := false
	for _, d := range denials {
		if d["sub"] == "user-carol" && d["route"] == "domain" && d["rule"] == "email_verified" && d["method"] == "GET" && d["path"] == "/domain/page" {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit line for carol at /domain (email_verified): %v", denials)
	}
}

func TestForbiddenAnswersJSONToAPIClients(t *testing.T) {
	e := newEnv(t, envOptions{users: ruleUsers(), routes: ruleRoutes()})
	c := e.browser()
	e.loginAs(c, "/open", "bob")
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/admins/x", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal([]byte(bodyOf(resp)), &body) != nil || body["error"] != "forbidden" {
		t.Fatalf("status %d, body %s", resp.StatusCode, bodyOf(resp))
	}
	if strings.Contains(bodyOf(resp), "allowed_groups") || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("a session denial names the rule or challenges: %s %v", bodyOf(resp), resp.Header)
	}
}

func TestMethodsRule(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{{Name: "ro", PathPrefix: "/", Rules: authz.Rules{Methods: []string{"GET", "HEAD"}}}}})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	for _, tc := range []struct {
		method string
		want   int
	}{{"GET", 200}, {"HEAD", 200}, {"POST", 403}, {"DELETE", 403}} {
		req, _ := http.NewRequest(tc.method, e.gwURL+"/doc", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.method, resp.StatusCode, tc.want)
		}
	}
}

// TestPathTricks sends raw request paths, unauthenticated, to a gateway
// whose "/" route skips authentication for /public/* and whose /admin
// route requires the admins group. None may reach a protected upstream
// path without a session.
func TestPathTricks(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{
		{Name: "site", PathPrefix: "/", Rules: authz.Rules{SkipAuth: []string{"/public/*", "OPTIONS /api/*"}}},
		{Name: "admin", PathPrefix: "/admin", Rules: authz.Rules{AllowedGroups: []string{"admins"}}},
	}})
	c := e.browser()
	for _, tc := range []struct {
		name, method, raw string
		want              int
		upstreamPath      string // when the upstream is reached
	}{
		{"SkipAuthPrefix", "GET", "/public/app.css", 200, "/public/app.css"},
		{"Protected", "GET", "/private", 401, ""},
		// http.ServeMux redirects literal unclean paths to their clean form.
		{"DotDot", "GET", "/public/../private", 307, ""},
		{"DotDotIntoRoute", "GET", "/public/../admin/x", 307, ""},
		{"DoubleSlash", "GET", "//public/x", 307, ""},
		// It does not for encoded dots and slashes; the gate cleans them.
		{"EncodedDotDot", "GET", "/public/%2e%2e/private", 401, ""},
		{"EncodedDotDotUpperCase", "GET", "/public/%2E%2E/private", 401, ""},
		{"EncodedSlashDotDot", "GET", "/public%2f..%2fadmin%2fx", 400, ""},
		{"EncodedDotDotOutOfRoute", "GET", "/admin/%2e%2e/public/x", 400, ""},
		{"DoubleEncodedDotDotAcrossRoutes", "GET", "/public/%252e%252e/admin/x", 400, ""},
		{"DoubleEncodedDotDotSameRoute", "GET", "/public/%252e%252e/private", 401, ""},
		{"SemicolonDotDotAcrossRoutes", "GET", "/public/..;/admin/x", 400, ""},
		{"SemicolonDotDotSameRoute", "GET", "/public/..;/private", 401, ""},
		{"SemicolonSegmentParamAcrossRoutes", "GET", "/admin;x/y", 400, ""},
		{"SemicolonHarmless", "GET", "/public/a.css;v=2", 200, "/public/a.css;v=2"},
		{"BackslashAcrossRoutes", "GET", "/public/..%5cadmin/x", 400, ""},
		{"QueryIsNotPath", "GET", "/private?/public/x", 401, ""},
		{"QueryDotDotIgnored", "GET", "/public/x?../../admin", 200, "/public/x?../../admin"},
		{"EncodedQuestionMark", "GET", "/private%3f/public/x", 401, ""},
		{"MethodSkip", "OPTIONS", "/api/things", 200, "/api/things"},
		{"MethodSkipOtherMethod", "GET", "/api/things", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.upstream.count()
			req, err := http.NewRequest(tc.method, e.gwURL+tc.raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.raw, resp.StatusCode, tc.want)
			}
			reached := e.upstream.count() > before
			if reached != (tc.upstreamPath != "") {
				t.Fatalf("%s %s: upstream reached = %v", tc.method, tc.raw, reached)
			}
			if reached {
				if got := e.upstream.last().URL.RequestURI(); got != tc.upstreamPath {
					t.Errorf("the upstream got %q, want %q", got, tc.upstreamPath)
				}
			}
		})
	}
}

// TestLoginRefusedByRules: a user whom no rules admit gets no session at
// the callback (403), with an audit line; one admitted by some route logs in.
func TestLoginRefusedByRules(t *testing.T) {
	logs := &logBuffer{}
	staffOnly := authz.Rules{AllowedGroups: []string{"admins"}}
	e := newEnv(t, envOptions{
		users: ruleUsers(), logger: logs.logger(), defaultRules: staffOnly,
		routes: []proxy.Route{
			{Name: "app", PathPrefix: "/", Rules: staffOnly},
			{Name: "partners", PathPrefix: "/partners", Rules: authz.Rules{AllowedEmails: []string{"dave@partner.example"}}},
			{Name: "open", PathPrefix: "/open", Auth: proxy.AuthPublic},
		},
	})
	for _, tc := range []struct {
		user string
		want int
	}{{"bob", http.StatusForbidden}, {"dave", http.StatusFound}, {"alice", http.StatusFound}} {
		t.Run(tc.user, func(t *testing.T) {
			c := e.browser()
			before := e.store.created.Load()
			resp := e.get(c, e.authorize(c, "/x", tc.user))
			if resp.StatusCode != tc.want {
				t.Fatalf("callback: %d, want %d", resp.StatusCode, tc.want)
			}
			if created := e.store.created.Load() > before; created != (tc.want == http.StatusFound) {
				t.Errorf("session created = %v", created)
			}
		})
	}
	found := false
	for _, d := range logs.events("access_denied") {
		if d["sub"] == "user-bob" && d["route"] == "login" && d["rule"] == "allowed_groups" {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit line for bob's refused login")
	}
}
