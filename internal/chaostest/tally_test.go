package chaostest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tally counts the outcomes of requests by label ("200", "503", "302 sign-in",
// "connection error", ...).
type tally struct {
	mu sync.Mutex
	m  map[string]int
	n  int
}

func newTally() *tally { return &tally{m: map[string]int{}} }

func (tl *tally) add(label string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.m[label]++
	tl.n++
}

func (tl *tally) merge(o *tally) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, v := range o.m {
		tl.mu.Lock()
		tl.m[k] += v
		tl.n += v
		tl.mu.Unlock()
	}
}

func (tl *tally) count(label string) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.m[label]
}

func (tl *tally) total() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.n
}

// String lists the labels, most frequent first: "200 ×41, 503 ×3".
func (tl *tally) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	keys := slices.Collect(maps.Keys(tl.m))
	slices.SortFunc(keys, func(a, b string) int {
		if tl.m[a] != tl.m[b] {
			return tl.m[b] - tl.m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, tl.m[k])
	}
	return strings.Join(parts, ", ")
}

// only fails the test unless every outcome is one of allowed, and at least
// one request was made.
func (tl *tally) only(t testing.TB, phase string, allowed ...string) {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.n == 0 {
		t.Errorf("%s: no request was made", phase)
	}
	for k, v := range tl.m {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s: %d answers %q; want only %v", phase, v, k, allowed)
		}
	}
}

// outcome labels one answer as a user would describe it.
func outcome(resp *http.Response, body []byte, err error) string {
	switch {
	case resp == nil && err != nil:
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "canceled"
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return "connection refused"
		}
		return "connection error"
	case err != nil && resp.StatusCode == http.StatusOK:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return "200 body cut"
		}
		return "200 body error"
	}
	code := strconv.Itoa(resp.StatusCode)
	ct := resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode == http.StatusFound && (strings.Contains(resp.Header.Get("Location"), "/oauth2/start") ||
		strings.Contains(resp.Header.Get("Location"), "response_type=code")):
		return "302 sign-in"
	case resp.StatusCode >= 400 && !strings.HasPrefix(ct, "text/html") && !strings.HasPrefix(ct, "application/json"):
		return code + " without a page"
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		return "503 Retry-After"
	case resp.StatusCode == http.StatusOK && !strings.HasPrefix(string(body), "ok alice") && !strings.HasPrefix(string(body), "slow ok"):
		return "200 unexpected body"
	}
	return code
}

// load sends GET path with the cookie on conc connections until d passed
// (at least one request per connection) and tallies the outcomes.
func (s *stack) load(ctx context.Context, d time.Duration, conc int, path string, c *http.Cookie) *tally {
	tl := newTally()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for first := true; first || time.Now().Before(deadline); first = false {
				if ctx.Err() != nil {
					return
				}
				resp, body, err := s.get(ctx, path, c)
				tl.add(outcome(resp, body, err))
			}
		})
	}
	wg.Wait()
	return tl
}

// until sends GET path with the cookie, one request at a time, until the
// answer's label is want (or timeout passes), tallying every answer; it
// returns how long that took.
func (s *stack) until(ctx context.Context, timeout time.Duration, path string, c *http.Cookie, tl *tally, want ...string) (time.Duration, error) {
	start := time.Now()
	err := waitUntil(ctx, timeout, func() error {
		resp, body, err := s.get(ctx, path, c)
		got := outcome(resp, body, err)
		tl.add(got)
		if !slices.Contains(want, got) {
			return fmt.Errorf("GET %s: %s", path, got)
		}
		return nil
	})
	return time.Since(start), err
}
