package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/ui"
	"github.com/gatehouse-dev/gatehouse/session"
)

// Runtime is a validated configuration compiled, once, into the values the
// runtime packages take: parsed URLs and prefixes, decoded secrets, loaded
// key files and each package's options. The wiring (internal/server) adds
// only what exists at run time: the store, transports, loggers, metrics.
type Runtime struct {
	// Config is the configuration it was compiled from, for the settings
	// that need no conversion (timeouts, log settings, limits).
	Config *Config
	// PublicURL is server.public_url without a trailing slash.
	PublicURL *url.URL
	// TrustedProxies is server.trusted_proxies; a bare address is a /32
	// (or /128) prefix.
	TrustedProxies []netip.Prefix
	// Session is the session manager's options but its Store.
	Session session.Options
	// Login is the login client's options but its HTTPClient, Logger and
	// ObserveKeys; the private_key_jwt key is loaded from its file.
	Login login.Options
	// Upstreams are the [[upstream]] tables, index for index.
	Upstreams []Route
	// Assertions signs the upstreams' identity assertions with
	// server.signing_keys; nil without keys (upstream_options.go).
	Assertions *assertion.Signer
	// Pages are the pages browsers see, branded and with the templates of
	// ui.templates_dir, parsed and checked.
	Pages *ui.Pages
}

// Route is an upstream's parsed values.
type Route struct {
	// Name is upstream.name, or "upstream-N" when unset.
	Name string
	// Target is upstream.url.
	Target *url.URL
	// Rules are its authorization rules: the [authorization] defaults with
	// the keys it sets itself replaced.
	Rules authz.Rules
	// TokenParams are its token_scopes, token_resources and
	// token_audiences.
	TokenParams login.TokenParams
}

// Compile converts c, which must be valid (see [Config.Validate]), into its
// runtime values. It reads the key files c names (provider.private_key_file)
// and reports each problem with its key path.
func Compile(c *Config) (*Runtime, error) {
	var errs []error
	rt := &Runtime{Config: c}
	var err error
	if rt.PublicURL, err = url.Parse(strings.TrimSuffix(c.Server.PublicURL, "/")); err != nil {
		errs = append(errs, fmt.Errorf("server.public_url: %w", err))
	}
	for i, s := range c.Server.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("server.trusted_proxies[%d]: %w", i, err))
			continue
		}
		rt.TrustedProxies = append(rt.TrustedProxies, p)
	}
	var secret []byte
	var previous [][]byte
	secrets, err := c.CookieSecretsBytes()
	if err != nil {
		errs = append(errs, err)
	} else {
		secret, previous = secrets[0], secrets[1:]
	}
	rt.Session = session.Options{
		Secret:          secret,
		PreviousSecrets: previous,
		CookieStore:     c.Session.Store == StoreCookie,
		KeepIDToken:     c.passesIDToken(),
		CookieName:      c.Session.CookieName,
		CookieDomain:    c.Session.CookieDomain,
		Secure:          rt.PublicURL != nil && rt.PublicURL.Scheme == "https",
		Lifetime:        c.Session.Lifetime.Duration,
		IdleTimeout:     c.Session.IdleTimeout.Duration,
		CacheMaxAge:     cacheMaxAge(c.Session.CacheMaxAge.Duration),
	}
	if rt.Login, err = compileLogin(c); err != nil {
		errs = append(errs, err)
	}
	rt.Upstreams = make([]Route, len(c.Upstreams))
	for i, u := range c.Upstreams {
		target, err := url.Parse(u.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream[%d].url: %w", i, err))
		}
		name := u.Name
		if name == "" {
			name = fmt.Sprintf("upstream-%d", i)
		}
		rt.Upstreams[i] = Route{
			Name: name, Target: target, Rules: c.UpstreamRules(i),
			TokenParams: login.TokenParams{Scopes: u.TokenScopes, Resources: u.TokenResources, Audiences: u.TokenAudiences},
		}
	}
	var optErrs []error
	rt.Assertions, optErrs = compileUpstreamOptions(c, strings.TrimSuffix(c.Server.PublicURL, "/")) // upstream_options.go
	errs = append(errs, optErrs...)
	if rt.Pages, err = compileUI(c); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rt, nil
}

// compileLogin converts [provider] into login options, loading the
// private_key_jwt key.
func compileLogin(c *Config) (login.Options, error) {
	p := c.Provider
	o := login.Options{
		Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		Scopes: p.Scopes, ExtraAuthParams: p.ExtraAuthParams, UseUserinfo: p.UseUserinfo,
		ClientAuth: login.ClientAuth{Method: p.ClientAuth, KeyID: p.PrivateKeyID, TLSClientCertificate: p.TLSClientCertFile != ""},
		Endpoints: login.Endpoints{
			Authorization: p.Endpoints.Authorization, Token: p.Endpoints.Token, JWKS: p.Endpoints.JWKS,
			Userinfo: p.Endpoints.Userinfo, EndSession: p.Endpoints.EndSession,
			Revocation: p.Endpoints.Revocation, Introspection: p.Endpoints.Introspection,
		},
		SkipDiscovery:       !p.UsesDiscovery(),
		PlainOAuth2:         p.Type == ProviderOAuth2,
		SubjectClaim:        p.SubjectClaim,
		InsecureDisablePKCE: p.InsecureDisablePKCE,
		KeyRefetchInterval:  c.Limits.JWKSRefetchInterval.Duration,

		InsecureLogoutTokenWithoutExp: p.InsecureLogoutTokenWithoutExp,
	}
	if p.PrivateKeyFile != "" {
		key, alg, err := login.LoadPrivateKey(p.PrivateKeyFile, p.PrivateKeyAlg)
		if err != nil {
			return o, fmt.Errorf("provider.private_key_file, provider.private_key_alg: %w", err)
		}
		o.ClientAuth.PrivateKey, o.ClientAuth.Algorithm = key, alg
	}
	p.compileFAPI(&o) // fapi.go
	return o, nil
}

// cacheMaxAge converts session.cache_max_age, where 0 disables the cache,
// to session.Options.CacheMaxAge, where 0 is the default.
func cacheMaxAge(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
