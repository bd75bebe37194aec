package main

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/bytedance/gopkg/util/gctuner"
)

// tuneGC lets the heap grow to minHeapMiB before the garbage collector runs
// (server.gc_min_heap_mib): after each collection GOGC is set from the heap
// in use, between 100 (Go's default) and 500. It does nothing when
// minHeapMiB is 0 or the operator set GOGC. The setting is process-wide and
// made once: gctuner's running tuner reads its threshold without
// synchronisation, so a second Tuning (tests that serve several times in one
// process) would race with it; a later call changes nothing.
func tuneGC(minHeapMiB int, getenv func(string) string, logger *slog.Logger) {
	if minHeapMiB <= 0 || getenv("GOGC") != "" {
		return
	}
	gcTuned.Do(func() {
		gctuner.SetMinGCPercent(100)
		gctuner.SetMaxGCPercent(500)
		gctuner.Tuning(uint64(minHeapMiB) << 20)
		logger.Debug("garbage collector tuned", "min_heap_mib", minHeapMiB)
	})
}

// gcTuned makes tuneGC's settings once per process.
var gcTuned sync.Once

// limitMemory sets Go's soft memory limit (GOMEMLIMIT) to 90% of what
// provider reports, the container's memory limit (cgroup v1 or v2) in
// production, so that the collector works harder before the kernel kills
// the process at the limit. Without a limit nothing changes; GOMEMLIMIT in
// the environment, or AUTOMEMLIMIT=off, leaves Go's setting alone
// (AUTOMEMLIMIT=0.8 sets another ratio). It logs what it set.
func limitMemory(provider memlimit.Provider, logger *slog.Logger) {
	quiet := func() (uint64, error) { // no cgroup to read (not Linux, not a container) is no limit, not an error
		v, err := provider()
		if err != nil && !errors.Is(err, memlimit.ErrNoLimit) {
			logger.Debug("no container memory limit found", "error", err)
			return 0, memlimit.ErrNoLimit
		}
		return v, err
	}
	_, _ = memlimit.Set(memlimit.WithRatio(0.9), memlimit.WithProvider(quiet), memlimit.WithLogger(logger))
}
