package main

import (
	"log/slog"

	"github.com/bytedance/gopkg/util/gctuner"
)

// tuneGC makes the garbage collector aim at a heap of targetMiB (see
// server.gc_heap_target_mib): after each collection GOGC is set from the
// heap in use, between 50 and 500. It does nothing when targetMiB is 0 or
// the operator set GOGC. The setting is process-wide; a second call only
// moves the target.
func tuneGC(targetMiB int, getenv func(string) string, logger *slog.Logger) {
	if targetMiB <= 0 || getenv("GOGC") != "" {
		return
	}
	gctuner.Tuning(uint64(targetMiB) << 20)
	logger.Debug("garbage collector tuned", "heap_target_mib", targetMiB)
}
