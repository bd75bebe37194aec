//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes wrk print, after its own report, one machine-readable line
// with the request count, duration and latency percentiles (microseconds).
const wrkScript = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GATEHOUSE-BENCH requests=%d duration_us=%d p50=%d p99=%d p999=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.status, e.connect + e.read + e.write + e.timeout))
end
`

// loadResult is what one wrk run measured.
type loadResult struct {
	requests       int64
	seconds        float64
	p50, p99, p999 time.Duration
	errors         int64   // non-2xx responses and socket errors
	wrkCPU         float64 // CPU seconds wrk itself used
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.seconds }

// loadgen runs wrk: a closed loop of connections on one thread, each
// sending the next request as soon as the previous answer arrived.
type loadgen struct {
	wrk    string
	script string
}

func newLoadgen(dir string) (*loadgen, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, fmt.Errorf("wrk not found: install the Debian package wrk (apt-get install wrk), or run make bench as root")
	}
	script := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	return &loadgen{wrk: bin, script: script}, nil
}

// run sends GET url with the session cookie on conns connections for d
// (whole seconds: wrk's unit).
func (l *loadgen) run(ctx context.Context, url, cookie string, conns int, d time.Duration) (loadResult, error) {
	args := []string{
		"-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s",
		"--timeout", "5s", "-s", l.script,
		"-H", "Accept: application/json",
	}
	if cookie != "" {
		args = append(args, "-H", "Cookie: "+cookie)
	}
	args = append(args, url)
	cmd := exec.CommandContext(ctx, l.wrk, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	wrkCPU := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	for line := range strings.Lines(string(out)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "GATEHOUSE-BENCH ")
		if !ok {
			continue
		}
		v := map[string]int64{}
		for kv := range strings.FieldsSeq(rest) {
			k, val, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return loadResult{}, fmt.Errorf("wrk report %q: %w", line, err)
			}
			v[k] = n
		}
		r := loadResult{
			requests: v["requests"],
			seconds:  float64(v["duration_us"]) / 1e6,
			p50:      time.Duration(v["p50"]) * time.Microsecond,
			p99:      time.Duration(v["p99"]) * time.Microsecond,
			p999:     time.Duration(v["p999"]) * time.Microsecond,
			errors:   v["status_errors"] + v["socket_errors"],
			wrkCPU:   wrkCPU,
		}
		if r.requests == 0 || r.seconds == 0 {
			return loadResult{}, fmt.Errorf("wrk sent no request:\n%s", out)
		}
		return r, nil
	}
	return loadResult{}, fmt.Errorf("wrk printed no report:\n%s", out)
}
