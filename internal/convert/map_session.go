package convert

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// mapSession: the cookie and the session store.
func (c *converter) mapSession() {
	d := c.doc
	if n := c.str("cookie_name"); n != "" {
		bare := strings.TrimPrefix(strings.TrimPrefix(n, "__Host-"), "__Secure-")
		note := ""
		if bare != n {
			note = "without the __Host-/__Secure- prefix: Gatehouse adds it itself on https"
		}
		c.report("cookie_name", Mapped, note, d.set("session", "cookie_name", bare, "cookie_name"))
	}
	for _, o := range []string{"cookie_secret", "cookie_secret_file"} {
		c.report(o, Changed, "not carried over: Gatehouse needs a new key of exactly 32 bytes, base64 (gatehouse genkey), in "+
			"GATEHOUSE_COOKIE_SECRET or session.cookie_secret_file; users sign in once more after the switch")
	}
	if doms := c.list("cookie_domains"); len(doms) > 0 {
		note := "list the hosts in server.allowed_redirect_domains too"
		st := Mapped
		if len(doms) > 1 {
			st, note = Changed, "one cookie domain: Gatehouse uses the first; the others need a Gatehouse of their own"
		}
		c.report("cookie_domains", st, note, d.set("session", "cookie_domain", strings.TrimPrefix(doms[0], "."), "cookie_domains"))
	}
	if p := c.str("cookie_path"); p != "" && p != "/" {
		c.report("cookie_path", NoEquivalent, "the cookie's path is always /")
	} else {
		c.report("cookie_path", Builtin, "")
	}
	if e := c.str("cookie_expire"); e != "" {
		dur, err := time.ParseDuration(e)
		switch {
		case err != nil:
			c.report("cookie_expire", Changed, "not a duration: set session.lifetime by hand")
		case dur == 0:
			c.report("cookie_expire", NoEquivalent, "a session always has a lifetime (session.lifetime, default 12h)")
		default:
			c.report("cookie_expire", Mapped, "an absolute limit checked at every request (session.idle_timeout adds an inactivity limit); "+
				"the cookie has no Max-Age, so a browser that drops session cookies when it closes signs in again",
				d.set("session", "lifetime", e, "cookie_expire"))
		}
	}
	c.report("cookie_refresh", Builtin, "tokens are refreshed shortly before the access token expires (session.refresh_before), "+
		"not at an interval; with the cookie store the same response carries the rewritten cookie")
	if !c.on("cookie_secure", true) {
		c.report("cookie_secure", Changed, "Secure follows server.public_url: https sets it")
	} else {
		c.report("cookie_secure", Builtin, "")
	}
	if !c.on("cookie_httponly", true) {
		c.report("cookie_httponly", Changed, "the cookie is always HttpOnly")
	} else {
		c.report("cookie_httponly", Builtin, "")
	}
	if s := strings.ToLower(c.str("cookie_samesite")); s != "" && s != "lax" {
		c.report("cookie_samesite", Changed, "the cookie is always SameSite=Lax")
	} else {
		c.report("cookie_samesite", Builtin, "")
	}
	for _, o := range []string{"cookie_csrf_per_request", "cookie_csrf_per_request_limit", "cookie_csrf_expire"} {
		c.report(o, Builtin, "parallel logins are built in; limits.flows_per_browser bounds them")
	}
	if c.on("session_cookie_minimal", false) && !strings.EqualFold(c.str("session_store_type"), "redis") {
		c.report("session_cookie_minimal", Changed, "the cookie store seals the tokens into the cookie; for a cookie that holds only a ticket, "+
			"use store = \"memory\" (one replica) or \"redis\"")
	} else {
		c.report("session_cookie_minimal", Builtin, "with the memory and Redis stores the cookie holds only a ticket")
	}

	if strings.EqualFold(c.str("session_store_type"), "redis") {
		c.report("session_store_type", Mapped, "", d.set("session", "store", "redis", "session_store_type"))
		c.mapRedis()
	} else {
		c.mapCookieStore()
	}
	c.report("redis_sentinel_password", NoEquivalent, "Sentinel without a password of its own; protect it in the network")
	c.report("redis_insecure_skip_tls_verify", NoEquivalent, "Gatehouse verifies Redis's certificate: give Redis one the system trusts")
	c.report("redis_ca_path", NoEquivalent, "add the CA to the system trust store, or point SSL_CERT_FILE at a bundle holding it")
	c.report("redis_connection_idle_timeout", NoEquivalent, "the client's defaults apply")
}

