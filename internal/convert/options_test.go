package convert

import (
	"slices"
	"strings"
	"testing"
)

// TestEveryOptionHandled sets each known option alone and checks that the
// report names it with a deliberate finding, never the catch-all "no
// equivalent in Gatehouse": a new option added to the table must get a
// mapping or a note saying what to do instead.
func TestEveryOptionHandled(t *testing.T) {
	for _, name := range sortedKeys(known) {
		if name == "config" || name == "alpha_config" {
			continue // they name files, read by readInput (TestConversions)
		}
		val := "x"
		if known[name] == kBool {
			val = "true"
		}
		res, err := Convert(Input{Args: []string{"--" + flagName(name) + "=" + val}})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		opt := optionName(flagName(name)) // google_group's flag is google_groups's
		i := slices.IndexFunc(res.Findings, func(f Finding) bool { return f.Option == opt })
		switch {
		case i < 0:
			t.Errorf("%s: not in the report:\n%s", name, res.Report())
		case res.Findings[i].Note == "no equivalent in Gatehouse":
			t.Errorf("%s: only the catch-all finding; map it or say what to do instead", name)
		}
	}
}

// TestPrecedence: flags over environment over config file, as oauth2-proxy
// reads them; repeated flags and comma-separated variables make lists.
func TestPrecedence(t *testing.T) {
	files := map[string]string{"o.cfg": `
client_id = "from-file"
scope = "openid from-file"
email_domains = ["file.example"]
cookie_name = "from-file"
`}
	res, err := Convert(Input{
		Args: []string{"--config", "o.cfg", "--client-id", "from-flag", "--email-domain=a.example", "--email-domain", "b.example,c.example"},
		Env:  []string{"OAUTH2_PROXY_CLIENT_ID=from-env", "OAUTH2_PROXY_SCOPE=openid from-env", "OAUTH2_PROXY_EMAIL_DOMAINS=env.example"},
		ReadFile: func(n string) ([]byte, error) {
			return []byte(files[n]), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	toml := string(res.TOML)
	for _, want := range []string{
		`client_id = "from-flag"`,
		`scopes = ["openid", "from-env"]`,
		`cookie_name = "from-file"`,
		`allowed_email_domains = ["a.example", "b.example", "c.example"]`,
	} {
		if !strings.Contains(toml, want) {
			t.Errorf("want %s in\n%s", want, toml)
		}
	}
	for _, f := range res.Findings {
		if f.Option == "client_id" && f.Source != "flag --client-id" {
			t.Errorf("client_id source %q, want the flag", f.Source)
		}
	}
}
