package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

// flowState returns the state of a step document's authorization request.
func flowState(t *testing.T, d *restDoc) string {
	t.Helper()
	s, _ := d.oauth2Client(t)["authorizationRequest"].(map[string]any)["state"].(string)
	return s
}

// TestRESTFlowErrorCodes produces every error code of the API and checks
// its status, its next step and that its detail reveals nothing.
func TestRESTFlowErrorCodes(t *testing.T) {
	type result struct {
		resp *http.Response
		doc  *restDoc
		// secrets must not appear in the response.
		secrets []string
	}
	tests := []struct {
		name   string
		opts   envOptions
		do     func(t *testing.T, e *env, a *app) result
		status int
		code   string
		next   string
	}{
		{"InvalidRequestBody", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, _ := a.start("")
			resp, d := a.respond(handle, `{"url": 42}`)
			return result{resp, d, nil}
		}, 400, "INVALID_REQUEST", ""},
		{"InvalidRequestUnknownField", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodPost, restBase+"/applications/app/access/", "", `{"redirect":"x"}`)
			return result{resp, d, nil}
		}, 400, "INVALID_REQUEST", ""},
		{"InvalidRequestNotJSON", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, _ := a.start("")
			resp, d := a.call(http.MethodPost, restBase+"/oauth2-client/authorization-response/", handle, "code=x&state=y", "Content-Type", "application/x-www-form-urlencoded")
			return result{resp, d, nil}
		}, 400, "INVALID_REQUEST", ""},
		{"InvalidRequestNeitherCodeNorError", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, _ := a.start("")
			resp, d := a.respond(handle, urlBody(appRedirect+"?state=abc"))
			return result{resp, d, nil}
		}, 400, "INVALID_REQUEST", ""},
		{"RedirectURINotAllowed", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodPost, restBase+"/applications/app/access/", "", `{"redirectUri":"com.evil.app:/cb"}`)
			return result{resp, d, nil}
		}, 400, "REDIRECT_URI_NOT_ALLOWED", ""},
		{"RedirectURIMismatch", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			resp, d := a.respond(handle, urlBody("com.evil.app:/oauth2redirect?code=c0de&state="+flowState(t, d)))
			return result{resp, d, []string{"c0de"}}
		}, 400, "REDIRECT_URI_MISMATCH", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"StateMismatch", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, _ := a.start("")
			resp, d := a.respond(handle, `{"code":"c0de","state":"forged-state"}`)
			return result{resp, d, []string{"c0de", "forged-state"}}
		}, 400, "OAUTH2_STATE_MISMATCH", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"StateMissing", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, _ := a.start("")
			resp, d := a.respond(handle, urlBody(appRedirect+"?code=c0de"))
			return result{resp, d, []string{"c0de"}}
		}, 400, "OAUTH2_STATE_MISMATCH", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"IssuerMismatch", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			redirect := must(url.Parse(a.authorize(d, "alice", "login")))
			q := redirect.Query()
			q.Set("iss", "https://evil.example")
			redirect.RawQuery = q.Encode()
			resp, d := a.respond(handle, urlBody(redirect.String()))
			return result{resp, d, []string{q.Get("code")}}
		}, 400, "OAUTH2_ISSUER_MISMATCH", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"NotAuthorized", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodGet, "/auth/rest/protected/session/", "", "")
			return result{resp, d, nil}
		}, 401, "NOT_AUTHORIZED", "AUTHENTICATION_REQUIRED"},
		{"NotAuthorizedForeignBearer", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodGet, "/api/x", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "", "Accept", "application/json")
			return result{resp, d, nil}
		}, 401, "NOT_AUTHORIZED", "AUTHENTICATION_REQUIRED"},
		{"AuthorizationDenied", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			resp, d := a.respond(handle, urlBody(a.authorize(d, "alice", "deny")))
			return result{resp, d, nil}
		}, 401, "OAUTH2_AUTHORIZATION_DENIED", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"IDTokenInvalid", envOptions{hooks: devop.Hooks{IDToken: func(c map[string]any) { c["nonce"] = "another-nonce" }}},
			func(t *testing.T, e *env, a *app) result {
				handle, d := a.start("")
				resp, d := a.respond(handle, urlBody(a.authorize(d, "alice", "login")))
				return result{resp, d, nil}
			}, 401, "OAUTH2_ID_TOKEN_INVALID", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"UserinfoInvalid", envOptions{useUserinfo: true, hooks: devop.Hooks{Userinfo: func(c map[string]any) { c["sub"] = "mallory" }}},
			func(t *testing.T, e *env, a *app) result {
				handle, d := a.start("")
				resp, d := a.respond(handle, urlBody(a.authorize(d, "alice", "login")))
				return result{resp, d, nil}
			}, 401, "OAUTH2_USERINFO_INVALID", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"AccessDenied", envOptions{
			defaultRules: authz.Rules{AllowedGroups: []string{"admins"}},
			routes:       []proxy.Route{{Name: "app", PathPrefix: "/", Rules: authz.Rules{AllowedGroups: []string{"admins"}}}},
		}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			resp, d := a.respond(handle, urlBody(a.authorize(d, "bob", "login"))) // bob is staff only
			return result{resp, d, nil}
		}, 403, "ACCESS_DENIED", ""},
		{"ApplicationUnknown", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodPost, restBase+"/applications/billing/access/", "", "")
			return result{resp, d, nil}
		}, 404, "APPLICATION_UNKNOWN", ""},
		{"NotFound", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodPost, "/auth/rest/public/authentication/password/check/", "", "")
			return result{resp, d, nil}
		}, 404, "NOT_FOUND", ""},
		{"MethodNotAllowed", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.call(http.MethodGet, restBase+"/applications/app/access/", "", "")
			return result{resp, d, nil}
		}, 405, "METHOD_NOT_ALLOWED", ""},
		{"FlowStepMismatchNoFlow", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.respond("", `{"code":"c0de","state":"s"}`)
			return result{resp, d, nil}
		}, 409, "FLOW_STEP_MISMATCH", "AUTHENTICATION_REQUIRED"},
		{"FlowStepMismatchSpent", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			redirect := a.authorize(d, "alice", "deny")
			a.respond(handle, urlBody(redirect))
			resp, d := a.respond(handle, urlBody(redirect))
			return result{resp, d, nil}
		}, 409, "FLOW_STEP_MISMATCH", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"FlowStepMismatchSessionToken", envOptions{}, func(t *testing.T, e *env, a *app) result {
			token := a.login("alice")
			resp, d := a.respond(token, `{"code":"c0de","state":"s"}`)
			return result{resp, d, []string{token}}
		}, 409, "FLOW_STEP_MISMATCH", ""},
		{"FlowExpiredUnknownHandle", envOptions{}, func(t *testing.T, e *env, a *app) result {
			resp, d := a.respond(strings.Repeat("A", 43), `{"code":"c0de","state":"s"}`)
			return result{resp, d, nil}
		}, 410, "FLOW_EXPIRED", "AUTHENTICATION_REQUIRED"},
		{"TooManyAttempts", envOptions{rest: proxy.RESTOptions{Enabled: true, MaxAttempts: 2, Applications: []proxy.RESTApplication{{
			Name: "app", RedirectURIs: []string{appRedirect}, ClientID: nativeClientID,
		}}}}, func(t *testing.T, e *env, a *app) result {
			handle, _ := a.start("")
			for range 2 {
				if resp, d := a.respond(handle, `{"code":"c0de","state":"wrong"}`); resp.StatusCode != 400 {
					t.Fatalf("attempt: %d %+v", resp.StatusCode, d)
				}
			}
			resp, d := a.respond(handle, `{"code":"c0de","state":"wrong"}`)
			if resp, d := a.respond(handle, `{"code":"c0de","state":"wrong"}`); d.code() != "FLOW_EXPIRED" {
				t.Errorf("after too many attempts: %d %+v, want the flow gone", resp.StatusCode, d)
			}
			return result{resp, d, nil}
		}, 429, "TOO_MANY_ATTEMPTS", "AUTHENTICATION_REQUIRED"},
		{"TokenExchangeFailed", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			resp, d := a.respond(handle, `{"code":"c0de","state":"`+flowState(t, d)+`","iss":"`+e.asURL+`"}`)
			return result{resp, d, []string{"c0de"}}
		}, 502, "OAUTH2_TOKEN_EXCHANGE_FAILED", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
		{"ProviderUnavailable", envOptions{}, func(t *testing.T, e *env, a *app) result {
			handle, d := a.start("")
			resp, d := a.respond(handle, `{"error":"temporarily_unavailable","state":"`+flowState(t, d)+`"}`)
			return result{resp, d, nil}
		}, 503, "PROVIDER_UNAVAILABLE", "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRESTEnv(t, tc.opts)
			a := e.app()
			a.t = t
			res := tc.do(t, e, a)
			d := res.doc
			if res.resp.StatusCode != tc.status || d.code() != tc.code || d.Meta.NextAuthStep != tc.next {
				t.Fatalf("got %d %s next %q, want %d %s next %q: %+v", res.resp.StatusCode, d.code(), d.Meta.NextAuthStep, tc.status, tc.code, tc.next, d)
			}
			eo := d.Errors[0]
			if eo.Status != tc.status || eo.ID == "" || eo.Detail == "" || d.Data != nil {
				t.Errorf("error object %+v", eo)
			}
			if tc.next == "AUTHENTICATION_REQUIRED" && !strings.HasPrefix(d.Links["start"], e.gwURL+restBase+"/applications/") {
				t.Errorf("links %v, want the start endpoint", d.Links)
			}
			if (tc.status == 401) != strings.HasPrefix(res.resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q with status %d", res.resp.Header.Get("WWW-Authenticate"), tc.status)
			}
			raw := bodyOf(res.resp)
			for _, s := range append(res.secrets, "login:", "oauth2:", "session:", "proxy:") {
				if strings.Contains(raw, s) {
					t.Errorf("the response reveals %q:\n%s", s, raw)
				}
			}
			if e.store.created.Load() != 0 && tc.name != "FlowStepMismatchSessionToken" {
				t.Errorf("a session was created")
			}
		})
	}
}

