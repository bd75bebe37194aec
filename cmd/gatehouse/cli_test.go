package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.status()
	}
	return 1
}

// TestHelp: help, -h and --help list the commands on stdout and succeed;
// each command's -h prints its usage (and no key, for genkey) and succeeds.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}, {"help", "-h"}} {
		out, errOut, err := runCmd(t, t.Context(), nil, args...)
		if err != nil || errOut != "" {
			t.Errorf("gatehouse %s: %v, stderr %q", strings.Join(args, " "), err, errOut)
		}
		golden(t, "help.golden", out)
	}
	for _, c := range commands {
		if c.run == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			args := []string{c.name, "-h"}
			if c.name == "sessions" {
				args = []string{"sessions", "revoke", "-h"}
			}
			out, errOut, err := runCmd(t, t.Context(), nil, args...)
			if err != nil || errOut != "" {
				t.Errorf("gatehouse %s: %v, stderr %q", strings.Join(args, " "), err, errOut)
			}
			golden(t, "help-"+c.name+".golden", out)
			// gatehouse help COMMAND says the same.
			viaHelp, _, err := runCmd(t, t.Context(), nil, "help", c.name)
			if err != nil || viaHelp != out && c.name != "sessions" {
				t.Errorf("gatehouse help %s: %v\n%s", c.name, err, viaHelp)
			}
		})
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	out, errOut, err := runCmd(t, t.Context(), nil, "frobnicate")
	if exitStatus(err) != 2 || out != "" {
		t.Errorf("unknown command: status %d, stdout %q", exitStatus(err), out)
	}
	golden(t, "unknown-command.golden", errOut)
	for _, args := range [][]string{
		{"check-config", "-bogus"},
		{"genkey", "extra"},
		{"help", "frobnicate"},
		{"sessions", "revoke", "-sub", "a", "-sid", "b"},
	} {
		_, errOut, err := runCmd(t, t.Context(), nil, args...)
		if exitStatus(err) != 2 || errOut == "" {
			t.Errorf("gatehouse %s: status %d, stderr %q; want 2 and a message", strings.Join(args, " "), exitStatus(err), errOut)
		}
	}
}

// versionPattern is the shape of `gatehouse version`.
var versionPattern = regexp.MustCompile(`^gatehouse (dev|v\S+|[0-9a-f]{7,}\S*)
  module:    (unknown|github\.com/gatehouse-dev/gatehouse (\(devel\)|v\S+))
  revision:  (unknown|[0-9a-f]{7,40}(\+dirty)?)
  committed: (unknown|\d{4}-\d\d-\d\dT\S+)
  built:     (unknown|\d{4}-\d\d-\d\dT\S+)
  go:        go1\.\d+\S* \w+/\w+
$`)

func TestVersion(t *testing.T) {
	out, _, err := runCmd(t, t.Context(), nil, "version")
	if err != nil || !versionPattern.MatchString(out) {
		t.Errorf("version: %v\n%s\ndoes not match\n%s", err, out, versionPattern)
	}
	// With the linker's variables (make build, deploy/Dockerfile).
	defer func(v, r, b string) { buildVersion, buildRevision, buildTime = v, r, b }(buildVersion, buildRevision, buildTime)
	buildVersion, buildRevision, buildTime = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-12-03T08:00:00Z"
	out, _, err = runCmd(t, t.Context(), nil, "version")
	if err != nil || !versionPattern.MatchString(out) || !strings.HasPrefix(out, "gatehouse v1.2.3\n") ||
		!strings.Contains(out, "built:     2026-12-03T08:00:00Z") {
		t.Errorf("version with ldflags: %v\n%s", err, out)
	}
}

// TestCheckConfigReportsEverything: one run names every problem, decoding
// and validation alike, each with its key (and line or variable).
func TestCheckConfigReportsEverything(t *testing.T) {
	t.Setenv("GATEHOUSE_SERVER_LISTN", ":4180")
	t.Setenv("GATEHOUSE_SESSION_LIFETIME", "a day")
	p := writeFile(t, `[server]
public_url = "http://app.example.com"
idle_timeout = "5 minutes"
access_log = "yes"
email_domains = ["example.com"]

[provider]
issuer = "https://as.example.com"
client_id = "x"
timeout = 10

[limits]
flows_per_browser = 0

[[upstream]]
url = "http://127.0.0.1:8080"

[[upstream]]
url = 8081
`)
	out, errOut, err := runCmd(t, t.Context(), map[string]string{
		"GATEHOUSE_SERVER_LISTN":     ":4180",
		"GATEHOUSE_SESSION_LIFETIME": "a day",
	}, "check-config", "-config", p)
	if exitStatus(err) != 1 || out != "" {
		t.Errorf("status %d, stdout %q", exitStatus(err), out)
	}
	golden(t, "check-config-errors.golden", strings.ReplaceAll(errOut, p, "FILE"))
}

