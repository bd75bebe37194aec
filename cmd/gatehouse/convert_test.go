package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertThenCheckConfig: an oauth2-proxy set-up given as a config file,
// flags and environment variables converts to a file that check-config
// accepts once the secrets the report names are in the environment.
func TestConvertThenCheckConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "oauth2-proxy.cfg")
	if err := os.WriteFile(cfg, []byte(`
provider = "keycloak-oidc"
oidc_issuer_url = "https://keycloak.example.com/realms/main"
redirect_url = "https://app.example.com/oauth2/callback"
email_domains = ["example.com"]
upstreams = ["http://127.0.0.1:8080/"]
reverse_proxy = true
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "gatehouse.toml")
	env := map[string]string{"OAUTH2_PROXY_CLIENT_ID": "app", "OAUTH2_PROXY_COOKIE_SECRET": "0123456789abcdef0123456789abcdef"}
	stdout, stderr, err := runCmd(t, t.Context(), env, "convert", "oauth2-proxy", "--config", cfg,
		"--allowed-group=admins", "-o", out, "--trusted-proxies=10.0.0.0/8")
	if err != nil {
		t.Fatalf("convert: %v\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("with -o, stdout %q", stdout)
	}
	for _, want := range []string{"mapped:", "client_id -> provider.client_id  (environment OAUTH2_PROXY_CLIENT_ID)",
		"allowed_groups -> authorization.allowed_groups  (flag --allowed-group)", "cookie_secret"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("report lacks %q:\n%s", want, stderr)
		}
	}
	secrets := map[string]string{
		"GATEHOUSE_CLIENT_SECRET": "s3cret",
		"GATEHOUSE_COOKIE_SECRET": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
	if _, errOut, err := runCmd(t, t.Context(), secrets, "check-config", "-config", out); err != nil {
		data, _ := os.ReadFile(out)
		t.Fatalf("check-config: %v\n%s\n%s", err, errOut, data)
	}
}

// TestConvertBlocking: a security-relevant option that cannot be carried
// over ends with exit status 3, the file on stdout and the reason in the
// report.
func TestConvertBlocking(t *testing.T) {
	stdout, stderr, err := runCmd(t, t.Context(), nil, "convert", "oauth2-proxy", "--provider=oidc",
		"--oidc-issuer-url=https://as.example.com", "--client-id=app", "--email-domain=*",
		"--redirect-url=https://app.example.com/oauth2/callback", "--upstream=http://app:8080",
		"--ssl-insecure-skip-verify")
	var ec exitCode
	if !errors.As(err, &ec) || ec != exitBlocking {
		t.Fatalf("convert: %v, want exit status %d", err, exitBlocking)
	}
	if !strings.Contains(stdout, `issuer = "https://as.example.com"`) {
		t.Errorf("stdout lacks the converted file:\n%s", stdout)
	}
	if !strings.Contains(stderr, "BLOCKING:\n  ssl_insecure_skip_verify") {
		t.Errorf("report:\n%s", stderr)
	}
}

// TestConvertUsage: a missing or unknown source, or nothing to convert, is
// an error with the usage.
func TestConvertUsage(t *testing.T) {
	for _, args := range [][]string{{"convert"}, {"convert", "nginx"}, {"convert", "oauth2-proxy"}} {
		_, stderr, err := runCmd(t, t.Context(), nil, args...)
		var ee exitError
		if !errors.As(err, &ee) || !strings.Contains(stderr, "gatehouse convert oauth2-proxy [-o FILE]") {
			t.Errorf("%q: %v\n%s", args, err, stderr)
		}
	}
}
