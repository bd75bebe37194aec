package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateUpstreamOptions(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config, u *Upstream)
		want   []string
	}{
		{"all off", func(c *Config, u *Upstream) {}, nil},
		{"http options", func(c *Config, u *Upstream) {
			u.PreserveHost, u.StripPrefix, u.H2C, u.PassIDToken = true, true, true, "header"
		}, nil},
		{"https options", func(c *Config, u *Upstream) {
			u.URL, u.TLSCAFile, u.TLSClientCertFile, u.TLSClientKeyFile = "https://app.internal", "/ca.pem", "/c.pem", "/k.pem"
			u.PassIDToken = "authorization"
		}, nil},
		{"insecure", func(c *Config, u *Upstream) { u.URL, u.TLSInsecureSkipVerify = "https://app.internal", true }, nil},
		{"static", func(c *Config, u *Upstream) { u.URL = "static://204" }, nil},
		{"file", func(c *Config, u *Upstream) { u.URL, u.StripPrefix, u.PathPrefix = "file:///srv/www/", true, "/static" }, nil},
		{"assertion", func(c *Config, u *Upstream) {
			c.Server.SigningKeys = []string{"/k.pem"}
			u.IdentityAssertion, u.IdentityAssertionHeader = true, "X-App-Identity"
		}, nil},

		{"static status", func(c *Config, u *Upstream) { u.URL = "static://99" },
			[]string{`upstream[0].url: "static://99": a static upstream is "static://" and a status from 200 to 599, such as "static://204"`}},
		{"static path", func(c *Config, u *Upstream) { u.URL = "static://200/x" },
			[]string{`upstream[0].url: "static://200/x": a static upstream is "static://" and a status from 200 to 599, such as "static://204"`}},
		{"file relative", func(c *Config, u *Upstream) { u.URL = "file://srv/www" },
			[]string{`upstream[0].url: "file://srv/www": a file upstream is "file://" and an absolute directory, such as "file:///srv/www"`}},
		{"file dot-dot", func(c *Config, u *Upstream) { u.URL = "file:///srv/../etc" },
			[]string{`upstream[0].url: "file:///srv/../etc": the directory must be an absolute, clean path (no "." or ".." segments)`}},
		{"file root", func(c *Config, u *Upstream) { u.URL = "file:///" },
			[]string{`upstream[0].url: "file:///": serving the root directory would serve the whole file system; name the directory of the files`}},
		{"options of a static upstream", func(c *Config, u *Upstream) {
			u.URL, u.PreserveHost, u.PassAccessToken, u.PassIDToken = "static://200", true, true, "header"
		}, []string{
			"upstream[0].preserve_host: not for a static:// upstream (nothing is sent anywhere)",
			"upstream[0].pass_id_token: not for a static:// upstream (nothing is sent anywhere)",
			"upstream[0].pass_access_token: not for a static:// upstream (nothing is sent anywhere)",
		}},
		{"TLS options of an http upstream", func(c *Config, u *Upstream) {
			u.TLSCAFile, u.TLSInsecureSkipVerify = "/ca.pem", true
		}, []string{
			"upstream[0].tls_ca_file: not for an http upstream (its url is not https)",
			"upstream[0].tls_insecure_skip_verify: not for an http upstream (its url is not https)",
			"upstream[0].tls_insecure_skip_verify: not with tls_ca_file: set tls_ca_file alone to trust the upstream's CA",
		}},
		{"h2c over https", func(c *Config, u *Upstream) { u.URL, u.H2C = "https://app.internal", true },
			[]string{"upstream[0].h2c: h2c is HTTP/2 without TLS, for an http:// url; over https HTTP/2 is negotiated by itself"}},
		{"client cert without key", func(c *Config, u *Upstream) { u.URL, u.TLSClientCertFile = "https://app.internal", "/c.pem" },
			[]string{"upstream[0].tls_client_cert_file: set both tls_client_cert_file and tls_client_key_file, or neither"}},
		{"pass_id_token value", func(c *Config, u *Upstream) { u.PassIDToken = "yes" },
			[]string{`upstream[0].pass_id_token: "yes" is not one of "header", "authorization"`}},
		{"pass_id_token on bearer", func(c *Config, u *Upstream) { u.PassIDToken, u.Auth = "header", "public" },
			[]string{`upstream[0].pass_id_token: auth "public" has no session, so no ID token to pass`}},
		{"two Authorization headers", func(c *Config, u *Upstream) { u.PassIDToken, u.PassAuthorization = "authorization", true },
			[]string{`upstream[0].pass_id_token: "authorization" and pass_authorization both set the Authorization header; choose one`}},
		{"assertion without key", func(c *Config, u *Upstream) { u.IdentityAssertion = true },
			[]string{"upstream[0].identity_assertion: needs server.signing_keys (the key that signs the assertions)"}},
		{"assertion header taken", func(c *Config, u *Upstream) {
			c.Server.SigningKeys = []string{"/k.pem"}
			u.IdentityAssertion, u.IdentityAssertionHeader = true, "x-forwarded-user"
		}, []string{`upstream[0].identity_assertion_header: "x-forwarded-user" is a header the gateway or HTTP already gives a meaning`}},
		{"assertion header invalid", func(c *Config, u *Upstream) { u.IdentityAssertionHeader = "X Assertion" },
			[]string{`upstream[0].identity_assertion_header: "X Assertion" is not a valid header name`}},
		{"empty signing key", func(c *Config, u *Upstream) { c.Server.SigningKeys = []string{" "} },
			[]string{"server.signing_keys[0]: must name a PEM key file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c, &c.Upstreams[0])
			if diff := cmp.Diff(tt.want, errLines(c.Validate())); diff != "" {
				t.Errorf("Validate() errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpstreamOptionsWarnings(t *testing.T) {
	c := validConfig(t)
	if w := c.GrantWarnings(); len(w) != 0 {
		t.Fatalf("warnings of the minimal config: %q", w)
	}
	c.Upstreams[0].Name, c.Upstreams[0].URL, c.Upstreams[0].TLSInsecureSkipVerify = "legacy", "https://legacy.internal", true
	w := c.GrantWarnings()
	if len(w) != 1 || !strings.Contains(w[0], "upstream[0] (legacy): tls_insecure_skip_verify = true") || !strings.Contains(w[0], "NOT verified") {
		t.Errorf("warnings: %q", w)
	}
}

func TestCompileUpstreamOptions(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecFile := write("ec.pem", "PRIVATE KEY", ecDER)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaFile := write("rsa.pem", "PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	p384File := write("p384.pem", "PRIVATE KEY", p384DER)

	c := validConfig(t)
	c.Server.SigningKeys = []string{ecFile}
	c.Upstreams[0].IdentityAssertion = true
	rt, err := Compile(c)
	if err != nil || rt.Assertions == nil || rt.Assertions.Algorithm() != "ES256" {
		t.Fatalf("Compile: %v, %+v", err, rt)
	}
	if c.Upstreams[0].AssertionHeader() != DefaultIdentityAssertionHeader || c.Upstreams[0].AssertionAudience() != "http://127.0.0.1:8080" {
		t.Errorf("defaults: %q %q", c.Upstreams[0].AssertionHeader(), c.Upstreams[0].AssertionAudience())
	}

	for _, tt := range []struct {
		name   string
		modify func(c *Config, u *Upstream)
		want   string
	}{
		{"missing signing key", func(c *Config, u *Upstream) { c.Server.SigningKeys = []string{filepath.Join(dir, "none.pem")} }, "server.signing_keys: signing key 0: open"},
		{"RSA signing key", func(c *Config, u *Upstream) { c.Server.SigningKeys = []string{rsaFile} }, "server.signing_keys: signing key 0:"},
		{"P-384 signing key", func(c *Config, u *Upstream) { c.Server.SigningKeys = []string{p384File} }, "must be on P-256"},
		{"same key twice", func(c *Config, u *Upstream) { c.Server.SigningKeys = []string{ecFile, ecFile} }, "the same key as an earlier one"},
		{"CA file without certificate", func(c *Config, u *Upstream) { u.URL, u.TLSCAFile = "https://a.internal", ecFile }, "upstream[0].tls_ca_file: " + ecFile + " holds no PEM certificate"},
		{"missing client certificate", func(c *Config, u *Upstream) {
			u.URL, u.TLSClientCertFile, u.TLSClientKeyFile = "https://a.internal", filepath.Join(dir, "none.crt"), ecFile
		}, "upstream[0].tls_client_cert_file, upstream[0].tls_client_key_file:"},
		{"missing directory", func(c *Config, u *Upstream) { u.URL = "file://" + filepath.Join(dir, "none") }, "upstream[0].url: stat"},
		{"file, not directory", func(c *Config, u *Upstream) { u.URL = "file://" + ecFile }, "is not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.modify(c, &c.Upstreams[0])
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if _, err := Compile(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile: %v, want %q", err, tt.want)
			}
		})
	}
}
