package harness

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// hydraUI is the login, consent and logout app that Hydra sends the browser to (Hydra
// has no UI of its own). It accepts or rejects each request through Hydra's admin API.
//
// Its pages have the structure of oidc-provider's (see oppages.go), so that Tab.OPLogin,
// OPSignIn, OPConsent, OPDeny and OPConfirmLogout work on both OPs: a form with a hidden
// prompt field ("login" or "consent"), login and password fields, a submit button, a
// cancel link ending in /abort, and a logout confirmation button named logout.
type hydraUI struct {
	h     *Hydra
	users []OPUser
	mux   *http.ServeMux
}

func newHydraUI(h *Hydra, users []OPUser) *hydraUI {
	ui := &hydraUI{h: h, users: users, mux: http.NewServeMux()}
	ui.mux.HandleFunc("GET /login", ui.loginPage)
	ui.mux.HandleFunc("POST /login", ui.loginSubmit)
	ui.mux.HandleFunc("GET /consent", ui.consentPage)
	ui.mux.HandleFunc("POST /consent", ui.consentSubmit)
	ui.mux.HandleFunc("GET /reject/{kind}/{challenge}/abort", ui.abort)
	ui.mux.HandleFunc("GET /logout", ui.logoutPage)
	ui.mux.HandleFunc("POST /logout", ui.logoutSubmit)
	ui.mux.HandleFunc("GET /logged-out", func(w http.ResponseWriter, r *http.Request) {
		render(w, "Signed out", `<p>You are signed out.</p>`, nil)
	})
	ui.mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		render(w, opErrorTitle, `<p>{{.}}</p>`, r.URL.Query().Get("error")+": "+r.URL.Query().Get("error_description"))
	})
	return ui
}

func (ui *hydraUI) ServeHTTP(w http.ResponseWriter, r *http.Request) { ui.mux.ServeHTTP(w, r) }

var pageTemplate = template.Must(template.New("page").Parse(
	`<!doctype html><html><head><meta charset=utf-8><title>{{.Title}}</title></head><body><h1>{{.Title}}</h1>{{.Body}}</body></html>`))

// render writes a page whose body is the template body executed with data.
func render(w http.ResponseWriter, title, body string, data any) {
	var b strings.Builder
	if err := template.Must(template.New("body").Parse(body)).Execute(&b, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, map[string]any{"Title": title, "Body": template.HTML(b.String())})
}

// fail answers a failed admin API call with the OP error page, which the Tab methods quote.
func fail(w http.ResponseWriter, err error) {
	w.WriteHeader(http.StatusBadGateway)
	render(w, opErrorTitle, `<p>{{.}}</p>`, err.Error())
}

func (ui *hydraUI) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}

// hydraRequest is the part of Hydra's login, consent and logout requests the app reads.
type hydraRequest struct {
	Skip                         bool     `json:"skip"`
	Subject                      string   `json:"subject"`
	RequestedScope               []string `json:"requested_scope"`
	RequestedAccessTokenAudience []string `json:"requested_access_token_audience"`
}

type redirectTo struct {
	RedirectTo string `json:"redirect_to"`
}

func (ui *hydraUI) get(ctx context.Context, kind, challenge string) (*hydraRequest, error) {
	var req hydraRequest
	err := ui.h.adminJSON(ctx, http.MethodGet, "/admin/oauth2/auth/requests/"+kind+"?"+kind+"_challenge="+url.QueryEscape(challenge), nil, &req, http.StatusOK)
	return &req, err
}

// answer accepts or rejects the request and sends the browser back to Hydra.
func (ui *hydraUI) answer(w http.ResponseWriter, r *http.Request, kind, verb, challenge string, body any) {
	ctx, cancel := ui.ctx(r)
	defer cancel()
	var to redirectTo
	path := "/admin/oauth2/auth/requests/" + kind + "/" + verb + "?" + kind + "_challenge=" + url.QueryEscape(challenge)
	if err := ui.h.adminJSON(ctx, http.MethodPut, path, body, &to, http.StatusOK); err != nil {
		fail(w, err)
		return
	}
	http.Redirect(w, r, to.RedirectTo, http.StatusFound)
}

const loginForm = `<form method=post action=/login>
<input type=hidden name=prompt value=login><input type=hidden name=challenge value="{{.}}">
<label>Login <input type=text name=login autofocus></label>
<label>Password <input type=password name=password></label>
<button type=submit>Sign-in</button></form>
<a href="/reject/login/{{.}}/abort">[ Cancel ]</a>`

