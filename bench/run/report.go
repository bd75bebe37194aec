//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

// Goals from the performance issue. The benchmark reports them; no test
// asserts timings.
const (
	goalMemoryRatio   = 0.90
	goalRedisRatio    = 0.80
	goalAddedP99      = time.Millisecond
	goalEnvelope      = 200
	goalRSSMB         = 40
	goalRedisCmdNoHit = 1.0
)

type report struct {
	opts         options
	machine      string
	loadBefore   string
	loadAfter    string
	elapsed      time.Duration
	targets      []*target
	logins       []*loginResult
	size         *sizeResult
	manySessions []*manyResult
}

func describeMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	wrk := strings.TrimPrefix(strings.Fields(commandOutput("wrk", "-v") + " ? ?")[1], "debian/")
	redis := "?"
	for f := range strings.FieldsSeq(commandOutput("redis-server", "--version")) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			redis = v
		}
	}
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s, wrk %s, redis-server %s",
		runtime.NumCPU(), model, strings.TrimSpace(string(kernel)), runtime.Version(), wrk, redis)
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// sizeResult is what a session costs in Redis.
type sizeResult struct {
	sessions int
	stored   float64 // bytes of the sealed value
	payload  float64 // access, refresh and ID token plus the claims, as JSON
	envelope float64 // stored - payload: nonce, tag, version, field names, iss/sub/sid, timestamps
	memory   float64 // MEMORY USAGE of the key: what Redis spends, key and overhead included
}

