package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
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
	cmd := exec.Command(demoBin,
		"-listen", fmt.Sprintf("127.0.0.1:%d", gw), "-as", fmt.Sprintf("127.0.0.1:%d", as), "-upstream", fmt.Sprintf("127.0.0.1:%d", up))
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
	// The demo prints its banner once every server listens.
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
	var text string
	select {
	case text = <-banner:
	case <-time.After(20 * time.Second):
		t.Fatal("the demo printed no banner within 20s")
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", gw)
	if !contains(text, url, "alice / alice") {
		t.Errorf("banner does not show the URL and credentials:\n%s", text)
	}

	tab := harness.StartBrowser(t).NewTab(t)
	screenshotOnFailure(t, tab, "demo-final")
	tab.Navigate(t, url)
	tab.WaitURLPrefix(t, fmt.Sprintf("http://127.0.0.1:%d/authorize", as))
	tab.Fill(t, "#username", "alice")
	tab.Fill(t, "#password", "alice")
	tab.Click(t, "#login")
	tab.WaitURLPrefix(t, url)
	page := tab.Text(t)
	if !contains(page, "Hello, alice", "X-Forwarded-Email", "alice@example.com", "X-Forwarded-Groups", "admins,staff") {
		t.Errorf("demo page after login:\n%s", page)
	}
}
