package session

import (
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
)

// Cookies is the session cookie and the ticket it carries: its name and
// attributes, and reading a ticket from a request. A Manager embeds one.
type Cookies struct {
	name    string // prefix included
	domain  string
	secure  bool
	tickets *ticketCodec
}

// CookieName returns the session cookie's name, prefix included.
func (c *Cookies) CookieName() string { return c.name }

// Cookie returns the session cookie carrying ticket: HttpOnly, SameSite=Lax,
// Secure and "__Host-" prefixed when the public URL is https ("__Secure-"
// with a CookieDomain, which it carries as its Domain). It has no Max-Age:
// the server enforces the lifetime.
func (c *Cookies) Cookie(ticket string) *http.Cookie {
	return sessions.NewCookie(c.name, ticket, c.options(0))
}

// ClearCookie returns a cookie that deletes the session cookie.
func (c *Cookies) ClearCookie() *http.Cookie {
	return sessions.NewCookie(c.name, "", c.options(-1))
}

func (c *Cookies) options(maxAge int) *sessions.Options {
	return &sessions.Options{Path: "/", Domain: c.domain, MaxAge: maxAge, Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// TicketFromRequest returns the session ticket r carries, or "": the session
// cookie (its chunks joined, with the cookie store), else an "Authorization: Bearer" ticket (the session token of apps
// using the REST flow API). A bearer token that is not a valid ticket, such
// as an access token issued by the AS, yields "" (no session, not an
// error). The check is cheap: a JWT is refused by its '.' alone; anything
// else of a ticket's shape costs one HMAC verification, no store access.
func (c *Cookies) TicketFromRequest(r *http.Request) string {
	if v := c.ticketFromCookies(r.Header); v != "" {
		return v
	}
	if tok := bearerTicket(r); tok != "" && c.IsTicket(tok) {
		return tok
	}
	return ""
}

// IsTicket reports whether s is a valid, unexpired ticket of this Manager
// (its MAC verifies). It does not read the store: the session may have ended.
func (c *Cookies) IsTicket(s string) bool {
	if s == "" || len(s) > maxTicketLen || strings.Trim(s, ticketAlphabet) != "" {
		return false
	}
	_, _, err := c.tickets.decode(s)
	return err == nil
}
