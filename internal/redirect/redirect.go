// Package redirect validates return-to URLs: the rd query parameter, the page
// a user goes back to after login, and the post_logout_redirect_uri of the
// logout endpoint.
//
// Redirecting to an unvalidated URL taken from a request is an open redirect
// (CWE-601). In an OAuth 2.0 relying party it is worse than a phishing aid: it
// can leak authorization codes and tokens to another origin (RFC 6749
// §10.15, RFC 9700 §4.11). Peers have shipped a long series of bypasses, each
// one a disagreement between the validator and the browser about where a URL
// points: "/\evil.com" (WHATWG URL parsers treat "\" as "/" in http(s) URLs),
// "/\t/evil.com" (tab, CR and LF are removed anywhere in the URL), " //evil"
// (leading and trailing C0 controls and spaces are stripped), "https:evil.com"
// and "http:/evil.com" (a special scheme without "//" still takes a host),
// "https://good@evil.com" (userinfo), "/%2f%2fevil.com" (decoded once more by
// a server on the way), and look-alike characters that IDNA or NFKC turn into
// "/" (U+FF0F, U+2044).
//
// The Validator therefore does not normalize or repair anything. It accepts a
// value only when Go's net/url (RFC 3986), a browser (the WHATWG URL Standard)
// and any server that percent-decodes it again must agree that it is either a
// path on the current origin or a URL on an allowed host, and rejects every
// value on which they could disagree.
package redirect

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxLength is the longest return-to URL, in bytes, that Validate accepts.
const MaxLength = 2048

// maxDecodings is how many times a value may be percent-encoded: a URL in a
// query parameter of a URL in a query parameter needs three.
const maxDecodings = 4

// ErrInvalid is the error, wrapped with a reason, that Validate returns for
// every value it rejects. Callers redirect to "/" instead. The reason is meant
// for logs; it never contains the whole value, only short parts of it such as
// the scheme or the host.
var ErrInvalid = errors.New("redirect: invalid return-to URL")

// Validator validates return-to URLs against the gateway's public origin and a
// list of allowed domains. It is immutable and safe for concurrent use.
type Validator struct {
	// The public origin; scheme is "" when New had no public URL.
	scheme, host, port string
	domains            []domain
}

// New returns a Validator that accepts:
//
//   - a path reference that starts with a single "/", returned as is (it is
//     not resolved against publicURL's path);
//   - an absolute URL with the same origin (scheme, host and port, RFC 6454)
//     as publicURL; it may use http only when publicURL does;
//   - an absolute https URL whose host matches one of allowedDomains, or an
//     http one if that host is "localhost" or a name under it (development
//     set-ups; such names never leave the machine).
//
// publicURL may be nil, in which case no absolute URL is same-origin.
//
// Each allowed domain is one of:
//
//	app.example.com        exactly this host
//	.example.com           example.com and any subdomain of it ("*.example.com" is the same)
//	app.example.com:8443   the host on this port only
//	.example.com:*         the hosts on any port
//
// Without a port, an entry matches only the default https port (443, written
// or not). Hosts match case-insensitively, and must be written in ASCII
// (punycode, RFC 3492, for internationalized names). New ignores malformed
// entries; configuration validation reports them with CheckAllowedDomain.
func New(publicURL *url.URL, allowedDomains []string) *Validator {
	v := &Validator{}
	if publicURL != nil {
		scheme := strings.ToLower(publicURL.Scheme)
		host := strings.ToLower(publicURL.Hostname())
		port, ok := effectivePort(scheme, publicURL.Port())
		if (scheme == "http" || scheme == "https") && validHost(host) && ok {
			v.scheme, v.host, v.port = scheme, host, port
		}
	}
	for _, s := range allowedDomains {
		if d, err := parseDomain(s); err == nil {
			v.domains = append(v.domains, d)
		}
	}
	return v
}

// Validate returns raw if it is a safe place to redirect to, or an error
// wrapping ErrInvalid. It rejects, among others:
//
//   - the empty string and values longer than MaxLength;
//   - any byte that is a control character (including tab, CR, LF and NUL),
//     a space, a backslash or not ASCII, and any percent-encoding that decodes,
//     once or repeatedly, to a control character or a backslash, or that is
//     nested more than four levels deep ("%2525252525");
//   - path references that do not start with "/", and those that start with
//     "//", or would after percent-decoding or removing dot segments
//     (RFC 3986 §5.2.4), such as "/%2f%2fevil.com" or "/..//evil.com";
//   - schemes other than http and https (javascript:, data:, vbscript:,
//     file:, ...), and http(s) URLs without "//" ("https:evil.com");
//   - userinfo ("https://a@evil.com"), and any character in the authority
//     other than letters, digits, ".", "-", "_", ":", "[" and "]";
//   - absolute URLs that are neither same-origin nor on an allowed domain.
//
// The value is returned unchanged: nothing is stripped or repaired.
func (v *Validator) Validate(raw string) (string, error) {
	if raw == "" {
		return "", invalid("empty")
	}
	if len(raw) > MaxLength {
		return "", invalid(fmt.Sprintf("longer than %d bytes (%d)", MaxLength, len(raw)))
	}
	if reason := checkBytes(raw); reason != "" {
		return "", invalid(reason)
	}
	// A proxy or application on the way may percent-decode the value once
	// more, and a browser keeps what it does not understand; check every
	// decoding of it, not only the first.
	for s, depth := raw, 0; ; depth++ {
		d := unescape(s)
		if d == s {
			break
		}
		if depth == maxDecodings {
			// Unbounded, "%252525..." costs quadratic time and memory.
			return "", invalid("percent-encoded more than " + strconv.Itoa(maxDecodings) + " times")
		}
		if reason := checkDecoded(d); reason != "" {
			return "", invalid("percent-encoded " + reason)
		}
		s = d
	}

	u, err := url.Parse(raw)
	if err != nil {
		return "", invalid("malformed")
	}
	if u.Scheme == "" {
		return v.validatePath(raw)
	}
	return v.validateAbsolute(raw, u)
}

