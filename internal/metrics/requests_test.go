package metrics

import (
	"runtime"
	"testing"
)

// TestBuildInfo: gatehouse_build_info has one series, the build's; a
// version set at link time replaces it.
func TestBuildInfo(t *testing.T) {
	m := New()
	series := func() []map[string]string {
		t.Helper()
		mfs, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]string
		for _, mf := range mfs {
			if mf.GetName() != "gatehouse_build_info" {
				continue
			}
			for _, s := range mf.GetMetric() {
				l := map[string]string{}
				for _, lp := range s.GetLabel() {
					l[lp.GetName()] = lp.GetValue()
				}
				if s.GetGauge().GetValue() != 1 {
					t.Errorf("build info value %v", s.GetGauge().GetValue())
				}
				out = append(out, l)
			}
		}
		return out
	}
	got := series()
	if len(got) != 1 || got[0]["goversion"] != runtime.Version() || got[0]["version"] == "" || got[0]["revision"] == "" {
		t.Fatalf("build info %v", got)
	}
	m.SetBuildInfo(BuildInfo{Version: "v1.2.3", Revision: "abc123", GoVersion: runtime.Version()})
	if got := series(); len(got) != 1 || got[0]["version"] != "v1.2.3" || got[0]["revision"] != "abc123" {
		t.Errorf("after SetBuildInfo: %v", got)
	}
}

func TestInFlightAndStreams(t *testing.T) {
	m := New()
	m.InFlight(1)
	m.InFlight(1)
	m.InFlight(-1)
	m.OpenStreams("websocket", 1)
	m.OpenStreams("sse", 1)
	m.OpenStreams("sse", -1)
	m.OpenStreams("Bad Kind!", 1)
	gauge := func(name string, labels ...string) float64 {
		if name == "in_flight" {
			return gaugeValue(t, m.live.inFlight)
		}
		return gaugeValue(t, m.live.streams.WithLabelValues(labels...))
	}
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"in flight", gauge("in_flight"), 1},
		{"websocket", gauge("streams", "websocket"), 1},
		{"sse", gauge("streams", "sse"), 0},
		{"unbounded kind", gauge("streams", "other"), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
