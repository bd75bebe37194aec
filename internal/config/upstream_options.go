package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// The per-upstream options of how the gateway talks to an upstream and what
// else it sends it (the fields are in config.go's Upstream):
//
//   - preserve_host: forward the client's Host header instead of the
//     upstream URL's host (X-Forwarded-Host is the canonical host either way).
//   - strip_prefix: remove path_prefix from the path before forwarding (the
//     canonical, cleaned path: see docs/upstreams.md).
//   - tls_ca_file: the PEM CA bundle that signs an https upstream's
//     certificate, trusted instead of the system's roots.
//   - tls_client_cert_file, tls_client_key_file: a client certificate for
//     mutual TLS with the upstream, re-read when the files change.
//   - tls_insecure_skip_verify: no check of the upstream's certificate at
//     all; warned about at start-up and by check-config.
//   - h2c: HTTP/2 without TLS (prior knowledge) to an http upstream.
//   - pass_id_token: "header" (X-Forwarded-Id-Token) or "authorization"
//     ("Authorization: Bearer <ID token>", as the Kubernetes Dashboard
//     wants it). Default "": not sent.
//   - identity_assertion, identity_assertion_header: a short-lived JWT
//     signed with server.signing_keys (docs/identity-assertion.md).
//
// The URL of an upstream may also be "static://NNN" (answer status NNN,
// without any upstream) or "file:///absolute/dir" (serve the files of a
// directory).

// DefaultIdentityAssertionHeader is upstream.identity_assertion_header's
// default.
const DefaultIdentityAssertionHeader = "X-Gatehouse-Assertion"

// Kinds of upstream URL (upstreamURLKind).
const (
	upstreamHTTP   = "http"
	upstreamStatic = "static"
	upstreamFile   = "file"
)

// upstreamURLKind returns which kind of upstream s names: "static" for a
// static:// URL, "file" for a file:// URL, otherwise "http".
func upstreamURLKind(s string) string {
	switch {
	case hasPrefixFold(s, "static:"):
		return upstreamStatic
	case hasPrefixFold(s, "file:"):
		return upstreamFile
	}
	return upstreamHTTP
}

// checkSpecialURL checks a static:// or file:// upstream URL.
func checkSpecialURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	switch u.Scheme {
	case upstreamStatic:
		code, err := strconv.Atoi(u.Host)
		if err != nil || u.Host != strconv.Itoa(code) || code < 200 || code > 599 || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Sprintf("%q: a static upstream is \"static://\" and a status from 200 to 599, such as \"static://204\"", s)
		}
	case upstreamFile:
		switch {
		case u.Host != "" && u.Host != "localhost":
			return fmt.Sprintf("%q: a file upstream is \"file://\" and an absolute directory, such as \"file:///srv/www\"", s)
		case u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "#") || u.User != nil:
			return fmt.Sprintf("%q: a file upstream has no query, fragment or user info", s)
		case !strings.HasPrefix(u.Path, "/") || path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") && u.Path != "/":
			return fmt.Sprintf("%q: the directory must be an absolute, clean path (no \".\" or \"..\" segments)", s)
		case u.Path == "/":
			return fmt.Sprintf("%q: serving the root directory would serve the whole file system; name the directory of the files", s)
		}
	default:
		return "must be an absolute http or https URL, static://NNN or file:///dir"
	}
	return ""
}

