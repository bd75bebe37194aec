package chaostest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chaosSize is how hard the suite pushes: the short form runs in make test,
// the full one (GATEHOUSE_CHAOS=full) in make chaos.
type chaosSize struct {
	hold        time.Duration // how long each fault is held under load
	conc        int           // connections of the load
	upstreamN   int           // requests per upstream fault
	restartLoad int           // answers to see before and after a restart
}

func chaosSizeFromEnv() (chaosSize, string) {
	if os.Getenv("GATEHOUSE_CHAOS") == "full" {
		return chaosSize{hold: 15 * time.Second, conc: 16, upstreamN: 200, restartLoad: 2000}, "full"
	}
	return chaosSize{hold: time.Second, conc: 4, upstreamN: 8, restartLoad: 50}, "short"
}

// figure is one row of the table the suite prints.
type figure struct {
	phase    string
	answers  *tally
	recovery string
	sessions string
}

// accessTTL is the AS's access token lifetime in the suite: short, so that
// refreshes happen throughout and the AS phases see tokens expire.
const accessTTL = 4 * time.Second

// TestChaos breaks one dependency at a time under load and checks what the
// user sees: 503 with a page while the store is down (never 500, never a
// sign-in loop), sessions kept wherever their data is kept, 503 with
// Retry-After once a session needs the AS and the AS is down, 502/504 for
// upstream faults, no 5xx across a gateway restart; and how long each
// recovery takes, by waiting for the first good answer.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (make unit): this suite runs the gateway binary; make test runs it")
	}
	size, form := chaosSizeFromEnv()
	s := startStack(t, stackOptions{accessTokenTTL: accessTTL, refreshBefore: "2s", upstreamTimeout: "1s"})
	var rows []figure
	t.Cleanup(func() { printFigures(t, form, rows) })
	ctx := t.Context()
	row := func(f figure) { rows = append(rows, f) }

	t.Run("baseline", func(t *testing.T) {
		c := s.mustLogin(t)
		tl := s.load(ctx, size.hold, size.conc, "/", c)
		tl.only(t, "baseline", "200")
		row(figure{"baseline", tl, "-", "kept"})
	})

	// The store cut off the network or frozen: its data is kept, so are
	// the sessions.
	for _, ph := range []struct {
		name         string
		break_, mend func(t *testing.T)
	}{
		{"store unreachable (connections refused)",
			func(*testing.T) { s.storeNet.set(refuse) }, func(*testing.T) { s.storeNet.set(passThrough) }},
		{"store black hole (accepts, never answers)",
			func(*testing.T) { s.storeNet.set(blackHole) }, func(*testing.T) { s.storeNet.set(passThrough) }},
		{"store frozen (SIGSTOP)", func(t *testing.T) { s.signalRedis(t, syscall.SIGSTOP) }, func(t *testing.T) { s.signalRedis(t, syscall.SIGCONT) }},
	} {
		t.Run(ph.name, func(t *testing.T) {
			c := s.mustLogin(t)
			ph.break_(t)
			mended := false
			defer func() {
				if !mended {
					ph.mend(t)
				}
			}()
			tl := s.load(ctx, size.hold, size.conc, "/", c)
			tl.only(t, ph.name, "503")
			if err := waitUntil(ctx, 10*time.Second, func() error {
				if err := s.gw.ready(); err == nil {
					return fmt.Errorf("/readyz still ready")
				}
				return nil
			}); err != nil {
				t.Errorf("%s: /readyz never said unready: %v", ph.name, err)
			}
			start, _, _ := s.get(ctx, "/oauth2/start?rd=%2F")
			if start == nil || start.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%s: a new login answered %v, want 503", ph.name, start)
			} else {
				tl.add(outcome(start, nil, nil))
			}
			ph.mend(t)
			mended = true
			took, err := s.until(ctx, 30*time.Second, "/", c, tl, "200")
			if err != nil {
				t.Fatalf("%s: the session did not come back: %v", ph.name, err)
			}
			row(figure{ph.name, tl, took.Round(time.Millisecond).String(), "kept"})
		})
	}

	// The store killed and restarted empty, or flushed: the sessions are
	// gone with their data. The user is sent to sign in once, and that
	// sign-in works: no loop.
	t.Run("store killed, restarted empty", func(t *testing.T) {
		c := s.mustLogin(t)
		s.redis.Stop()
		tl := s.load(ctx, size.hold, size.conc, "/", c)
		tl.only(t, "store killed", "503")
		s.redis.Restart()
		s.redisPID = 0
		took, err := s.until(ctx, 30*time.Second, "/", c, tl, "302 sign-in")
		if err != nil {
			t.Fatalf("after the store's restart: %v", err)
		}
		s.signInAgain(t, tl)
		row(figure{"store killed, restarted empty", tl, took.Round(time.Millisecond).String() + " after restart", "lost with the data; one sign-in"})
	})
	t.Run("store flushed", func(t *testing.T) {
		c := s.mustLogin(t)
		if err := s.rdb.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		tl := s.load(ctx, size.hold, size.conc, "/", c)
		tl.only(t, "store flushed", "302 sign-in")
		s.signInAgain(t, tl)
		row(figure{"store flushed", tl, "0s (no outage)", "lost with the data; one sign-in"})
	})

	// The AS down: sessions keep working while their access token is valid,
	// then get 503 with Retry-After, and recover when the AS does.
	for _, ph := range []struct {
		name string
		f    fault
	}{
		{"AS unreachable (connections refused)", refuse},
		{"AS black hole (accepts, never answers)", blackHole},
	} {
		t.Run(ph.name, func(t *testing.T) {
			c := s.mustLogin(t)
			s.asNet.set(ph.f)
			defer s.asNet.set(passThrough)
			tl := newTally()
			// Served while the access token is valid (refreshes fail
			// quietly), then 503 once it has expired.
			if _, err := s.until(ctx, accessTTL+20*time.Second, "/", c, tl, "503 Retry-After"); err != nil {
				t.Fatalf("%s: the expired session never got 503 with Retry-After: %v (%v)", ph.name, err, tl)
			}
			hold := s.load(ctx, size.hold, size.conc, "/", c)
			hold.only(t, ph.name+", token expired", "503 Retry-After")
			tl.merge(hold)
			tl.only(t, ph.name, "200", "503 Retry-After")
			s.asNet.set(passThrough)
			took, err := s.until(ctx, 30*time.Second, "/", c, tl, "200")
			if err != nil {
				t.Fatalf("%s: the session did not come back: %v", ph.name, err)
			}
			row(figure{ph.name, tl, took.Round(time.Millisecond).String(), "kept"})
		})
	}
	t.Run("AS slow", func(t *testing.T) {
		c := s.mustLogin(t)
		s.asNet.set(slow)
		defer s.asNet.set(passThrough)
		// Longer than the token's lifetime: refreshes go through the slow AS.
		tl := s.load(ctx, accessTTL+size.hold, size.conc, "/", c)
		tl.only(t, "AS slow", "200")
		row(figure{fmt.Sprintf("AS slow (+%v per packet)", s.asNet.delay), tl, "-", "kept"})
	})

	t.Run("upstream faults", func(t *testing.T) {
		c := s.mustLogin(t)
		for _, u := range []struct {
			name, path string
			want       []string
		}{
			{"upstream refuses connections", "/refused/x", []string{"502"}},
			{"upstream resets connections", "/reset", []string{"502"}},
			{"upstream never answers (timeout 1s)", "/hang/x", []string{"504"}},
			// The gateway passes the truncation on (it closes the
			// connection) rather than present a cut body as whole.
			{"upstream truncates its body", "/truncated", []string{"200 body cut", "connection error"}},
			{fmt.Sprintf("upstream slow (%v)", slowDelay), "/slow", []string{"200"}},
		} {
			tl := newTally()
			var wg sync.WaitGroup
			start := time.Now()
			for range size.upstreamN {
				wg.Go(func() {
					resp, body, err := s.get(ctx, u.path, c)
					tl.add(outcome(resp, body, err))
				})
			}
			wg.Wait()
			tl.only(t, u.name, u.want...)
			// Never waits forever: the client's own timeout (15s) is far above.
			if took := time.Since(start); took > 14*time.Second {
				t.Errorf("%s: %d requests took %v", u.name, size.upstreamN, took)
			}
			after, err := s.until(ctx, 10*time.Second, "/", c, newTally(), "200")
			if err != nil {
				t.Errorf("%s: the session did not survive: %v", u.name, err)
			}
			_ = after
			row(figure{u.name, tl, "-", "kept"})
		}
	})

	t.Run("gateway restart under load", func(t *testing.T) {
		c := s.mustLogin(t)
		tl := newTally()
		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range size.conc {
			wg.Go(func() {
				for lctx.Err() == nil {
					resp, body, err := s.get(lctx, "/", c)
					got := outcome(resp, body, err)
					if got != "canceled" {
						tl.add(got)
					}
					if got == "connection refused" {
						time.Sleep(5 * time.Millisecond) // a client's retry pace while nothing listens
					}
				}
			})
		}
		waitAnswers := func(n int) {
			base := tl.count("200")
			if err := waitUntil(ctx, 60*time.Second, func() error {
				if got := tl.count("200") - base; got < n {
					return fmt.Errorf("%d answers 200 so far", got)
				}
				return nil
			}); err != nil {
				t.Errorf("load: %v (%v)", err, tl)
			}
		}
		waitAnswers(size.restartLoad)
		term := time.Now()
		s.gw.terminate()
		s.gw.start()
		took := time.Since(term)
		waitAnswers(size.restartLoad)
		stop()
		wg.Wait()
		// Refused while no process listens; nothing in flight is cut.
		tl.only(t, "restart under load", "200", "connection refused")
		row(figure{"gateway restart under load (SIGTERM, start)", tl, took.Round(time.Millisecond).String() + " to ready", "kept"})
	})
}

