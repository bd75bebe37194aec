package config

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCompile checks that the values main used to parse itself come out of
// Compile, parsed once.
func TestCompile(t *testing.T) {
	c := validConfig(t)
	c.Server.PublicURL = "https://gw.example/"
	c.Server.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7"}
	c.Upstreams[0].Name = ""
	rt, err := Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.PublicURL.String(); got != "https://gw.example" {
		t.Errorf("PublicURL = %s", got)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	if d := cmp.Diff(want, rt.TrustedProxies, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("TrustedProxies (-want +got):\n%s", d)
	}
	if len(rt.Session.Secret) != 32 || !rt.Session.Secure {
		t.Errorf("Session: secret %d bytes, Secure %v", len(rt.Session.Secret), rt.Session.Secure)
	}
	if rt.Upstreams[0].Name != "upstream-0" || rt.Upstreams[0].Target.String() != c.Upstreams[0].URL {
		t.Errorf("Upstreams[0] = %+v", rt.Upstreams[0])
	}
	if rt.Login.Issuer != c.Provider.Issuer || rt.Login.ClientID != c.Provider.ClientID {
		t.Errorf("Login = %+v", rt.Login)
	}

	c.Provider.PrivateKeyFile = "/nonexistent/key.pem"
	if _, err := Compile(c); err == nil || !strings.Contains(err.Error(), "provider.private_key_file") {
		t.Errorf("Compile with a missing key file: %v, want an error naming provider.private_key_file", err)
	}
}

// TestCompileKeepsTheIDTokenForUpstreams: with an upstream that receives
// the ID token (pass_id_token), the cookie store must not drop it to make
// a session fit its cookies (that upstream would silently get none).
func TestCompileKeepsTheIDTokenForUpstreams(t *testing.T) {
	c := validConfig(t)
	c.Session.Store = StoreCookie
	rt, err := Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Session.KeepIDToken {
		t.Errorf("KeepIDToken without an upstream that gets the ID token")
	}
	c.Upstreams[0].PassIDToken = "header"
	if rt, err = Compile(c); err != nil {
		t.Fatal(err)
	}
	if !rt.Session.KeepIDToken {
		t.Errorf("pass_id_token: the cookie store may drop the ID token")
	}
}