// validatePath validates a reference without a scheme, which must be a path
// on the current origin.
func (v *Validator) validatePath(raw string) (string, error) {
	if raw[0] != '/' {
		return "", invalid("relative reference does not start with /")
	}
	p := raw
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	// The whole value decodes to a fixed point within maxDecodings, so does
	// its path, which ends before a "?" or "#" that no escape can straddle.
	for {
		// "//host" is a network-path reference (RFC 3986 §4.2) to another
		// host, and so is a path that becomes one once dot segments are removed.
		if strings.HasPrefix(p, "//") || strings.HasPrefix(removeDotSegments(p), "//") {
			return "", invalid("path reference to another host (//)")
		}
		d := unescape(p)
		if d == p {
			return raw, nil
		}
		p = d
	}
}

// validateAbsolute validates a URL with a scheme.
func (v *Validator) validateAbsolute(raw string, u *url.URL) (string, error) {
	scheme := u.Scheme // url.Parse lower-cases it.
	if scheme != "http" && scheme != "https" {
		return "", invalid("scheme " + short(scheme) + " not allowed")
	}
	// url.Parse keeps the scheme's length, so this is what follows "scheme:".
	rest := raw[len(scheme)+1:]
	if !strings.HasPrefix(rest, "//") || strings.HasPrefix(rest, "///") {
		// Browsers find a host in "https:evil.com", "http:/evil.com"
		// and "http:///evil.com"; net/url does not.
		return "", invalid("absolute URL without exactly // before the host")
	}
	authority := rest[2:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if u.User != nil || strings.Contains(authority, "@") {
		return "", invalid("userinfo in URL")
	}
	for i := 0; i < len(authority); i++ {
		if !isAuthorityByte(authority[i]) {
			return "", invalid(fmt.Sprintf("character %q in host", authority[i]))
		}
	}
	host := strings.ToLower(u.Hostname())
	if !validHost(host) {
		return "", invalid("malformed host " + short(host))
	}
	port, ok := effectivePort(scheme, u.Port())
	if !ok {
		return "", invalid("malformed port " + short(u.Port()))
	}
	if v.scheme != "" && scheme == v.scheme && host == v.host && port == v.port {
		return raw, nil
	}
	if scheme != "https" && !isLoopbackName(host) {
		return "", invalid("http URL not on the public origin")
	}
	for _, d := range v.domains {
		if d.match(host, port) {
			return raw, nil
		}
	}
	return "", invalid(fmt.Sprintf("host %s port %s not allowed", short(host), port))
}

// isLoopbackName reports whether host is "localhost" or a name under it
// (RFC 6761 §6.3): browsers resolve those to the loopback address and treat
// them as secure contexts, so an http URL there never leaves the machine.
func isLoopbackName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, reason)
}

// short quotes s for an error message, or only says how long it is, so that
// a long attacker-chosen value does not end up in the logs.
func short(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("(%d bytes)", len(s))
	}
	return fmt.Sprintf("%q", s)
}

// checkBytes returns why raw is rejected for one of its bytes, or "".
func checkBytes(raw string) string {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c < 0x20 || c == 0x7f:
			// Browsers remove tab, CR and LF anywhere and strip other
			// C0 controls at both ends; CR and LF split headers.
			return "control character"
		case c == ' ':
			// Browsers strip spaces at both ends; inside a URL a space
			// must be percent-encoded anyway (RFC 3986 §2).
			return "space"
		case c == '\\':
			// Browsers read "\" as "/" in http(s) URLs.
			return "backslash"
		case c >= 0x80:
			// IDNA and NFKC map look-alikes such as U+FF0F and
			// U+2044 to "/"; a URL must be percent-encoded ASCII.
			return "non-ASCII byte"
		}
	}
	return ""
}

// checkDecoded returns why a percent-decoding of the value is rejected, or "".
func checkDecoded(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return "control character"
		case c == '\\':
			return "backslash"
		}
	}
	return ""
}

// unescape decodes every valid %XX sequence in s and leaves anything else
// alone, unlike url.PathUnescape, which fails on the first bad one. It
// returns s itself, without allocating, when there is nothing to decode.
func unescape(s string) string {
	i := strings.IndexByte(s, '%')
	for i >= 0 && !(i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2])) {
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			return s
		}
		i += 1 + j
	}
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4, applied to an
// absolute path, as browsers do when they resolve a reference.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string // segments, each with its leading "/"
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			j := strings.IndexByte(in[1:], '/') + 1
			if j == 0 {
				j = len(in)
			}
			out = append(out, in[:j])
			in = in[j:]
		}
	}
	return strings.Join(out, "")
}
