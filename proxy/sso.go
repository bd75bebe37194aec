package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/session"
)

// pendingFlow is a started authorization request, kept sealed in the session
// store under its state until the callback consumes it.
type pendingFlow struct {
	Nonce       string `json:"n"`
	Verifier    string `json:"v"`
	RedirectURI string `json:"r"`
	ReturnTo    string `json:"t,omitempty"`
	// Binding ties the flow to the browser that started it (login CSRF).
	Binding string `json:"b,omitempty"`
	Created int64  `json:"c"`
}

var (
	errStateMissing = &httpError{Status: http.StatusBadRequest, Code: "state_missing", Title: "Sign-in could not be completed",
		Detail: "The sign-in response is incomplete. Please start again.", Retry: startPath}
	errStateUnknown = &httpError{Status: http.StatusBadRequest, Code: "state_mismatch", Title: "Sign-in could not be completed",
		Detail: "This sign-in attempt has expired or was already used. Please start again.", Retry: startPath}
	errBinding = &httpError{Status: http.StatusBadRequest, Code: "state_mismatch", Title: "Sign-in could not be completed",
		Detail: "This sign-in was started in another browser. Please start again here.", Retry: startPath}
	errIssuer = &httpError{Status: http.StatusBadRequest, Code: "issuer_mismatch", Title: "Sign-in could not be completed",
		Detail: "The sign-in response did not come from the expected sign-in service.", Retry: startPath}
	errResponseJWT = &httpError{Status: http.StatusBadRequest, Code: "response_invalid", Title: "Sign-in could not be completed",
		Detail: "The sign-in response could not be verified. Please start again.", Retry: startPath}
	errCodeMissing = &httpError{Status: http.StatusBadRequest, Code: "code_missing", Title: "Sign-in could not be completed",
		Detail: "The sign-in response carries no authorization code.", Retry: startPath}
	errCodeRejected = &httpError{Status: http.StatusBadRequest, Code: "invalid_grant", Title: "Sign-in could not be completed",
		Detail: "The sign-in service did not accept the authorization code (expired or already used). Please start again.", Retry: startPath}
	errIDToken = &httpError{Status: http.StatusUnauthorized, Code: "id_token_invalid", Title: "Sign-in could not be verified",
		Detail: "The identity the sign-in service returned could not be verified.", Retry: startPath}
	errUserinfo = &httpError{Status: http.StatusUnauthorized, Code: "userinfo_invalid", Title: "Sign-in could not be verified",
		Detail: "The user information the sign-in service returned does not match the sign-in.", Retry: startPath}
)

// sso is the browser's login and logout: start, callback (authorization
// code flow with PKCE), the sign-out page and RP-initiated logout.
type sso struct {
	base
	login              *login.Client
	clients            *clientSet
	sessions           *session.Manager
	redirects          *redirect.Validator
	returns            *returnURLs // where a login returns to (returnurl.go)
	claims             identity.Mapping
	gate               *gate // the login's authorization rules
	limit              *flowGuard
	publicURL          *url.URL
	callbackURL        string
	secure             bool
	bindingName        string // the browser binding cookie
	flowTTL            time.Duration
	outliveAccessToken bool
	endAtAS            bool
	endSessionBinding  string
	postLogoutRedirect string
	// signOutOrigins refuses cross-site sign-out POSTs (signout.go).
	signOutOrigins *http.CrossOriginProtection
}

// promptSelectAccount asks the AS to let the user choose an account
// (OpenID Connect Core §3.1.2.1): the 403 page's "Use another account".
const promptSelectAccount = "select_account"

// handleStart begins a login: GET /oauth2/start?rd=URL, or with the return
// URL in X-Auth-Request-Redirect (returnURLs.requested, returnurl.go); with
// prompt=select_account to choose another account (any other prompt is
// ignored: the gateway decides when the user must sign in again).
func (so *sso) handleStart(w http.ResponseWriter, r *http.Request) {
	rd := so.returns.requested(r)
	var prompt string
	if r.URL.Query().Get("prompt") == promptSelectAccount {
		prompt = promptSelectAccount
	}
	if err := so.startLoginPrompt(w, r, rd, prompt); err != nil {
		pe := classify(r, err)
		if pe.Retry == startPath { // keep the page asked for
			pe = pe.with(func(e *httpError) { e.Retry = startURL(so.returns.valid(rd), prompt) })
		}
		so.failClassified(w, r, err, pe)
	}
}

