package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/session"
)

// The REST flow API lets mobile and desktop apps log in (RFC 8252): the app
// starts a flow, gets the authorization request the gateway built (state,
// nonce and PKCE verifier stay on the gateway), opens the system browser at
// the AS, posts the authorization response back, and receives a gateway
// session token, never a token of the AS. docs/rest-flow-api.md is the
// reference. restflow_response.go holds the authorization response step,
// restflow_session.go abort, logout and the session endpoint, restflow_flow.go
// the flow record and restflow_wire.go the documents.

// RESTOptions configures the REST flow API. The zero value is disabled.
type RESTOptions struct {
	// Enabled serves the API under BasePath.
	Enabled bool
	// BasePath is the API's path prefix, without trailing slash (default "/auth/rest").
	BasePath string
	// FlowTTL bounds a flow from its start (default 10m).
	FlowTTL time.Duration
	// MaxAttempts bounds the authorization responses and re-issued requests
	// of one flow (default 5).
	MaxAttempts int
	// DefaultApplication names the application of the default-application
	// endpoint (default: the first).
	DefaultApplication string
	// Applications are the apps that may log in; at least one.
	Applications []RESTApplication
}

// RESTApplication is an app that logs in for the Route of the same name.
type RESTApplication struct {
	// Name is a Route's Name.
	Name string
	// RedirectURIs are the app's redirect URIs, the first being the default.
	// A loopback http URI without a port accepts any port (RFC 8252 §7.3).
	RedirectURIs []string
	// ClientID and ClientSecret are the client the gateway uses at the AS for
	// this app (an empty secret: a public client). An empty ClientID means
	// Options.Login's own client.
	ClientID     string
	ClientSecret string
}

// restAPI is the REST flow API's state, built once by New.
type restAPI struct {
	base
	basePath    string
	ttl         time.Duration
	maxAttempts int
	apps        map[string]*restApp
	def         *restApp
	// clientsByID are the per-application clients by client ID, to refresh
	// and revoke a session's tokens with the client they were issued to.
	clientsByID map[string]*login.Client
	flowCookie  string
	publicURL   string
	// endpoints knows the API's paths regardless of method (405 vs 404).
	endpoints *http.ServeMux

	sessions *session.Manager
	claims   identity.Mapping
	gate     *gate
	sso      *sso
	limit    *flowGuard
	clients  *clientSet
	flows    *restFlows
}

type restApp struct {
	name         string
	redirectURIs []string
	login        *login.Client
	// clientID is the session's client ID, "" for Options.Login's client.
	clientID string
}

