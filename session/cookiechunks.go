package session

import (
	"net/http"
	"strconv"
	"strings"
)

// A sealed cookie record (cookieseal.go) is split across numbered cookies:
// the session cookie itself holds the number of chunks, a '.', and the first
// chunk ("3.AbC..."); "<name>_1", "<name>_2", ... hold the others. A
// server-side session's ticket never contains a '.', so one cookie name
// serves both. Chunk cookies carry the session cookie's attributes.

// chunkName returns the name of chunk i (i >= 1).
func (c *Cookies) chunkName(i int) string { return c.name + "_" + strconv.Itoa(i) }

// splitTicket returns the cookie values that carry ticket: one for a
// server-side ticket, up to CookieChunksMax for a sealed record.
func splitTicket(ticket string) []string {
	data, ok := strings.CutPrefix(ticket, cookieTicketHead)
	if !ok {
		return []string{ticket}
	}
	n := (len(data) + CookieChunkMax - 1) / CookieChunkMax
	n = max(n, 1)
	vals := make([]string, 0, n)
	for i := range n {
		chunk := data[i*CookieChunkMax : min((i+1)*CookieChunkMax, len(data))]
		if i == 0 {
			chunk = strconv.Itoa(n) + "." + chunk
		}
		vals = append(vals, chunk)
	}
	return vals
}

// ticketFromCookies returns the ticket of the session cookie of h, the
// chunks of a sealed record joined, or "" (no cookie, a chunk missing, a
// malformed count).
func (c *Cookies) ticketFromCookies(h http.Header) string {
	v := cookieValue(h, c.name)
	countStr, first, chunked := strings.Cut(v, ".")
	if !chunked {
		return v
	}
	n, err := strconv.Atoi(countStr)
	if err != nil || n < 1 || n > CookieChunksMax || first == "" {
		return ""
	}
	if n == 1 { // the common case: one allocation, of the ticket's size
		return cookieTicketHead + first
	}
	parts := make([]string, 0, n)
	size := len(cookieTicketHead) + len(first)
	for i := 1; i < n; i++ {
		part := cookieValue(h, c.chunkName(i))
		if part == "" {
			return ""
		}
		parts = append(parts, part)
		size += len(part)
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(cookieTicketHead)
	b.WriteString(first)
	for _, part := range parts {
		b.WriteString(part)
	}
	return b.String()
}

// SetCookies writes the cookies that carry ticket (a server-side ticket, or
// a sealed record in up to CookieChunksMax chunks) and expires every chunk
// cookie r carries that the new ticket does not use (left by a longer
// earlier record).
func (c *Cookies) SetCookies(w http.ResponseWriter, r *http.Request, ticket string) {
	vals := splitTicket(ticket)
	h := w.Header()
	h.Add("Set-Cookie", c.Cookie(vals[0]).String())
	for i := 1; i < len(vals); i++ {
		ck := c.Cookie(vals[i])
		ck.Name = c.chunkName(i)
		h.Add("Set-Cookie", ck.String())
	}
	c.expireChunks(w, r, len(vals))
}

// ClearCookies expires the session cookie and every chunk cookie r carries.
func (c *Cookies) ClearCookies(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, c.ClearCookie())
	c.expireChunks(w, r, 1)
}

// expireChunks expires chunk cookies from index from on that r carries.
func (c *Cookies) expireChunks(w http.ResponseWriter, r *http.Request, from int) {
	if r == nil {
		return
	}
	for i := max(from, 1); i < CookieChunksMax; i++ {
		if cookieValue(r.Header, c.chunkName(i)) == "" {
			continue
		}
		ck := c.ClearCookie()
		ck.Name = c.chunkName(i)
		http.SetCookie(w, ck)
	}
}

// WriteSession writes s's cookies on the response when s was saved since it
// was loaded and lives in cookies (the cookie store: a refresh, a reseal
// under a new key, recorded activity). For a server-side session it writes
// nothing: its ticket does not change.
func (c *Cookies) WriteSession(w http.ResponseWriter, r *http.Request, s *Session) {
	if s == nil || s.sealed == "" {
		return
	}
	c.SetCookies(w, r, s.sealed)
}
