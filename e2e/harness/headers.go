package harness

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// SetExtraHeaders makes the tab send headers with every request from now on,
// as a client trying to spoof them would.
func (tab *Tab) SetExtraHeaders(t testing.TB, headers map[string]string) {
	t.Helper()
	h := network.Headers{}
	for k, v := range headers {
		h[k] = v
	}
	ctx, cancel := context.WithTimeout(tab.ctx, tab.Timeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		tab.fail(t, "enable network domain: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
		tab.fail(t, "set extra headers: %v", err)
	}
}
