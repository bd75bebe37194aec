package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultTabTimeout bounds each Tab method unless Tab.Timeout says otherwise.
const DefaultTabTimeout = 15 * time.Second

// pollInterval is how often the Tab methods that wait look at the page again.
const pollInterval = 25 * time.Millisecond

// Tab is a browser tab. Its methods are bounded by Timeout, and on failure they end the test
// with a message that names the page's URL and a full-page screenshot, which is kept when
// the tests run with go test -artifacts.
//
// A Tab is not safe for use by several goroutines at once; open a tab for each.
type Tab struct {
	// Timeout bounds each method; NewTab sets it to DefaultTabTimeout.
	Timeout time.Duration

	ctx   context.Context // the chromedp context of the tab
	id    int
	shots atomic.Int32
}

// Navigate loads url in the tab and waits for the page's load event. An HTTP error status
// is no failure: the test reads the page.
func (tab *Tab) Navigate(t testing.TB, url string) {
	t.Helper()
	tab.do(t, "navigate to "+url, chromedp.Navigate(url))
}

// URL returns the URL of the tab's current document.
func (tab *Tab) URL(t testing.TB) string {
	t.Helper()
	return pollEval[string](t, tab, "read the URL", `location.href`)
}

// Text returns the text of the loaded page (document.body.innerText).
func (tab *Tab) Text(t testing.TB) string {
	t.Helper()
	return pollEval[string](t, tab, "read the page text",
		`document.readyState === 'complete' && document.body ? document.body.innerText : null`)
}

// WaitURLPrefix waits until a page whose URL starts with prefix has loaded.
func (tab *Tab) WaitURLPrefix(t testing.TB, prefix string) {
	t.Helper()
	pollEval[bool](t, tab, "wait for a page at "+prefix,
		fmt.Sprintf(`(location.href.startsWith(%s) && document.readyState === 'complete') || null`, jsString(prefix)))
}

// SignOut signs out as a user does: it opens the gateway's sign-out page at
// url (GET /oauth2/sign_out, which only asks to confirm) and presses its
// button, which POSTs the sign-out from the gateway's own origin; it waits
// for the next page.
func (tab *Tab) SignOut(t testing.TB, url string) {
	t.Helper()
	tab.Navigate(t, url)
	tab.clickAndWaitNewDocument(t, "sign out at "+url, "#sign-out")
}

// Fill replaces the value of the visible form field that the CSS selector finds, typing
// value key by key.
func (tab *Tab) Fill(t testing.TB, selector, value string) {
	t.Helper()
	sel := chromedp.CSS(selector)
	tab.do(t, "fill "+selector,
		chromedp.WaitVisible(sel),
		// Not chromedp.SetValue(sel, ""): chromedp 0.22 drops the empty argument and sets
		// "undefined".
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(selector)+`).value = ''`),
		chromedp.SendKeys(sel, value),
	)
}

// Click clicks the visible element that the CSS selector finds. It does not wait for a
// navigation that the click starts: follow it with WaitURLPrefix or another wait.
func (tab *Tab) Click(t testing.TB, selector string) {
	t.Helper()
	tab.do(t, "click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// Screenshot saves a full-page PNG of the tab into t.ArtifactDir() and returns its path.
func (tab *Tab) Screenshot(t testing.TB, name string) string {
	t.Helper()
	path, err := tab.screenshot(t, name)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	return path
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (tab *Tab) screenshot(t testing.TB, name string) (string, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		return "", err
	}
	path := filepath.Join(t.ArtifactDir(), fmt.Sprintf("tab%d-%s.png", tab.id, unsafeFileChars.ReplaceAllString(name, "_")))
	return path, os.WriteFile(path, png, 0o644)
}

// do runs the steps within the tab's timeout, and fails the test if one fails.
func (tab *Tab) do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tab.fail(t, "%s: %v", what, err)
	}
}

// fail ends the test with the message, the page's URL and a screenshot.
func (tab *Tab) fail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(tab.ctx, 2*time.Second)
	url, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	cancel()
	if err != nil {
		url = fmt.Sprintf("unknown (%v)", err)
	}
	path, err := tab.screenshot(t, fmt.Sprintf("failure-%d", tab.shots.Add(1)))
	if err != nil {
		t.Fatalf("%s\n\tpage: %s\n\tno screenshot: %v", msg, url, err)
	}
	t.Fatalf("%s\n\tpage: %s\n\tscreenshot: %s (kept with go test -artifacts)", msg, url, path)
}

// pollEval evaluates the JavaScript expression in the tab until it gives a value other than
// null, and returns that value. It ignores the errors of a page that is navigating, and fails
// the test at the tab's timeout.
func pollEval[T any](t testing.TB, tab *Tab, what, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.Timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
		if err == nil && string(raw) != "null" {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				tab.fail(t, "%s: decode %s: %v", what, raw, err)
			}
			return v
		}
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr == nil {
				lastErr = errors.New("condition never held")
			}
			tab.fail(t, "%s: timed out after %v: %v", what, tab.Timeout, lastErr)
		case <-tick.C:
		}
	}
}

// clickAndWaitNewDocument clicks the element that the CSS selector finds and waits until the
// navigation that the click starts has loaded a new document.
func (tab *Tab) clickAndWaitNewDocument(t testing.TB, what, selector string) {
	t.Helper()
	sel := chromedp.CSS(selector)
	tab.do(t, what,
		chromedp.WaitVisible(sel),
		chromedp.Evaluate[chromedp.Void](`window.__gatehouseHarnessOldDocument = true`),
		chromedp.Click(sel, chromedp.NodeVisible),
	)
	pollEval[bool](t, tab, what+": wait for the next page",
		`(!window.__gatehouseHarnessOldDocument && document.readyState === 'complete') || null`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