// sessionSize opens sessions created at the Redis gateway (the runner has
// their tickets and the cookie secret) and compares what Redis stores with
// the tokens and claims inside.
func (b *bench) sessionSize(ctx context.Context, cookies []*http.Cookie, prefix string) (*sizeResult, error) {
	secret, err := base64.StdEncoding.DecodeString(b.opts.cookieSecret)
	if err != nil {
		return nil, err
	}
	rs, err := redisstore.New(redisstore.Options{URL: "redis://" + b.rdb.Options().Addr + "/0", KeyPrefix: prefix})
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	m, err := session.NewManager(session.Options{Store: rs, Secret: secret, CacheMaxAge: -1})
	if err != nil {
		return nil, err
	}
	var stored, payload, envelope, memory []float64
	for _, c := range cookies[:min(len(cookies), 100)] {
		s, err := m.Load(ctx, c.Value)
		if err != nil {
			return nil, fmt.Errorf("open a session of the Redis gateway: %w", err)
		}
		key := prefix + "s:" + s.ID
		n, err := b.rdb.StrLen(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		mem, err := b.rdb.MemoryUsage(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		claims, _ := json.Marshal(s.Claims)
		p := len(s.AccessToken) + len(s.RefreshToken) + len(s.IDToken) + len(claims)
		stored = append(stored, float64(n))
		payload = append(payload, float64(p))
		envelope = append(envelope, float64(int(n)-p))
		memory = append(memory, float64(mem))
	}
	if len(stored) == 0 {
		return nil, fmt.Errorf("no session to measure")
	}
	return &sizeResult{sessions: len(stored), stored: median(stored), payload: median(payload), envelope: median(envelope), memory: median(memory)}, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianOf(samples []sample, f func(sample) float64) float64 {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	return median(v)
}

// pairedMedian is the median over rounds of g(sample, bare's sample of the
// same round).
func pairedMedian(samples, bare []sample, g func(s, b sample) float64) float64 {
	var v []float64
	for _, s := range samples {
		for _, b := range bare {
			if b.round == s.round {
				v = append(v, g(s, b))
			}
		}
	}
	return median(v)
}

func rpsRatio(s, b sample) float64 { return s.load.rps() / b.load.rps() }
func addedP99(s, b sample) float64 { return float64(s.load.p99 - b.load.p99) }
func addedP50(s, b sample) float64 { return float64(s.load.p50 - b.load.p50) }
func rps(s sample) float64         { return s.load.rps() }
func p50(s sample) float64         { return float64(s.load.p50) }
func p99(s sample) float64         { return float64(s.load.p99) }
func p999(s sample) float64        { return float64(s.load.p999) }
func cpu10k(s sample) float64      { return s.cpu10k }
func redis10k(s sample) float64    { return s.redis10k }
func redisPerReq(s sample) float64 { return s.redisCmd }
func requests(s sample) float64    { return float64(s.load.requests) }

// cpuRatio estimates req/s ÷ bare on CPUs given to the benchmark alone: the
// bare proxy's total CPU per request (wrk, upstream, proxy) over the
// target's (the same, plus redis-server).
func cpuRatio(s, b sample) float64 { return b.total10k / s.total10k }

func ms(d float64) string { return fmt.Sprintf("%.2f ms", d/float64(time.Millisecond)) }

func (r *report) markdown() string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	o := r.opts
	p("Measured %s with `make bench` (`%s`) in %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), o.commandLine, r.elapsed.Round(time.Second))
	p("- Machine: %s.\n", r.machine)
	p("- Load average (1, 5, 15 min) before: %s; after: %s. The machine is shared: absolute numbers are noisy, the ratios much less so.\n", r.loadBefore, r.loadAfter)
	p("- Load: wrk, 1 thread, %d connections, `GET /` with the session cookie; %d rounds of %s per target, in a shuffled order that differs from round to round; medians over the rounds. Ratios and added latencies are taken within each round, then the median.\n\n", o.conns, o.rounds, o.duration)

	bare := r.targets[0]
	p("#### Authenticated requests under load\n\n")
	p("| target | req/s | ÷ bare | ÷ bare, CPU-normalized | p50 | p99 | p99.9 | p99 − bare | CPU s / 10k req | Redis CPU s / 10k req | Redis commands / req | peak RSS |\n")
	p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, t := range r.targets {
		redisCPU, redisCmd, added := "–", "–", "–"
		if t.redis {
			redisCPU = fmt.Sprintf("%.3f", medianOf(t.samples, redis10k))
			redisCmd = fmt.Sprintf("%.3f", medianOf(t.samples, redisPerReq))
		}
		if t != bare {
			added = ms(pairedMedian(t.samples, bare.samples, addedP99))
		}
		p("| %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %.3f | %s | %s | %.1f MB |\n", t.name,
			medianOf(t.samples, rps), pairedMedian(t.samples, bare.samples, rpsRatio), pairedMedian(t.samples, bare.samples, cpuRatio),
			ms(medianOf(t.samples, p50)), ms(medianOf(t.samples, p99)), ms(medianOf(t.samples, p999)),
			added, medianOf(t.samples, cpu10k), redisCPU, redisCmd, t.peakRSS)
	}
	p("\nPer round, req/s ÷ bare:")
	for _, t := range r.targets[1:] {
		p(" %s", t.key)
		for _, s := range t.samples {
			for _, b := range bare.samples {
				if b.round == s.round {
					p(" %.2f", rpsRatio(s, b))
				}
			}
		}
		p(";")
	}
	p("\n\nThe machine is shared, so req/s also depends on how much CPU other work leaves to the benchmark from one second to the next. The CPU-normalized ratio does not: it divides the CPU time that wrk, the upstream and the bare proxy spend per request by the same for the target (redis-server included), which is the req/s ratio one would see on CPUs given to the benchmark alone.")
	p("\n\nCPU is user + system time from /proc/PID/stat of the proxy's own process (for the Redis rows, redis-server's separately); peak RSS is VmHWM after all request measurements. wrk, the upstream and the proxy share the CPUs, so under load the latencies are mostly queueing: with %d connections kept busy, mean latency is %d ÷ req/s.", o.conns, o.conns)
	p(" Redis commands exclude connection set-up and PINGs; the requests wrk abandons when a run ends (up to %d) reach Redis but are not counted as requests.\n\n", o.conns)

	if len(bare.single) > 0 {
		p("#### Latency without queueing\n\n")
		p("One connection (one request at a time), %d rounds of %s, medians:\n\n", o.singleRounds, o.singleFor)
		p("| target | req/s | p50 | p99 | p99.9 | p50 − bare | p99 − bare | CPU s / 10k req |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, t := range r.targets {
			a50, a99 := "–", "–"
			if t != bare {
				a50, a99 = ms(pairedMedian(t.single, bare.single, addedP50)), ms(pairedMedian(t.single, bare.single, addedP99))
			}
			p("| %s | %.0f | %s | %s | %s | %s | %s | %.3f |\n", t.name, medianOf(t.single, rps),
				ms(medianOf(t.single, p50)), ms(medianOf(t.single, p99)), ms(medianOf(t.single, p999)), a50, a99, medianOf(t.single, cpu10k))
		}
		p("\n")
	}

	p("#### Session cookies per request\n\n")
	p("What each gateway's browser sends with every request for its session (the Cookie header wrk sends): the memory and Redis stores send an opaque ticket; the cookie store sends the whole sealed record (development AS tokens), split into cookies of at most 3,800 bytes.\n\n")
	p("| gateway | cookies | Cookie header bytes |\n|---|--:|--:|\n")
	for _, t := range r.targets[1:] {
		p("| %s | %d | %d |\n", t.name, len(t.cookies), len(cookieHeader(t.cookies)))
	}
	p("\n")

	p("#### Logins\n\n")
	p("Complete logins (`/oauth2/start` → development AS, approving at once → `/oauth2/callback` → session), %d concurrent, %d rounds of %s, alternating the gateways:\n\n", o.workers, o.loginRounds, o.loginFor)
	p("| gateway | logins/s |\n|---|--:|\n")
	for _, l := range r.logins {
		p("| %s | %.0f |\n", l.name, median(l.perSecond))
	}
	p("\nThe development AS runs in the runner's process and signs an RS256 ID token per login; it takes a large part of the CPU.\n\n")

	if s := r.size; s != nil {
		p("#### Stored session size (Redis)\n\n")
		p("Medians over %d sessions created by the logins above (development AS tokens: opaque access and refresh tokens, RS256 ID token):\n\n", s.sessions)
		p("| sealed value | tokens + claims inside | envelope overhead | Redis MEMORY USAGE (key included) |\n|--:|--:|--:|--:|\n")
		p("| %.0f B | %.0f B | %.0f B | %.0f B |\n\n", s.stored, s.payload, s.envelope, s.memory)
	}
	if len(r.manySessions) > 0 {
		p("#### Memory with many sessions\n\n")
		p("After the request measurements (each gateway then holds one session), %d logins at each gateway (%d concurrent), then one request with each new session; RSS of the gateway's process (VmRSS, VmHWM):\n\n", r.manySessions[0].sessions, o.workers)
		p("| gateway | logins/s | RSS before | RSS after | peak RSS |\n|---|--:|--:|--:|--:|\n")
		for _, m := range r.manySessions {
			p("| %s | %.0f | %.1f MB | %.1f MB | %.1f MB |\n", m.name, m.loginsPerSecond, m.rssBefore, m.rssAfter, m.peak)
		}
		if r.size != nil {
			p("\nThe memory store keeps the sealed sessions in the gateway's heap: at %.0f B each, %d sessions are %.1f MB of live data before any overhead, which the garbage collector's default target (GOGC=100) lets the heap grow to about twice.\n", r.size.stored, r.manySessions[0].sessions, r.size.stored*float64(r.manySessions[0].sessions)/(1<<20))
		}
		p("\n")
	}

	p("#### Goals\n\n| goal | measured | met |\n|---|--:|:-:|\n")
	find := func(key string) *target {
		for _, t := range r.targets {
			if t.key == key {
				return t
			}
		}
		return nil
	}
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	for _, g := range []struct {
		key  string
		goal float64
	}{{"memory", goalMemoryRatio}, {"redis", goalRedisRatio}, {"redis-nocache", goalRedisRatio}, {"cookie", goalMemoryRatio}} {
		if t := find(g.key); t != nil {
			v := pairedMedian(t.samples, bare.samples, rpsRatio)
			p("| %s: req/s ≥ %.0f%% of the bare proxy (%d connections) | %.0f%% | %s |\n", t.name, g.goal*100, o.conns, v*100, met(v >= g.goal))
		}
	}
	for _, t := range r.targets[1:] {
		added := time.Duration(pairedMedian(t.samples, bare.samples, addedP99))
		p("| %s: p99 − bare p99 < 1 ms (%d connections) | %s | %s |\n", t.name, o.conns, ms(float64(added)), met(added < goalAddedP99))
	}
	if t := find("redis-nocache"); t != nil {
		// The requests in flight when wrk stops reach Redis uncounted.
		v, slack := medianOf(t.samples, redisPerReq), float64(o.conns)/medianOf(t.samples, requests)
		p("| %s: ≤ 1 Redis round trip per request | %.3f | %s |\n", t.name, v, met(v <= 1+slack))
	}
	if t := find("redis"); t != nil {
		v := medianOf(t.samples, redisPerReq)
		p("| %s: no Redis round trip for a recently seen session | %.4f | %s |\n", t.name, v, met(v < 0.01))
	}
	if s := r.size; s != nil {
		p("| stored session: envelope < %d B beyond tokens and claims | %.0f B | %s |\n", goalEnvelope, s.envelope, met(s.envelope < goalEnvelope))
	}
	for _, m := range r.manySessions {
		p("| %s: RSS < %d MB after %d sessions | %.1f MB | %s |\n", m.name, goalRSSMB, m.sessions, m.rssAfter, met(m.rssAfter < goalRSSMB))
	}
	return w.String()
}

const (
	beginMarker = "<!-- BEGIN bench/run output: regenerated by `make bench`, edit outside the markers -->"
	endMarker   = "<!-- END bench/run output -->"
)

// writeReport puts text between the markers of the file at path, keeping
// what is outside them; a missing file is created with a title.
func writeReport(path, text string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	block := beginMarker + "\n" + text + endMarker
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	switch {
	case i >= 0 && j > i:
		doc = doc[:i] + block + doc[j+len(endMarker):]
	case doc == "":
		doc = "# Performance\n\n" + block + "\n"
	default:
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
