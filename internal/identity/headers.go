package identity

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// The headers through which a reverse-proxied upstream learns who the user
// is. They are in canonical form (textproto.CanonicalMIMEHeaderKey).
const (
	// HeaderUser carries Identity.Subject.
	HeaderUser = "X-Forwarded-User"
	// HeaderEmail carries Identity.Email.
	HeaderEmail = "X-Forwarded-Email"
	// HeaderPreferredUsername carries Identity.PreferredUsername.
	HeaderPreferredUsername = "X-Forwarded-Preferred-Username"
	// HeaderGroups carries Identity.Groups, comma-separated.
	HeaderGroups = "X-Forwarded-Groups"
	// HeaderAccessToken carries the session's OAuth 2.0 access token, when
	// the route is configured to pass it on.
	HeaderAccessToken = "X-Forwarded-Access-Token"
	// HeaderIDToken carries the session's OpenID Connect ID token, when the
	// route is configured to pass it on (upstream.pass_id_token).
	HeaderIDToken = "X-Forwarded-Id-Token"
)

// The headers of a forward-auth response (nginx auth_request, Traefik
// ForwardAuth), which the front proxy copies onto the request it forwards.
const (
	// HeaderAuthRequestUser carries Identity.Subject.
	HeaderAuthRequestUser = "X-Auth-Request-User"
	// HeaderAuthRequestEmail carries Identity.Email.
	HeaderAuthRequestEmail = "X-Auth-Request-Email"
	// HeaderAuthRequestPreferredUsername carries Identity.PreferredUsername.
	HeaderAuthRequestPreferredUsername = "X-Auth-Request-Preferred-Username"
	// HeaderAuthRequestGroups carries Identity.Groups, comma-separated.
	HeaderAuthRequestGroups = "X-Auth-Request-Groups"
	// HeaderAuthRequestAccessToken carries the session's access token.
	HeaderAuthRequestAccessToken = "X-Auth-Request-Access-Token"
)

const (
	minNameLen = len(HeaderUser)
	maxNameLen = len(HeaderAuthRequestPreferredUsername)
)

// StripHeaders deletes from h every identity header, whatever its letter
// case and with "_" in place of any "-": the five X-Forwarded-* identity
// headers above (six with X-Forwarded-Id-Token) and the five X-Auth-Request-* ones. Call it on every
// request from a client before setting the identity headers. It does not
// allocate.
func StripHeaders(h http.Header) {
	for name := range h {
		if IsIdentityHeader(name) {
			delete(h, name)
		}
	}
}

// IsIdentityHeader reports whether name is one of the headers StripHeaders
// deletes: an identity header name compared ASCII case-insensitively, with
// "_" equal to "-". So that no upstream that folds case by Unicode rules can
// be fooled, the four non-ASCII letters whose simple case mapping is an ASCII
// letter count as that letter: U+0130 and U+0131 as "i", U+017F as "s" and
// U+212A (Kelvin sign) as "k". (net/http rejects such names in requests; this
// is defence in depth.) It does not allocate.
func IsIdentityHeader(name string) bool {
	// Fast reject: most headers are shorter, or do not start with "x-".
	if len(name) < minNameLen || name[0]|0x20 != 'x' || (name[1] != '-' && name[1] != '_') {
		return false
	}
	var buf [maxNameLen]byte
	n := 0
	for i := 0; i < len(name); n++ {
		if n == len(buf) {
			return false
		}
		c := name[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c == '_':
				c = '-'
			}
		} else {
			r, size := utf8.DecodeRuneInString(name[i:])
			i += size
			if c = foldToASCII(r); c == 0 {
				return false
			}
		}
		buf[n] = c
	}
	switch string(buf[:n]) {
	case "x-forwarded-user", "x-forwarded-email", "x-forwarded-preferred-username",
		"x-forwarded-groups", "x-forwarded-access-token", "x-forwarded-id-token",
		"x-auth-request-user", "x-auth-request-email", "x-auth-request-preferred-username",
		"x-auth-request-groups", "x-auth-request-access-token":
		return true
	}
	return false
}

// foldToASCII returns the lower-case ASCII letter that r maps to under
// Unicode simple case mapping or folding, or 0 if there is none.
func foldToASCII(r rune) byte {
	switch r {
	case '\u0130', '\u0131': // İ lower-cases to i; ı upper-cases to I.
		return 'i'
	case '\u017f': // ſ (long s) upper-cases and folds to S.
		return 's'
	case '\u212a': // K (Kelvin sign) lower-cases and folds to k.
		return 'k'
	}
	return 0
}

// Headers are the values of an identity's headers, checked and joined once
// (Identity.Headers), for a gateway that sets them on many requests.
type Headers struct {
	vals [4]string // user, email, preferred username, groups; "" is not sent
}

// Headers returns id's header values. A field whose value is not a safe
// header value is not sent.
//
// A safe value is non-empty, has no control character (CR, LF, NUL, tab,
// DEL, ...) and no leading or trailing space; letters outside ASCII are sent
// as UTF-8. HeaderGroups is the comma-separated list of the groups that are
// safe values and contain no comma; the others are left out of the list, so
// that no group name can add another group ("staff,admins"), and the header
// is not sent when none is left.
func (id Identity) Headers() Headers {
	hv := Headers{vals: [4]string{id.Subject, id.Email, id.PreferredUsername, joinGroups(id.Groups)}}
	for i, v := range hv.vals {
		if !safeValue(v) {
			hv.vals[i] = ""
		}
	}
	return hv
}

// Set sets HeaderUser, HeaderEmail, HeaderPreferredUsername and HeaderGroups,
// replacing any value h had; a header whose value is not sent is deleted.
func (hv Headers) Set(h http.Header) {
	hv.set(h, HeaderUser, HeaderEmail, HeaderPreferredUsername, HeaderGroups)
}

// SetAuthRequest sets the same values, under the same rules, as
// HeaderAuthRequestUser, HeaderAuthRequestEmail,
// HeaderAuthRequestPreferredUsername and HeaderAuthRequestGroups, for a
// forward-auth (nginx auth_request) response.
func (hv Headers) SetAuthRequest(h http.Header) {
	hv.set(h, HeaderAuthRequestUser, HeaderAuthRequestEmail, HeaderAuthRequestPreferredUsername, HeaderAuthRequestGroups)
}

func (hv Headers) set(h http.Header, user, email, preferredUsername, groups string) {
	// The four values share one backing array (one allocation per request
	// instead of four); each header gets a slice of capacity 1, so an
	// append to one can never overwrite another.
	vals := append([]string(nil), hv.vals[:]...)
	for i, key := range [...]string{user, email, preferredUsername, groups} {
		if vals[i] == "" {
			delete(h, key)
			continue
		}
		h[key] = vals[i : i+1 : i+1]
	}
}

func joinGroups(groups []string) string {
	var b strings.Builder
	for _, g := range groups {
		if !safeValue(g) || strings.IndexByte(g, ',') >= 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(g)
	}
	return b.String()
}

// safeValue reports whether v can be sent as a header value and read back
// unchanged (RFC 9110 §5.5): non-empty, no control characters, no leading or
// trailing space.
func safeValue(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