func (ui *hydraUI) loginPage(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	ctx, cancel := ui.ctx(r)
	defer cancel()
	req, err := ui.get(ctx, "login", challenge)
	if err != nil {
		fail(w, err)
		return
	}
	if req.Skip { // Hydra already knows the user: it must be accepted without asking
		ui.answer(w, r, "login", "accept", challenge, map[string]any{"subject": req.Subject})
		return
	}
	render(w, "Sign-in", loginForm, challenge)
}

func (ui *hydraUI) loginSubmit(w http.ResponseWriter, r *http.Request) {
	u := ui.user(r.PostFormValue("login"), "")
	ui.answer(w, r, "login", "accept", r.PostFormValue("challenge"), map[string]any{
		"subject": u.Sub, "remember": true, "remember_for": 0,
	})
}

const consentForm = `<p>Authorize the application?</p><form method=post action=/consent>
<input type=hidden name=prompt value=consent><input type=hidden name=challenge value="{{.}}">
<button type=submit autofocus>Continue</button></form>
<a href="/reject/consent/{{.}}/abort">[ Cancel ]</a>`

func (ui *hydraUI) consentPage(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("consent_challenge")
	ctx, cancel := ui.ctx(r)
	defer cancel()
	req, err := ui.get(ctx, "consent", challenge)
	if err != nil {
		fail(w, err)
		return
	}
	if req.Skip {
		ui.acceptConsent(w, r, challenge, req)
		return
	}
	render(w, "Authorize", consentForm, challenge)
}

func (ui *hydraUI) consentSubmit(w http.ResponseWriter, r *http.Request) {
	challenge := r.PostFormValue("challenge")
	ctx, cancel := ui.ctx(r)
	defer cancel()
	req, err := ui.get(ctx, "consent", challenge)
	if err != nil {
		fail(w, err)
		return
	}
	ui.acceptConsent(w, r, challenge, req)
}

// acceptConsent grants every requested scope and puts the user's claims in the ID token
// (and so in the userinfo response).
func (ui *hydraUI) acceptConsent(w http.ResponseWriter, r *http.Request, challenge string, req *hydraRequest) {
	u := ui.user("", req.Subject)
	claims := map[string]any{
		"email": u.Email, "email_verified": !u.EmailUnverified, "name": u.Name,
		"preferred_username": u.PreferredUsername, "groups": nonNil(u.Groups),
	}
	ui.answer(w, r, "consent", "accept", challenge, map[string]any{
		"grant_scope":                 req.RequestedScope,
		"grant_access_token_audience": nonNil(req.RequestedAccessTokenAudience),
		"remember":                    true,
		"remember_for":                0,
		"session":                     map[string]any{"id_token": claims},
	})
}

func (ui *hydraUI) abort(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	if kind != "login" && kind != "consent" {
		http.NotFound(w, r)
		return
	}
	ui.answer(w, r, kind, "reject", r.PathValue("challenge"), map[string]any{
		"error": "access_denied", "error_description": "The resource owner denied the request",
	})
}

const logoutForm = `<p>Do you want to sign out?</p>
<form id=op.logoutForm method=post action=/logout><input type=hidden name=challenge value="{{.}}"></form>
<button form=op.logoutForm name=logout value=yes autofocus>Yes, sign me out</button>
<button form=op.logoutForm>No, stay signed in</button>`

func (ui *hydraUI) logoutPage(w http.ResponseWriter, r *http.Request) {
	render(w, "Sign out", logoutForm, r.URL.Query().Get("logout_challenge"))
}

func (ui *hydraUI) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	challenge := r.PostFormValue("challenge")
	if r.PostFormValue("logout") != "yes" {
		ctx, cancel := ui.ctx(r)
		defer cancel()
		path := "/admin/oauth2/auth/requests/logout/reject?logout_challenge=" + url.QueryEscape(challenge)
		if err := ui.h.adminJSON(ctx, http.MethodPut, path, nil, nil, http.StatusNoContent); err != nil {
			fail(w, err)
			return
		}
		render(w, "Still signed in", `<p>You are still signed in.</p>`, nil)
		return
	}
	ui.answer(w, r, "logout", "accept", challenge, nil)
}

// user returns the account whose PreferredUsername or Sub is login, or whose Sub is sub;
// another name gets a generated account, as at StartOP's OP.
func (ui *hydraUI) user(login, sub string) OPUser {
	for _, u := range ui.users {
		if (login != "" && (u.PreferredUsername == login || u.Sub == login)) || (sub != "" && u.Sub == sub) {
			return u
		}
	}
	name := login + sub
	return OPUser{Sub: name, Email: name + "@example.test", Name: name, PreferredUsername: name}
}
