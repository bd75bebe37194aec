package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

// The REST flow API's documents follow Airlock IAM's Loginapp REST API, a
// JSON:API dialect: every response is a document with meta (type, timestamp,
// and the next authentication step when there is one), and data (a resource
// of type "authentication.session") or errors. docs/rest-flow-api.md is the
// reference.

// Next authentication steps (meta.nextAuthStep, data.attributes.nextAuthStep).
const (
	// stepAuthentication: no flow is in progress; start one (links.start).
	stepAuthentication = "AUTHENTICATION_REQUIRED"
	// stepOAuth2Client: open the system browser at the authorization request
	// and post the authorization response back.
	stepOAuth2Client = "OAUTH2_CLIENT_AUTHORIZATION_REQUIRED"
)

const (
	restMetaType     = "jsonapi.metadata.document"
	restResourceType = "authentication.session"
	restTimeFormat   = "2006-01-02T15:04:05.000Z07:00"
	// restMaxBody bounds a request body; an authorization response URL is well below.
	restMaxBody = 16 << 10
)

type restDoc struct {
	Meta   restMeta          `json:"meta"`
	Data   *restData         `json:"data,omitempty"`
	Errors []restErrorObject `json:"errors,omitempty"`
	Links  map[string]string `json:"links,omitempty"`
}

type restMeta struct {
	Type         string `json:"type"`
	Timestamp    string `json:"timestamp"`
	NextAuthStep string `json:"nextAuthStep,omitempty"`
}

type restData struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes any    `json:"attributes"`
}

