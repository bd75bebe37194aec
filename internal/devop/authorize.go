package devop

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authParams are the authorization request parameters the login form carries
// in hidden fields, in the order they are rendered.
var authParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method",
}

// authRequest is a validated authorization request (RFC 6749 §4.1.1,
// OpenID Connect Core §3.1.2.1, RFC 7636 §4.3).
type authRequest struct {
	client      *Client
	redirectURI string
	state       string
	nonce       string
	challenge   string
	method      string // "S256" or "plain"
	scopes      []string
	prompt      []string
	loginHint   string
	raw         url.Values // the authParams present, for the hidden fields
}

// authError is a rejected authorization request. When redirect is empty the
// client or redirect URI could not be trusted: the user sees an error page
// and is never redirected (RFC 6749 §4.1.2.1).
type authError struct {
	redirect    string // validated redirect_uri, or empty
	state       string
	code        string // OAuth error code
	description string
}

// parseAuthRequest validates the authorization request in q. The client and
// redirect URI are checked first; only then may errors go back to the client.
func (s authorizeEndpoint) parseAuthRequest(q url.Values) (*authRequest, *authError) {
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(q[p]) > 1 {
			return nil, &authError{code: "invalid_request", description: "The " + p + " parameter is repeated."}
		}
	}
	c, ok := s.clients[q.Get("client_id")]
	if !ok {
		return nil, &authError{code: "invalid_client", description: "The client_id is missing or unknown."}
	}
	ru := q.Get("redirect_uri")
	if ru == "" || !slices.Contains(c.RedirectURIs, ru) {
		return nil, &authError{code: "invalid_request", description: "The redirect_uri is missing or not registered for this client."}
	}
	pkceProblem := s.pkceProblem(q)
	e := &authError{redirect: ru, code: "invalid_request"}
	if len(q["state"]) == 1 {
		e.state = q.Get("state")
	}
	for p, v := range q {
		if len(v) > 1 {
			e.description = "The " + p + " parameter is repeated."
			return nil, e
		}
	}
	switch {
	case q.Has("request"):
		e.code, e.description = "request_not_supported", "Request objects are not supported."
	case q.Has("request_uri"):
		e.code, e.description = "request_uri_not_supported", "Request URIs are not supported."
	case q.Get("response_type") == "":
		e.description = "The response_type parameter is missing."
	case q.Get("response_type") != "code":
		e.code, e.description = "unsupported_response_type", "Only response_type=code is supported."
	case q.Has("response_mode") && q.Get("response_mode") != "query":
		e.description = "Only response_mode=query is supported."
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		e.code, e.description = "invalid_scope", "The scope must contain openid."
	case pkceProblem != "":
		e.description = pkceProblem
	default:
		e = nil
	}
	if e != nil {
		return nil, e
	}
	prompt := strings.Fields(q.Get("prompt"))
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return nil, &authError{redirect: ru, state: q.Get("state"), code: "invalid_request", description: "prompt=none cannot be combined with other values."}
	}
	raw := make(url.Values)
	for _, p := range authParams {
		if q.Has(p) {
			raw.Set(p, q.Get(p))
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch s.opts.PKCE {
	case "none":
		challenge, method = "", ""
	case "plain":
		method = "plain"
	}
	return &authRequest{
		client:      c,
		redirectURI: ru,
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		challenge:   challenge,
		method:      method,
		scopes:      grantedScopes(q.Get("scope")),
		prompt:      prompt,
		loginHint:   q.Get("login_hint"),
		raw:         raw,
	}, nil
}

// pkceProblem returns what is wrong with the request's PKCE parameters
// (RFC 7636 §4.3, §4.4.1) for the methods Options.PKCE supports, or "".
func (s authorizeEndpoint) pkceProblem(q url.Values) string {
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch s.opts.PKCE {
	case "none":
		return ""
	case "plain":
		switch {
		case challenge == "":
			return "PKCE is required: code_challenge is missing."
		case method != "" && method != "plain":
			return "PKCE code_challenge_method must be plain."
		case len(challenge) < 43 || len(challenge) > 128 || strings.Trim(challenge, base64URLChars+".~") != "":
			return "The code_challenge is not a valid code verifier."
		}
		return ""
	}
	switch {
	case challenge == "":
		return "PKCE is required: code_challenge is missing."
	case method != "S256":
		return "PKCE code_challenge_method must be S256."
	case !validChallenge(challenge):
		return "The code_challenge is not a base64url SHA-256 hash."
	}
	return ""
}

// validChallenge reports whether c looks like an S256 code challenge: the
// unpadded base64url encoding of 32 bytes.
func validChallenge(c string) bool {
	return len(c) == 43 && strings.Trim(c, base64URLChars) == ""
}

const base64URLChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// handleAuthorize is the authorization endpoint: it validates the request and
// shows the login form, or approves at once as Options.AutoApproveUser.
func (s authorizeEndpoint) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	req, aerr := s.parseAuthRequest(r.URL.Query())
	if aerr != nil {
		s.rejectAuth(w, r, aerr)
		return
	}
	if name := s.opts.AutoApproveUser; name != "" {
		s.approve(w, r, req, *s.byName[name])
		return
	}
	if slices.Contains(req.prompt, "none") {
		s.rejectAuth(w, r, &authError{redirect: req.redirectURI, state: req.state, code: "login_required", description: "The user is not logged in."})
		return
	}
	s.showLogin(w, http.StatusOK, req, req.loginHint, "")
}

