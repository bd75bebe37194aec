package session

import (
	"net/http"
	"strings"
)

// Apps of the REST flow API present their ticket as a bearer token
// (RFC 6750 §2.1) instead of a cookie. The same header also carries access
// tokens issued by the AS (routes with bearer authentication); those are
// never tickets: a JWT always contains '.', which the base64url ticket never
// does, and an opaque token fails the ticket's MAC.

// maxTicketLen bounds what is tried as a ticket (the codec's own limit).
const maxTicketLen = 512

// bearerTicket returns the token of an "Authorization: Bearer" header when it
// has the shape of a ticket (base64url with padding, no '.'), or "".
func bearerTicket(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	// A ticket bound to a DPoP key comes in the DPoP scheme (RFC 9449 §7.1).
	if !ok || !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") {
		return ""
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > maxTicketLen || strings.Trim(tok, ticketAlphabet) != "" {
		return ""
	}
	return tok
}

const ticketAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
