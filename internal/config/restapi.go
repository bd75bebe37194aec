package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// RESTAPI configures the REST flow API through which mobile and desktop apps
// log in (docs/rest-flow-api.md): the gateway runs the authorization code
// flow with PKCE for the app, which opens the system browser at the AS
// (RFC 8252) and gets a gateway session token, never a token of the AS.
type RESTAPI struct {
	// Enabled serves the API under BasePath. Default false.
	Enabled bool `toml:"enabled"`
	// BasePath is the path under which the API is served. It starts with "/",
	// has no trailing "/", is clean, and is neither under /oauth2 nor a health
	// endpoint. Default "/auth/rest".
	BasePath string `toml:"base_path"`
	// FlowTTL bounds a login flow from its start: the user has this long to
	// log in at the AS. Between 1m and 1h. Default 10m.
	FlowTTL Duration `toml:"flow_ttl"`
	// MaxAttempts is how many authorization responses and re-issued
	// authorization requests one flow accepts before it is ended
	// (TOO_MANY_ATTEMPTS). Between 1 and 100. Default 5.
	MaxAttempts int `toml:"max_attempts"`
	// DefaultApplication names the application of the
	// default-application endpoint. Default "": the first application.
	DefaultApplication string `toml:"default_application"`
	// Applications are the apps that may log in. At least one is required
	// when Enabled.
	Applications []RESTApplication `toml:"application"`
}

// RESTApplication is an app that logs in through the REST flow API for the
// upstream of the same name.
type RESTApplication struct {
	// Name is the name of an [[upstream]]: the application the app accesses.
	// Required, unique.
	Name string `toml:"name"`
	// RedirectURIs are the app's redirect URIs (RFC 8252 §7): claimed https
	// URLs, private-use schemes in reverse domain order
	// ("com.example.app:/oauth2redirect"), or loopback http URLs on an IP
	// literal ("http://127.0.0.1/callback", "http://[::1]/callback"); a
	// loopback URI without a port accepts any port. No fragment. The first is
	// the default. At least one is required.
	RedirectURIs []string `toml:"redirect_uris"`
	// ClientID is the client the gateway uses at the AS for this app, such as
	// a public native client registered with the redirect URIs. Default "":
	// provider.client_id.
	ClientID string `toml:"client_id"`
	// ClientSecret is ClientID's secret; empty for a public client (PKCE is
	// used in every case). After [Parse] it holds the resolved secret from
	// this key or ClientSecretFile. Only with ClientID.
	ClientSecret string `toml:"client_secret"`
	// ClientSecretFile names a file holding the client secret; surrounding
	// white space is trimmed. Mutually exclusive with ClientSecret.
	ClientSecretFile string `toml:"client_secret_file"`
}

func restAPIDefaults() RESTAPI {
	return RESTAPI{
		BasePath:    "/auth/rest",
		FlowTTL:     Duration{10 * time.Minute},
		MaxAttempts: 5,
	}
}

// resolveSecrets reads each application's client_secret_file.
func (r *RESTAPI) resolveSecrets() []error {
	var errs []error
	for i := range r.Applications {
		a := &r.Applications[i]
		if a.ClientSecret == "" && a.ClientSecretFile == "" {
			continue // no environment variable: a public client, or provider.client_id
		}
		key := fmt.Sprintf("rest_api.application[%d].client_secret", i)
		errs = append(errs, resolveSecret(&a.ClientSecret, a.ClientSecretFile, key, "", func(string) string { return "" }))
	}
	return errs
}