func TestCheckConfigEnvironmentOnly(t *testing.T) {
	t.Chdir(t.TempDir()) // no gatehouse.toml
	env := map[string]string{
		"GATEHOUSE_SERVER_LISTEN":             ":4180",
		"GATEHOUSE_SERVER_PUBLIC_URL":         "http://127.0.0.1:4180",
		"GATEHOUSE_PROVIDER_ISSUER":           "http://127.0.0.1:9000",
		"GATEHOUSE_PROVIDER_CLIENT_ID":        "gh",
		"GATEHOUSE_CLIENT_SECRET":             "TOP-SECRET-VALUE",
		"GATEHOUSE_COOKIE_SECRET":             testSecret,
		"GATEHOUSE_UPSTREAM_0_URL":            "http://127.0.0.1:8080",
		"GATEHOUSE_UPSTREAM_0_ALLOWED_GROUPS": "admins, ops",
	}
	out, errOut, err := runCmd(t, t.Context(), env, "check-config", "-explain")
	if err != nil {
		t.Fatalf("check-config from the environment: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		`listen = ":4180"`, "# env GATEHOUSE_SERVER_LISTEN",
		`allowed_groups = ["admins", "ops"]`, "# env GATEHOUSE_UPSTREAM_0_ALLOWED_GROUPS",
		`client_secret = "[redacted]"`, "# env GATEHOUSE_CLIENT_SECRET",
		`lifetime = "12h"`, "configuration is valid",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-explain lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "TOP-SECRET-VALUE") || strings.Contains(out+errOut, testSecret) {
		t.Errorf("a secret was printed:\n%s%s", out, errOut)
	}
	// A file named with -config must exist; without the environment the
	// default file must too.
	if _, errOut, err := runCmd(t, t.Context(), env, "check-config", "-config", "gatehouse.toml"); err == nil {
		t.Errorf("a missing -config file was accepted: %s", errOut)
	}
	if _, _, err := runCmd(t, t.Context(), nil, "check-config"); err == nil {
		t.Error("no file and no environment was accepted")
	}
	// Environment over file.
	p := writeFile(t, serveConfig("127.0.0.1:1", "http://127.0.0.1:9000", "http://127.0.0.1:8080", ""))
	out, _, err = runCmd(t, t.Context(), map[string]string{"GATEHOUSE_SERVER_LISTEN": "127.0.0.1:2"}, "check-config", "-explain", "-config", p)
	if err != nil || !strings.Contains(out, `listen = "127.0.0.1:2"`) {
		t.Errorf("environment over file: %v\n%s", err, out)
	}
}

// TestServeFromEnvironmentOnly: a container configured by GATEHOUSE_
// variables alone, with no file, serves.
func TestServeFromEnvironmentOnly(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "public page")
	}))
	defer up.Close()
	gwAddr := freeAddr(t)
	as := startAS(t, gwAddr)
	env := map[string]string{
		"GATEHOUSE_SERVER_LISTEN":           gwAddr,
		"GATEHOUSE_SERVER_PUBLIC_URL":       "http://" + gwAddr,
		"GATEHOUSE_SERVER_ACCESS_LOG":       "false",
		"GATEHOUSE_PROVIDER_ISSUER":         as.URL,
		"GATEHOUSE_PROVIDER_CLIENT_ID":      "gh",
		"GATEHOUSE_CLIENT_SECRET":           "gh-secret-0123456789",
		"GATEHOUSE_COOKIE_SECRET":           testSecret,
		"GATEHOUSE_UPSTREAM_0_URL":          up.URL,
		"GATEHOUSE_UPSTREAM_0_AUTH":         "public",
		"GATEHOUSE_SERVER_SHUTDOWN_TIMEOUT": "5s",
		// No GC tuning: it is process-wide, and its library races with
		// TestTuneGC's own start (gc_test.go runs after this file).
		"GATEHOUSE_SERVER_GC_MIN_HEAP_MIB": "0",
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr lockedBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve", "-config", ""}, func(k string) string { return env[k] }, io.Discard, &stderr)
	}()
	waitReady(t, "http://"+gwAddr)
	resp, err := http.Get("http://" + gwAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "public page" {
		t.Errorf("GET /: %d %q", resp.StatusCode, body)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve: %v\n%s", err, stderr.String())
	}
}
