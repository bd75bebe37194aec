package proxy

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// dropOwnSetCookies is the ModifyResponse step of every proxied response:
// it removes each Set-Cookie of the upstream that names one of the
// gateway's own cookies (ownCookieName), so that a compromised or buggy
// application cannot plant a session or binding cookie in the browser
// (session fixation) or delete the user's. The first time a route does so,
// a warning is logged. A response without Set-Cookie costs one map lookup.
func (rl *relay) dropOwnSetCookies(resp *http.Response, route *upstream.Route) error {
	vals := resp.Header["Set-Cookie"]
	if len(vals) == 0 {
		return nil
	}
	kept := vals[:0:0]
	dropped := 0
	for _, v := range vals {
		name, _, _ := strings.Cut(v, "=")
		if rl.ownCookieName(name) {
			dropped++
			continue
		}
		kept = append(kept, v)
	}
	if dropped == 0 {
		return nil
	}
	if len(kept) == 0 {
		delete(resp.Header, "Set-Cookie")
	} else {
		resp.Header["Set-Cookie"] = kept
	}
	if _, warned := rl.setCookieWarned.LoadOrStore(route.Name, true); !warned {
		rl.audit(slog.LevelWarn, "the upstream set one of the gateway's cookies; dropped (logged once per route)",
			audit.Event{Kind: audit.UpstreamSetOwnCookie, Route: route.Name}, slog.Int("dropped", dropped))
	}
	return nil
}

// ownCookieName reports whether a cookie name is one of the gateway's: the
// session cookie or the flow binding cookie, under any of the prefixes
// "__Host-" and "__Secure-" or none, with a numbered "_N" suffix or none
// (the chunks other proxies, and the cookie store, split large cookies
// into), or a pending login's "_f_..." cookie, compared ASCII
// case-insensitively (browsers match the prefixes so).
func (rl *relay) ownCookieName(name string) bool {
	n := cookieBase(strings.TrimSpace(name))
	for _, base := range rl.ownCookieBases {
		if n == base {
			return true
		}
		if rest, ok := strings.CutPrefix(n, base+"_"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
		if strings.HasPrefix(n, base+strings.ToLower(flowCookieInfix)) { // a pending login's cookie (ssoflowcookie.go)
			return true
		}
	}
	return false
}

// cookieBase returns a cookie name without its "__Host-" or "__Secure-"
// prefix, lower case.
func cookieBase(name string) string {
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, "__host-")
	return strings.TrimPrefix(n, "__secure-")
}

// stripOwnCookies removes the gateway's cookies from a request to an
// upstream: the session ticket is a credential the application never needs.
func (rl *relay) stripOwnCookies(r *http.Request) {
	vals := r.Header["Cookie"] // HTTP/2 clients may send several Cookie lines
	if len(vals) == 0 {
		return
	}
	name := rl.sessions.CookieName()
	found := false
	for _, v := range vals {
		if strings.Contains(v, name) || strings.Contains(v, rl.bindingName) {
			found = true
			break
		}
	}
	if !found {
		return
	}
	var b strings.Builder
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ";") {
			p := strings.TrimSpace(part)
			n, _, _ := strings.Cut(p, "=")
			if p == "" || n == name || n == rl.bindingName || rl.ownCookieName(n) { // chunks: name_1, ...
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(p)
		}
	}
	if b.Len() == 0 {
		r.Header.Del("Cookie")
		return
	}
	r.Header["Cookie"] = []string{b.String()}
}