// startLogin sends the browser to the AS. returnTo is validated here and
// replaced by "/" when it is not acceptable (or longer than
// redirect.MaxLength). A client address past its flow limit gets 429; a
// browser past its own has its oldest pending logins ended (flowlimit.go).
func (so *sso) startLogin(w http.ResponseWriter, r *http.Request, returnTo string) error {
	return so.startLoginPrompt(w, r, returnTo, "")
}

// startLoginPrompt is startLogin with an OpenID Connect prompt ("" for none).
func (so *sso) startLoginPrompt(w http.ResponseWriter, r *http.Request, returnTo, prompt string) error {
	rd := so.returns.valid(returnTo)
	if err := so.limit.admitFlow(r); err != nil {
		return err
	}
	_, hadBinding := so.hasBinding(r)
	binding, err := so.bindingCookie(w, r)
	if err != nil {
		return err
	}
	req, err := so.login.NewRequestPrompt(r.Context(), so.callbackURL, prompt)
	if err != nil {
		return so.requestError(err)
	}
	flow := pendingFlow{
		Nonce: req.Nonce, Verifier: req.Verifier, RedirectURI: req.RedirectURI, ReturnTo: rd,
		Binding: so.sessions.Binding(binding), Created: so.now().Unix(),
	}
	if so.sessions.FlowsInCookies() { // the cookie store: the flow travels in a cookie of its own
		if err := so.setFlowCookie(w, req.State, flow); err != nil {
			return err
		}
	} else if err := so.sessions.PutFlow(r.Context(), req.State, flow, so.flowTTL); err != nil {
		return storeErr(err)
	}
	if hadBinding {
		for _, old := range so.limit.capBrowserFlows(r, flow.Binding, req.State) {
			if so.sessions.FlowsInCookies() { // the browser holds the flow: expire its cookie
				http.SetCookie(w, so.flowCookie(old, "", -1))
			}
		}
	}
	so.returns.setCookie(w, rd)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, req.URL, http.StatusFound)
	return nil
}

// bindingCookie returns the browser's binding value, setting a new one when
// it has none. Every tab of a browser shares it, so parallel logins work.
func (so *sso) bindingCookie(w http.ResponseWriter, r *http.Request) (string, error) {
	if v, ok := so.hasBinding(r); ok {
		return v, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: so.bindingName, Value: v, Path: "/", HttpOnly: true, Secure: so.secure, SameSite: http.SameSiteLaxMode})
	return v, nil
}

// hasBinding returns the browser's binding cookie, if it sent one.
func (so *sso) hasBinding(r *http.Request) (string, bool) {
	if c, err := r.Cookie(so.bindingName); err == nil && len(c.Value) >= 32 {
		return c.Value, true
	}
	return "", false
}

// handleCallback finishes a login: GET /oauth2/callback. The checks run in
// this order: state (the flow is taken, so it is single use), browser
// binding, the AS's error (believed only for a flow this browser started),
// issuer (RFC 9207), code exchange with the PKCE verifier, ID token, nonce,
// then a new session and a redirect to the validated return URL.
func (so *sso) handleCallback(w http.ResponseWriter, r *http.Request) {
	var returnTo string // the flow's, once it is known
	if err := so.callback(w, r, &returnTo); err != nil {
		noteOutcome(w, OutcomeLoginFailed)
		so.failClassified(w, r, err, so.startAgain(r, classify(r, err), returnTo))
	}
}

// startAgain makes the "Start again" of a failed login return to the page
// first asked for: the flow's return URL, or, when the flow is unknown
// (expired, already used), the one of the browser's last login
// (returncookie.go). A login the authorization rules refused also offers
// another account.
func (so *sso) startAgain(r *http.Request, pe *httpError, returnTo string) *httpError {
	if pe.Retry != startPath && pe != errLoginForbidden {
		return pe
	}
	if returnTo == "" {
		returnTo = so.returns.fromCookie(r)
	}
	return pe.with(func(e *httpError) {
		if e.Retry != "" {
			e.Retry = startURL(returnTo, "")
		}
		if pe == errLoginForbidden {
			e.SwitchAccount = startURL(returnTo, promptSelectAccount)
		}
	})
}