func TestRESTFlowWebViewCookies(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	handle, d := a.start("")
	redirect := a.authorize(d, "alice", "login")
	flowCookie := "gatehouse_flow=" + handle
	// A cross-site form post carries neither a JSON content type nor X-Same-Domain.
	resp, d := a.call(http.MethodPost, restBase+"/abort/", "", "", "Cookie", flowCookie)
	if resp.StatusCode != http.StatusBadRequest || d.code() != "INVALID_REQUEST" {
		t.Errorf("cookie-authenticated abort without CSRF header: %d %+v", resp.StatusCode, d)
	}
	resp, d = a.call(http.MethodPost, restBase+"/oauth2-client/authorization-response/", "", urlBody(redirect), "Cookie", flowCookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cookie-authenticated response: %d %+v", resp.StatusCode, d)
	}
	var session, cleared bool
	for _, c := range resp.Cookies() {
		session = session || (c.Name == "gatehouse" && c.Value == resp.Header.Get("Access-Token") && c.HttpOnly)
		cleared = cleared || (c.Name == "gatehouse_flow" && c.MaxAge < 0)
	}
	if !session || !cleared {
		t.Errorf("cookies %v: want the session cookie set and the flow cookie cleared", resp.Header["Set-Cookie"])
	}
}

func TestRESTFlowAbort(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	handle, d := a.start("")
	redirect := a.authorize(d, "alice", "login")
	if resp, d := a.call(http.MethodPost, restBase+"/abort/", handle, ""); resp.StatusCode != http.StatusOK || d.Errors != nil {
		t.Fatalf("abort: %d %+v", resp.StatusCode, d)
	}
	if resp, d := a.respond(handle, urlBody(redirect)); resp.StatusCode != http.StatusGone {
		t.Errorf("response after abort: %d %+v", resp.StatusCode, d)
	}
}