// newRESTAPI checks the REST options and builds the API's state; nil when
// the API is disabled. New wires in the parts it shares with the rest of
// the gateway.
func newRESTAPI(o RESTOptions, routes []Route, lc *login.Client, publicURL *url.URL, secure bool) (*restAPI, error) {
	if !o.Enabled {
		return nil, nil
	}
	if o.BasePath == "" {
		o.BasePath = "/auth/rest"
	}
	if !strings.HasPrefix(o.BasePath, "/") || strings.HasSuffix(o.BasePath, "/") {
		return nil, fmt.Errorf("proxy: REST base path %q must start with / and not end with /", o.BasePath)
	}
	if o.FlowTTL <= 0 {
		o.FlowTTL = 10 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if len(o.Applications) == 0 {
		return nil, errors.New("proxy: the REST API needs at least one application")
	}
	names := map[string]bool{}
	for _, rt := range routes {
		names[rt.Name] = true
	}
	ra := &restAPI{
		basePath: o.BasePath, ttl: o.FlowTTL, maxAttempts: o.MaxAttempts,
		apps: map[string]*restApp{}, clientsByID: map[string]*login.Client{},
		flowCookie: "gatehouse_flow", publicURL: strings.TrimSuffix(publicURL.String(), "/"),
	}
	if secure {
		ra.flowCookie = "__Host-" + ra.flowCookie
	}
	for _, a := range o.Applications {
		switch {
		case !names[a.Name]:
			return nil, fmt.Errorf("proxy: REST application %q is not the name of a route", a.Name)
		case ra.apps[a.Name] != nil:
			return nil, fmt.Errorf("proxy: REST application %q is listed twice", a.Name)
		case len(a.RedirectURIs) == 0:
			return nil, fmt.Errorf("proxy: REST application %q has no redirect URI", a.Name)
		}
		app := &restApp{name: a.Name, redirectURIs: a.RedirectURIs, login: lc}
		if a.ClientID != "" && a.ClientID != lc.ClientID() {
			ac := ra.clientsByID[a.ClientID]
			if ac == nil {
				ac = lc.ForClient(a.ClientID, a.ClientSecret)
				ra.clientsByID[a.ClientID] = ac
			}
			app.login, app.clientID = ac, a.ClientID
		}
		ra.apps[a.Name] = app
		if ra.def == nil || a.Name == o.DefaultApplication {
			ra.def = app
		}
	}
	if o.DefaultApplication != "" && ra.def.name != o.DefaultApplication {
		return nil, fmt.Errorf("proxy: the default REST application %q is not an application", o.DefaultApplication)
	}
	return ra, nil
}

// restRoutes registers the API's endpoints; the whole base path is reserved
// for them, like /oauth2/.
func (ra *restAPI) restRoutes(mux *http.ServeMux) {
	if ra == nil {
		return
	}
	b := ra.basePath
	auth := b + "/public/authentication"
	ra.endpoints = http.NewServeMux()
	for _, e := range []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{"POST", auth + "/applications/{name}/access/", ra.handleRESTAccess},
		{"POST", auth + "/default-application/access/", ra.handleRESTAccess},
		{"POST", auth + "/oauth2-client/authorization-request/", ra.handleRESTAuthorizationRequest},
		{"POST", auth + "/oauth2-client/authorization-response/", ra.handleRESTAuthorizationResponse},
		{"POST", auth + "/abort/", ra.handleRESTAbort},
		{"POST", auth + "/logout/", ra.handleRESTLogout},
		{"GET", b + "/protected/session/", ra.handleRESTSession},
	} {
		for _, p := range []string{e.path + "{$}", strings.TrimSuffix(e.path, "/")} {
			mux.HandleFunc(e.method+" "+p, e.h)
			ra.endpoints.Handle(p, allowedMethod(e.method))
		}
	}
	mux.HandleFunc(b+"/", ra.handleRESTUnknown)
}

// allowedMethod marks an endpoint's path with its method in restAPI.endpoints.
type allowedMethod string

func (allowedMethod) ServeHTTP(http.ResponseWriter, *http.Request) {}

func (ra *restAPI) handleRESTUnknown(w http.ResponseWriter, r *http.Request) {
	if h, pattern := ra.endpoints.Handler(r); pattern != "" {
		if m, ok := h.(allowedMethod); ok {
			w.Header().Set("Allow", string(m))
		}
		ra.restFail(w, r, nil, restMethodNotAllowed)
		return
	}
	ra.restFail(w, r, nil, restNotFound)
}

// startURL is the start endpoint of app (nil: the default application).
func (ra *restAPI) startURL(app *restApp) string {
	if ra == nil {
		return ""
	}
	if app == nil {
		app = ra.def
	}
	return ra.publicURL + ra.basePath + "/public/authentication/applications/" + url.PathEscape(app.name) + "/access/"
}

// restUnauthorized answers an API client without a session on a protected
// route: 401 NOT_AUTHORIZED, meta.nextAuthStep and a link to the start
// endpoint of the route's application (or the default one).
func (ra *restAPI) restUnauthorized(w http.ResponseWriter, r *http.Request) {
	var app *restApp
	if route := ra.gate.routeOf(r); route != nil {
		app = ra.apps[route.Name]
	}
	ra.restFail(w, r, app, restNotAuthorized)
}

var restAlreadyAuthenticated = &restError{Status: http.StatusConflict, Code: "FLOW_STEP_MISMATCH",
	Detail: "The request carries a session token, not a flow handle: the app is already authenticated."}

// restFlowHandle returns the flow handle the request presents.
func (rf *restFlows) restFlowHandle(r *http.Request) (string, error) {
	c := rf.restCredentials(r)
	switch {
	case c.handle == "" && c.ticket != "":
		return "", restAlreadyAuthenticated
	case c.handle == "":
		return "", restStepMismatch
	case c.needsCSRFCheck() && !sameOriginRequest(r):
		return "", restCSRF
	}
	return c.handle, nil
}

