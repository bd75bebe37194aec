package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// exampleCookieSecret is the placeholder cookie secret of
// config.example.toml: acceptable for a loopback demo only.
const exampleCookieSecret = "Z2F0ZWhvdXNlLWRlbW8tb25seS1kby1ub3QtdXNlISE="

func (s *Session) validate(p *problems, publicURL string) {
	checkOneOf(p, "session.store", s.Store, StoreMemory, StoreRedis, StoreCookie)
	switch {
	case s.CookieName == "":
		p.add("session.cookie_name", "required")
	case strings.IndexFunc(s.CookieName, func(r rune) bool { return !isTokenChar(r) }) >= 0:
		p.add("session.cookie_name", "%q is not a valid cookie name (an RFC 6265 token: letters, digits and !#$%%&'*+-.^_`|~)", s.CookieName)
	case hasPrefixFold(s.CookieName, "__Host-") || hasPrefixFold(s.CookieName, "__Secure-"):
		p.add("session.cookie_name", "%q must not carry a __Host- or __Secure- prefix: Gatehouse adds __Host- itself when public_url is https (__Secure- with cookie_domain)", s.CookieName)
	}
	if s.CookieDomain != "" {
		if msg := checkCookieDomain(s.CookieDomain, publicURL); msg != "" {
			p.add("session.cookie_domain", "%s", msg)
		}
	}
	const genkey = `generate one with "gatehouse genkey"`
	secrets := s.CookieSecret.List()
	if len(secrets) == 0 {
		p.add("session.cookie_secret", "required (or cookie_secret_file, or %s); %s", EnvCookieSecret, genkey)
	}
	if len(secrets) > maxCookieSecrets {
		p.add("session.cookie_secret", "lists %d secrets; at most %d (the current one and the previous ones still accepted)", len(secrets), maxCookieSecrets)
	}
	for i, sec := range secrets {
		key := "session.cookie_secret"
		if len(secrets) > 1 {
			key = fmt.Sprintf("session.cookie_secret[%d]", i)
		}
		switch {
		case decodeKey(sec) == nil:
			p.add(key, "must decode (base64) to exactly 32 bytes; %s", genkey)
		case sec == exampleCookieSecret && !isLoopbackURL(publicURL):
			p.add(key, "is the published example value, fit only for a loopback demo; %s", genkey)
		}
	}
	if s.Lifetime.Duration < time.Minute {
		p.add("session.lifetime", "%v is below the minimum of 1m", s.Lifetime.Duration)
	}
	switch it := s.IdleTimeout.Duration; {
	case it == 0:
	case it < time.Minute:
		p.add("session.idle_timeout", "%v is below the minimum of 1m (0 disables it)", it)
	case it > s.Lifetime.Duration:
		p.add("session.idle_timeout", "%v exceeds session.lifetime (%v)", it, s.Lifetime.Duration)
	}
	if s.RefreshBefore.Duration < 0 {
		p.add("session.refresh_before", "must not be negative")
	}
	if ma := s.CacheMaxAge.Duration; ma < 0 || ma > time.Minute {
		p.add("session.cache_max_age", "%v is outside 0s (no cache) to 1m", ma)
	}
	s.Redis.validate(p, s.Store == StoreRedis || (s.Store == StoreCookie && s.Redis.Configured()))
}

// Configured reports whether a Redis server is named (url, sentinel_addrs
// or cluster_addrs, or a master_name).
func (r *Redis) Configured() bool {
	return r.URL != "" || len(r.SentinelAddrs) > 0 || len(r.ClusterAddrs) > 0 || r.MasterName != ""
}

func (r *Redis) validate(p *problems, used bool) {
	if !used {
		if r.Configured() {
			p.add("session.redis", `set, but session.store is "memory" (Redis holds sessions with store = "redis", revocations with store = "cookie")`)
		}
		return
	}
	n := 0
	for _, set := range []bool{r.URL != "", len(r.SentinelAddrs) > 0, len(r.ClusterAddrs) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		p.add("session.redis", "set exactly one of url, sentinel_addrs and cluster_addrs")
	}
	if r.URL != "" {
		if msg := checkRedisURL(r.URL); msg != "" {
			p.add("session.redis.url", "%s", msg)
		}
	}
	for i, a := range r.SentinelAddrs {
		if err := checkHostPort(a); err != nil {
			p.add(fmt.Sprintf("session.redis.sentinel_addrs[%d]", i), "%v", err)
		}
	}
	switch {
	case len(r.SentinelAddrs) > 0 && r.MasterName == "":
		p.add("session.redis.master_name", "required with sentinel_addrs")
	case len(r.SentinelAddrs) == 0 && r.MasterName != "":
		p.add("session.redis.master_name", "used only with sentinel_addrs")
	}
	for i, a := range r.ClusterAddrs {
		if err := checkHostPort(a); err != nil {
			p.add(fmt.Sprintf("session.redis.cluster_addrs[%d]", i), "%v", err)
		}
	}
}

// SessionWarnings returns what check-config and the gateway at start-up
// say about a valid session configuration: with the cookie store and no
// Redis, which logout features are lost.
func (c *Config) SessionWarnings() []string {
	if c.Session.Store != StoreCookie || c.Session.Redis.Configured() {
		return nil
	}
	return []string{`session.store = "cookie" without [session.redis]: revocations live in each replica's memory only. ` +
		`Sign-out, front- and back-channel logout and a refused refresh end a session only on the replica that handled them, and only until it restarts: ` +
		`another replica (or this one after a restart) accepts the cookie until session.lifetime or idle_timeout ends it. ` +
		`"gatehouse sessions revoke" cannot reach the sessions at all. ` +
		`A refresh is single-flight per replica only: with an AS that rotates refresh tokens and revokes on reuse, a browser whose concurrent requests reach two replicas as its access token expires may be logged out. ` +
		`REST flow API sessions and its pending flows stay on the replica that made them. Configure [session.redis] (it then holds only these small records) to keep every logout guarantee (docs/sessions.md).`}
}

func checkRedisURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "must be a redis:// or rediss:// URL"
	}
	if u.Host == "" {
		return "has no host"
	}
	return ""
}

// isLoopbackURL reports whether s parses as a URL whose host is loopback.
// checkCookieDomain checks a session.cookie_domain: a host name (no IP
// address: browsers set no Domain cookie for one), equal to or a parent of
// public_url's host (the callback on that host sets the cookie; a browser
// refuses any other domain), and not a public suffix ("com", "co.uk",
// "github.io"), which would share the cookie with every site under it.
func checkCookieDomain(d, publicURL string) string {
	if msg := checkHost(d); msg != "" {
		return msg
	}
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return fmt.Sprintf("%q is an IP address; a cookie domain must be a host name (leave it empty for a host-only cookie)", d)
	}
	if ps, _ := publicsuffix.PublicSuffix(d); ps == d {
		return fmt.Sprintf("%q is a public suffix: the session cookie would go to every site under it", d)
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return "" // server.public_url reports its own problem
	}
	if h := strings.ToLower(u.Hostname()); h != d && !strings.HasSuffix(h, "."+d) {
		return fmt.Sprintf("%q is not server.public_url's host %q or a parent domain of it: browsers would refuse the cookie", d, h)
	}
	return ""
}