func TestRESTFlowDisabledLeavesPathsToUpstreams(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{{Name: "app", PathPrefix: "/", Auth: proxy.AuthPublic}}})
	resp, _ := e.getWith(e.browser(), restBase+"/applications/app/access/")
	if resp.StatusCode != http.StatusOK || e.upstream.count() != 1 {
		t.Errorf("with the API disabled its path went to %d (upstream hits %d)", resp.StatusCode, e.upstream.count())
	}
}

func TestRESTOptionsChecked(t *testing.T) {
	e := newEnv(t, envOptions{})
	pub, _ := url.Parse(e.gwURL)
	sessions, err := session.NewManager(session.Options{Store: memstore.New(), Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	apps := []proxy.RESTApplication{{Name: "app", RedirectURIs: []string{appRedirect}}}
	for _, tc := range []struct {
		name string
		o    proxy.RESTOptions
		ok   bool
	}{
		{"Valid", proxy.RESTOptions{Enabled: true, Applications: apps}, true},
		{"Disabled", proxy.RESTOptions{}, true},
		{"NoApplication", proxy.RESTOptions{Enabled: true}, false},
		{"UnknownRoute", proxy.RESTOptions{Enabled: true, Applications: []proxy.RESTApplication{{Name: "nope", RedirectURIs: []string{appRedirect}}}}, false},
		{"NoRedirect", proxy.RESTOptions{Enabled: true, Applications: []proxy.RESTApplication{{Name: "app"}}}, false},
		{"BasePathSlash", proxy.RESTOptions{Enabled: true, BasePath: "/auth/", Applications: apps}, false},
		{"UnknownDefault", proxy.RESTOptions{Enabled: true, DefaultApplication: "x", Applications: apps}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := proxy.New(proxy.Options{
				PublicURL: pub, Login: e.login, Sessions: sessions, Redirects: redirect.New(pub, nil), REST: tc.o,
				Routes: []proxy.Route{{Name: "app", PathPrefix: "/", Target: pub}},
			})
			if (err == nil) != tc.ok {
				t.Errorf("New(%+v) = %v, want ok %v", tc.o, err, tc.ok)
			}
		})
	}
}

func TestRESTFlowMethodNotAllowedNamesTheMethod(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	for path, allow := range map[string]string{
		restBase + "/logout/":               "POST",
		"/auth/rest/protected/session/":     "GET",
		"/auth/rest/protected/session":      "GET",
		restBase + "/applications/x/access": "POST",
	} {
		method := http.MethodGet
		if allow == "GET" {
			method = http.MethodPost
		}
		resp, d := a.call(method, path, "", "")
		if resp.StatusCode != http.StatusMethodNotAllowed || d.code() != "METHOD_NOT_ALLOWED" || resp.Header.Get("Allow") != allow {
			t.Errorf("%s %s: %d %s Allow %q, want 405 Allow %q", method, path, resp.StatusCode, d.code(), resp.Header.Get("Allow"), allow)
		}
	}
}
