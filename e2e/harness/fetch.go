package harness

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// FetchAll requests every path at once from the tab's page, with fetch()
// and the browser's cookies (same origin), as a page's scripts and assets
// do, and returns the response statuses in the order of paths. Redirects
// are not followed: a redirect counts as status 0 (fetch's opaque
// redirect).
func (tab *Tab) FetchAll(t testing.TB, paths ...string) []int {
	t.Helper()
	js, err := json.Marshal(paths)
	if err != nil {
		t.Fatal(err)
	}
	tab.do(t, "start the fetches", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.__gatehouseFetches = null;
Promise.all(%s.map(p => fetch(p, {credentials: 'same-origin', redirect: 'manual', headers: {'Accept': 'application/json'}}).then(r => r.status, () => -1)))
  .then(s => { window.__gatehouseFetches = s; });`, js)))
	return pollEval[[]int](t, tab, "wait for the fetches", `window.__gatehouseFetches`)
}
