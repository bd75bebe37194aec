package proxy

import (
	"net"
	"net/http/httputil"
)

// Request headers through which some upstreams learn the request line or
// the client from a front proxy rather than from the request itself.
const (
	headerRealIP          = "X-Real-Ip"
	headerForwardedPrefix = "X-Forwarded-Prefix"
)

// routingHeader reports whether name, compared ASCII case-insensitively and
// with "_" equal to "-" (CGI, WSGI and PHP fold both to HTTP_X_...), is one
// of the headers that name another request line or client than the one the
// gateway authorized:
//
//   - X-Original-URL, X-Rewrite-URL (IIS URL Rewrite; Symfony, Zend and
//     others route on them), X-Original-URI: always removed. The gateway
//     decided on the path it forwards; an upstream that routes on another one
//     would serve a path nobody authorized.
//   - X-Forwarded-Prefix (Spring, ASP.NET, Traefik) and X-Real-IP (nginx):
//     removed, then set again by the rewrite only from a trusted proxy
//     (setRoutingHeaders).
//
// It does not allocate.
func routingHeader(name string) bool {
	// Fast reject: every name above starts with "x-" and is 11 to 18 bytes.
	if len(name) < len("X-Real-IP") || len(name) > len("X-Forwarded-Prefix") ||
		name[0]|0x20 != 'x' || (name[1] != '-' && name[1] != '_') {
		return false
	}
	var buf [18]byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "x-original-url", "x-rewrite-url", "x-original-uri", "x-forwarded-prefix", "x-real-ip":
		return true
	}
	return false
}

// setRoutingHeaders removes every routing header (routingHeader) from the
// outbound request, then sets X-Real-IP: the value a trusted proxy sent,
// else the address of the peer; and X-Forwarded-Prefix only as a trusted
// proxy sent it.
func setRoutingHeaders(pr *httputil.ProxyRequest, trusted bool) {
	out := pr.Out.Header
	for name := range out {
		if routingHeader(name) {
			delete(out, name)
		}
	}
	if trusted {
		if v := pr.In.Header.Get(headerForwardedPrefix); v != "" {
			out.Set(headerForwardedPrefix, v)
		}
		if v := pr.In.Header.Get(headerRealIP); v != "" {
			out.Set(headerRealIP, v)
			return
		}
	}
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		out[headerRealIP] = []string{ip}
	}
}
