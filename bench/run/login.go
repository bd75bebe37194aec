//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// browser performs logins the way a browser does, without a cookie jar: it
// carries the two cookies that matter by hand.
type browser struct{ hc *http.Client }

func newBrowser() *browser {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	return &browser{hc: &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get sends GET url with cookies and returns the response with its body
// read and closed.
func (b *browser) get(ctx context.Context, url string, cookies ...*http.Cookie) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// login runs one complete login at the gateway gw (start, the development
// AS approving at once, callback) and returns the session cookie: one
// cookie (the memory and Redis stores).
func (b *browser) login(ctx context.Context, gw string) (*http.Cookie, error) {
	cs, err := b.loginAll(ctx, gw)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("callback: the session came in %d cookies, want 1", len(cs))
	}
	return cs[0], nil
}

// loginAll is login for any store: it returns every session cookie, the
// numbered chunks of the cookie store's sealed record included.
func (b *browser) loginAll(ctx context.Context, gw string) ([]*http.Cookie, error) {
	resp, err := b.get(ctx, gw+"/oauth2/start?rd=%2F")
	if err != nil {
		return nil, err
	}
	binding := cookieNamed(resp, "gatehouse_csrf")
	if resp.StatusCode != http.StatusFound || binding == nil {
		return nil, fmt.Errorf("login start: status %d, binding cookie %v", resp.StatusCode, binding != nil)
	}
	carry := []*http.Cookie{binding}
	for _, c := range resp.Cookies() { // the cookie store's pending login travels in a cookie
		if strings.HasPrefix(c.Name, "gatehouse_csrf_f_") {
			carry = append(carry, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	resp, err = b.get(ctx, resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	cb := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(cb, gw+"/oauth2/callback") {
		return nil, fmt.Errorf("authorization: status %d, location %q", resp.StatusCode, cb)
	}
	resp, err = b.get(ctx, cb, carry...)
	if err != nil {
		return nil, err
	}
	ticket := cookieNamed(resp, "gatehouse")
	if resp.StatusCode != http.StatusFound || ticket == nil {
		return nil, fmt.Errorf("callback: status %d, session cookie %v", resp.StatusCode, ticket != nil)
	}
	cs := []*http.Cookie{{Name: ticket.Name, Value: ticket.Value}}
	for i := 1; ; i++ {
		chunk := cookieNamed(resp, fmt.Sprintf("gatehouse_%d", i))
		if chunk == nil {
			return cs, nil
		}
		cs = append(cs, &http.Cookie{Name: chunk.Name, Value: chunk.Value})
	}
}

// cookieHeader returns the Cookie header that carries cs.
func cookieHeader(cs []*http.Cookie) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	return nil
}

// loginMany runs logins on workers goroutines until n succeeded (n > 0) or
// d passed (n == 0), and returns the session cookies and the time taken.
func (b *browser) loginMany(ctx context.Context, gw string, workers, n int, d time.Duration) ([]*http.Cookie, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		cookies  []*http.Cookie
		firstErr error
		started  atomic.Int64
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if n > 0 && started.Add(1) > int64(n) {
					return
				}
				if n == 0 && time.Now().After(deadline) {
					return
				}
				c, err := b.login(ctx, gw)
				mu.Lock()
				if err != nil {
					if firstErr == nil && !errors.Is(err, context.Canceled) {
						firstErr = err
					}
					cancel()
				} else {
					cookies = append(cookies, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return cookies, time.Since(start), firstErr
}

// touchAll sends one authenticated request per cookie through gw.
func (b *browser) touchAll(ctx context.Context, gw string, cookies []*http.Cookie, workers int) error {
	var next atomic.Int64
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cookies) || ctx.Err() != nil {
					return
				}
				resp, err := b.get(ctx, gw+"/", cookies[i])
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("GET / with session %d: status %d", i, resp.StatusCode)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}
