package redirect

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// domain is one parsed allowed-domain entry.
type domain struct {
	host       string // lower-case, without brackets or a leading dot
	subdomains bool   // host itself and any subdomain of it
	port       string // normalized decimal port, or "*" for any
}

func (d domain) match(host, port string) bool {
	if d.port != "*" && d.port != port {
		return false
	}
	if host == d.host {
		return true
	}
	return d.subdomains && len(host) > len(d.host) &&
		strings.HasSuffix(host, d.host) && host[len(host)-len(d.host)-1] == '.'
}

// CheckAllowedDomain reports whether entry is a well-formed allowed domain
// for New, and if not, why. New silently ignores the entries it rejects, so
// configuration validation must refuse them first (internal/config's tests
// check that what it accepts, this accepts).
func CheckAllowedDomain(entry string) error {
	_, err := parseDomain(entry)
	return err
}

func parseDomain(entry string) (domain, error) {
	s := strings.ToLower(entry)
	var d domain
	switch {
	case strings.HasPrefix(s, "*."):
		d.subdomains, s = true, s[2:]
	case strings.HasPrefix(s, "."):
		d.subdomains, s = true, s[1:]
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return domain{}, fmt.Errorf("allowed domain %q: %w", entry, err)
	}
	if !validHost(host) {
		return domain{}, fmt.Errorf("allowed domain %q: malformed host", entry)
	}
	if d.subdomains && strings.Contains(host, ":") {
		return domain{}, fmt.Errorf("allowed domain %q: an IP address has no subdomains", entry)
	}
	d.host = host
	switch {
	case port == "*":
		d.port = "*"
	default:
		p, ok := effectivePort("https", port)
		if !ok {
			return domain{}, fmt.Errorf("allowed domain %q: malformed port", entry)
		}
		d.port = p
	}
	return d, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port"; the
// host comes back without brackets.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ]")
		}
		host, rest := s[1:end], s[end+1:]
		if !strings.Contains(host, ":") {
			return "", "", errors.New("brackets around a name")
		}
		switch {
		case rest == "":
			return host, "", nil
		case rest[0] == ':':
			return host, rest[1:], nil
		default:
			return "", "", errors.New("text after ]")
		}
	}
	host, port, _ = strings.Cut(s, ":")
	return host, port, nil
}

// validHost reports whether host (lower-case, IPv6 without brackets) is an
// IPv6 address without a zone, or dot-separated non-empty labels of ASCII
// letters, digits, "-" and "_", with no trailing dot.
func validHost(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// effectivePort returns port in canonical decimal form, or the default port
// of scheme when port is empty, and whether port is a valid port number.
func effectivePort(scheme, port string) (string, bool) {
	if port == "" {
		switch scheme {
		case "http":
			return "80", true
		case "https":
			return "443", true
		}
		return "", false
	}
	if len(port) > 5 {
		return "", false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return "", false
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", false
	}
	return strconv.Itoa(n), true
}

// isAuthorityByte reports whether c may appear in the authority of an
// accepted URL: a host name, an IPv6 literal or a port. Anything else,
// notably "@" and "%", is where parsers disagree.
func isAuthorityByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'
}
