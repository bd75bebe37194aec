package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// testCookieSecret is base64 of 32 bytes; not the example placeholder.
const testCookieSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

const minimalTOML = `
[server]
public_url = "https://auth.example.com"

[provider]
issuer = "https://idp.example.com/realms/main"
client_id = "gatehouse"

[[upstream]]
url = "http://127.0.0.1:8080"
`

// validConfig returns a parsed, valid Config whose secrets come from the
// environment.
func validConfig(t *testing.T) *Config {
	t.Helper()
	c, err := Parse([]byte(minimalTOML), func(k string) string {
		return map[string]string{
			EnvClientSecret: "client-secret",
			EnvCookieSecret: testCookieSecret,
		}[k]
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("base config does not validate:\n%v", err)
	}
	return c
}

func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func dur(d time.Duration) Duration { return Duration{d} }

func TestValidate(t *testing.T) {
	const genkey = `generate one with "gatehouse genkey"`
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string // every error line, in order; nil means valid
	}{
		{"valid", func(c *Config) {}, nil},

		// server
		{"listen required", func(c *Config) { c.Server.Listen = "" }, []string{"server.listen: required"}},
		{"listen all interfaces", func(c *Config) { c.Server.Listen = ":4180" }, nil},
		{"listen ipv6", func(c *Config) { c.Server.Listen = "[::1]:4180" }, nil},
		{"listen without port", func(c *Config) { c.Server.Listen = "127.0.0.1" },
			[]string{`server.listen: "127.0.0.1" must be host:port`}},
		{"listen bad port", func(c *Config) { c.Server.Listen = "127.0.0.1:http" },
			[]string{`server.listen: "127.0.0.1:http" has an invalid port`}},
		{"public_url required", func(c *Config) { c.Server.PublicURL = "" }, []string{"server.public_url: required"}},
		{"public_url relative", func(c *Config) { c.Server.PublicURL = "auth.example.com" },
			[]string{"server.public_url: must be an absolute http or https URL"}},
		{"public_url ftp", func(c *Config) { c.Server.PublicURL = "ftp://auth.example.com" },
			[]string{"server.public_url: must be an absolute http or https URL"}},
		{"public_url path", func(c *Config) { c.Server.PublicURL = "https://example.com/auth" },
			[]string{"server.public_url: must not have a path (serving under a path prefix is not supported)"}},
		{"public_url slash", func(c *Config) { c.Server.PublicURL = "https://auth.example.com/" }, nil},
		{"public_url query", func(c *Config) { c.Server.PublicURL = "https://auth.example.com/?a=b" },
			[]string{"server.public_url: must not have a query"}},
		{"public_url fragment", func(c *Config) { c.Server.PublicURL = "https://auth.example.com/#x" },
			[]string{"server.public_url: must not have a fragment"}},
		{"public_url userinfo", func(c *Config) { c.Server.PublicURL = "https://u:p@auth.example.com" },
			[]string{"server.public_url: must not contain user info"}},
		{"public_url http non-loopback", func(c *Config) { c.Server.PublicURL = "http://auth.example.com" },
			[]string{`server.public_url: must use https (http is allowed only for a loopback host such as 127.0.0.1 or localhost); try "https://auth.example.com"`}},
		{"public_url http 127.0.0.2", func(c *Config) { c.Server.PublicURL = "http://127.0.0.2:4180" }, nil},
		{"public_url http localhost", func(c *Config) { c.Server.PublicURL = "http://localhost:4180" }, nil},
		{"public_url http ::1", func(c *Config) { c.Server.PublicURL = "http://[::1]:4180" }, nil},
		{"public_url http 10/8 is not loopback", func(c *Config) { c.Server.PublicURL = "http://10.0.0.1" },
			[]string{`server.public_url: must use https (http is allowed only for a loopback host such as 127.0.0.1 or localhost); try "https://10.0.0.1"`}},
		{"trusted_proxies valid", func(c *Config) {
			c.Server.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1"}
		}, nil},
		{"trusted_proxies invalid", func(c *Config) {
			c.Server.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.1/8", "nope", "10.0.0.0/33", ""}
		}, []string{
			`server.trusted_proxies[1]: "10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?`,
			`server.trusted_proxies[2]: "nope" is not an IP address or CIDR`,
			`server.trusted_proxies[3]: "10.0.0.0/33" is not a valid CIDR`,
			`server.trusted_proxies[4]: "" is not an IP address or CIDR`,
		}},
		{"allowed_redirect_domains valid", func(c *Config) {
			c.Server.AllowedRedirectDomains = []string{"app.example.com", ".example.com", "127.0.0.1", "[::1]",
				"admin.example.com:8443", ".dev.example.com:*", "[::1]:8080"}
		}, nil},
		{"allowed_redirect_domains invalid", func(c *Config) {
			c.Server.AllowedRedirectDomains = []string{
				"https://app.example.com", "app.example.com/x", "*.example.com", "App.example.com", "app.example.com:https", "", "bad_host!", "app.example.com:0", "::1", ".127.0.0.1",
			}
		}, []string{
			`server.allowed_redirect_domains[0]: "https://app.example.com" must be a host name without scheme`,
			`server.allowed_redirect_domains[1]: "app.example.com/x" must be a host name without path`,
			`server.allowed_redirect_domains[2]: "*.example.com": write ".example.com" to allow every subdomain`,
			`server.allowed_redirect_domains[3]: "App.example.com" must be lower case`,
			`server.allowed_redirect_domains[4]: "app.example.com:https" has an invalid port (a number, or * for any port)`,
			`server.allowed_redirect_domains[5]: must not be empty`,
			`server.allowed_redirect_domains[6]: "bad_host!" is not a valid host name`,
			`server.allowed_redirect_domains[7]: "app.example.com:0" has an invalid port (a number, or * for any port)`,
			`server.allowed_redirect_domains[8]: "::1": write an IPv6 address in brackets, as in "[::1]"`,
			`server.allowed_redirect_domains[9]: ".127.0.0.1": an IP address has no subdomains`,
		}},
		{"pprof without metrics_listen", func(c *Config) { c.Server.Pprof = true },
			[]string{"server.pprof: needs server.metrics_listen: the profiler is served on the metrics listener only"}},
		{"pprof with metrics_listen", func(c *Config) { c.Server.Pprof, c.Server.MetricsListen = true, "127.0.0.1:9090" }, nil},
		{"log_format", func(c *Config) { c.Server.LogFormat = "logfmt" },
			[]string{`server.log_format: "logfmt" is not one of "text", "json"`}},
		{"log_level", func(c *Config) { c.Server.LogLevel = "trace" },
			[]string{`server.log_level: "trace" is not one of "debug", "info", "warn", "error"`}},
		{"server timeouts", func(c *Config) {
			c.Server.ShutdownTimeout = dur(0)
			c.Server.ReadHeaderTimeout = dur(-time.Second)
			c.Server.IdleTimeout = dur(0)
		}, []string{
			"server.shutdown_timeout: must be positive",
			"server.read_header_timeout: must be positive",
			"server.idle_timeout: must be positive",
		}},

		// provider
		{"issuer required", func(c *Config) { c.Provider.Issuer = "" }, []string{"provider.issuer: required"}},
		{"issuer relative", func(c *Config) { c.Provider.Issuer = "/realms/main" },
			[]string{"provider.issuer: must be an absolute http or https URL"}},
		{"issuer http", func(c *Config) { c.Provider.Issuer = "http://idp.example.com" },
			[]string{`provider.issuer: must use https (http is allowed only for a loopback host such as 127.0.0.1 or localhost); try "https://idp.example.com"`}},
		{"issuer http loopback", func(c *Config) { c.Provider.Issuer = "http://127.0.0.1:9000" }, nil},
		{"issuer query", func(c *Config) { c.Provider.Issuer = "https://idp.example.com?tenant=a" },
			[]string{"provider.issuer: must not have a query"}},
		{"client_id required", func(c *Config) { c.Provider.ClientID = "" }, []string{"provider.client_id: required"}},
		{"client_secret required", func(c *Config) { c.Provider.ClientSecret = "" },
			[]string{"provider.client_secret: required (or client_secret_file, or GATEHOUSE_CLIENT_SECRET)"}},
		{"scopes without openid", func(c *Config) { c.Provider.Scopes = []string{"email"} },
			[]string{`provider.scopes: must contain "openid"`}},
		{"scopes empty", func(c *Config) { c.Provider.Scopes = nil },
			[]string{`provider.scopes: required; must contain "openid"`}},
		{"scopes bad entries", func(c *Config) { c.Provider.Scopes = []string{"openid", "", "email profile", "openid"} },
			[]string{
				"provider.scopes[1]: must not be empty",
				`provider.scopes[2]: "email profile" must not contain white space; list each scope separately`,
				`provider.scopes[3]: duplicate scope "openid"`,
			}},
		{"provider timeout", func(c *Config) { c.Provider.Timeout = dur(0) }, []string{"provider.timeout: must be positive"}},
		{"extra_auth_params allowed", func(c *Config) {
			c.Provider.ExtraAuthParams = map[string]string{"prompt": "login", "acr_values": "mfa"}
		}, nil},
		{"extra_auth_params reserved", func(c *Config) {
			c.Provider.ExtraAuthParams = map[string]string{"prompt": "login", "state": "x", "redirect_uri": "https://evil.example", "": "x"}
		}, []string{
			"provider.extra_auth_params: a parameter name must not be empty",
			"provider.extra_auth_params.redirect_uri: reserved: Gatehouse sets or forbids this parameter itself",
			"provider.extra_auth_params.state: reserved: Gatehouse sets or forbids this parameter itself",
		}},
		{"response_type other", func(c *Config) { c.Provider.ResponseType = "none" },
			[]string{`provider.response_type: "none" is not supported; use "code"`}},
		{"end_session_binding other", func(c *Config) { c.Provider.EndSessionBinding = "redirect" },
			[]string{`provider.end_session_binding: "redirect" is not one of post, get, get_without_hint`}},

		// session
		{"cookie_domain parent of public_url's host", func(c *Config) { c.Session.CookieDomain = "example.com" }, nil},
		{"cookie_domain equal to public_url's host", func(c *Config) { c.Session.CookieDomain = "auth.example.com" }, nil},
		{"cookie_domain elsewhere", func(c *Config) { c.Session.CookieDomain = "example.org" },
			[]string{`session.cookie_domain: "example.org" is not server.public_url's host "auth.example.com" or a parent domain of it: browsers would refuse the cookie`}},
		{"cookie_domain a sibling, not a parent", func(c *Config) { c.Session.CookieDomain = "app.example.com" },
			[]string{`session.cookie_domain: "app.example.com" is not server.public_url's host "auth.example.com" or a parent domain of it: browsers would refuse the cookie`}},
		{"cookie_domain a suffix but not at a dot", func(c *Config) { c.Session.CookieDomain = "le.com" },
			[]string{`session.cookie_domain: "le.com" is not server.public_url's host "auth.example.com" or a parent domain of it: browsers would refuse the cookie`}},
		{"cookie_domain a public suffix", func(c *Config) { c.Session.CookieDomain = "com" },
			[]string{`session.cookie_domain: "com" is a public suffix: the session cookie would go to every site under it`}},
		{"cookie_domain a private public suffix", func(c *Config) {
			c.Server.PublicURL = "https://team.github.io"
			c.Session.CookieDomain = "github.io"
		}, []string{`session.cookie_domain: "github.io" is a public suffix: the session cookie would go to every site under it`}},
		{"cookie_domain an IP address", func(c *Config) {
			c.Server.PublicURL = "https://192.0.2.10"
			c.Session.CookieDomain = "192.0.2.10"
		}, []string{`session.cookie_domain: "192.0.2.10" is an IP address; a cookie domain must be a host name (leave it empty for a host-only cookie)`}},
		{"cookie_domain with a port", func(c *Config) { c.Session.CookieDomain = "example.com:443" },
			[]string{`session.cookie_domain: "example.com:443" must not have a port`}},
		{"cookie_domain upper case", func(c *Config) { c.Session.CookieDomain = "Example.com" },
			[]string{`session.cookie_domain: "Example.com" must be lower case`}},
		{"store", func(c *Config) { c.Session.Store = "postgres" },
			[]string{`session.store: "postgres" is not one of "memory", "redis", "cookie"`}},
		{"cookie_name required", func(c *Config) { c.Session.CookieName = "" }, []string{"session.cookie_name: required"}},
		{"cookie_name not a token", func(c *Config) { c.Session.CookieName = "my cookie;" },
			[]string{"session.cookie_name: \"my cookie;\" is not a valid cookie name (an RFC 6265 token: letters, digits and !#$%&'*+-.^_`|~)"}},
		{"cookie_name with __Host- prefix", func(c *Config) { c.Session.CookieName = "__host-gatehouse" },
			[]string{`session.cookie_name: "__host-gatehouse" must not carry a __Host- or __Secure- prefix: Gatehouse adds __Host- itself when public_url is https (__Secure- with cookie_domain)`}},
		{"cookie_secret required", func(c *Config) { c.Session.CookieSecret = "" },
			[]string{"session.cookie_secret: required (or cookie_secret_file, or GATEHOUSE_COOKIE_SECRET); " + genkey}},
		{"cookie_secret short", func(c *Config) { c.Session.CookieSecret = "c2hvcnQ=" },
			[]string{"session.cookie_secret: must decode (base64) to exactly 32 bytes; " + genkey}},
		{"cookie_secret not base64", func(c *Config) { c.Session.CookieSecret = "not base64 at all; clearly!!!!!!!!!!!!!!!!!" },
			[]string{"session.cookie_secret: must decode (base64) to exactly 32 bytes; " + genkey}},
		{"cookie_secret raw url", func(c *Config) { c.Session.CookieSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" }, nil},
		{"cookie_secret list", func(c *Config) {
			c.Session.CookieSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\nbm90IGEga2V5\n" + testCookieSecret
		}, []string{"session.cookie_secret[1]: must decode (base64) to exactly 32 bytes; " + genkey}},
		{"cookie_secret list too long", func(c *Config) {
			c.Session.CookieSecret = Secrets(strings.Repeat(testCookieSecret+",", 5))
		}, []string{"session.cookie_secret: lists 5 secrets; at most 4 (the current one and the previous ones still accepted)"}},
		{"cookie store", func(c *Config) { c.Session.Store = StoreCookie }, nil},
		{"cookie store with redis for revocations", func(c *Config) {
			c.Session.Store, c.Session.Redis.URL = StoreCookie, "redis://localhost:6379/0"
		}, nil},
		{"cookie store with a bad redis", func(c *Config) {
			c.Session.Store, c.Session.Redis.URL = StoreCookie, "http://localhost:6379/0"
		}, []string{"session.redis.url: must be a redis:// or rediss:// URL"}},
		{"cookie_secret example value outside loopback", func(c *Config) { c.Session.CookieSecret = exampleCookieSecret },
			[]string{"session.cookie_secret: is the published example value, fit only for a loopback demo; " + genkey}},
		{"cookie_secret example value on loopback", func(c *Config) {
			c.Session.CookieSecret = exampleCookieSecret
			c.Server.PublicURL = "http://127.0.0.1:4180"
		}, nil},
		{"lifetime minimum", func(c *Config) { c.Session.Lifetime = dur(59 * time.Second) },
			[]string{"session.lifetime: 59s is below the minimum of 1m"}},
		{"idle_timeout minimum", func(c *Config) { c.Session.IdleTimeout = dur(30 * time.Second) },
			[]string{"session.idle_timeout: 30s is below the minimum of 1m (0 disables it)"}},
		{"idle_timeout above lifetime", func(c *Config) {
			c.Session.Lifetime = dur(time.Hour)
			c.Session.IdleTimeout = dur(2 * time.Hour)
		}, []string{"session.idle_timeout: 2h0m0s exceeds session.lifetime (1h0m0s)"}},
		{"idle_timeout valid", func(c *Config) { c.Session.IdleTimeout = dur(30 * time.Minute) }, nil},
		{"refresh_before negative", func(c *Config) { c.Session.RefreshBefore = dur(-time.Second) },
			[]string{"session.refresh_before: must not be negative"}},
		{"cache_max_age zero disables", func(c *Config) { c.Session.CacheMaxAge = dur(0) }, nil},
		{"cache_max_age too long", func(c *Config) { c.Session.CacheMaxAge = dur(2 * time.Minute) },
			[]string{"session.cache_max_age: 2m0s is outside 0s (no cache) to 1m"}},

		// session.redis
		{"redis url", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.URL = "rediss://redis.example.com:6379/0"
		}, nil},
		{"redis sentinel", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.SentinelAddrs = []string{"s0:26379", "s1:26379"}
			c.Session.Redis.MasterName = "main"
		}, nil},
		{"redis cluster", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.ClusterAddrs = []string{"r0:6379"}
		}, nil},
		{"redis none", func(c *Config) { c.Session.Store = StoreRedis },
			[]string{"session.redis: set exactly one of url, sentinel_addrs and cluster_addrs"}},
		{"redis two", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.URL = "redis://r:6379"
			c.Session.Redis.ClusterAddrs = []string{"r0:6379"}
		}, []string{"session.redis: set exactly one of url, sentinel_addrs and cluster_addrs"}},
		{"redis bad url", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.URL = "http://r:6379"
		}, []string{"session.redis.url: must be a redis:// or rediss:// URL"}},
		{"redis sentinel without master", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.SentinelAddrs = []string{"s0"}
		}, []string{
			`session.redis.sentinel_addrs[0]: "s0" must be host:port`,
			"session.redis.master_name: required with sentinel_addrs",
		}},
		{"redis master without sentinel", func(c *Config) {
			c.Session.Store = StoreRedis
			c.Session.Redis.ClusterAddrs = []string{"r0:6379", "r1"}
			c.Session.Redis.MasterName = "main"
		}, []string{
			"session.redis.master_name: used only with sentinel_addrs",
			`session.redis.cluster_addrs[1]: "r1" must be host:port`,
		}},
		{"redis set with memory store", func(c *Config) { c.Session.Redis.URL = "redis://r:6379" },
			[]string{`session.redis: set, but session.store is "memory" (Redis holds sessions with store = "redis", revocations with store = "cookie")`}},

		// headers
		{"headers", func(c *Config) {
			c.Headers.User = ""
			c.Headers.Groups = "my groups"
			c.Headers.Email = "https://example.com/email"
		}, []string{
			"headers.user: required (a claim name)",
			`headers.groups: claim name "my groups" must not contain white space`,
		}},

		// upstreams
		{"upstream required", func(c *Config) { c.Upstreams = nil },
			[]string{"upstream: at least one [[upstream]] is required"}},
		{"upstream url", func(c *Config) {
			c.Upstreams = append(c.Upstreams,
				Upstream{PathPrefix: "/a", URL: "", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/b", URL: "127.0.0.1:8080", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/c", URL: "http://app:8080/?x=1", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/d", URL: "http://app:8080/#x", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/e", URL: "http://u:p@app:8080", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/f", URL: "https://app:8443/base", Auth: vocab.AuthPublic},
			)
		}, []string{
			"upstream[1].url: required",
			"upstream[2].url: must be an absolute http or https URL",
			"upstream[3].url: must not have a query",
			"upstream[4].url: must not have a fragment",
			"upstream[5].url: must not contain user info",
		}},
		{"upstream names", func(c *Config) {
			c.Upstreams[0].Name = "app"
			c.Upstreams = append(c.Upstreams,
				Upstream{Name: "app", PathPrefix: "/a", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{Name: "My_App", PathPrefix: "/b", URL: "http://b", Auth: vocab.AuthSession},
			)
		}, []string{
			`upstream[1].name: "app" is already the name of upstream[0]`,
			`upstream[2].name: "My_App" must contain only a-z, 0-9 and '-'`,
		}},
		{"upstream host", func(c *Config) {
			c.Upstreams = append(c.Upstreams,
				Upstream{Host: "app.example.com", PathPrefix: "/", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{Host: "App.example.com", PathPrefix: "/", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{Host: "app.example.com:443", PathPrefix: "/", URL: "http://a", Auth: vocab.AuthSession},
			)
		}, []string{
			`upstream[2].host: "App.example.com" must be lower case`,
			`upstream[3].host: "app.example.com:443" must not have a port`,
		}},
		{"upstream path_prefix", func(c *Config) {
			c.Upstreams = append(c.Upstreams,
				Upstream{PathPrefix: "api", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/api/../admin", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/api?x", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/a//b", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/api/", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/a..b", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/admin./x", URL: "http://a", Auth: vocab.AuthSession},
			)
		}, []string{
			`upstream[1].path_prefix: "api" must start with "/"`,
			`upstream[2].path_prefix: "/api/../admin" must not contain a ".." segment`,
			`upstream[3].path_prefix: "/api?x" must not have a query or fragment`,
			`upstream[4].path_prefix: "/a//b" must not contain an empty segment ("//")`,
			`upstream[7].path_prefix: "/admin./x" must not have a segment ending in "." (servers that drop trailing dots read it as another path)`,
		}},
		{"upstream prefixes that differ only in case", func(c *Config) {
			c.Upstreams = append(c.Upstreams,
				Upstream{PathPrefix: "/admin", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{PathPrefix: "/Admin", URL: "http://a", Auth: vocab.AuthSession},
				Upstream{Host: "a.example.com", PathPrefix: "/API", URL: "http://a", Auth: vocab.AuthSession, CaseSensitivePaths: true},
				Upstream{Host: "a.example.com", PathPrefix: "/api", URL: "http://a", Auth: vocab.AuthSession, CaseSensitivePaths: true},
				Upstream{Host: "b.example.com", PathPrefix: "/API", URL: "http://a", Auth: vocab.AuthSession, CaseSensitivePaths: true},
				Upstream{Host: "b.example.com", PathPrefix: "/api", URL: "http://a", Auth: vocab.AuthSession},
			)
		}, []string{
			`upstream[2].path_prefix: "/Admin" differs from upstream[1]'s "/admin" only in letter case; set case_sensitive_paths = true on both if the application tells them apart`,
			`upstream[6].path_prefix: "/api" differs from upstream[5]'s "/API" only in letter case; set case_sensitive_paths = true on both if the application tells them apart`,
		}},
		{"upstream duplicate route", func(c *Config) {
			c.Upstreams = append(c.Upstreams,
				Upstream{PathPrefix: "/", URL: "http://other", Auth: vocab.AuthSession},
				Upstream{Host: "a.example.com", PathPrefix: "/", URL: "http://other", Auth: vocab.AuthSession},
			)
		}, []string{`upstream[1]: same host ("") and path_prefix ("/") as upstream[0]`}},
		{"upstream auth", func(c *Config) { c.Upstreams[0].Auth = "none" },
			[]string{`upstream[0].auth: "none" is not one of "session", "public", "bearer", "session_or_bearer", "password_grant"`}},
		{"upstream timeouts negative", func(c *Config) {
			c.Upstreams[0].Timeout, c.Upstreams[0].IdleTimeout, c.Upstreams[0].BodyReadTimeout = dur(-time.Second), dur(-time.Second), dur(-time.Second)
		}, []string{
			"upstream[0].timeout: must not be negative (zero: the default)",
			"upstream[0].idle_timeout: must not be negative (zero: the default)",
			"upstream[0].body_read_timeout: must not be negative (zero: the default)",
		}},
		{"server body_read_timeout", func(c *Config) { c.Server.BodyReadTimeout = dur(0) },
			[]string{"server.body_read_timeout: must be positive"}},

		{"every problem reported together", func(c *Config) {
			c.Provider.Issuer = ""
			c.Session.CookieSecret = "short"
			c.Upstreams[0].URL = "nope"
		}, []string{
			"provider.issuer: required",
			"session.cookie_secret: must decode (base64) to exactly 32 bytes; " + genkey,
			"upstream[0].url: must be an absolute http or https URL",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c)
			before := c.Redacted()
			got := errLines(c.Validate())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, c.Redacted()); diff != "" {
				t.Errorf("Validate modified the config (-before +after):\n%s", diff)
			}
		})
	}
}

func TestValidateZeroConfig(t *testing.T) {
	// A Config that did not come from Parse has no defaults; Validate must
	// still report, not panic.
	if err := (&Config{}).Validate(); err == nil {
		t.Fatal("Validate() of a zero Config = nil")
	}
	var c *Config
	if err := c.Validate(); err == nil {
		t.Fatal("Validate() of a nil *Config = nil")
	}
}

func TestImplicitRefused(t *testing.T) {
	tests := []struct {
		responseType string
		want         string
	}{
		{"token", `provider.response_type: "token" is the implicit grant, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`},
		{"id_token", `provider.response_type: "id_token" is the implicit grant, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`},
		{"id_token token", `provider.response_type: "id_token token" is the implicit grant, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`},
		{"code id_token", `provider.response_type: "code id_token" is a hybrid flow, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`},
		{"code token", `provider.response_type: "code token" is a hybrid flow, refused by design: it returns tokens in the front channel (RFC 9700 §2.1.2); use "code"`},
		{"", `provider.response_type: "" is not supported; use "code"`},
		{"code", ""},
	}
	for _, tt := range tests {
		t.Run(tt.responseType, func(t *testing.T) {
			// Through Parse, as a user would write it.
			doc := minimalTOML + "\n[provider.extra_auth_params]\n"
			doc = strings.Replace(doc, `client_id = "gatehouse"`, `client_id = "gatehouse"`+"\nresponse_type = "+quote(tt.responseType), 1)
			c, err := Parse([]byte(doc), func(k string) string {
				return map[string]string{EnvClientSecret: "s", EnvCookieSecret: testCookieSecret}[k]
			})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, errLines(c.Validate())); diff != "" {
				t.Errorf("Validate() (-want +got):\n%s", diff)
			}
		})
	}
}

func quote(s string) string { return `"` + s + `"` }

// TestAllowedRedirectDomainsAgreeWithTheValidator: every allowed redirect
// domain the configuration accepts is one the redirect validator uses (it
// ignores the others silently).
func TestAllowedRedirectDomainsAgreeWithTheValidator(t *testing.T) {
	for _, d := range []string{"app.example.com", ".example.com", "127.0.0.1", "[::1]", "admin.example.com:8443",
		".dev.example.com:*", "[::1]:8080", "app.localhost", ".gatehouse.localhost:*"} {
		if msg := checkRedirectDomain(d); msg != "" {
			t.Errorf("configuration refuses %q: %s", d, msg)
			continue
		}
		if err := redirect.CheckAllowedDomain(d); err != nil {
			t.Errorf("configuration accepts %q, the validator does not: %v", d, err)
		}
	}
}
