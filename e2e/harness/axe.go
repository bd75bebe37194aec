package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// AxeViolation is one rule of axe-core that the page breaks.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors of the offending elements
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
}

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("axe", "node_modules", "axe-core", "axe.min.js"))
	return string(b), err
})

// Axe runs axe-core (npm axe-core in e2e/axe, installed by make test-deps)
// on the tab's loaded page and returns the rules it breaks, of the WCAG 2.x
// A and AA levels and axe's best practices. It skips the test (fails it
// under CI) when axe-core is not installed. The script is injected through
// the DevTools protocol, which the page's Content-Security-Policy does not
// govern.
func (tab *Tab) Axe(t testing.TB) []AxeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		unavailable(t, "axe-core is not installed (run make test-deps): %v", err)
	}
	pollEval[bool](t, tab, "wait for the page to load", `document.readyState === 'complete' || null`)
	tab.do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](src+";void 0"))
	raw, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations'],
	}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		tab.fail(t, "axe.run: %v", err)
	}
	var out []AxeViolation
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		tab.fail(t, "axe.run result %q: %v", raw, err)
	}
	return out
}

// ScreenshotTo saves a PNG of the tab's viewport to path (docs
// screenshots).
func (tab *Tab) ScreenshotTo(t testing.TB, path string) {
	t.Helper()
	png, err := chromedp.Run(tab.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tab.fail(t, "screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// SetViewport sets the tab's viewport to width x height CSS pixels.
func (tab *Tab) SetViewport(t testing.TB, width, height int64) {
	t.Helper()
	tab.do(t, "set the viewport", chromedp.EmulateViewport(width, height))
}