// validateUpstreamOptions checks the options of upstream_options.go.
func validateUpstreamOptions(p *problems, c *Config) {
	for i, u := range c.Upstreams {
		key := fmt.Sprintf("upstream[%d]", i)
		kind := upstreamURLKind(u.URL)
		scheme := ""
		if pu, err := url.Parse(u.URL); err == nil {
			scheme = strings.ToLower(pu.Scheme)
		}
		notFor := func(field string, set bool, what string) {
			if set {
				p.add(key+"."+field, "not for %s", what)
			}
		}
		if kind != upstreamHTTP {
			what := "a " + kind + ":// upstream (nothing is sent anywhere)"
			notFor("preserve_host", u.PreserveHost, what)
			notFor("tls_ca_file", u.TLSCAFile != "", what)
			notFor("tls_client_cert_file", u.TLSClientCertFile != "", what)
			notFor("tls_client_key_file", u.TLSClientKeyFile != "", what)
			notFor("tls_insecure_skip_verify", u.TLSInsecureSkipVerify, what)
			notFor("h2c", u.H2C, what)
			notFor("pass_id_token", u.PassIDToken != "", what)
			notFor("identity_assertion", u.IdentityAssertion, what)
			notFor("pass_access_token", u.PassAccessToken, what)
			notFor("pass_authorization", u.PassAuthorization, what)
			if u.UpstreamToken != "" && u.UpstreamToken != vocab.UpstreamTokenUser && u.UpstreamToken != vocab.UpstreamTokenNone {
				p.add(key+".upstream_token", "not for %s", what)
			}
		}
		if kind == upstreamHTTP && scheme == "http" {
			what := "an http upstream (its url is not https)"
			notFor("tls_ca_file", u.TLSCAFile != "", what)
			notFor("tls_client_cert_file", u.TLSClientCertFile != "", what)
			notFor("tls_client_key_file", u.TLSClientKeyFile != "", what)
			notFor("tls_insecure_skip_verify", u.TLSInsecureSkipVerify, what)
		}
		if scheme == "https" && u.H2C {
			p.add(key+".h2c", "h2c is HTTP/2 without TLS, for an http:// url; over https HTTP/2 is negotiated by itself")
		}
		if (u.TLSClientCertFile == "") != (u.TLSClientKeyFile == "") {
			p.add(key+".tls_client_cert_file", "set both tls_client_cert_file and tls_client_key_file, or neither")
		}
		if u.TLSInsecureSkipVerify && u.TLSCAFile != "" {
			p.add(key+".tls_insecure_skip_verify", "not with tls_ca_file: set tls_ca_file alone to trust the upstream's CA")
		}
		if u.PassIDToken != "" {
			checkOneOf(p, key+".pass_id_token", u.PassIDToken, vocab.PassIDTokens...)
			if u.Auth == vocab.AuthBearer || u.Auth == vocab.AuthPublic || u.Auth == vocab.AuthPasswordGrant {
				p.add(key+".pass_id_token", "auth %q has no session, so no ID token to pass", u.Auth)
			}
		}
		if u.PassIDToken == vocab.PassIDTokenAuthorization {
			if u.PassAuthorization {
				p.add(key+".pass_id_token", `"authorization" and pass_authorization both set the Authorization header; choose one`)
			}
			if u.UpstreamToken == vocab.UpstreamTokenClientCredentials || u.UpstreamToken == vocab.UpstreamTokenExchange {
				p.add(key+".pass_id_token", `"authorization" and upstream_token %q both set the Authorization header; choose one`, u.UpstreamToken)
			}
		}
		if u.IdentityAssertion && len(c.Server.SigningKeys) == 0 {
			p.add(key+".identity_assertion", "needs server.signing_keys (the key that signs the assertions)")
		}
		if h := u.IdentityAssertionHeader; h != "" {
			if msg := checkAssertionHeader(h); msg != "" {
				p.add(key+".identity_assertion_header", "%s", msg)
			}
		}
	}
	for i, f := range c.Server.SigningKeys {
		if strings.TrimSpace(f) == "" {
			p.add(fmt.Sprintf("server.signing_keys[%d]", i), "must name a PEM key file")
		}
	}
}

