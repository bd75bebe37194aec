package convert

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// convertArgs converts oauth2-proxy flags (and the named files).
func convertArgs(t *testing.T, files map[string]string, args ...string) *Result {
	t.Helper()
	res, err := Convert(Input{Args: args, ReadFile: func(name string) ([]byte, error) {
		return []byte(files[name]), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// load parses, validates and compiles a converted file as check-config
// does, and fails the test on any problem.
func load(t *testing.T, toml []byte) *config.Config {
	t.Helper()
	cfg, err := config.Parse(toml, func(k string) string { return testEnv[k] })
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil {
		_, err = config.Compile(cfg)
	}
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, toml)
	}
	return cfg
}

func finding(t *testing.T, res *Result, option string) Finding {
	t.Helper()
	i := slices.IndexFunc(res.Findings, func(f Finding) bool { return f.Option == option })
	if i < 0 {
		t.Fatalf("%s is not in the report:\n%s", option, res.Report())
	}
	return res.Findings[i]
}

// base is a minimal valid oauth2-proxy set-up.
var base = []string{"--provider=oidc", "--oidc-issuer-url=https://as.example.com", "--client-id=app",
	"--redirect-url=https://app.example.com/oauth2/callback", "--email-domain=*"}

// TestUpstreamOptionKeys: the legacy upstream options become the per-upstream
// keys, with the types the loader takes, and the file passes check-config.
func TestUpstreamOptionKeys(t *testing.T) {
	dir := t.TempDir()
	res := convertArgs(t, nil, append(slices.Clone(base),
		"--upstream=https://app:8443/app/", "--upstream=static://204", "--upstream=file://"+dir+"#/static/",
		"--ssl-upstream-insecure-skip-verify", "--pass-authorization-header", "--provider-ca-file=/etc/ca.pem")...)
	cfg := load(t, res.TOML)
	if len(cfg.Upstreams) != 3 {
		t.Fatalf("%d upstreams, want 3:\n%s", len(cfg.Upstreams), res.TOML)
	}
	app, static, files := cfg.Upstreams[0], cfg.Upstreams[1], cfg.Upstreams[2]
	if app.URL != "https://app:8443" || app.PathPrefix != "/app" || !app.PreserveHost || !app.TLSInsecureSkipVerify ||
		app.PassIDToken != vocab.PassIDTokenAuthorization {
		t.Errorf("app upstream %+v", app)
	}
	if static.URL != "static://204" || static.PathPrefix != "/" || static.PreserveHost || static.PassIDToken != "" {
		t.Errorf("static upstream %+v", static)
	}
	if files.URL != "file://"+dir || files.PathPrefix != "/static" || !files.StripPrefix || files.PassIDToken != "" {
		t.Errorf("file upstream %+v", files)
	}
	if cfg.Provider.CAFile != "/etc/ca.pem" {
		t.Errorf("provider.ca_file %q", cfg.Provider.CAFile)
	}
	for opt, want := range map[string]struct {
		st  Status
		key string
	}{
		"pass_authorization_header":         {Mapped, "upstream.pass_id_token"},
		"ssl_upstream_insecure_skip_verify": {Mapped, "upstream.tls_insecure_skip_verify"},
		"pass_host_header":                  {Mapped, "upstream.preserve_host"},
		"provider_ca_files":                 {Changed, "provider.ca_file"}, // trusted besides the system's roots
		"upstreams":                         {Changed, "upstream"},         // the directory is not listed
	} {
		f := finding(t, res, opt)
		if f.Status != want.st || !slices.Contains(f.Keys, want.key) {
			t.Errorf("%s: %s %q, want %s %s", opt, f.Status, f.Keys, want.st, want.key)
		}
	}
}

// TestLegacyUpstreamsOnly: a file:// upstream without a fragment is served
// at the directory's own path, as oauth2-proxy does; pass_host_header =
// false writes nothing; ssl_upstream_insecure_skip_verify is left off http
// upstreams, where the loader refuses it.
func TestLegacyUpstreamsOnly(t *testing.T) {
	dir := t.TempDir()
	res := convertArgs(t, nil, append(slices.Clone(base), "--upstream=http://app:8080/", "--upstream=file://"+dir,
		"--pass-host-header=false", "--ssl-upstream-insecure-skip-verify")...)
	cfg := load(t, res.TOML)
	if len(cfg.Upstreams) != 2 || cfg.Upstreams[1].PathPrefix != dir || !cfg.Upstreams[1].StripPrefix {
		t.Fatalf("upstreams:\n%s", res.TOML)
	}
	for _, u := range cfg.Upstreams {
		if u.PreserveHost || u.TLSInsecureSkipVerify {
			t.Errorf("%s: preserve_host %v, tls_insecure_skip_verify %v", u.Name, u.PreserveHost, u.TLSInsecureSkipVerify)
		}
	}
	for _, opt := range []string{"pass_host_header", "ssl_upstream_insecure_skip_verify"} {
		if f := finding(t, res, opt); f.Status != Builtin {
			t.Errorf("%s: %s, want built in (%s)", opt, f.Status, f.Note)
		}
	}
}

// TestUpstreamsNotWritten: what the loader would refuse is reported and
// left out, so that the rest of the file still loads: two upstreams at one
// path (oauth2-proxy refuses them too), a status outside 200 to 599, the
// root directory.
func TestUpstreamsNotWritten(t *testing.T) {
	for _, tc := range []struct{ upstream, note string }{
		{"http://other:8080/", "has the path / of http://app:8080/"},
		{"static://202", "has the path / of http://app:8080/"},
		{"file:///#/files/", "whole file system"},
		{"file://host/srv/www", "absolute directory"},
	} {
		res := convertArgs(t, nil, append(slices.Clone(base), "--upstream=http://app:8080/", "--upstream="+tc.upstream)...)
		if cfg := load(t, res.TOML); len(cfg.Upstreams) != 1 {
			t.Errorf("%s: %d upstreams written, want 1", tc.upstream, len(cfg.Upstreams))
		}
		if f := finding(t, res, "upstreams"); f.Status != Changed || !strings.Contains(f.Note, tc.note) {
			t.Errorf("%s: %s %q, want changed with %q", tc.upstream, f.Status, f.Note, tc.note)
		}
	}
	res := convertArgs(t, nil, append(slices.Clone(base), "--upstream=static://99")...)
	if f := finding(t, res, "upstreams"); !strings.Contains(f.Note, "status 99") {
		t.Errorf("static://99: %q", f.Note)
	}
	if !strings.Contains(string(res.TOML), `name = "forward-auth"`) {
		t.Errorf("static://99 written:\n%s", res.TOML)
	}
}

// TestIDTokenHeaders: the ID token goes to the upstream (pass_id_token),
// never into the forward-auth answer, which Gatehouse does not do:
// set_authorization_header and its alpha config spelling are reported with
// what to do instead, and write nothing.
func TestIDTokenHeaders(t *testing.T) {
	alpha := func(inject, header, prefix string) string {
		return "upstreamConfig:\n  upstreams:\n    - id: app\n      path: /\n      uri: http://app:8080\n" +
			inject + ":\n  - name: " + header + "\n    values:\n      - claim: id_token\n" + prefix
	}
	for _, tc := range []struct {
		name   string
		args   []string
		alpha  string
		option string
		st     Status
		want   string // pass_id_token
	}{
		{name: "pass_authorization_header", args: []string{"--upstream=http://app:8080", "--pass-authorization-header"},
			option: "pass_authorization_header", st: Mapped, want: "authorization"},
		{name: "set_authorization_header", args: []string{"--upstream=http://app:8080", "--set-authorization-header"},
			option: "set_authorization_header", st: NoEquivalent},
		{name: "set_authorization_header forward-auth only", args: []string{"--upstream=file:///dev/null", "--set-authorization-header"},
			option: "set_authorization_header", st: NoEquivalent},
		{name: "alpha request Authorization", alpha: alpha("injectRequestHeaders", "Authorization", "        prefix: \"Bearer \"\n"),
			option: "injectRequestHeaders[0] Authorization", st: Mapped, want: "authorization"},
		{name: "alpha request X-Forwarded-Id-Token", alpha: alpha("injectRequestHeaders", "X-Forwarded-Id-Token", ""),
			option: "injectRequestHeaders[0] X-Forwarded-Id-Token", st: Mapped, want: "header"},
		{name: "alpha response Authorization", alpha: alpha("injectResponseHeaders", "Authorization", "        prefix: \"Bearer \"\n"),
			option: "injectResponseHeaders[0] Authorization", st: NoEquivalent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := slices.Clone(base)
			if tc.alpha != "" {
				args = append(args, "--alpha-config=alpha.yaml")
			}
			res := convertArgs(t, map[string]string{"alpha.yaml": tc.alpha}, append(args, tc.args...)...)
			cfg := load(t, res.TOML)
			if got := cfg.Upstreams[0].PassIDToken; got != tc.want {
				t.Errorf("pass_id_token %q, want %q\n%s", got, tc.want, res.TOML)
			}
			f := finding(t, res, tc.option)
			if f.Status != tc.st {
				t.Errorf("%s: %s, want %s: %s", tc.option, f.Status, tc.st, f.Note)
			}
			if tc.st == NoEquivalent && (!strings.Contains(f.Note, "forward-auth answers carry no ID token") ||
				!strings.Contains(f.Note, `pass_id_token = "authorization"`)) {
				t.Errorf("%s: the note lacks the advice: %s", tc.option, f.Note)
			}
		})
	}
}

// TestProviderCAFiles: provider.ca_file is one PEM file (it may hold several
// certificates), so several provider_ca_files are to be concatenated.
func TestProviderCAFiles(t *testing.T) {
	res := convertArgs(t, nil, append(slices.Clone(base), "--upstream=http://app:8080",
		"--provider-ca-file=/etc/ca/a.pem", "--provider-ca-file=/etc/ca/b.pem")...)
	cfg := load(t, res.TOML)
	if cfg.Provider.CAFile != providerCABundle {
		t.Errorf("provider.ca_file %q, want %q", cfg.Provider.CAFile, providerCABundle)
	}
	cat := "cat /etc/ca/a.pem /etc/ca/b.pem > " + providerCABundle
	if f := finding(t, res, "provider_ca_files"); f.Status != Changed || !strings.Contains(f.Note, cat) {
		t.Errorf("provider_ca_files: %s %q, want changed with %q", f.Status, f.Note, cat)
	}
	if !strings.Contains(string(res.TOML), "#   "+cat+"\n") {
		t.Errorf("the file does not say how to make the bundle:\n%s", res.TOML)
	}

	res = convertArgs(t, nil, append(slices.Clone(base), "--upstream=http://app:8080",
		"--provider-ca-file=/etc/ca/a.pem", "--use-system-trust-store")...)
	if cfg := load(t, res.TOML); cfg.Provider.CAFile != "/etc/ca/a.pem" {
		t.Errorf("provider.ca_file %q", cfg.Provider.CAFile)
	}
	if f := finding(t, res, "provider_ca_files"); f.Status != Mapped {
		t.Errorf("provider_ca_files with use_system_trust_store: %s, want mapped", f.Status)
	}
}
