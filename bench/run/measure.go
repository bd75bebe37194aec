package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// measureRequests loads every target in turn, round after round, in a
// different order each round (see shuffled).
func (b *bench) measureRequests(ctx context.Context, targets []*target) error {
	cookie := func(t *target) string {
		if t.cookies == nil {
			return "gatehouse=none" // the bare proxy forwards it like any cookie
		}
		return cookieHeader(t.cookies)
	}
	if b.opts.warmup > 0 {
		b.logf("warming up %d targets", len(targets))
		for _, t := range targets {
			if _, err := b.load.run(ctx, t.url+"/", cookie(t), b.opts.conns, b.opts.warmup); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	for round := range b.opts.rounds {
		b.logf("round %d of %d, %d connections (load average %s)", round+1, b.opts.rounds, b.opts.conns, loadAverage())
		for _, t := range shuffled(targets, round) {
			s, err := b.measureOnce(ctx, t, cookie(t), b.opts.conns, b.opts.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			s.round = round
			t.samples = append(t.samples, s)
		}
	}
	for round := range b.opts.singleRounds {
		b.logf("round %d of %d, 1 connection", round+1, b.opts.singleRounds)
		for _, t := range shuffled(targets, 1000+round) {
			s, err := b.measureOnce(ctx, t, cookie(t), 1, b.opts.singleFor)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			s.round = round
			t.single = append(t.single, s)
		}
	}
	for _, t := range targets {
		var err error
		if t.peakRSS, err = t.proc.memMB("VmHWM"); err != nil {
			return err
		}
	}
	return nil
}

// shuffled returns the targets in an order of its own for each round, the
// same on every run of the benchmark, so that no target always follows the
// same other one.
func shuffled(targets []*target, round int) []*target {
	out := slices.Clone(targets)
	rand.New(rand.NewPCG(uint64(round), 0x6761746568)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (b *bench) measureOnce(ctx context.Context, t *target, cookie string, conns int, d time.Duration) (sample, error) {
	cpu0, err := t.proc.cpuSeconds()
	if err != nil {
		return sample{}, err
	}
	up0, _ := b.up.cpuSeconds()
	rcpu0, _ := b.redis.cpuSeconds()
	cmds0, err := b.redisCommands(ctx)
	if err != nil {
		return sample{}, err
	}
	res, err := b.load.run(ctx, t.url+"/", cookie, conns, d)
	if err != nil {
		return sample{}, err
	}
	if res.errors > 0 {
		return sample{}, fmt.Errorf("%d of %d requests failed", res.errors, res.requests)
	}
	cpu1, err := t.proc.cpuSeconds()
	if err != nil {
		return sample{}, err
	}
	up1, _ := b.up.cpuSeconds()
	rcpu1, _ := b.redis.cpuSeconds()
	cmds1, err := b.redisCommands(ctx)
	if err != nil {
		return sample{}, err
	}
	per10k := 10_000 / float64(res.requests)
	s := sample{load: res, cpu10k: (cpu1 - cpu0) * per10k}
	if t.redis {
		s.redis10k = (rcpu1 - rcpu0) * per10k
		s.redisCmd = float64(cmds1-cmds0) / float64(res.requests)
	}
	s.total10k = s.cpu10k + s.redis10k + (up1-up0+res.wrkCPU)*per10k
	return s, nil
}

// redisCommands returns how many commands Redis has executed, not counting
// INFO (this runner's), PING (subscription health checks) and connection
// set-up (HELLO, CLIENT SETINFO, AUTH, SELECT: go-redis replaces the
// connections of requests that wrk abandoned at the end of a run).
func (b *bench) redisCommands(ctx context.Context) (int64, error) {
	info, err := b.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var n int64
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		cmd, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || setupCommand[cmd] {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		c, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO commandstats %q: %w", line, err)
		}
		n += c
	}
	return n, nil
}

var setupCommand = map[string]bool{"info": true, "ping": true, "hello": true, "auth": true, "select": true,
	"client|setinfo": true, "client|setname": true, "config|resetstat": true}

// loginResult is the login throughput of one gateway.
type loginResult struct {
	name      string
	perSecond []float64
	cookies   []*http.Cookie
}

// measureLogins runs complete logins (start, AS, callback, session) against
// each gateway for a while, alternating the gateways, and keeps the cookies.
func (b *bench) measureLogins(ctx context.Context, targets []*target) ([]*loginResult, error) {
	results := make([]*loginResult, len(targets))
	for i, t := range targets {
		results[i] = &loginResult{name: t.name}
	}
	for round := range b.opts.loginRounds {
		b.logf("logins, round %d of %d", round+1, b.opts.loginRounds)
		for i := range targets {
			j := (i + round) % len(targets)
			cookies, took, err := b.browser.loginMany(ctx, targets[j].url, b.opts.workers, 0, b.opts.loginFor)
			if err != nil {
				return nil, fmt.Errorf("%s: logins: %w\n%s", targets[j].name, err, targets[j].proc.logTail())
			}
			results[j].perSecond = append(results[j].perSecond, float64(len(cookies))/took.Seconds())
			results[j].cookies = append(results[j].cookies, cookies...)
		}
	}
	return results, nil
}

// manyResult is the memory check: a gateway's RSS after many distinct sessions.
type manyResult struct {
	name            string
	memoryStore     bool
	sessions        int
	rssBefore       float64
	rssAfter, peak  float64
	loginsPerSecond float64
}

// manySessions logs in n times at t, sends one request with each session,
// and reads the gateway's RSS.
func (b *bench) manySessions(ctx context.Context, t *target, n int) (*manyResult, error) {
	r := &manyResult{name: t.name, sessions: n, memoryStore: !t.redis}
	var err error
	if r.rssBefore, err = t.proc.memMB("VmRSS"); err != nil {
		return nil, err
	}
	b.logf("creating %d sessions at %s", n, t.name)
	cookies, took, err := b.browser.loginMany(ctx, t.url, b.opts.workers, n, time.Hour)
	if err != nil {
		return nil, fmt.Errorf("%s: logins: %w", t.name, err)
	}
	r.loginsPerSecond = float64(len(cookies)) / took.Seconds()
	b.logf("using each session once")
	if err := b.browser.touchAll(ctx, t.url, cookies, b.opts.workers); err != nil {
		return nil, err
	}
	if r.rssAfter, err = t.proc.memMB("VmRSS"); err != nil {
		return nil, err
	}
	if r.peak, err = t.proc.memMB("VmHWM"); err != nil {
		return nil, err
	}
	return r, nil
}
