package proxy

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// With the cookie store (session.Flows.FlowsInCookies) a pending login is
// not kept in a store but in a sealed cookie of the browser, one per login
// (so that several tabs can log in at once), named after a digest of its
// state, scoped to the callback's path and expiring with the flow. Any
// replica can then finish a login another one started, without Redis.

// flowCookieInfix follows the binding cookie's name in a flow cookie's:
// "<binding>_f_<digest of the state>" (upstreamcookies.go keeps it from
// upstreams).
const flowCookieInfix = "_f_"

// flowCookieName returns the name of the cookie of the flow with state. On
// https it has the "__Secure-" prefix: "__Host-" (the binding cookie's)
// requires Path=/, and a flow cookie is scoped to the callback.
func (so *sso) flowCookieName(state string) string {
	h := sha256.Sum256([]byte("gatehouse flow cookie\x00" + state))
	name := strings.TrimPrefix(so.bindingName, "__Host-") + flowCookieInfix + base64.RawURLEncoding.EncodeToString(h[:9])
	if so.secure {
		name = "__Secure-" + name
	}
	return name
}

func (so *sso) flowCookie(state, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: so.flowCookieName(state), Value: value, Path: "/oauth2/callback", MaxAge: maxAge,
		HttpOnly: true, Secure: so.secure, SameSite: http.SameSiteLaxMode}
}

// setFlowCookie seals flow into its cookie on the response.
func (so *sso) setFlowCookie(w http.ResponseWriter, state string, flow pendingFlow) error {
	v, err := so.sessions.SealFlow(state, flow, so.flowTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, so.flowCookie(state, v, int(so.flowTTL/time.Second)))
	return nil
}

// takeFlow loads the pending login of state into flow, once: from the
// store, or from its cookie (which it expires) with the cookie store.
func (so *sso) takeFlow(w http.ResponseWriter, r *http.Request, state string, flow *pendingFlow) error {
	if !so.sessions.FlowsInCookies() {
		return so.sessions.TakeFlow(r.Context(), state, flow)
	}
	c, err := r.Cookie(so.flowCookieName(state))
	value := ""
	if err == nil {
		value = c.Value
		http.SetCookie(w, so.flowCookie(state, "", -1))
	}
	return so.sessions.OpenFlow(r.Context(), state, value, flow)
}