// restSessionErr maps a failure to load the current session.
func restSessionErr(err error) error {
	switch {
	case errors.Is(err, errDPoPProof):
		return restDPoPRequired
	case errors.Is(err, session.ErrNotFound) || errors.Is(err, errSessionEnded):
		return restNotAuthorized
	case errors.Is(err, session.ErrUnavailable) || errors.Is(err, errStoreDown):
		return restStoreDown
	case errors.Is(err, errProviderDown) || errors.Is(err, errProviderFailed) || errors.Is(err, errRefreshUnavailable):
		return restProviderDown
	}
	return err
}

type redirectURIBody struct {
	RedirectURI string `json:"redirectUri"`
}

// handleRESTAccess starts a flow for an application:
// POST {base}/public/authentication/applications/{name}/access/ and
// POST {base}/public/authentication/default-application/access/.
func (ra *restAPI) handleRESTAccess(w http.ResponseWriter, r *http.Request) {
	app := ra.def
	if name := r.PathValue("name"); name != "" {
		if app = ra.apps[name]; app == nil {
			ra.restFail(w, r, nil, restAppUnknown)
			return
		}
	}
	if err := ra.restStart(w, r, app); err != nil {
		ra.restFail(w, r, app, err)
	}
}

func (ra *restAPI) restStart(w http.ResponseWriter, r *http.Request, app *restApp) error {
	ctx := r.Context()
	c := ra.flows.restCredentials(r)
	if c.ticket != "" {
		s, err := ra.gate.currentSession(r)
		if err == nil {
			ra.restOK(w, "", sessionRef(s), nil)
			return nil
		}
		if err := restSessionErr(err); err != restNotAuthorized {
			return err
		}
	}
	var body redirectURIBody
	if err := restDecode(w, r, &body); err != nil {
		return err
	}
	uri, err := app.pickRedirectURI(body.RedirectURI)
	if err != nil {
		return err
	}
	if c.handle != "" { // a new flow replaces the app's previous one
		if err := ra.sessions.DeleteFlow(ctx, flowSecret(c.handle)); err != nil {
			return restStoreErr(err)
		}
	}
	if err := ra.limit.admitFlow(r); err != nil {
		var pe *httpError
		if errors.As(err, &pe) {
			return restTooManyFlows.after(pe.RetryAfter)
		}
		return err
	}
	handle, err := newHandle()
	if err != nil {
		return err
	}
	now := ra.now()
	f := &restFlow{App: app.name, RedirectURI: uri, Created: now.Unix(), ExpiresAt: now.Add(ra.ttl).Unix()}
	if r.Header.Get("DPoP") != "" { // the app registers its key: the session will be bound to it
		if f.ProofKey, err = ra.gate.proofs.verify(r, ""); err != nil {
			return restDPoPRefused
		}
	}
	req, err := ra.newRESTRequest(ctx, app, f)
	if err != nil {
		return err
	}
	if err := ra.flows.saveFlow(ctx, handle, f); err != nil {
		return err
	}
	ra.audit(slog.LevelInfo, "rest flow started", audit.Event{Kind: audit.RESTFlowStart}, slog.String("flow_id", flowID(handle)), slog.String("app", app.name))
	ra.restAuthorizationRequired(w, handle, f, req, app)
	return nil
}

// newRESTRequest creates a fresh authorization request (state, nonce, PKCE)
// for f's redirect URI and keeps its secrets in f.
func (ra *restAPI) newRESTRequest(ctx context.Context, app *restApp, f *restFlow) (*login.Request, error) {
	req, err := app.login.NewRequestPrompt(ctx, f.RedirectURI, "")
	if err != nil {
		if errors.Is(err, login.ErrNotReady) || errors.Is(err, login.ErrPushedRequest) {
			if errors.Is(err, login.ErrPushedRequest) {
				ra.logger.Warn("pushed authorization request failed", "app", app.name, "error", err)
			}
			return nil, restProviderDown
		}
		return nil, err
	}
	if req.Verifier == "" || req.PKCEMethod != login.PKCES256 {
		// The app relays the request through a browser it does not control:
		// PKCE S256 is not optional here, whatever the AS or configuration allow.
		return nil, errors.New("proxy: the REST flow API requires PKCE S256, which the provider configuration does not use")
	}
	f.State, f.Nonce, f.Verifier = req.State, req.Nonce, req.Verifier
	return req, nil
}