type restErrorObject struct {
	// ID names this occurrence in the gateway's log.
	ID     string `json:"id"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// restError is an error of the REST flow API as the app sees it. Detail is
// written for people and never carries a token, a code or an internal error.
type restError struct {
	Status int
	Code   string
	Detail string
	// Next is meta.nextAuthStep: what the app does now ("" when nothing helps).
	Next string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
}

func (e *restError) Error() string { return e.Code }

// with returns a copy of e with another detail.
func (e *restError) with(detail string) *restError {
	c := *e
	c.Detail = detail
	return &c
}

// after returns a copy of e that asks the app to retry after d.
func (e *restError) after(d time.Duration) *restError {
	c := *e
	c.RetryAfter = d
	return &c
}

// withNext returns a copy of e with another next step and detail.
func (e *restError) withNext(next, detail string) *restError {
	c := *e
	c.Next, c.Detail = next, detail
	return &c
}

var (
	restInvalidRequest = &restError{Status: http.StatusBadRequest, Code: "INVALID_REQUEST",
		Detail: "The request is malformed."}
	restRedirectNotAllowed = &restError{Status: http.StatusBadRequest, Code: "REDIRECT_URI_NOT_ALLOWED",
		Detail: "The redirect URI is not one of this application's."}
	restRedirectMismatch = &restError{Status: http.StatusBadRequest, Code: "REDIRECT_URI_MISMATCH",
		Detail: "The authorization response was not sent to this flow's redirect URI.", Next: stepOAuth2Client}
	restStateMismatch = &restError{Status: http.StatusBadRequest, Code: "OAUTH2_STATE_MISMATCH",
		Detail: "The authorization response does not belong to this flow's current authorization request.", Next: stepOAuth2Client}
	restIssuerMismatch = &restError{Status: http.StatusBadRequest, Code: "OAUTH2_ISSUER_MISMATCH",
		Detail: "The authorization response did not come from the expected authorization server. Request a new authorization.", Next: stepOAuth2Client}
	restDPoPRefused = &restError{Status: http.StatusBadRequest, Code: "INVALID_DPOP_PROOF",
		Detail: "The DPoP proof is invalid: it must be a dpop+jwt signed by the embedded public key, for this request's method and URL, issued within the last minute, with a jti never used before."}
	restDPoPRequired = &restError{Status: http.StatusUnauthorized, Code: "INVALID_DPOP_PROOF",
		Detail: errDPoPProof.Detail}
	restNotAuthorized = &restError{Status: http.StatusUnauthorized, Code: "NOT_AUTHORIZED",
		Detail: "This resource requires a session. Start an authentication flow.", Next: stepAuthentication}
	restDenied = &restError{Status: http.StatusUnauthorized, Code: "OAUTH2_AUTHORIZATION_DENIED",
		Detail: "The authorization server did not grant access (the user may have declined). Request a new authorization to try again.", Next: stepOAuth2Client}
	restIDTokenInvalid = &restError{Status: http.StatusUnauthorized, Code: "OAUTH2_ID_TOKEN_INVALID",
		Detail: "The identity the authorization server returned could not be verified.", Next: stepOAuth2Client}
	restUserinfoInvalid = &restError{Status: http.StatusUnauthorized, Code: "OAUTH2_USERINFO_INVALID",
		Detail: "The user information the authorization server returned does not match the login.", Next: stepOAuth2Client}
	restForbidden = &restError{Status: http.StatusForbidden, Code: "ACCESS_DENIED",
		Detail: "The user signed in, but the authorization rules do not allow this account to use the applications behind this gateway."}
	restAppUnknown = &restError{Status: http.StatusNotFound, Code: "APPLICATION_UNKNOWN",
		Detail: "No application of this name accepts logins through this API."}
	restNotFound = &restError{Status: http.StatusNotFound, Code: "NOT_FOUND",
		Detail: "No endpoint of the REST flow API has this path."}
	restMethodNotAllowed = &restError{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
		Detail: "This endpoint does not accept this method."}
	restStepMismatch = &restError{Status: http.StatusConflict, Code: "FLOW_STEP_MISMATCH",
		Detail: "No authentication flow is in progress. Start one.", Next: stepAuthentication}
	restFlowExpired = &restError{Status: http.StatusGone, Code: "FLOW_EXPIRED",
		Detail: "This authentication flow has expired, ended or never existed. Start a new one.", Next: stepAuthentication}
	restTooManyAttempts = &restError{Status: http.StatusTooManyRequests, Code: "TOO_MANY_ATTEMPTS",
		Detail: "This authentication flow had too many attempts and has ended. Start a new one.", Next: stepAuthentication}
	restTooManyFlows = &restError{Status: http.StatusTooManyRequests, Code: "TOO_MANY_FLOWS",
		Detail: "Too many authentication flows were started from this network. Retry after the time in Retry-After.", Next: stepAuthentication}
	restExchangeFailed = &restError{Status: http.StatusBadGateway, Code: "OAUTH2_TOKEN_EXCHANGE_FAILED",
		Detail: "The authorization server did not answer the code exchange as expected. Request a new authorization.", Next: stepOAuth2Client}
	restProviderDown = &restError{Status: http.StatusServiceUnavailable, Code: "PROVIDER_UNAVAILABLE",
		Detail: "The authorization server is not available. Please try again in a moment."}
	restStoreDown = &restError{Status: http.StatusServiceUnavailable, Code: "SESSION_STORE_UNAVAILABLE",
		Detail: "The session store cannot be reached. Please try again in a moment."}
	restTimeout = &restError{Status: http.StatusGatewayTimeout, Code: "TIMEOUT",
		Detail: "A service the gateway depends on took too long to answer."}
	restInternal = &restError{Status: http.StatusInternalServerError, Code: "INTERNAL_ERROR",
		Detail: "The gateway could not complete the request. Please try again."}
)

// restStoreErr maps a session store failure: unreachable is 503, never "log in again".
func restStoreErr(err error) error {
	if errors.Is(err, session.ErrUnavailable) {
		return restStoreDown
	}
	return err
}

// restHeaders sets what every response of the API carries.
func restHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (ra *restAPI) restMeta(next string) restMeta {
	return restMeta{Type: restMetaType, Timestamp: ra.now().UTC().Format(restTimeFormat), NextAuthStep: next}
}

// restWrite sends a document with status.
func (ra *restAPI) restWrite(w http.ResponseWriter, status int, doc *restDoc) {
	restHeaders(w)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // URLs keep their "&"; the media type is JSON, never sniffed
	_ = enc.Encode(doc)
}

// restOK answers 200 with data of type authentication.session.
func (ra *restAPI) restOK(w http.ResponseWriter, next, id string, attrs any) {
	if attrs == nil {
		attrs = struct{}{}
	}
	ra.restWrite(w, http.StatusOK, &restDoc{Meta: ra.restMeta(next), Data: &restData{Type: restResourceType, ID: id, Attributes: attrs}})
}

// restFail answers with err as an error document and logs server-side
// failures once, with the error ID the app sees. app names the application
// whose start endpoint the document links to (nil: the default one).
func (ra *restAPI) restFail(w http.ResponseWriter, r *http.Request, app *restApp, err error) {
	re, ok := errors.AsType[*restError](err)
	if !ok {
		he := classify(r, err)
		if he == errClientGone {
			w.WriteHeader(499) // client closed request; nothing to send or log
			return
		}
		re = restErrorOf(he)
	}
	id := restErrorID()
	if re.Status >= 500 {
		ra.logger.Error("rest flow request failed", "path", r.URL.Path, "code", re.Code, "error_id", id, "error", err)
	} else {
		ra.logger.Debug("rest flow request refused", "path", r.URL.Path, "code", re.Code, "error_id", id)
	}
	doc := &restDoc{Meta: ra.restMeta(re.Next), Errors: []restErrorObject{{ID: id, Status: re.Status, Code: re.Code, Detail: re.Detail}}}
	if re.Next == stepAuthentication {
		if u := ra.startURL(app); u != "" {
			doc.Links = map[string]string{"start": u}
		}
	}
	switch {
	case re == restDPoPRequired:
		w.Header().Set("WWW-Authenticate", errDPoPProof.Challenge)
	case re.Status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if re.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((re.RetryAfter+time.Second-1)/time.Second), 10))
	}
	ra.restWrite(w, re.Status, doc)
}

// restErrorOf renders classify's answer in the API's dialect: its own code
// for the answers it names, else the status and detail with the API's
// generic code for the status class.
func restErrorOf(he *httpError) *restError {
	switch he {
	case errStoreDown:
		return restStoreDown
	case errTimeout:
		return restTimeout
	case errProviderDown:
		return restProviderDown
	case errInternal:
		return restInternal
	}
	if he.Status >= 500 {
		return &restError{Status: he.Status, Code: restInternal.Code, Detail: he.Detail, RetryAfter: he.RetryAfter}
	}
	return &restError{Status: he.Status, Code: restInvalidRequest.Code, Detail: he.Detail, RetryAfter: he.RetryAfter}
}

func restErrorID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// restDecode reads the optional JSON body of r into v. An empty body leaves v
// as it is. Unknown fields, trailing data and other media types are refused.
func restDecode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, restMaxBody))
	if err != nil {
		switch pe := clientFault(r, err); {
		case pe == errClientGone:
			return context.Canceled // restFail: 499
		case pe != nil: // too large (413), too slow (408), malformed (400)
			re := restInvalidRequest.with(pe.Detail)
			re.Status = pe.Status
			return re
		}
		return restInvalidRequest.with("The request body could not be read.")
	}
	if len(body) == 0 {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return restInvalidRequest.with("The request body must be JSON, sent with Content-Type: application/json.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute) && ute.Field != "":
			return restInvalidRequest.with("The field " + ute.Field + " has the wrong type; it must be a string.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.TrimPrefix(err.Error(), "json: unknown field ")
			if len(field) > 66 {
				field = "a field"
			}
			return restInvalidRequest.with("The request body has " + field + ", a field this endpoint does not know.")
		default:
			return restInvalidRequest.with("The request body is not a JSON object.")
		}
	}
	if dec.More() {
		return restInvalidRequest.with("The request body must hold exactly one JSON object.")
	}
	return nil
}

// restTime formats t for the API (RFC 3339, UTC).
func restTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
