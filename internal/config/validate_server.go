package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func (s *Server) validate(p *problems) {
	if s.Listen == "" {
		p.add("server.listen", "required")
	} else if err := checkHostPort(s.Listen); err != nil {
		p.add("server.listen", "%v", err)
	}
	if s.PublicURL == "" {
		p.add("server.public_url", "required")
	} else if msg := checkBaseURL(s.PublicURL, false); msg != "" {
		p.add("server.public_url", "%s", msg)
	}
	for i, e := range s.TrustedProxies {
		if msg := checkTrustedProxy(e); msg != "" {
			p.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%s", msg)
		}
	}
	for i, e := range s.AllowedRedirectDomains {
		if msg := checkRedirectDomain(e); msg != "" {
			p.add(fmt.Sprintf("server.allowed_redirect_domains[%d]", i), "%s", msg)
		}
	}
	checkOneOf(p, "server.log_format", s.LogFormat, "text", "json")
	checkOneOf(p, "server.log_level", s.LogLevel, "debug", "info", "warn", "error")
	checkPositive(p, "server.shutdown_timeout", s.ShutdownTimeout)
	checkPositive(p, "server.read_header_timeout", s.ReadHeaderTimeout)
	checkPositive(p, "server.idle_timeout", s.IdleTimeout)
	checkPositive(p, "server.body_read_timeout", s.BodyReadTimeout)
	if d := s.AccessLogFlushInterval.Duration; d < 0 || d > 10*time.Second {
		p.add("server.access_log_flush_interval", "must be between 0s (write each line at once) and 10s")
	}
	if s.GCMinHeapMiB < 0 || s.GCMinHeapMiB > 1<<20 {
		p.add("server.gc_min_heap_mib", "must be between 0 (Go's default garbage collection) and 1048576 (MiB)")
	}
	if s.MetricsListen != "" {
		if err := checkHostPort(s.MetricsListen); err != nil {
			p.add("server.metrics_listen", "%v", err)
		} else if s.MetricsListen == s.Listen {
			p.add("server.metrics_listen", "must differ from server.listen")
		}
	}
	if s.Pprof && s.MetricsListen == "" {
		p.add("server.pprof", "needs server.metrics_listen: the profiler is served on the metrics listener only")
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		p.add("server.tls_cert_file", "tls_cert_file and tls_key_file go together: set both or neither")
	}
}

func (h *Headers) validate(p *problems) {
	for _, f := range []struct{ key, claim string }{
		{"headers.user", h.User},
		{"headers.email", h.Email},
		{"headers.preferred_username", h.PreferredUsername},
		{"headers.groups", h.Groups},
	} {
		switch {
		case f.claim == "":
			p.add(f.key, "required (a claim name)")
		case strings.ContainsFunc(f.claim, isSpaceOrControl):
			p.add(f.key, "claim name %q must not contain white space", f.claim)
		}
	}
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q must be host:port", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q has an invalid port", s)
	}
	return nil
}

func checkTrustedProxy(s string) string {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Sprintf("%q is not a valid CIDR", s)
		}
		if m := pfx.Masked(); m != pfx {
			return fmt.Sprintf("%q has host bits set; did you mean %q?", s, m.String())
		}
		return ""
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Sprintf("%q is not an IP address or CIDR", s)
	}
	return ""
}

func checkRedirectDomain(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%q must be a host name without scheme", s)
	case strings.HasPrefix(s, "*."):
		return fmt.Sprintf("%q: write %q to allow every subdomain", s, s[1:])
	case strings.ContainsAny(s, "/?#"):
		return fmt.Sprintf("%q must be a host name without path", s)
	}
	host, port := splitDomainPort(s)
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return fmt.Sprintf("%q: write an IPv6 address in brackets, as in %q", s, "["+host+"]")
	}
	if _, err := netip.ParseAddr(strings.Trim(strings.TrimPrefix(host, "."), "[]")); err == nil && strings.HasPrefix(s, ".") {
		return fmt.Sprintf("%q: an IP address has no subdomains", s)
	}
	if port != "" && port != "*" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Sprintf("%q has an invalid port (a number, or * for any port)", s)
		}
	}
	if msg := checkHost(strings.TrimPrefix(host, ".")); msg != "" {
		return msg
	}
	return ""
}

// splitDomainPort splits an allowed redirect domain's optional ":port" or
// ":*" off ("app.example.com:8443", "[::1]:8080"); an IPv6 address without
// brackets has none.
func splitDomainPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i >= 0 {
			host, rest := s[:i+1], s[i+1:]
			if p, ok := strings.CutPrefix(rest, ":"); ok {
				return host, p
			}
			return host, rest
		}
		return s, ""
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		return h, p
	}
	return s, ""
}
