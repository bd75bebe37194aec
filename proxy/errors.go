package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/ui"
	"github.com/gatehouse-dev/gatehouse/session"
)

// httpError is what a client is told, whatever the form it is rendered in:
// an HTML page or a JSON body (fail), a REST flow API document (restFail),
// an OAuth error object (back-channel logout). classify makes one from any
// error. Detail is written for people and never carries an internal error
// string, a token or a code; Err, which does, is only logged.
type httpError struct {
	Status int
	Code   string // stable, machine-readable
	Title  string
	Detail string
	// Retry, when set, is a link offered to start over ("Start again").
	Retry string
	// SignIn, when set, is the /oauth2/start of the 401 page's "Sign in"
	// button, whose login returns to SignInRD, the page asked for.
	SignIn   string
	SignInRD string
	// User, when set, is who is signed in (a 403's e-mail address or
	// subject); the page then offers sign-out and SwitchAccount.
	User string
	// SwitchAccount, when set, starts a login with prompt=select_account
	// that returns to the page asked for ("Use another account").
	SwitchAccount string
	// Challenge, when set, is the WWW-Authenticate header (RFC 6750 §3);
	// a 401 without one gets `Bearer realm="gatehouse"`.
	Challenge string
	// RetryAfter, when positive, is sent as Retry-After in whole seconds
	// (RFC 9110 §10.2.3), rounded up.
	RetryAfter time.Duration
	// Err, when set, is the error this answer classifies (for the log).
	Err error
}

func (e *httpError) Error() string { return e.Code }

// Unwrap returns the classified error, if any.
func (e *httpError) Unwrap() error { return e.Err }

// errTimeout: a dependency (AS, store) did not answer in time.
var errTimeout = &httpError{Status: http.StatusGatewayTimeout, Code: "timeout", Title: "Timed out", Detail: "A service the gateway depends on took too long to answer."}

// classify is the one mapping from an error to what the client is told:
// an *httpError anywhere in err's chain as it is; the client's own faults
// (clientFault: 499, 400, 408, 413); the session store unreachable (503);
// a timeout (504); anything else 500. The renderers (fail, restFail, the
// back-channel logout's OAuth errors) differ only in form.
func classify(r *http.Request, err error) *httpError {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he
	case clientFault(r, err) != nil:
		return clientFault(r, err)
	case errors.Is(err, session.ErrUnavailable):
		return errStoreDown
	case errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	}
	return errInternal
}

var (
	errNotFound       = &httpError{Status: http.StatusNotFound, Code: "not_found", Title: "Not found", Detail: "No application is served at this address."}
	errUnauthorized   = &httpError{Status: http.StatusUnauthorized, Code: "unauthorized", Title: "Sign-in required", Detail: "This resource requires a session. Sign in first."}
	errStoreDown      = &httpError{Status: http.StatusServiceUnavailable, Code: "session_store_unavailable", Title: "Temporarily unavailable", Detail: "The session store cannot be reached. Please try again in a moment."}
	errProviderDown   = &httpError{Status: http.StatusServiceUnavailable, Code: "provider_unavailable", Title: "Temporarily unavailable", Detail: "The sign-in service is not available yet. Please try again in a moment."}
	errProviderFailed = &httpError{Status: http.StatusBadGateway, Code: "provider_error", Title: "Sign-in service error", Detail: "The sign-in service did not answer as expected. Please try again.", Retry: startPath}
	errInternal       = &httpError{Status: http.StatusInternalServerError, Code: "internal_error", Title: "Something went wrong", Detail: "The gateway could not complete the request. Please try again."}
)

// providerRetryAfter is the Retry-After of answers that say the sign-in
// service is temporarily unavailable.
const providerRetryAfter = 10 * time.Second

// wantsHTML reports whether r comes from a browser navigation rather than an
// API client: a GET or HEAD that accepts text/html and is not an XHR.
func wantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// base is what every handler type has: a logger, a clock, the pages, and
// the one place that renders errors (fail, failAs, failErr).
type base struct {
	logger *slog.Logger
	events EventObserver // nil: audit events are only logged
	now    func() time.Time
	tracer trace.Tracer // nil: tracing is off (tracing.go)
	pages  *ui.Pages
}

// fail answers with e as an HTML page for browsers or JSON for API clients.
func (g *base) fail(w http.ResponseWriter, r *http.Request, e *httpError) {
	g.failAs(w, r, e, wantsHTML(r))
}

// failAs answers with e as an HTML page when html is set, else as JSON.
func (g *base) failAs(w http.ResponseWriter, r *http.Request, e *httpError, html bool) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	switch {
	case e.Challenge != "":
		h.Set("WWW-Authenticate", e.Challenge)
	case e.Status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	if !html {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": e.Code, "message": e.Detail, "status": e.Status})
		return
	}
	if e == errUnauthorized { // a browser that can sign in: the button returns here
		e = e.with(func(c *httpError) { c.SignIn, c.SignInRD = startPath, r.URL.RequestURI() })
	}
	h.Set("Content-Security-Policy", g.pages.CSP(""))
	page := ui.Error
	if e.Status == http.StatusUnauthorized && e.SignIn != "" {
		page = ui.SignIn
	}
	g.pages.Render(w, r, e.Status, page, &ui.Data{
		Status: e.Status, Code: e.Code, Title: e.Title, Detail: e.Detail,
		Retry: e.Retry, SignIn: e.SignIn, RD: e.SignInRD, User: e.User, SwitchAccount: e.SwitchAccount, SignOut: signOutAction(e),
	})
}

// with returns a copy of e changed by f (the package's errors are shared).
func (e *httpError) with(f func(*httpError)) *httpError {
	c := *e
	f(&c)
	return &c
}

// signOutAction is the sign-out form of a page that names the signed-in
// user: a POST to the gateway's sign-out on the page's own origin, which
// the cross-origin check of handleSignOut accepts.
func signOutAction(e *httpError) string {
	if e.User == "" {
		return ""
	}
	return signOutPath
}

// Paths of the gateway's login and sign-out.
const (
	startPath   = "/oauth2/start"
	signOutPath = "/oauth2/sign_out"
)

// startURL returns the path that starts a login returning to returnTo
// (validated by /oauth2/start), with prompt (OpenID Connect Core §3.1.2.1)
// when set.
func startURL(returnTo, prompt string) string {
	q := url.Values{}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	if returnTo != "" && returnTo != "/" {
		q.Set("rd", returnTo)
	}
	if len(q) == 0 {
		return startPath
	}
	return startPath + "?" + q.Encode()
}

// failErr maps an error from a handler to a page and logs it once.
func (g *base) failErr(w http.ResponseWriter, r *http.Request, err error) {
	g.failClassified(w, r, err, classify(r, err))
}

// failClassified answers with pe, the page of err, and logs err once.
func (g *base) failClassified(w http.ResponseWriter, r *http.Request, err error, pe *httpError) {
	switch {
	case pe == errClientGone:
		w.WriteHeader(499) // client closed request; nothing to render or log
		return
	case isClientFault(pe):
		g.logger.Debug("request refused: client fault", "path", r.URL.Path, "code", pe.Code, "error", err)
	}
	if pe.Status >= 500 {
		g.logger.Error("request failed", "path", r.URL.Path, "code", pe.Code, "error", err)
	}
	g.fail(w, r, pe)
}
