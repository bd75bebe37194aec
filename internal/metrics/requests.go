package metrics

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// liveGauges are the gauges of what is open now: requests in flight and
// long-lived streams (WebSockets, server-sent events), and the build.
type liveGauges struct {
	inFlight prometheus.Gauge
	streams  *prometheus.GaugeVec
	build    *prometheus.GaugeVec
}

func newLiveGauges() liveGauges {
	return liveGauges{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_http_requests_in_flight", Help: "Requests being served now (an open WebSocket or event stream counts until it closes).",
		}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_open_streams", Help: "Long-lived connections open now, by kind: websocket, upgrade (another protocol), sse (text/event-stream responses).",
		}, []string{"kind"}),
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_build_info", Help: "Always 1; the labels name the running build: module version, VCS revision, Go version.",
		}, []string{"version", "revision", "goversion"}),
	}
}

func (g liveGauges) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.inFlight, g.streams, g.build}
}

// BuildInfo names a build for gatehouse_build_info.
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// ReadBuildInfo returns what the binary says of itself: the main module's
// version ("(devel)" for a plain go build of a checkout), the VCS revision
// (with "-dirty" when the work tree had changes) and the Go version.
// Unknown values are "unknown".
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: "unknown", Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Revision != "unknown" {
		b.Revision += "-dirty"
	}
	return b
}

// SetBuildInfo sets gatehouse_build_info to b (New sets it to
// ReadBuildInfo(); a command whose version is set at link time passes it).
func (m *Metrics) SetBuildInfo(b BuildInfo) {
	m.live.build.Reset()
	m.live.build.WithLabelValues(orUnknown(b.Version), orUnknown(b.Revision), orUnknown(b.GoVersion)).Set(1)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// InFlight counts requests being served (proxy.RequestObserver).
func (m *Metrics) InFlight(delta int) { m.live.inFlight.Add(float64(delta)) }

// OpenStreams counts open WebSockets and event streams
// (proxy.RequestObserver).
func (m *Metrics) OpenStreams(kind string, delta int) {
	m.live.streams.WithLabelValues(bounded(kind)).Add(float64(delta))
}
