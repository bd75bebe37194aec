package convert

import (
	"net/url"
	"strings"
)

// mapServer: listening, TLS, the public URL, the proxies in front and the
// redirect domains.
func (c *converter) mapServer() {
	d := c.doc
	cert, key := c.str("tls_cert_file"), c.str("tls_key_file")
	if cert != "" || key != "" {
		addr := c.str("https_address")
		if addr == "" {
			addr = ":443" // oauth2-proxy's default
		}
		k := d.set("server", "listen", addr, "https_address: with tls_cert_file and tls_key_file, one HTTPS listener")
		c.reportAt("https_address", c.sourceOr("https_address", "default :443"), Mapped, "", k)
		c.report("tls_cert_file", Mapped, "re-read when the file changes", d.set("server", "tls_cert_file", cert, ""))
		c.report("tls_key_file", Mapped, "", d.set("server", "tls_key_file", key, ""))
		c.report("http_address", NoEquivalent, "with TLS files oauth2-proxy served only https_address, and so does Gatehouse")
	} else {
		if addr, ok := c.get("http_address"); ok {
			a := strings.TrimPrefix(strings.TrimPrefix(addr.str, "http://"), "HTTP://")
			switch {
			case strings.HasPrefix(strings.ToLower(a), "unix://"), strings.HasPrefix(strings.ToLower(a), "fd:"):
				c.report("http_address", NoEquivalent, "Gatehouse listens on host:port only (server.listen); put a TCP address there")
			default:
				c.report("http_address", Mapped, "", d.set("server", "listen", a, "http_address"))
			}
		}
		c.report("https_address", Builtin, "unused without tls_cert_file and tls_key_file, as in oauth2-proxy")
	}
	for _, o := range []string{"tls_min_version", "tls_cipher_suites"} {
		c.report(o, NoEquivalent, "Gatehouse uses Go's TLS defaults (TLS 1.2 and up, modern suites); for a specific policy, end TLS at the load balancer")
	}
	if m, ok := c.get("metrics_address"); ok && m.str != "" {
		c.report("metrics_address", Mapped, "Prometheus metrics, prefix gatehouse_", d.set("server", "metrics_listen", m.str, "metrics_address"))
	}
	for _, o := range []string{"metrics_secure_address", "metrics_tls_cert_file", "metrics_tls_key_file"} {
		c.report(o, NoEquivalent, "the metrics listener is plain HTTP: keep it on a private network, or scrape through a TLS proxy")
	}

	c.mapPublicURL()

	switch {
	case len(c.list("trusted_proxy_ips")) > 0:
		c.report("trusted_proxy_ips", Mapped, "", d.set("server", "trusted_proxies", c.list("trusted_proxy_ips"), "trusted_proxy_ips"))
		c.report("reverse_proxy", Builtin, "the proxies are server.trusted_proxies")
	case c.on("reverse_proxy", false) && len(c.in.TrustedProxies) > 0:
		c.report("reverse_proxy", Mapped, "X-Forwarded-* are believed only from these addresses",
			d.set("server", "trusted_proxies", c.in.TrustedProxies, "reverse_proxy = true: the proxies in front (from --trusted-proxies)"))
	case c.on("reverse_proxy", false):
		d.set("server", "trusted_proxies", []string{}, "reverse_proxy = true trusted X-Forwarded-* from any peer; Gatehouse believes them only from\n"+
			"these addresses. "+todo+": list your load balancer's or ingress controller's addresses (CIDRs).")
		d.suggest("server", "trusted_proxies", []string{"10.0.0.0/8"}, "")
		c.report("reverse_proxy", Changed, "a list of addresses instead of a switch: fill in server.trusted_proxies (or run the converter with "+
			"--trusted-proxies CIDR,...); until then X-Forwarded-* are ignored and forward-auth refuses (403) where rules depend on the path",
			"server.trusted_proxies")
	default:
		c.report("reverse_proxy", Builtin, "")
	}
	c.report("real_client_ip_header", NoEquivalent, "the client address comes from X-Forwarded-For of a server.trusted_proxies proxy")
	c.report("force_https", NoEquivalent, "redirect http to https at the load balancer")
	if p := c.str("proxy_prefix"); p != "" && strings.TrimSuffix(p, "/") != "/oauth2" {
		c.report("proxy_prefix", Changed, "Gatehouse's endpoints are always under /oauth2/: change the nginx locations and the redirect URI registered at the provider")
	} else {
		c.report("proxy_prefix", Builtin, "")
	}
	c.report("ping_path", Builtin, "Gatehouse answers /ping and /ready itself (server.health_aliases), beside /healthz and /readyz")
	c.report("ready_path", Builtin, "Gatehouse answers /ping and /ready itself (server.health_aliases), beside /healthz and /readyz")
	c.report("ping_user_agent", NoEquivalent, "probe /healthz instead")
	c.report("gcp_healthchecks", NoEquivalent, "point the load balancer's health check at /healthz")
	c.report("relative_redirect_url", NoEquivalent, "redirects to the provider and back use server.public_url")
	c.report("trusted_ips", NoEquivalent, "an IP address is not an identity: give such clients a route with auth = \"bearer\" "+
		"or \"public\", or restrict them in the network (the converter admits them only after sign-in)")

	if wl := c.list("whitelist_domains"); len(wl) > 0 {
		var out []string
		for _, w := range wl {
			if strings.HasPrefix(w, "*.") {
				w = w[1:]
			}
			out = append(out, w)
		}
		c.report("whitelist_domains", Mapped, "\".example.com\" admits subdomains, as in oauth2-proxy",
			d.set("server", "allowed_redirect_domains", out, "whitelist_domains"))
	}
}

