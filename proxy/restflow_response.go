package proxy

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// authorizationResponseBody is what the app posts: the whole URL its
// redirect URI received, or the parameters of the response (RFC 6749
// §4.1.2 and §4.1.2.1, RFC 9207).
type authorizationResponseBody struct {
	URL              string `json:"url"`
	Response         string `json:"response"` // JARM: the AS's signed response JWT
	Code             string `json:"code"`
	State            string `json:"state"`
	Iss              string `json:"iss"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorURI         string `json:"error_uri"`
}

// authorizationResponse is the parsed response.
type authorizationResponse struct {
	code, state, iss, asError string
	jarm                      string   // the response JWT (JARM), verified by openJARM
	url                       *url.URL // nil when posted as parameters
}

// openJARM replaces a JARM response by the verified claims of its JWT
// (login.Client.AuthorizationResponse); a Client without JARM refuses a
// response JWT and takes the parameters as they are.
func (resp *authorizationResponse) openJARM(ctx context.Context, lc *login.Client) error {
	q := url.Values{}
	for k, v := range map[string]string{"code": resp.code, "state": resp.state, "iss": resp.iss, "error": resp.asError, "response": resp.jarm} {
		if v != "" {
			q.Set(k, v)
		}
	}
	out, err := lc.AuthorizationResponse(ctx, q)
	switch {
	case err != nil:
		return err
	case out.Has("response"):
		return restInvalidRequest.with("This application's authorization server does not use JWT responses (response_mode=jwt).")
	}
	resp.code, resp.state, resp.iss, resp.asError, resp.jarm = out.Get("code"), out.Get("state"), out.Get("iss"), out.Get("error"), ""
	if resp.code == "" && resp.asError == "" {
		return restInvalidRequest.with("The response carries neither a code nor an error.")
	}
	return nil
}

func parseAuthorizationResponse(b authorizationResponseBody) (*authorizationResponse, error) {
	if b.Response != "" {
		if b.URL != "" || b.Code != "" || b.State != "" || b.Iss != "" || b.Error != "" {
			return nil, restInvalidRequest.with("Send either url or the response parameters, not both.")
		}
		return &authorizationResponse{jarm: b.Response}, nil
	}
	if b.URL == "" {
		if b.Code == "" && b.Error == "" {
			return nil, restInvalidRequest.with("Send the URL the redirect URI received (url), or its code, state and iss, or its error and state.")
		}
		if b.Code != "" && b.Error != "" {
			return nil, restInvalidRequest.with("An authorization response has either a code or an error, not both.")
		}
		return &authorizationResponse{code: b.Code, state: b.State, iss: b.Iss, asError: b.Error}, nil
	}
	if b.Code != "" || b.State != "" || b.Iss != "" || b.Error != "" || b.ErrorDescription != "" || b.ErrorURI != "" {
		return nil, restInvalidRequest.with("Send either url or the response parameters, not both.")
	}
	u, err := url.Parse(b.URL)
	if err != nil || !u.IsAbs() {
		return nil, restInvalidRequest.with("The url is not an absolute URI.")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, restInvalidRequest.with("The url's query cannot be parsed.")
	}
	for _, p := range []string{"code", "state", "iss", "error", "response"} {
		if len(q[p]) > 1 { // RFC 6749 §3.1: parameters must not be repeated
			return nil, restInvalidRequest.with("The url repeats the parameter " + p + ".")
		}
	}
	r := &authorizationResponse{code: q.Get("code"), state: q.Get("state"), iss: q.Get("iss"), asError: q.Get("error"), url: u}
	if jarm := q.Get("response"); jarm != "" && r.code == "" && r.asError == "" {
		r.jarm = jarm
		return r, nil
	}
	switch {
	case r.code == "" && r.asError == "":
		return nil, restInvalidRequest.with("The url carries neither a code nor an error.")
	case r.code != "" && r.asError != "":
		return nil, restInvalidRequest.with("An authorization response has either a code or an error, not both.")
	}
	return r, nil
}

// handleRESTAuthorizationResponse finishes the flow's login:
// POST {base}/public/authentication/oauth2-client/authorization-response/.
// The checks are the browser callback's, in its order: state (constant
// time, bound to this flow, single use), the AS's error (believed only
// once the state matched), issuer (RFC 9207), code
// exchange with the PKCE verifier and the flow's redirect URI, ID token,
// nonce; then a new session, whose ticket the app receives as its token.
func (ra *restAPI) handleRESTAuthorizationResponse(w http.ResponseWriter, r *http.Request) {
	if app, err := ra.restAuthorizationResponse(w, r); err != nil {
		noteOutcome(w, OutcomeLoginFailed)
		ra.restFail(w, r, app, err)
	}
}

func (ra *restAPI) restAuthorizationResponse(w http.ResponseWriter, r *http.Request) (*restApp, error) {
	ctx := r.Context()
	// The step holds the flow exclusively: the same response posted twice at
	// once, to one replica or two, is processed once; the other finds no flow.
	handle, f, app, err := ra.flows.takeFlow(r)
	if err != nil {
		return nil, err
	}
	fid := flowID(handle)
	failed := func(reason string) {
		ra.audit(slog.LevelInfo, "login failed", audit.Event{Kind: audit.LoginFailed, Channel: "rest", Reason: reason}, slog.String("flow_id", fid), slog.String("app", app.name))
	}
	if err := ra.flows.countAttempt(handle, f); err != nil {
		return app, err
	}
	completed := false
	defer func() { // any failure puts the flow back, with the attempt counted
		if !completed {
			ra.flows.putBack(context.WithoutCancel(ctx), handle, f)
		}
	}()
	var body authorizationResponseBody
	if err := restDecode(w, r, &body); err != nil {
		return app, err
	}
	resp, err := parseAuthorizationResponse(body)
	if err != nil {
		return app, err
	}
	if err := resp.openJARM(ctx, app.login); err != nil {
		var re *restError
		if errors.As(err, &re) {
			return app, err
		}
		if errors.Is(err, login.ErrNotReady) {
			return app, restProviderDown
		}
		failed("response_jwt_invalid")
		return app, restInvalidRequest.with("The authorization response JWT could not be verified.")
	}
	if f.State == "" {
		failed("request_spent")
		return app, restStepMismatch.withNext(stepOAuth2Client,
			"This flow's authorization request was already answered. Request a new one (oauth2-client/authorization-request).")
	}
	if resp.url != nil && !responseAt(resp.url, f.RedirectURI) {
		failed("redirect_uri_mismatch")
		return app, restRedirectMismatch
	}
	if resp.state == "" || subtle.ConstantTimeCompare([]byte(resp.state), []byte(f.State)) != 1 {
		failed("state_mismatch")
		return app, restStateMismatch
	}
	// The state matched: the authorization request is spent whatever comes
	// next; a failure leaves the flow waiting for a new request.
	req := *f
	*f = f.spent()

	if resp.asError != "" {
		code := sanitizeCode(resp.asError)
		ra.audit(slog.LevelInfo, "login refused by the authorization server", audit.Event{Kind: audit.LoginFailed, Channel: "rest", Reason: "as_error"}, slog.String("as_error", code), slog.String("flow_id", fid), slog.String("app", app.name))
		if code == "temporarily_unavailable" || code == "server_error" {
			return app, restProviderDown.withNext(stepOAuth2Client, "The authorization server could not process the login. Request a new authorization in a moment.")
		}
		return app, restDenied
	}
	if err := app.login.CheckIssuer(resp.iss); err != nil {
		if errors.Is(err, login.ErrNotReady) {
			return app, restProviderDown
		}
		ra.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Channel: "rest", Reason: "issuer_mismatch"}, slog.String("flow_id", fid), slog.String("app", app.name))
		return app, restIssuerMismatch
	}
	res, err := app.login.Exchange(ctx, resp.code, req.Verifier, req.RedirectURI, req.Nonce)
	if err != nil {
		return app, ra.restExchangeError(err, fid, app)
	}
	noteSub(w, res.Subject)
	if err := ra.gate.loginAllowed(res.Claims); err != nil { // the authorization rules, as at the callback
		failed("forbidden")
		if errors.Is(err, errLoginForbidden) {
			return app, restForbidden
		}
		return app, err
	}
	ticket, s, err := ra.sso.createSessionFor(r, res, app.clientID, true, f.ProofKey)
	if err != nil {
		switch {
		case errors.Is(err, errIDToken): // no usable identity in the claims
			return app, restIDTokenInvalid
		case errors.Is(err, errStoreDown):
			return app, restStoreDown
		}
		return app, err
	}
	completed = true // the flow ends here: its handle stops working
	noteOutcome(w, OutcomeLogin)
	ra.audit(slog.LevelInfo, "rest flow completed", audit.Event{Kind: audit.RESTFlowComplete}, slog.String("flow_id", fid), slog.String("app", app.name), slog.String("sub", s.Subject))
	w.Header().Set("Access-Token", ticket)
	ra.sessions.SetCookies(w, r, ticket)
	ra.flows.clearFlowCookie(w, r)
	ra.restOK(w, "", sessionRef(s), sessionAttributes(s))
	return app, nil
}

// restExchangeError maps a code exchange failure and logs it.
func (ra *restAPI) restExchangeError(err error, fid string, app *restApp) error {
	reason, re := "token_endpoint", restExchangeFailed
	switch {
	case errors.Is(err, login.ErrNotReady):
		reason, re = "provider_not_ready", restProviderDown
	case errors.Is(err, login.ErrInvalidGrant):
		reason = "invalid_grant"
		re = restExchangeFailed.with("The authorization server did not accept the authorization code (expired or already used). Request a new authorization.")
	case errors.Is(err, login.ErrIDToken):
		reason, re = "id_token_invalid", restIDTokenInvalid
	case errors.Is(err, login.ErrUserinfo):
		reason, re = "userinfo_invalid", restUserinfoInvalid
	}
	ra.audit(slog.LevelWarn, "login failed", audit.Event{Kind: audit.LoginFailed, Channel: "rest", Reason: reason}, slog.String("flow_id", fid), slog.String("app", app.name), slog.Any("error", err))
	return re
}