// restStepAttributes are the attributes of an OAUTH2_CLIENT_AUTHORIZATION_REQUIRED step.
type restStepAttributes struct {
	NextAuthStep string           `json:"nextAuthStep"`
	Application  string           `json:"application"`
	OAuth2Client restOAuth2Client `json:"oauth2Client"`
}

type restOAuth2Client struct {
	AuthorizationRequestURL string            `json:"authorizationRequestUrl"`
	AuthorizationEndpoint   string            `json:"authorizationEndpoint"`
	Issuer                  string            `json:"issuer"`
	AuthorizationRequest    map[string]string `json:"authorizationRequest"`
	RedirectURI             string            `json:"redirectUri"`
	ExpiresAt               string            `json:"expiresAt"`
}

// restAuthorizationRequired answers with the authorization request the app
// opens in the system browser, and the flow handle in Access-Token (and a
// cookie, for web views).
func (ra *restAPI) restAuthorizationRequired(w http.ResponseWriter, handle string, f *restFlow, req *login.Request, app *restApp) {
	params := make(map[string]string, len(req.Params))
	for k := range req.Params {
		params[k] = req.Params.Get(k)
	}
	expires := time.Unix(f.ExpiresAt, 0)
	w.Header().Set("Access-Token", handle)
	ra.flows.setFlowCookie(w, handle, expires.Sub(ra.now()))
	ra.restOK(w, stepOAuth2Client, flowID(handle), restStepAttributes{
		NextAuthStep: stepOAuth2Client,
		Application:  app.name,
		OAuth2Client: restOAuth2Client{
			AuthorizationRequestURL: req.URL,
			AuthorizationEndpoint:   req.Endpoint,
			Issuer:                  app.login.Issuer(),
			AuthorizationRequest:    params,
			RedirectURI:             f.RedirectURI,
			ExpiresAt:               restTime(expires),
		},
	})
}

// handleRESTAuthorizationRequest issues a fresh authorization request (new
// state, nonce and verifier) for the current flow; the previous one stops
// being accepted: POST {base}/public/authentication/oauth2-client/authorization-request/.
func (ra *restAPI) handleRESTAuthorizationRequest(w http.ResponseWriter, r *http.Request) {
	if app, err := ra.restReissue(w, r); err != nil {
		ra.restFail(w, r, app, err)
	}
}

func (ra *restAPI) restReissue(w http.ResponseWriter, r *http.Request) (*restApp, error) {
	ctx := r.Context()
	handle, f, app, err := ra.flows.takeFlow(r)
	if err != nil {
		return nil, err
	}
	if err := ra.flows.countAttempt(handle, f); err != nil {
		return app, err
	}
	// The attempt counts even when the request fails below.
	kept := *f
	var body redirectURIBody
	if err := restDecode(w, r, &body); err != nil {
		ra.flows.putBack(ctx, handle, &kept)
		return app, err
	}
	if body.RedirectURI != "" {
		if f.RedirectURI, err = app.pickRedirectURI(body.RedirectURI); err != nil {
			ra.flows.putBack(ctx, handle, &kept)
			return app, err
		}
	}
	req, err := ra.newRESTRequest(ctx, app, f)
	if err != nil {
		ra.flows.putBack(ctx, handle, &kept)
		return app, err
	}
	if err := ra.flows.saveFlow(ctx, handle, f); err != nil {
		return app, err
	}
	ra.audit(slog.LevelInfo, "rest authorization request re-issued", audit.Event{Kind: audit.RESTFlowReissue}, slog.String("flow_id", flowID(handle)), slog.String("app", app.name), slog.Int("attempts", f.Attempts))
	ra.restAuthorizationRequired(w, handle, f, req, app)
	return app, nil
}