// checkAssertionHeader accepts a header name that is a token and none of
// the headers the gateway or HTTP itself gives a meaning.
func checkAssertionHeader(h string) string {
	if strings.IndexFunc(h, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return fmt.Sprintf("%q is not a valid header name", h)
	}
	switch textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(h, "_", "-")) {
	case "Host", "Authorization", "Cookie", "Connection", "Content-Length", "Content-Type", "Transfer-Encoding",
		"Te", "Upgrade", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-Groups",
		"X-Forwarded-Access-Token", "X-Forwarded-Id-Token", "X-Real-Ip", "X-Forwarded-Prefix":
		return fmt.Sprintf("%q is a header the gateway or HTTP already gives a meaning", h)
	}
	return ""
}

// transportWarnings returns the start-up warnings of the upstream options:
// every upstream whose certificate is not checked.
func (c *Config) transportWarnings() []string {
	var out []string
	for i, u := range c.Upstreams {
		if !u.TLSInsecureSkipVerify {
			continue
		}
		key := fmt.Sprintf("upstream[%d]", i)
		if u.Name != "" {
			key += " (" + u.Name + ")"
		}
		out = append(out, key+": tls_insecure_skip_verify = true: the certificate of "+u.URL+" is NOT verified; anyone on the network path can read and change this upstream's traffic, the users' identity and tokens included. Set tls_ca_file to the upstream's CA instead.")
	}
	return out
}

// AssertionHeader returns the header of the upstream's identity assertion
// in canonical form ("" when identity_assertion is off).
func (u *Upstream) AssertionHeader() string {
	if !u.IdentityAssertion {
		return ""
	}
	if u.IdentityAssertionHeader == "" {
		return DefaultIdentityAssertionHeader
	}
	return http.CanonicalHeaderKey(u.IdentityAssertionHeader)
}

// AssertionAudience returns the aud of the upstream's identity assertions:
// its name when it has one, otherwise its url.
func (u *Upstream) AssertionAudience() string {
	if u.Name != "" {
		return u.Name
	}
	return u.URL
}

// compileUpstreamOptions loads what the upstream options name: the signing
// keys, and checks that each CA bundle, client certificate and file://
// directory can be used, so that a bad file is reported by its key.
func compileUpstreamOptions(c *Config, publicURL string) (*assertion.Signer, []error) {
	var errs []error
	var signer *assertion.Signer
	if len(c.Server.SigningKeys) > 0 {
		var err error
		if signer, err = assertion.Load(publicURL, c.Server.SigningKeys); err != nil {
			errs = append(errs, fmt.Errorf("server.signing_keys: %w", err))
		}
	}
	for i, u := range c.Upstreams {
		key := fmt.Sprintf("upstream[%d]", i)
		if u.TLSCAFile != "" {
			if pem, err := os.ReadFile(u.TLSCAFile); err != nil {
				errs = append(errs, fmt.Errorf("%s.tls_ca_file: %w", key, err))
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("%s.tls_ca_file: %s holds no PEM certificate", key, u.TLSCAFile))
			}
		}
		if u.TLSClientCertFile != "" {
			if _, err := tls.LoadX509KeyPair(u.TLSClientCertFile, u.TLSClientKeyFile); err != nil {
				errs = append(errs, fmt.Errorf("%s.tls_client_cert_file, %s.tls_client_key_file: %w", key, key, err))
			}
		}
		if upstreamURLKind(u.URL) == upstreamFile {
			if pu, err := url.Parse(u.URL); err == nil {
				if fi, err := os.Stat(pu.Path); err != nil {
					errs = append(errs, fmt.Errorf("%s.url: %w", key, err))
				} else if !fi.IsDir() {
					errs = append(errs, fmt.Errorf("%s.url: %s is not a directory", key, pu.Path))
				}
			}
		}
	}
	return signer, errs
}

// passesIDToken reports whether an upstream receives the user's ID token
// (pass_id_token): the cookie store must then keep it (session.Options.KeepIDToken).
func (c *Config) passesIDToken() bool {
	for _, u := range c.Upstreams {
		if u.PassIDToken != "" {
			return true
		}
	}
	return false
}