// mapPublicURL: oauth2-proxy's redirect_url is the callback URL; Gatehouse
// derives it from server.public_url.
func (c *converter) mapPublicURL() {
	d := c.doc
	v, ok := c.get("redirect_url")
	if !ok || v.str == "" {
		d.set("server", "public_url", "", todo+": oauth2-proxy took the redirect URL from each request's host; "+
			"Gatehouse needs the URL browsers use,\nsuch as \"https://app.example.com\" (the redirect URI is public_url + \"/oauth2/callback\").")
		c.reportAt("redirect_url", "not set", Changed, "fill in server.public_url: check-config refuses the file until then", "server.public_url")
		return
	}
	u, err := url.Parse(v.str)
	if err != nil || u.Scheme == "" || u.Host == "" {
		d.set("server", "public_url", "", todo+": redirect_url "+v.str+" is not an absolute URL; write the URL browsers use")
		c.report("redirect_url", Changed, "not an absolute URL: fill in server.public_url", "server.public_url")
		return
	}
	pub := u.Scheme + "://" + u.Host
	k := d.set("server", "public_url", pub, "redirect_url "+v.str+": the redirect URI is public_url + \"/oauth2/callback\"")
	if u.Path != "/oauth2/callback" {
		c.report("redirect_url", Changed, "the redirect URI becomes "+pub+"/oauth2/callback: register it at the provider", k)
		return
	}
	c.report("redirect_url", Mapped, "the redirect URI stays "+v.str, k)
}

// mapRest: pages, logging and the options about the configuration itself.
func (c *converter) mapRest() {
	uiMapper{c}.mapUI()
	c.report("show_debug_on_error", NoEquivalent, "error pages never show internal errors; the log has them")
	for _, o := range []string{
		"logging_filename", "logging_max_size", "logging_max_age", "logging_max_backups", "logging_local_time",
		"logging_compress", "standard_logging_format", "request_logging_format", "auth_logging_format",
		"exclude_logging_paths", "silence_ping_logging", "errors_to_info_log",
	} {
		c.report(o, NoEquivalent, "Gatehouse logs to stderr in one format (server.log_format text or json), without templates or rotation")
	}
	if !c.on("request_logging", true) {
		c.report("request_logging", Mapped, "", c.doc.set("server", "access_log", false, "request_logging = false"))
	} else {
		c.report("request_logging", Builtin, "server.access_log")
	}
	c.report("standard_logging", Builtin, "server.log_level")
	c.report("auth_logging", Builtin, "audit events (event=login, access_denied, ...) are always logged")
	if h := c.str("request_id_header"); h != "" && !strings.EqualFold(h, "X-Request-Id") {
		c.report("request_id_header", NoEquivalent, "the request ID header is X-Request-Id, taken from a trusted proxy or generated")
	} else {
		c.report("request_id_header", Builtin, "")
	}
	c.report("config", Builtin, "read by the converter")
	c.report("alpha_config", Builtin, "read by the converter")
	c.report("convert_config_to_alpha", NoEquivalent, "ignored")
	c.report("version", NoEquivalent, "ignored")
}
