package convert

import (
	"strings"
	"testing"
)

// TestOptionsPointAtWhatGatehouseHas: oauth2-proxy's cookie session store
// and its page options are converted to, or reported with, the Gatehouse
// settings that exist for them (session.store = "cookie", [ui]), not as
// missing, as the migration guide says.
func TestOptionsPointAtWhatGatehouseHas(t *testing.T) {
	res, err := Convert(Input{Args: []string{
		"--provider=oidc", "--oidc-issuer-url=https://as.example.com", "--client-id=app",
		"--redirect-url=https://app.example.com/oauth2/callback", "--email-domain=example.com",
		"--upstream=http://app:8080/", "--session-store-type=cookie",
		"--custom-sign-in-logo=/etc/oauth2-proxy/logo.svg", "--footer=Acme",
	}})
	if err != nil {
		t.Fatal(err)
	}
	report := res.Report()
	for _, want := range []string{
		"session_store_type -> session.store",
		"sealed in the browser's cookies",
		"custom_sign_in_logo",
		"ui.logo_url",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	for _, stale := range []string{"no cookie store", "are fixed"} {
		if strings.Contains(report, stale) || strings.Contains(string(res.TOML), stale) {
			t.Errorf("the conversion still says %q:\n%s\n%s", stale, report, res.TOML)
		}
	}
	if !strings.Contains(string(res.TOML), "# session_store_type (oauth2-proxy's cookie store, its default)") ||
		!strings.Contains(string(res.TOML), `store = "cookie"`) {
		t.Errorf("the [session] comment does not name the cookie store:\n%s", res.TOML)
	}
}