func (r *RESTAPI) validate(p *problems, providerClientID string, ups []Upstream) {
	switch bp := r.BasePath; {
	case bp == "" || bp[0] != '/' || bp == "/":
		p.add("rest_api.base_path", "%q must start with \"/\" and name a path other than \"/\"", bp)
	case strings.HasSuffix(bp, "/"):
		p.add("rest_api.base_path", "%q must not end with \"/\"; try %q", bp, strings.TrimRight(bp, "/"))
	case path.Clean(bp) != bp || strings.Trim(bp, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/") != "":
		p.add("rest_api.base_path", "%q must be a clean path of letters, digits and -._~/", bp)
	case bp == "/oauth2" || strings.HasPrefix(bp, "/oauth2/") || bp == "/healthz" || bp == "/readyz":
		p.add("rest_api.base_path", "%q is reserved by the gateway", bp)
	}
	if d := r.FlowTTL.Duration; d < time.Minute || d > time.Hour {
		p.add("rest_api.flow_ttl", "%v is not between 1m and 1h", d)
	}
	if r.MaxAttempts < 1 || r.MaxAttempts > 100 {
		p.add("rest_api.max_attempts", "%d is not between 1 and 100", r.MaxAttempts)
	}
	if r.Enabled && len(r.Applications) == 0 {
		p.add("rest_api.application", "at least one [[rest_api.application]] is required when rest_api.enabled is true")
	}
	upstreams := map[string]bool{}
	for _, u := range ups {
		if u.Name != "" {
			upstreams[u.Name] = true
		}
	}
	names := map[string]int{}
	for i, a := range r.Applications {
		key := fmt.Sprintf("rest_api.application[%d]", i)
		switch j, dup := names[a.Name]; {
		case a.Name == "":
			p.add(key+".name", "required (the name of an [[upstream]])")
		case dup:
			p.add(key+".name", "%q is already the name of rest_api.application[%d]", a.Name, j)
		case !upstreams[a.Name]:
			p.add(key+".name", "%q is not the name of an [[upstream]]", a.Name)
		default:
			names[a.Name] = i
		}
		if len(a.RedirectURIs) == 0 {
			p.add(key+".redirect_uris", "at least one redirect URI is required")
		}
		for j, u := range a.RedirectURIs {
			k := fmt.Sprintf("%s.redirect_uris[%d]", key, j)
			if msg := checkAppRedirectURI(u); msg != "" {
				p.add(k, "%s", msg)
			} else if slices.Index(a.RedirectURIs, u) < j {
				p.add(k, "duplicate redirect URI %q", u)
			}
		}
		switch {
		case a.ClientID == "" && a.ClientSecret != "":
			p.add(key+".client_secret", "set only with client_id (without client_id the app uses provider.client_id and its secret)")
		case a.ClientID != "" && a.ClientID == providerClientID:
			p.add(key+".client_id", "%q is provider.client_id; leave client_id empty to use the gateway's own client", a.ClientID)
		case strings.ContainsFunc(a.ClientID, isSpaceOrControl):
			p.add(key+".client_id", "must not contain white space")
		}
	}
	if d := r.DefaultApplication; d != "" {
		if _, ok := names[d]; !ok {
			p.add("rest_api.default_application", "%q is not the name of a [[rest_api.application]]", d)
		}
	}
}

// checkAppRedirectURI accepts the three kinds of native app redirect URIs of
// RFC 8252 §7 and refuses everything else, notably plain http to a
// non-loopback host and "localhost" (§8.3).
func checkAppRedirectURI(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || s == "":
		return fmt.Sprintf("%q is not a valid URI", s)
	case !u.IsAbs():
		return fmt.Sprintf("%q must be an absolute URI", s)
	case strings.Contains(s, "#"):
		return fmt.Sprintf("%q must not have a fragment (RFC 6749 §3.1.2)", s)
	case strings.ContainsFunc(s, isSpaceOrControl):
		return fmt.Sprintf("%q must not contain white space", s)
	case u.User != nil:
		return fmt.Sprintf("%q must not contain user info", s)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Sprintf("%q has no host", s)
		}
		return ""
	case "http":
		a, err := netip.ParseAddr(u.Hostname())
		switch {
		case strings.EqualFold(u.Hostname(), "localhost"):
			return fmt.Sprintf("%q: use the loopback IP literal (127.0.0.1 or [::1]) instead of localhost (RFC 8252 §8.3)", s)
		case err != nil || !a.IsLoopback():
			return fmt.Sprintf("%q: http is allowed only on a loopback IP literal, such as http://127.0.0.1/callback (RFC 8252 §7.3)", s)
		}
		return ""
	}
	if !strings.Contains(u.Scheme, ".") {
		return fmt.Sprintf("%q: a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)", s)
	}
	return ""
}

func (r RESTAPI) redacted() RESTAPI {
	r.Applications = slices.Clone(r.Applications)
	for i := range r.Applications {
		a := &r.Applications[i]
		a.ClientSecret = redactString(a.ClientSecret)
		a.RedirectURIs = slices.Clone(a.RedirectURIs)
	}
	return r
}

// String renders the section as TOML with client secrets redacted.
func (r RESTAPI) String() string { return encode(r.redacted()) }

// GoString implements [fmt.GoStringer] so that %#v redacts client secrets.
func (r RESTAPI) GoString() string { return r.String() }

// LogValue implements [slog.LogValuer]; client secrets are redacted.
func (r RESTAPI) LogValue() slog.Value { return slog.StringValue(r.String()) }
