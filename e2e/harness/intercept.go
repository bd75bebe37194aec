package harness

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// interceptedPage is what the tab shows in place of a navigation to an intercepted scheme.
const interceptedPage = `<!DOCTYPE html><title>intercepted</title><p>The browser would now open the app.</p>`

// InterceptScheme captures the tab's navigations to the private-use URI scheme (RFC 8252
// 7.1), such as com.example.app for com.example.app:/oauth2redirect?code=..., which a
// browser would hand to an app. It returns a channel that receives each full URL; the tab
// shows a small placeholder page instead. The channel holds 16 URLs
// unread; more are dropped. Call it before the navigation that leads there.
//
// It sees HTTP redirects to the scheme (the OP's 303 to a native client's redirect_uri), by
// pausing the tab's document responses with the Fetch domain, and navigations that a page
// starts itself (a link, a form, script), by Page.frameRequestedNavigation.
func (tab *Tab) InterceptScheme(t testing.TB, scheme string) <-chan string {
	t.Helper()
	prefix := strings.ToLower(scheme) + ":"
	urls := make(chan string, 16)
	send := func(u string) {
		select {
		case urls <- u:
		default: // never block the tab's paused requests on a reader
		}
	}

	// Subscribe before enabling, so that no event is lost. The subscriptions end with the tab.
	paused := chromedp.Events(tab.ctx, fetch.RequestPaused)
	requested := chromedp.Events(tab.ctx, page.FrameRequestedNavigation)
	tab.do(t, "intercept "+scheme+": enable Fetch", chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, fetch.Enable, fetch.EnableParams{
			Patterns: []*fetch.RequestPattern{{
				URLPattern:   "*",
				ResourceType: network.ResourceTypeDocument,
				RequestStage: fetch.RequestStageResponse,
			}},
		})
		return err
	}))

	go func() {
		for ev, err := range paused {
			if err != nil {
				return // the tab closed
			}
			location := ""
			for _, h := range ev.ResponseHeaders {
				if strings.EqualFold(h.Name, "Location") {
					location = h.Value
				}
			}
			if ev.ResponseStatusCode >= 300 && ev.ResponseStatusCode < 400 && strings.HasPrefix(strings.ToLower(location), prefix) {
				send(location)
				chromedp.Call(tab.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID:       ev.RequestID,
					ResponseCode:    200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
					Body:            []byte(interceptedPage),
				})
				continue
			}
			chromedp.Call(tab.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range requested {
			if err != nil {
				return
			}
			if strings.HasPrefix(strings.ToLower(ev.URL), prefix) {
				send(ev.URL)
			}
		}
	}()
	return urls
}