// handleLogin receives the login form: it re-validates the request carried in
// the hidden fields, then denies, shows the form again, or approves.
func (s authorizeEndpoint) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		showMessage(s.log, w, http.StatusBadRequest, "Bad request", "The login form could not be read.")
		return
	}
	form := r.PostForm
	req, aerr := s.parseAuthRequest(form)
	if aerr != nil {
		s.rejectAuth(w, r, aerr)
		return
	}
	if form.Get("action") == "deny" {
		s.log.Info("devop: authorization denied by user", "client_id", req.client.ID)
		s.rejectAuth(w, r, &authError{redirect: req.redirectURI, state: req.state, code: "access_denied", description: "The user denied the request."})
		return
	}
	username := form.Get("username")
	u, ok := s.authenticate(username, form.Get("password"))
	if !ok {
		s.log.Info("devop: login failed", "client_id", req.client.ID, "username", username)
		s.showLogin(w, http.StatusOK, req, username, "Invalid username or password.")
		return
	}
	s.approve(w, r, req, u)
}

// authenticate checks a username and password in constant time with respect
// to the password, and does the same work for unknown usernames.
func (s *Server) authenticate(username, password string) (User, bool) {
	u, known := s.byName[username]
	want := "\x00unknown-user" // compared so unknown users take as long
	if known {
		want = u.Password
	}
	if !secretEqual(password, want) || !known {
		return User{}, false
	}
	return *u, true
}

// showLogin renders the login form for req.
func (s authorizeEndpoint) showLogin(w http.ResponseWriter, status int, req *authRequest, username, msg string) {
	d := loginData{
		Title:    "Gatehouse development login",
		Action:   s.endpoint("/authorize"),
		ClientID: req.client.ID,
		Error:    msg,
		Username: username,
	}
	for _, p := range authParams {
		if req.raw.Has(p) {
			d.Hidden = append(d.Hidden, hiddenField{Name: p, Value: req.raw.Get(p)})
		}
	}
	if !s.opts.HideCredentialsHint {
		d.Hint = s.users
	}
	writeHTML(s.log, w, status, loginPage, d)
}

// approve logs the user in, issues a single-use authorization code and
// redirects back to the client.
func (s authorizeEndpoint) approve(w http.ResponseWriter, r *http.Request, req *authRequest, u User) {
	now := s.now()
	code := randomToken()
	c := &authCode{
		login:       login{user: u, sid: rand.Text(), authTime: now},
		clientID:    req.client.ID,
		redirectURI: req.redirectURI,
		scopes:      req.scopes,
		nonce:       req.nonce,
		challenge:   req.challenge,
		method:      req.method,
		expires:     now.Add(codeTTL),
		forget:      now.Add(codeMemory),
	}
	s.st.mu.Lock()
	s.st.maybeSweepLocked(now)
	s.st.codes[tokenKey(code)] = c
	s.st.mu.Unlock()
	s.stats.logins.Add(1)
	s.stats.codesIssued.Add(1)
	s.log.Info("devop: login", "client_id", req.client.ID, "username", u.Username, "sid", c.sid)
	q := url.Values{"code": {code}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	s.redirectToClient(w, r, req.redirectURI, q)
}

// rejectAuth answers an invalid or refused authorization request: with an
// error page when the redirect URI is not trusted, else with a redirect
// carrying the error (RFC 6749 §4.1.2.1).
func (s authorizeEndpoint) rejectAuth(w http.ResponseWriter, r *http.Request, e *authError) {
	if e.redirect == "" {
		s.log.Info("devop: authorization request rejected", "error", e.code, "description", e.description)
		showMessage(s.log, w, http.StatusBadRequest, "Invalid authorization request", e.description)
		return
	}
	q := url.Values{"error": {e.code}}
	if e.description != "" {
		q.Set("error_description", e.description)
	}
	if e.state != "" {
		q.Set("state", e.state)
	}
	s.redirectToClient(w, r, e.redirect, q)
}

// redirectToClient redirects with 303 to redirectURI with params and iss
// (RFC 9207) added to its query, after Hooks.AuthResponse.
func (s authorizeEndpoint) redirectToClient(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs were validated by New
		showMessage(s.log, w, http.StatusInternalServerError, "Internal error", "The redirect URI is invalid.")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if !s.opts.Deviations.NoIssParameter {
		q.Set("iss", s.issuer)
	}
	if h := s.opts.Hooks.AuthResponse; h != nil {
		h(q)
	}
	u.RawQuery = q.Encode()
	noStore(w.Header())
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