// signInAgain checks that a browser sent to sign in can: the new session works.
func (s *stack) signInAgain(t *testing.T, tl *tally) {
	t.Helper()
	c := s.mustLogin(t)
	if _, err := s.until(t.Context(), 10*time.Second, "/", c, tl, "200"); err != nil {
		t.Fatalf("the new session does not work: %v", err)
	}
}

// signalRedis sends sig to the redis-server process, found by its own INFO.
func (s *stack) signalRedis(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if s.redisPID == 0 {
		info, err := s.rdb.Info(t.Context(), "server").Result()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
				fmt.Sscan(v, &s.redisPID)
			}
		}
	}
	if err := syscall.Kill(s.redisPID, sig); err != nil {
		t.Fatalf("signal redis-server %d: %v", s.redisPID, err)
	}
}

func printFigures(t *testing.T, form string, rows []figure) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos figures (%s form)\n\n", form)
	fmt.Fprintln(&b, "| phase | requests | answers | recovery | sessions |")
	fmt.Fprintln(&b, "| --- | --: | --- | --- | --- |")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", r.phase, r.answers.total(), r.answers, r.recovery, r.sessions)
	}
	t.Log(b.String())
	if p := os.Getenv("GATEHOUSE_CHAOS_REPORT"); p != "" {
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
	}
}
