package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
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

// TestLimitMemory: GOMEMLIMIT becomes 90% of the container's limit.
func TestLimitMemory(t *testing.T) {
	for _, k := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} { // either would make limitMemory leave the limit alone
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	limitMemory(memlimit.Limit(1000<<20), slog.New(slog.DiscardHandler))
	if got, want := debug.SetMemoryLimit(-1), int64(900<<20); got != want {
		t.Errorf("GOMEMLIMIT = %d, want %d (90%% of the limit)", got, want)
	}
}

// TestLimitMemoryLeavesAnOperatorsGOMEMLIMIT: a GOMEMLIMIT in the
// environment wins.
func TestLimitMemoryLeavesAnOperatorsGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "123MiB")
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	limitMemory(memlimit.Limit(1000<<20), slog.New(slog.DiscardHandler))
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Errorf("GOMEMLIMIT changed to %d", got)
	}
}
