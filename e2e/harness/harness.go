// Package harness holds the building blocks of Gatehouse's end-to-end tests: two real
// OpenID Providers (panva's oidc-provider, run by node from e2e/op, and Ory Hydra, built from
// e2e/hydra into bin/hydra, with its login and consent app), a headless Chromium driven by
// chromedp, and the small helpers around them.
//
// Every process it starts is tied to the test that started it: it stops in t.Cleanup, and
// the oidc-provider OP also exits when its standard input closes and Hydra when the test
// binary dies (Linux), so a test binary that dies leaves nothing running. Missing tools skip the test locally and fail it under CI=true (see
// Require).
package harness

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// debianPackage names the Debian package that provides a binary, for Require's message.
var debianPackage = map[string]string{
	"node":         "nodejs",
	"npm":          "npm",
	"chromium":     "chromium",
	"redis-server": "redis-server",
	"nginx":        "nginx",
	"gcc":          "gcc",
	"go":           "golang-go",
}

// inCI reports whether the tests run under CI (CI=true), where a missing tool is a
// failure, not a reason to skip.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Require checks that each binary is on PATH. For a missing one it fails the test under
// CI=true and skips it otherwise, naming the Debian package to install.
func Require(t testing.TB, bins ...string) {
	t.Helper()
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err == nil {
			continue
		}
		pkg := debianPackage[bin]
		if pkg == "" {
			pkg = bin
		}
		unavailable(t, "%s not found on PATH: install the Debian package %s (apt-get install %s)", bin, pkg, pkg)
	}
}

// unavailable fails the test under CI and skips it otherwise.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process can
// take it before the caller binds it; StartOP retries in that case.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// e2eDir returns the repository's e2e directory: next to this source file, or else found
// by walking up from the working directory to the directory that holds e2e/op (for binaries
// built with -trimpath).
func e2eDir(t testing.TB) string {
	t.Helper()
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..")
		if _, err := os.Stat(filepath.Join(dir, "op", "op.mjs")); err == nil {
			return dir
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("find the e2e directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "e2e", "op", "op.mjs")); err == nil {
			return filepath.Join(dir, "e2e")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("find the e2e directory: no e2e/op above the working directory")
		}
		dir = parent
	}
}

// tailBuffer keeps the last max bytes written to it. It collects the output of the
// processes the harness starts, for the log of a failed test.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// lineWriter splits what is written to it into lines, and writes to w those for which keep
// returns true.
type lineWriter struct {
	w       io.Writer
	keep    func(line string) bool
	partial []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.partial = append(lw.partial, p...)
	for {
		i := bytes.IndexByte(lw.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := lw.partial[:i+1]; lw.keep(strings.TrimRight(string(line), "\r\n")) {
			lw.w.Write(line)
		}
		lw.partial = lw.partial[i+1:]
	}
}

// logOnFailure registers a cleanup that logs the collected output if the test failed.
func logOnFailure(t testing.TB, what string, out fmt.Stringer) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output (last lines):\n%s", what, out)
		}
	})
}
