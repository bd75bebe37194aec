package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestE2EDemo runs gatehouse-demo (what `make demo` runs) and logs in with
// the browser as the demo user.
func TestE2EDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "chromium")
	gw, as, up := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	text := startDemo(t, "-listen", fmt.Sprintf("127.0.0.1:%d", gw), "-as", fmt.Sprintf("127.0.0.1:%d", as), "-upstream", fmt.Sprintf("127.0.0.1:%d", up))
	url := fmt.Sprintf("http://127.0.0.1:%d/", gw)
	if !contains(text, url, "alice / alice") {
		t.Errorf("banner does not show the URL and credentials:\n%s", text)
	}
	demoLogin(t, url, fmt.Sprintf("http://127.0.0.1:%d/authorize", as), "X-Forwarded-Groups", "admins,staff")
}

// TestE2EDemoRunsTheExampleConfig: config.example.toml says its values run
// against the demo (`make demo DEMO_CONFIG=config.example.toml`); they do.
// Only its three addresses are moved to free ports.
func TestE2EDemoRunsTheExampleConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "chromium")
	example, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	gw, as, up := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	text := string(example)
	for old, port := range map[string]int{"127.0.0.1:4180": gw, "127.0.0.1:9000": as, "127.0.0.1:8080": up} {
		if !strings.Contains(text, old) {
			t.Fatalf("config.example.toml no longer uses %s", old)
		}
		text = strings.ReplaceAll(text, old, fmt.Sprintf("127.0.0.1:%d", port))
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	banner := startDemo(t, "-config", path)
	url := fmt.Sprintf("http://127.0.0.1:%d/", gw)
	if !contains(banner, url, fmt.Sprintf("http://127.0.0.1:%d", as)) {
		t.Errorf("banner does not show the file's addresses:\n%s", banner)
	}
	demoLogin(t, url, fmt.Sprintf("http://127.0.0.1:%d/authorize", as))
}

// startDemo runs gatehouse-demo with args until the test ends, and returns
// the banner it prints once every server listens.
func startDemo(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(demoBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: new(strings.Builder)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo exited with %v after SIGTERM", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("demo did not stop within 10s")
		}
		if t.Failed() {
			t.Logf("demo log:\n%s", logs.String())
		}
	})
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Press Ctrl-C") {
				banner <- b.String()
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	select {
	case text := <-banner:
		return text
	case <-time.After(20 * time.Second):
		t.Fatalf("the demo printed no banner within 20s:\n%s", logs.String())
	}
	return ""
}

// demoLogin opens the demo at url, logs in at the development AS (whose
// authorization endpoint is authorize) as alice, and checks the demo page
// shows her identity headers, and the extra texts.
func demoLogin(t *testing.T, url, authorize string, extra ...string) {
	t.Helper()
	tab := harness.StartBrowser(t).NewTab(t)
	screenshotOnFailure(t, tab, "demo-final")
	tab.Navigate(t, url)
	tab.WaitURLPrefix(t, authorize)
	tab.Fill(t, "#username", "alice")
	tab.Fill(t, "#password", "alice")
	tab.Click(t, "#login")
	tab.WaitURLPrefix(t, url)
	page := tab.Text(t)
	if !contains(page, append([]string{"Hello, alice", "X-Forwarded-Email", "alice@example.com"}, extra...)...) {
		t.Errorf("demo page after login:\n%s", page)
	}
}
