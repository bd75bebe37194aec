package proxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/session"
)

// restFlow is a login flow of the REST flow API, stored sealed in the session
// store under its handle (so any replica continues it) until it succeeds,
// is aborted, fails too often or expires. The app holds only the handle.
type restFlow struct {
	App         string `json:"a"`
	RedirectURI string `json:"r"`
	// State, Nonce and Verifier are the current authorization request's
	// secrets. They are cleared once an authorization response with this
	// state has been processed (successfully or not): the request is spent
	// and the app must request a new one.
	State    string `json:"s,omitempty"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v,omitempty"`
	// ProofKey is the thumbprint of the DPoP key the app proved possession
	// of when it started the flow; the session will be bound to it
	// (restdpop.go). "" when the app sent no proof.
	ProofKey string `json:"k,omitempty"`
	// Attempts counts the authorization responses and re-issued requests.
	Attempts  int   `json:"t"`
	Created   int64 `json:"c"`
	ExpiresAt int64 `json:"e"`
}

// spent returns f with its authorization request used up.
func (f restFlow) spent() restFlow {
	f.State, f.Nonce, f.Verifier = "", "", ""
	return f
}

// handleLen is the length of a flow handle: 256 random bits, base64url.
const handleLen = 43

func newHandle() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// isHandle reports whether s has the shape of a flow handle.
func isHandle(s string) bool {
	return len(s) == handleLen && strings.Trim(s, base64URLAlphabet) == ""
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flowSecret is the secret a flow is stored under; the prefix keeps the
// handles' key space apart from the browser flows' (keyed by their state).
func flowSecret(handle string) string { return "rest-flow:" + handle }

// flowID is a public name for a flow (data.id, logs), derived from its handle.
func flowID(handle string) string { return publicID("gatehouse rest flow id", handle) }

// sessionRef is a public name for a session (data.id), derived from its ID.
func sessionRef(s *session.Session) string { return publicID("gatehouse rest session id", s.ID) }

func publicID(label, secret string) string {
	h := sha256.Sum256([]byte(label + "\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// restFlows keeps the REST flow API's pending flows: sealed in the session
// store under their handle, presented by the app as a cookie or a bearer
// token.
type restFlows struct {
	base
	sessions    *session.Manager
	apps        map[string]*restApp
	cookie      string // the flow cookie's name
	secure      bool
	maxAttempts int
}

// takeFlow takes the flow whose handle r carries (see restFlowHandle) out of
// the store and returns the handle with it: each step of a
// flow holds it exclusively, on whichever replica, until it puts it back
// (putBack) or completes it. A concurrent step on the same flow finds no
// flow, so an authorization request is answered at most once and a taken
// flow is never resurrected by a late write. A flow past its end counts as
// gone even if the store still holds it, and so does a flow whose
// application is no longer configured.
func (rf *restFlows) takeFlow(r *http.Request) (string, *restFlow, *restApp, error) {
	handle, err := rf.restFlowHandle(r)
	if err != nil {
		return "", nil, nil, err
	}
	var f restFlow
	if err := rf.sessions.TakeFlow(r.Context(), flowSecret(handle), &f); err != nil {
		if errors.Is(err, session.ErrNotFound) {
			return "", nil, nil, restFlowExpired
		}
		return "", nil, nil, restStoreErr(err)
	}
	if rf.now().Unix() >= f.ExpiresAt {
		return "", nil, nil, restFlowExpired
	}
	app := rf.apps[f.App]
	if app == nil {
		return "", nil, nil, restFlowExpired
	}
	return handle, &f, app, nil
}

// saveFlow writes f for the rest of its lifetime.
func (rf *restFlows) saveFlow(ctx context.Context, handle string, f *restFlow) error {
	ttl := time.Unix(f.ExpiresAt, 0).Sub(rf.now())
	if ttl <= 0 {
		return restFlowExpired
	}
	if err := rf.sessions.PutFlow(ctx, flowSecret(handle), f, ttl); err != nil {
		return restStoreErr(err)
	}
	return nil
}

// putBack returns a taken flow to the store after a step that did not
// complete it.
func (rf *restFlows) putBack(ctx context.Context, handle string, f *restFlow) {
	if err := rf.saveFlow(ctx, handle, f); err != nil && err != restFlowExpired {
		rf.logger.Warn("rest flow lost: it could not be stored again", "flow_id", flowID(handle), "error", err)
	}
}

// countAttempt counts one more attempt in a taken flow, which is stored
// with it when put back: the counter lives in the flow record, so it counts
// across replicas, and since a step holds the flow exclusively no attempt
// is lost. A flow that had max_attempts already ends (it is not put back).
func (rf *restFlows) countAttempt(handle string, f *restFlow) error {
	if f.Attempts >= rf.maxAttempts {
		rf.audit(slog.LevelInfo, "rest flow ended: too many attempts", audit.Event{Kind: audit.LoginFailed, Channel: "rest", Reason: "too_many_attempts"}, slog.String("flow_id", flowID(handle)), slog.String("app", f.App))
		return restTooManyAttempts
	}
	f.Attempts++
	return nil
}

// restCredentials are what a request of the API presents: a session ticket
// (cookie, or a bearer ticket) and a flow handle (bearer, or the flow cookie).
type restCredentials struct {
	ticket       string
	handle       string
	handleCookie bool // the handle came from the flow cookie
	ticketCookie bool // the ticket came from the session cookie
	// bearer: the request has an Authorization header, which a cross-site
	// page cannot send, so no CSRF check is needed.
	bearer bool
}

// needsCSRFCheck reports whether the request acts with a cookie only.
func (c restCredentials) needsCSRFCheck() bool {
	return !c.bearer && (c.handleCookie || c.ticketCookie)
}

func (rf *restFlows) restCredentials(r *http.Request) restCredentials {
	var c restCredentials
	c.ticket = rf.sessions.TicketFromRequest(r)
	if ck, err := r.Cookie(rf.sessions.CookieName()); err == nil && ck.Value != "" && ck.Value == c.ticket {
		c.ticketCookie = true
	}
	c.bearer = bearerToken(r) != ""
	if tok := bearerToken(r); tok != "" && isHandle(tok) {
		c.handle = tok
	} else if ck, err := r.Cookie(rf.cookie); err == nil && isHandle(ck.Value) {
		c.handle, c.handleCookie = ck.Value, true
	}
	return c
}

// bearerToken returns the token of an "Authorization: Bearer" header
// (RFC 6750 §2.1), or "".
func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// sameOriginRequest is the CSRF check for requests authenticated by a
// cookie (web views): a cross-site page cannot send a JSON content type or
// a custom header without a CORS preflight, which the gateway never grants.
func sameOriginRequest(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/json") || r.Header.Get("X-Same-Domain") == "1"
}

var restCSRF = restInvalidRequest.with("A request authenticated by a cookie must send Content-Type: application/json or X-Same-Domain: 1.")

func (rf *restFlows) setFlowCookie(w http.ResponseWriter, handle string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: rf.cookie, Value: handle, Path: "/", MaxAge: int(ttl / time.Second),
		HttpOnly: true, Secure: rf.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (rf *restFlows) clearFlowCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(rf.cookie); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: rf.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: rf.secure, SameSite: http.SameSiteLaxMode,
	})
}

// pickRedirectURI returns the redirect URI a flow uses: requested when it is
// one of the app's (exactly, or a loopback URI registered without a port
// with any port, RFC 8252 §7.3), else the app's first.
func (a *restApp) pickRedirectURI(requested string) (string, error) {
	if requested == "" {
		def := a.redirectURIs[0]
		if isAnyPortLoopback(def) {
			return "", restInvalidRequest.with("This application's default redirect URI is a loopback URI without a port: send redirectUri with the port the app listens on.")
		}
		return def, nil
	}
	if slices.Contains(a.redirectURIs, requested) {
		return requested, nil
	}
	for _, allowed := range a.redirectURIs {
		if isAnyPortLoopback(allowed) && loopbackMatch(allowed, requested) {
			return requested, nil
		}
	}
	return "", restRedirectNotAllowed
}

// isAnyPortLoopback reports whether a configured redirect URI is a loopback
// http URI without a port.
func isAnyPortLoopback(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Port() != "" {
		return false
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && a.IsLoopback()
}

// loopbackMatch reports whether requested equals allowed but for a port.
func loopbackMatch(allowed, requested string) bool {
	a, err1 := url.Parse(allowed)
	r, err2 := url.Parse(requested)
	if err1 != nil || err2 != nil || strings.Contains(requested, "#") || r.User != nil {
		return false
	}
	port, err := strconv.Atoi(r.Port())
	if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != r.Port() {
		return false
	}
	return r.Scheme == "http" && r.Hostname() == a.Hostname() && r.EscapedPath() == a.EscapedPath() &&
		r.RawQuery == a.RawQuery && !r.ForceQuery
}

// responseAt reports whether the URL the app received (its redirect URI
// with the response parameters) is at redirectURI: same scheme, host, port
// and path, and the redirect URI's own query parameters kept.
func responseAt(got *url.URL, redirectURI string) bool {
	want, err := url.Parse(redirectURI)
	if err != nil {
		return false
	}
	if !strings.EqualFold(got.Scheme, want.Scheme) || !strings.EqualFold(got.Host, want.Host) ||
		got.Opaque != want.Opaque || got.EscapedPath() != want.EscapedPath() || got.User != nil {
		return false
	}
	q := got.Query()
	for k, vs := range want.Query() {
		if q.Get(k) != vs[0] {
			return false
		}
	}
	return true
}

// stripRESTCredentials removes, from a request to an upstream, a session
// ticket sent as a bearer token and the flow cookie: credentials of the
// gateway the application never needs. (stripOwnCookies removes the
// session cookie.) Other bearer tokens, such as the AS's access tokens, stay.
func (rl *relay) stripRESTCredentials(out *http.Request) {
	if tok := bearerToken(out); tok != "" && rl.sessions.IsTicket(tok) {
		out.Header.Del("Authorization")
	}
	// A ticket bound to a DPoP key, and the proof made for the gateway.
	if scheme, tok, _ := strings.Cut(out.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "DPoP") && rl.sessions.IsTicket(strings.TrimSpace(tok)) {
		out.Header.Del("Authorization")
		out.Header.Del("DPoP")
	}
	if rl.flowCookie == "" || !strings.Contains(out.Header.Get("Cookie"), rl.flowCookie) {
		return
	}
	var kept []string
	for _, c := range out.Cookies() {
		if c.Name != rl.flowCookie {
			kept = append(kept, c.Name+"="+c.Value)
		}
	}
	out.Header.Del("Cookie")
	if len(kept) > 0 {
		out.Header.Set("Cookie", strings.Join(kept, "; "))
	}
}
