package canon

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// ErrHost is returned for a Host (or X-Forwarded-Host, or the host of an
// absolute URL) that is not a DNS name, an IP address or either with a port.
var ErrHost = errors.New("canon: malformed host")

// Host returns the canonical form of hostport, a Host header value: the
// name in lower case (an internationalized name in its ASCII form, RFC
// 5891), one trailing dot removed ("admin.example.com." names the same host
// as "admin.example.com", and nginx selects the same server block for
// both), IPv6 addresses without brackets, and the port without leading
// zeros ("" when there is none). An empty hostport gives "", "". Anything
// else, such as two trailing dots, an empty label, a zone, or a character a
// host name cannot have, is ErrHost.
func Host(hostport string) (host, port string, err error) {
	if hostport == "" {
		return "", "", nil
	}
	h := hostport
	if h[0] == '[' { // IPv6 literal
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", ErrHost
		}
		a, err := netip.ParseAddr(h[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", ErrHost
		}
		if port, err = parsePort(h[end+1:]); err != nil {
			return "", "", err
		}
		return a.String(), port, nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if port, err = parsePort(h[i:]); err != nil {
			return "", "", err
		}
		h = h[:i]
	}
	if h, err = hostName(h); err != nil {
		return "", "", err
	}
	return h, port, nil
}

// parsePort parses s, "" or ":" followed by digits, into the port without
// leading zeros ("" for no port or an empty one, RFC 3986 §3.2.3).
func parsePort(s string) (string, error) {
	if s == "" || s == ":" {
		return "", nil
	}
	if s[0] != ':' || len(s) > 6 {
		return "", ErrHost
	}
	n, err := strconv.ParseUint(s[1:], 10, 16)
	if err != nil || strings.ContainsAny(s[1:], "+-") {
		return "", ErrHost
	}
	if s[1] != '0' || len(s) == 2 {
		return s[1:], nil // already canonical: no allocation
	}
	return strconv.FormatUint(n, 10), nil
}

// hostName returns h, a host name or IPv4 address without port, in
// canonical form.
func hostName(h string) (string, error) {
	ascii := true
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return "", ErrHost
		}
		h = a
	}
	h = strings.TrimSuffix(Lower(h), ".")
	if h == "" || len(h) > 253 {
		return "", ErrHost
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "", ErrHost
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", ErrHost
			}
		}
	}
	return h, nil
}

// Lower returns s with its ASCII letters in lower case (and nothing else
// changed: no Unicode folding, so that no other letter can become an ASCII
// one), without allocating when it has none in upper case.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