func (so *sso) callback(w http.ResponseWriter, r *http.Request, returnTo *string) error {
	ctx := r.Context()
	// With JARM the parameters are the claims of the AS's signed response,
	// verified before anything in it (the state first) is believed.
	q, err := so.login.AuthorizationResponse(ctx, r.URL.Query())
	if err != nil {
		if errors.Is(err, login.ErrNotReady) {
			return errProviderDown
		}
		so.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "response_jwt_invalid"}, slog.Any("error", err))
		return errResponseJWT
	}
	state := q.Get("state")
	if state == "" {
		so.audit(slog.LevelInfo, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "state_missing"})
		return errStateMissing
	}
	var flow pendingFlow
	if err := so.takeFlow(w, r, state, &flow); err != nil {
		if errors.Is(err, session.ErrNotFound) {
			so.audit(slog.LevelInfo, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "unknown_state"})
			return errStateUnknown
		}
		return storeErr(err)
	}
	c, _ := r.Cookie(so.bindingName)
	if c == nil || !so.sessions.BindingMatches(c.Value, flow.Binding) {
		// another browser's flow: its return URL is not this browser's
		so.audit(slog.LevelInfo, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "binding_mismatch"})
		return errBinding
	}
	*returnTo = flow.ReturnTo
	if asErr := q.Get("error"); asErr != "" { // a flow this browser started: the AS's answer to it
		pe := asError(asErr)
		so.audit(slog.LevelInfo, "login refused by the authorization server", audit.Event{Kind: audit.LoginFailed, Reason: "as_error"}, slog.String("as_error", pe.Code))
		return pe
	}
	if err := so.login.CheckIssuer(q.Get("iss")); err != nil {
		so.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "issuer_mismatch"})
		return errIssuer
	}
	code := q.Get("code")
	if code == "" {
		return errCodeMissing
	}
	res, err := so.login.Exchange(ctx, code, flow.Verifier, flow.RedirectURI, flow.Nonce)
	if err != nil {
		return so.exchangeError(err)
	}
	noteSub(w, res.Subject)
	ticket, err := so.createSession(r, res)
	if err != nil {
		return err
	}
	noteOutcome(w, OutcomeLogin)
	so.sessions.SetCookies(w, r, ticket)
	rd, err := so.redirects.Validate(flow.ReturnTo)
	if err != nil {
		rd = "/"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, rd, http.StatusFound)
	return nil
}

// requestError maps a failure to create the authorization request.
func (so *sso) requestError(err error) error {
	switch {
	case errors.Is(err, login.ErrNotReady):
		return errProviderDown
	case errors.Is(err, login.ErrPushedRequest):
		so.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "pushed_request"}, slog.Any("error", err))
		return errProviderFailed
	}
	return err
}

// exchangeError maps a code exchange failure to a page and logs it.
func (so *sso) exchangeError(err error) error {
	reason, pe := "token_endpoint", errProviderFailed
	switch {
	case errors.Is(err, login.ErrNotReady):
		reason, pe = "provider_not_ready", errProviderDown
	case errors.Is(err, login.ErrInvalidGrant):
		reason, pe = "invalid_grant", errCodeRejected
	case errors.Is(err, login.ErrIDToken):
		reason, pe = "id_token_invalid", errIDToken
	case errors.Is(err, login.ErrUserinfo):
		reason, pe = "userinfo_invalid", errUserinfo
	}
	so.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: reason}, slog.Any("error", err))
	return pe
}

// createSession stores a new session for a verified login and returns its ticket.
func (so *sso) createSession(r *http.Request, res *login.Result) (string, error) {
	if err := so.gate.loginAllowed(res.Claims); err != nil {
		return "", err
	}
	ticket, _, err := so.createSessionFor(r, res, "", false, "")
	return ticket, err
}