// mapCookieStore: oauth2-proxy's cookie store, its default, is Gatehouse's
// cookie store (docs/sessions.md#the-cookie-store).
func (c *converter) mapCookieStore() {
	note := "the session is sealed in the browser's cookies, as in oauth2-proxy's cookie store: no Redis, every replica with the same " +
		"cookie_secret opens it, a large one is split into NAME, NAME_1 and so on. Logout differs: sign-out, a refused refresh and " +
		"back-/front-channel logout revoke the session, but without Redis only on the replica that handled them and until it " +
		"restarts, and gatehouse sessions revoke cannot reach it; add a [session.redis] table (it then holds only revocations) " +
		"to end sessions on every replica. Behind nginx auth_request keep relaying Set-Cookie: a refresh rewrites the cookie"
	source := c.sourceOr("session_store_type", "default cookie")
	if s := strings.ToLower(c.str("session_store_type")); s != "" && s != "cookie" {
		note = fmt.Sprintf("%q is no store oauth2-proxy knows (cookie or redis): written as its default, cookie; ", s) + note
	}
	k := c.doc.set("session", "store", "cookie", "session_store_type (oauth2-proxy's cookie store, its default): the session sealed in the browser's cookies.\n"+
		"Without [session.redis] a sign-out ends a session only on the replica that handled it (docs/sessions.md);\n"+
		"for one replica \"memory\" keeps the tokens on the server, for several \"redis\" with a [session.redis] table.")
	c.reportAt("session_store_type", source, Changed, note, k)
	for _, o := range []string{
		"redis_connection_url", "redis_username", "redis_password", "redis_use_sentinel", "redis_sentinel_master_name",
		"redis_sentinel_connection_urls", "redis_use_cluster", "redis_cluster_connection_urls",
	} {
		c.report(o, NoEquivalent, "unused: session_store_type is not redis")
	}
}

// mapRedis: one server, Sentinel or Cluster.
func (c *converter) mapRedis() {
	d := c.doc
	switch {
	case c.on("redis_use_sentinel", false):
		c.report("redis_use_sentinel", Mapped, "", "session.redis.sentinel_addrs")
		c.report("redis_sentinel_connection_urls", Mapped, "host:port, not URLs",
			d.set("session.redis", "sentinel_addrs", hostPorts(c.list("redis_sentinel_connection_urls")), "redis_sentinel_connection_urls"))
		c.report("redis_sentinel_master_name", Mapped, "",
			d.set("session.redis", "master_name", c.str("redis_sentinel_master_name"), "redis_sentinel_master_name"))
		c.report("redis_connection_url", NoEquivalent, "unused with Sentinel")
	case c.on("redis_use_cluster", false):
		c.report("redis_use_cluster", Mapped, "", "session.redis.cluster_addrs")
		c.report("redis_cluster_connection_urls", Mapped, "host:port, not URLs",
			d.set("session.redis", "cluster_addrs", hostPorts(c.list("redis_cluster_connection_urls")), "redis_cluster_connection_urls"))
		c.report("redis_connection_url", NoEquivalent, "unused with Cluster")
	default:
		if raw := c.str("redis_connection_url"); raw != "" {
			note := ""
			if u, err := url.Parse(raw); err == nil && u.User != nil {
				if _, has := u.User.Password(); has {
					note = "the password in the URL was not written: set GATEHOUSE_REDIS_PASSWORD or session.redis.password_file"
					if name := u.User.Username(); name != "" {
						d.set("session.redis", "username", name, "the user of redis_connection_url")
					}
					u.User = nil
					raw = u.String()
				}
			}
			c.report("redis_connection_url", Mapped, note, d.set("session.redis", "url", raw, "redis_connection_url"))
		} else {
			d.set("session.redis", "url", "", todo+": redis://HOST:6379/0 (redis_connection_url was not set)")
		}
		c.report("redis_use_sentinel", Builtin, "")
		c.report("redis_use_cluster", Builtin, "")
	}
	if u := c.str("redis_username"); u != "" {
		c.report("redis_username", Mapped, "", d.set("session.redis", "username", u, "redis_username"))
	}
	c.report("redis_password", Changed, "not written: set GATEHOUSE_REDIS_PASSWORD or session.redis.password_file")
}

// hostPorts turns redis:// URLs into host:port.
func hostPorts(urls []string) []string {
	out := make([]string, 0, len(urls))
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			s = u.Host
		}
		out = append(out, s)
	}
	return out
}
