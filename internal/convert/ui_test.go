package convert

import (
	"slices"
	"strings"
	"testing"
)

// pageConversions are set-ups with oauth2-proxy's page options and its
// default (cookie) session store; TestPageConversions checks them like
// TestConversions: golden files, and the output loads as check-config does.
var pageConversions = []conversion{{
	// Branding oauth2-proxy can express the way [ui] does: a plain-text
	// banner, a logo URL, a footer of links; the templates directory has
	// oauth2-proxy's templates and is only suggested.
	name: "branded-cookie-store",
	cfg: `
provider = "oidc"
provider_display_name = "Acme SSO"
oidc_issuer_url = "https://sso.acme.example"
client_id = "portal"
redirect_url = "https://portal.acme.example/oauth2/callback"
email_domains = ["acme.example"]
upstreams = ["http://portal:8080/"]
session_store_type = "cookie"
session_cookie_minimal = true
cookie_name = "_acme"
cookie_expire = "24h"
cookie_refresh = "30m"
custom_templates_dir = "/etc/oauth2-proxy/templates"
banner = "Acme &amp; Co. Portal"
custom_sign_in_logo = "https://cdn.acme.example/logo.svg"
footer = '<a href="https://acme.example/imprint">Imprint</a> | <a href="mailto:help@acme.example">Help &amp; support</a> &middot; <a href=/privacy>Privacy</a>'
`,
}, {
	// What [ui] cannot hold: an HTML banner, a logo file, a footer with
	// text besides links; the store is oauth2-proxy's default (unset).
	name: "unbranded-default-store",
	args: []string{
		"--provider=oidc", "--oidc-issuer-url=https://as.example.com", "--client-id=app",
		"--redirect-url=https://app.example.com/oauth2/callback", "--email-domain=example.com",
		"--upstream=http://app:8080/", "--banner=<b>Staff only</b>",
		"--custom-sign-in-logo=/etc/oauth2-proxy/logo.svg", "--footer=Acme Corp, <a href=\"https://acme.example\">home</a>",
	},
}}

func TestPageConversions(t *testing.T) {
	for _, tc := range pageConversions {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc)
			golden(t, tc.name+".toml", res.TOML)
			golden(t, tc.name+".report", []byte(res.Report()))
			if res.Blocking() {
				t.Errorf("blocking findings:\n%s", res.Report())
			}
			if problems := checkConfig(t, res.TOML); len(problems) > 0 {
				t.Errorf("check-config problems %q\n%s", problems, res.TOML)
			}
		})
	}
}

// TestCookieStoreIsTheDefault: oauth2-proxy's cookie store, set or by
// default, becomes session.store = "cookie", reported as changed with the
// logout caveat; redis stays redis.
func TestCookieStoreIsTheDefault(t *testing.T) {
	base := []string{"--provider=oidc", "--oidc-issuer-url=https://as.example.com", "--client-id=app",
		"--redirect-url=https://app.example.com/oauth2/callback", "--email-domain=example.com", "--upstream=http://app:8080/"}
	for _, tc := range []struct {
		name, flag, store, source string
		status                    Status
	}{
		{"unset", "", "cookie", "default cookie", Changed},
		{"cookie", "--session-store-type=cookie", "cookie", "flag --session-store-type", Changed},
		{"Cookie", "--session-store-type=Cookie", "cookie", "flag --session-store-type", Changed},
		{"redis", "--session-store-type=redis", "redis", "flag --session-store-type", Mapped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := slices.Clone(base)
			if tc.flag != "" {
				args = append(args, tc.flag, "--redis-connection-url=redis://redis:6379/0")
			}
			res, err := Convert(Input{Args: args})
			if err != nil {
				t.Fatal(err)
			}
			if want := "store = \"" + tc.store + "\"\n"; !strings.Contains(string(res.TOML), want) {
				t.Errorf("the file lacks %q:\n%s", want, res.TOML)
			}
			i := slices.IndexFunc(res.Findings, func(f Finding) bool { return f.Option == "session_store_type" })
			if i < 0 {
				t.Fatalf("no finding for session_store_type:\n%s", res.Report())
			}
			f := res.Findings[i]
			if f.Status != tc.status || f.Source != tc.source || !slices.Equal(f.Keys, []string{"session.store"}) {
				t.Errorf("finding %+v, want status %v, source %q, key session.store", f, tc.status, tc.source)
			}
			if tc.store == "cookie" && !strings.Contains(f.Note, "only on the replica that handled them") {
				t.Errorf("the note lacks the logout caveat: %s", f.Note)
			}
		})
	}
}

// TestFooterLinks: only a footer of links (and separators) becomes
// [[ui.footer_links]], and only with URLs and texts [ui] accepts.
func TestFooterLinks(t *testing.T) {
	for _, tc := range []struct {
		footer string
		want   []footerLink
	}{
		{`<a href="https://a.example/x?a=1&amp;b=2">A</a>`, []footerLink{{"A", "https://a.example/x?a=1&b=2"}}},
		{`<a class="f" href='/help' target="_blank">Help</a> · <a href="mailto:x@example.com">Mail</a>`,
			[]footerLink{{"Help", "/help"}, {"Mail", "mailto:x@example.com"}}},
		{`<a href=/privacy>Privacy</a>|<A HREF=https://b.example/?x=1>B</A>`, []footerLink{{"Privacy", "/privacy"}, {"B", "https://b.example/?x=1"}}},
		{`Acme`, nil}, // text, no link
		{`<a href="imprint.html">Imprint</a>`, nil},       // relative URL
		{`<a href="//evil.example/">x</a>`, nil},          // scheme-relative
		{`<a href="javascript:alert(1)">x</a>`, nil},      // not http(s)/mailto
		{`<a href="https://a.example"><b>A</b></a>`, nil}, // markup in the text
		{`<a href="https://a.example"></a>`, nil},         // no text
		{`<a name="top">A</a>`, nil},                      // no href
		{`<a href="https://a.example">A</a> (c) 2024`, nil},
		{`<a href="https://a.example">` + strings.Repeat("x", 81) + `</a>`, nil},
	} {
		got, ok := footerLinks(tc.footer)
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("footerLinks(%q) = %q, %v; want %q", tc.footer, got, ok, tc.want)
		}
	}
}
