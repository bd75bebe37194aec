//go:build soak

package chaostest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak is `make soak`: SOAK_DURATION (default 10m) of authenticated load
// on SOAK_CONNS (default 50) connections, one session each, against the
// built gateway with the Redis store. The AS's access tokens live 20s and the
// gateway refreshes them 5s before they expire, so every session refreshes
// about every 15s throughout. It asserts no non-2xx answer, and RSS and
// goroutine growth under 10% from the end of the warm-up (the first minute,
// or a tenth of a shorter run) to the end; it prints p50/p99 per minute.
func TestSoak(t *testing.T) {
	duration := envDuration(t, "SOAK_DURATION", 10*time.Minute)
	conns := 50
	if v := os.Getenv("SOAK_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOAK_CONNS=%q: want a positive number", v)
		}
		conns = n
	}
	warmup := min(time.Minute, duration/10)
	s := startStack(t, stackOptions{accessTokenTTL: 20 * time.Second, refreshBefore: "5s"})
	s.hc.Transport.(*http.Transport).MaxIdleConnsPerHost = conns
	cookies := make([]*http.Cookie, conns)
	for i := range cookies {
		cookies[i] = s.mustLogin(t)
	}

	type minute struct {
		lat    []time.Duration
		bad    int
		rssKiB int64
		gor    int
	}
	var (
		mu      sync.Mutex
		minutes []*minute
		bad     atomic.Int64
		badText sync.Map
	)
	start := time.Now()
	bucket := func(at time.Time) *minute {
		i := int(at.Sub(start) / time.Minute)
		for len(minutes) <= i {
			minutes = append(minutes, &minute{})
		}
		return minutes[i]
	}
	ctx, stop := context.WithTimeout(t.Context(), duration)
	defer stop()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				resp, body, err := s.get(ctx, "/", cookies[i])
				if ctx.Err() != nil {
					return
				}
				d := time.Since(t0)
				mu.Lock()
				m := bucket(t0)
				m.lat = append(m.lat, d)
				if err != nil || resp.StatusCode/100 != 2 {
					m.bad++
					bad.Add(1)
					badText.Store(outcome(resp, body, err), true)
				}
				mu.Unlock()
			}
		})
	}

	// Samples: RSS from /proc, goroutines from pprof, every 5s.
	type sample struct {
		at     time.Duration
		rssKiB int64
		gor    int
	}
	var samples []sample
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-ctx.Done():
			break sampling
		case now := <-tick.C:
			rss, err1 := s.gw.rssKiB()
			gor, err2 := s.gw.goroutines()
			if err1 != nil || err2 != nil {
				t.Errorf("sample: %v %v", err1, err2)
				continue
			}
			samples = append(samples, sample{now.Sub(start), rss, gor})
			mu.Lock()
			m := bucket(now)
			m.rssKiB, m.gor = rss, gor
			mu.Unlock()
		}
	}
	wg.Wait()

	// Growth from the warm-up's end to the end: the mean of the samples of
	// the first minute after the warm-up against the mean of the last one,
	// so that a garbage collection at either point does not decide.
	window := func(from, to time.Duration) (rss, gor float64) {
		var n int
		for _, sm := range samples {
			if sm.at >= from && sm.at < to {
				rss += float64(sm.rssKiB)
				gor += float64(sm.gor)
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no samples between %v and %v", from, to)
		}
		return rss / float64(n), gor / float64(n)
	}
	span := min(time.Minute, (duration-warmup)/3)
	rss0, gor0 := window(warmup, warmup+span)
	rss1, gor1 := window(duration-span, duration+time.Second)
	refreshes := s.refreshCount(t)

	var b strings.Builder
	fmt.Fprintf(&b, "\nsoak: %v, %d connections, %d sessions, access tokens of 20s (refreshed 5s before expiry)\n\n", duration, conns, conns)
	fmt.Fprintln(&b, "| minute | requests | non-2xx | p50 | p99 | RSS (MiB) | goroutines |")
	fmt.Fprintln(&b, "| --: | --: | --: | --: | --: | --: | --: |")
	total := 0
	for i, m := range minutes {
		if len(m.lat) == 0 {
			continue
		}
		slices.Sort(m.lat)
		total += len(m.lat)
		fmt.Fprintf(&b, "| %d | %d | %d | %v | %v | %.1f | %d |\n", i+1, len(m.lat), m.bad,
			pct(m.lat, 50), pct(m.lat, 99), float64(m.rssKiB)/1024, m.gor)
	}
	fmt.Fprintf(&b, "\n%d requests, %d non-2xx, %s refreshes; after the %v warm-up: RSS %.1f -> %.1f MiB (%+.1f%%), goroutines %.0f -> %.0f (%+.1f%%)\n",
		total, bad.Load(), refreshes, warmup, rss0/1024, rss1/1024, 100*(rss1-rss0)/rss0, gor0, gor1, 100*(gor1-gor0)/gor0)
	t.Log(b.String())
	if p := os.Getenv("GATEHOUSE_SOAK_REPORT"); p != "" {
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
	}

	if n := bad.Load(); n > 0 {
		var kinds []string
		badText.Range(func(k, _ any) bool { kinds = append(kinds, k.(string)); return true })
		t.Errorf("%d answers were not 2xx: %v", n, kinds)
	}
	if rss1 > rss0*1.10 {
		t.Errorf("RSS grew by %.1f%% after the warm-up (limit 10%%)", 100*(rss1-rss0)/rss0)
	}
	if gor1 > gor0*1.10 {
		t.Errorf("goroutines grew by %.1f%% after the warm-up (limit 10%%)", 100*(gor1-gor0)/gor0)
	}
	if !s.gw.alive() {
		t.Error("the gateway exited")
	}
}

func envDuration(t *testing.T, key string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 20*time.Second {
		t.Fatalf("%s=%q: want a duration of at least 20s", key, v)
	}
	return d
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(i, len(sorted))-1)].Round(10 * time.Microsecond)
}

// refreshCount reads gatehouse_refreshes_total from the gateway's metrics.
func (s *stack) refreshCount(t *testing.T) string {
	resp, err := http.Get(s.gw.metrics + "/metrics")
	if err != nil {
		return "? (" + err.Error() + ")"
	}
	defer resp.Body.Close()
	var parts []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "gatehouse_refreshes_total{"); ok {
			parts = append(parts, strings.ReplaceAll(rest, "} ", " "))
		}
	}
	return strings.Join(parts, ", ")
}

func (g *gatehouse) pid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cmd.Process.Pid
}

// rssKiB reads VmRSS of the gateway process from /proc.
func (g *gatehouse) rssKiB() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", g.pid()))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// goroutines reads the gateway's goroutine count from its pprof endpoint.
func (g *gatehouse) goroutines() (int, error) {
	resp, err := http.Get(g.metrics + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return 0, err
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile: %q", line)
	}
	return strconv.Atoi(v)
}
