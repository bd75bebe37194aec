package main

import (
	"log/slog"

	"github.com/bytedance/gopkg/util/gctuner"
)

// tuneGC lets the heap grow to minHeapMiB before the garbage collector runs
// (server.gc_min_heap_mib): after each collection GOGC is set from the heap
// in use, between 100 (Go's default) and 500. It does nothing when
// minHeapMiB is 0 or the operator set GOGC. The setting is process-wide; a
// second call only moves the size.
func tuneGC(minHeapMiB int, getenv func(string) string, logger *slog.Logger) {
	if minHeapMiB <= 0 || getenv("GOGC") != "" {
		return
	}
	gctuner.SetMinGCPercent(100)
	gctuner.SetMaxGCPercent(500)
	gctuner.Tuning(uint64(minHeapMiB) << 20)
	logger.Debug("garbage collector tuned", "min_heap_mib", minHeapMiB)
}
