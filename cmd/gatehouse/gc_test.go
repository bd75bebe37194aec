package main

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/bytedance/gopkg/util/gctuner"
)

// TestTuneGC: with a target far above this test process's heap, the
// collector is told to collect less often than Go's default (GOGC=100).
func TestTuneGC(t *testing.T) {
	tuneGC(64, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(10 * time.Second)
	for gctuner.GetGCPercent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is still %d after collections with a small heap", gctuner.GetGCPercent())
		}
		runtime.GC() // the tuner runs after each collection
		time.Sleep(10 * time.Millisecond)
	}
}
