package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// caddyReadyTimeout bounds how long StartCaddy waits for Caddy to accept connections.
const caddyReadyTimeout = 15 * time.Second

// Caddy is a running Caddy, started by StartCaddy.
type Caddy struct {
	// Caddyfile is the configuration it runs.
	Caddyfile string
}

// caddyBinary returns Caddy's path. It skips the test (fails it under CI) when there is none.
func caddyBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("caddy"); err == nil {
		return p
	}
	unavailable(t, "caddy not found: install the Debian package caddy (apt-get install caddy)")
	return ""
}

// StartCaddy runs `caddy run --adapter caddyfile` on caddyfile, which must listen on
// 127.0.0.1:port (with the global options admin off and auto_https off), and stops it
// when the test ends. HOME and the XDG directories point under t.TempDir(), so Caddy
// stores nothing outside it. When the test fails, its output and the Caddyfile are printed.
func StartCaddy(t testing.TB, port int, caddyfile string) *Caddy {
	t.Helper()
	bin := caddyBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	out := newTailBuffer(32 << 10)
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start caddy: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("caddy output:\n%s\nCaddyfile:\n%s", out, caddyfile)
		}
	})
	deadline := time.Now().Add(caddyReadyTimeout)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return &Caddy{Caddyfile: caddyfile}
		}
		select {
		case <-exited:
			t.Fatalf("caddy exited at start-up: %v\n%s", waitErr, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not accept connections within %v\n%s", caddyReadyTimeout, out)
		}
	}
}
