package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserStartTimeout bounds the start of Chromium and the opening of a tab.
const browserStartTimeout = 30 * time.Second

// Browser is a headless Chromium for one test. Its tabs share one cookie jar, except those
// that NewIsolatedTab opens.
type Browser struct {
	ctx  context.Context // the chromedp context of the browser's first tab
	tabs atomic.Int32
}

// StartBrowser starts a headless Chromium (Debian's chromium) with a fresh profile, and
// stops it when the test ends. It skips the test (fails it under CI) without Chromium.
//
// The browser resolves only localhost and *.localhost (to loopback) and reaches only
// 127.0.0.0/8 and [::1], so a page cannot wait on the Internet (oidc-provider's pages
// import a web font). Distinct hosts for cookie tests: 127.0.0.2, gateway.localhost.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	execPath := "/usr/bin/chromium"
	if _, err := os.Stat(execPath); err != nil {
		Require(t, "chromium")
		execPath, _ = exec.LookPath("chromium")
	}

	out := newTailBuffer(64 << 10)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // root in a container has no user namespaces for the sandbox
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		// The OP of the mTLS tests serves https with a test certificate; every other site is http.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.*, EXCLUDE [::1]"),
		chromedp.WindowSize(1280, 900),
		// Without a D-Bus, Chromium logs errors about it all the time: drop them.
		chromedp.CombinedOutput(&lineWriter{w: out, keep: func(line string) bool {
			return !strings.Contains(line, ":ERROR:dbus/")
		}}),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		// chromedp reports problems after the test may have ended: keep them for the log.
		out.Write([]byte("chromedp: " + fmt.Sprintf(format, args...) + "\n"))
	}))
	logOnFailure(t, "Chromium", out)
	t.Cleanup(func() {
		stop, cancelStop := context.WithTimeout(ctx, 10*time.Second)
		defer cancelStop()
		chromedp.Cancel(stop) // closes the browser gracefully
		cancel()
		cancelAlloc()
		// Wait for the process to exit before t.TempDir removes its profile.
		if c := chromedp.FromContext(ctx); c != nil && c.Allocator != nil {
			c.Allocator.Wait()
		}
	})

	// The first Run starts the browser and binds it to ctx: it must not carry a timeout.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	case <-time.After(browserStartTimeout):
		t.Fatalf("start Chromium: not ready after %v", browserStartTimeout)
	}
	return &Browser{ctx: ctx}
}

// NewTab opens a tab in the browser. It shares cookies with the browser's other tabs, and
// closes when the test ends.
func (b *Browser) NewTab(t testing.TB) *Tab {
	t.Helper()
	return b.newTab(t)
}

// NewIsolatedTab opens a tab in a new browser context, which has a cookie jar of its own, as
// a second user on another machine would.
func (b *Browser) NewIsolatedTab(t testing.TB) *Tab {
	t.Helper()
	return b.newTab(t, chromedp.WithNewBrowserContext())
}

func (b *Browser) newTab(t testing.TB, opts ...chromedp.ContextOption) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx) }()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("open a tab: %v", err)
		}
	case <-time.After(browserStartTimeout):
		t.Fatalf("open a tab: not open after %v", browserStartTimeout)
	}
	return &Tab{ctx: ctx, id: int(b.tabs.Add(1)), Timeout: DefaultTabTimeout}
}