// createSessionFor stores a new session for a login whose tokens were issued
// to clientID ("" for the gateway's own client), bound to the app key whose
// thumbprint is proofKey ("": none, see restdpop.go), and returns its
// ticket and the session. stored makes it a server-side session whatever
// the store (the REST flow API's bearer session tokens, which a refresh
// cannot rewrite; see session.Manager.CreateStored).
func (so *sso) createSessionFor(r *http.Request, res *login.Result, clientID string, stored bool, proofKey string) (string, *session.Session, error) {
	id, err := identity.FromClaims(res.Claims, so.claims)
	if err != nil {
		so.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "identity"}, slog.Any("error", err))
		return "", nil, errIDToken
	}
	s := &session.Session{
		Issuer: res.Issuer, Subject: res.Subject, SID: res.SID, Claims: keptClaims(res.Claims),
		AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, IDToken: res.IDToken,
		ClientID: clientID, ProofKey: proofKey,
	}
	if err := bindSession(s, res); err != nil {
		return "", nil, err
	}
	if !res.Expiry.IsZero() {
		s.AccessExpiry = res.Expiry.Unix()
		if res.RefreshToken == "" && !so.outliveAccessToken { // nothing can renew the access token: the session ends with it
			s.ExpiresAt = s.AccessExpiry
		}
	}
	create := so.sessions.Create
	if stored {
		create = so.sessions.CreateStored
	}
	ticket, err := create(r.Context(), s)
	if errors.Is(err, session.ErrCookieTooLarge) {
		so.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Reason: "session_too_large"},
			slog.String("sub", s.Subject), slog.Int("access_token_bytes", len(s.AccessToken)),
			slog.Int("refresh_token_bytes", len(s.RefreshToken)), slog.Int("id_token_bytes", len(s.IDToken)))
		return "", nil, errSessionTooLarge
	}
	if err != nil {
		return "", nil, storeErr(err)
	}
	so.audit(slog.LevelInfo, "login", audit.Event{Kind: audit.Login}, slog.String("sub", s.Subject), slog.String("user", id.PreferredUsername))
	return ticket, s, nil
}

// errSessionTooLarge refuses a login whose tokens do not fit in the cookie
// store's cookies even compacted.
var errSessionTooLarge = &httpError{Status: http.StatusBadGateway, Code: "session_too_large", Title: "Sign-in could not be completed",
	Detail: "The sign-in service issued tokens too large to keep in this browser's cookies. Please tell the administrator (session.store = \"cookie\" needs smaller tokens, or a server-side store)."}

// keptClaims drops the ID token's bookkeeping claims, keeping what headers,
// rules and the userinfo endpoint need.
func keptClaims(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		switch k {
		case "nonce", "at_hash", "c_hash", "exp", "iat", "nbf", "aud", "azp", "jti", "iss", "sid":
		default:
			out[k] = v
		}
	}
	return out
}

// asError renders an error the AS sent back for a flow this browser started
// (RFC 6749 §4.1.2.1) in the gateway's own words: the page never repeats
// the AS's text, and its code is one of the RFC's codes or "as_error".
func asError(code string) *httpError {
	pe := &httpError{Status: http.StatusUnauthorized, Code: code, Title: "Sign-in was not completed", Retry: startPath}
	switch code {
	case "access_denied":
		pe.Status, pe.Title = http.StatusForbidden, "Access was denied"
		pe.Detail = "The sign-in service did not grant access (the request was declined or cancelled)."
	case "login_required", "consent_required", "interaction_required", "account_selection_required":
		pe.Detail = "The sign-in service needs you to sign in again."
	case "temporarily_unavailable":
		pe.Status, pe.Title = http.StatusServiceUnavailable, "Temporarily unavailable"
		pe.Detail, pe.RetryAfter = "The sign-in service is temporarily unavailable. Please try again in a moment.", providerRetryAfter
	case "server_error":
		pe.Status, pe.Title = http.StatusBadGateway, "Sign-in service error"
		pe.Detail = "The sign-in service reported an error."
	case "invalid_request", "unauthorized_client", "unsupported_response_type", "invalid_scope",
		"invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported", "registration_not_supported":
		pe.Status, pe.Title = http.StatusBadGateway, "Sign-in service error"
		pe.Detail = "The sign-in service refused the gateway's sign-in request."
	default:
		pe.Status, pe.Code = http.StatusBadGateway, "as_error"
		pe.Detail = "The sign-in service reported an error."
	}
	return pe
}

// sanitizeCode keeps an AS error code printable and short (RFC 6749 limits
// it to %x20-21 / %x23-5B / %x5D-7E).
func sanitizeCode(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' {
			b[i] = '_'
		}
	}
	return string(b)
}

// storeErr maps a session store failure: unreachable means 503, never "log in again".
func storeErr(err error) error {
	if errors.Is(err, session.ErrUnavailable) {
		return errStoreDown
	}
	return err
}
