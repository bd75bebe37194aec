// Package metrics exposes the gateway's Prometheus metrics (prefix
// "gatehouse_"): HTTP requests by route, upstream and authorization-server
// call latency, session store operations, and counters of logins, refreshes
// and logouts. No label carries an unbounded value (no user, no path).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-dev/gatehouse/internal/bearer"
)

// Metrics holds the gateway's collectors in a registry of its own.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.HistogramVec
	upstream   *prometheus.HistogramVec
	as         *prometheus.HistogramVec
	store      *prometheus.HistogramVec
	storeErrs  *prometheus.CounterVec
	logins     *prometheus.CounterVec
	refreshes  *prometheus.CounterVec
	logouts    *prometheus.CounterVec
	denials    *prometheus.CounterVec
	flowsStart prometheus.Counter
	limited    *prometheus.CounterVec
	jwks       *prometheus.CounterVec
	negHits    prometheus.Counter
	live       liveGauges // requests.go
}

// New registers every collector, plus the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "Requests served, by route, method and status class.", Buckets: buckets,
		}, []string{"route", "method", "code"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_upstream_duration_seconds", Help: "Time to the upstream's response headers, by upstream host and status class.", Buckets: buckets,
		}, []string{"upstream", "code"}),
		as: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_as_request_duration_seconds", Help: "Calls to the authorization server, by endpoint and outcome.", Buckets: buckets,
		}, []string{"endpoint", "outcome"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_session_store_duration_seconds", Help: "Session store operations, by operation.", Buckets: buckets,
		}, []string{"op"}),
		storeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_session_store_errors_total", Help: "Session store operations that failed (not-found excluded), by operation.",
		}, []string{"op"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total", Help: "Completed logins by result, and failed ones by reason.",
		}, []string{"result", "reason"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_refreshes_total", Help: "Access token refreshes by outcome.",
		}, []string{"outcome"}),
		logouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logouts_total", Help: "Logouts by kind (local, backchannel, frontchannel) and rejected logout requests.",
		}, []string{"kind"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_access_denied_total", Help: "Requests denied by an authorization rule.",
		}, []string{"route"}),
		flowsStart: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_login_flows_started_total", Help: "Authorization requests started (compare with gatehouse_logins_total).",
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_limited_requests_total", Help: "Requests a limit acted on, by kind: flows_per_client (429), flows_per_browser (oldest pending login ended), password_attempts (429).",
		}, []string{"kind"}),
		jwks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_jwks_fetches_total", Help: "Fetches of the authorization server's key set (fetched, failed) and refetches suppressed by limits.jwks_refetch_interval (suppressed).",
		}, []string{"outcome"}),
		negHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_introspection_negative_cache_hits_total", Help: "Opaque bearer tokens refused from the cache of inactive introspection answers.",
		}),
		live: newLiveGauges(),
	}
	reg.MustRegister(m.requests, m.upstream, m.as, m.store, m.storeErrs, m.logins, m.refreshes, m.logouts, m.denials, m.flowsStart,
		m.limited, m.jwks, m.negHits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(m.live.collectors()...)
	m.SetBuildInfo(ReadBuildInfo())
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// statusClass turns 404 into "4xx"; 499 (client went away) stays distinct.
func statusClass(code int) string {
	if code == 499 {
		return "499"
	}
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// ObserveRequest records one served request.
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, boundedMethod(method), statusClass(code)).Observe(d.Seconds())
}

// ObserveLimit counts one request a limit acted on (proxy.LimitObserver).
func (m *Metrics) ObserveLimit(kind string) { m.limited.WithLabelValues(bounded(kind)).Inc() }

// ObserveJWKS counts an outcome of the AS's key set (package jwks).
func (m *Metrics) ObserveJWKS(outcome string) { m.jwks.WithLabelValues(bounded(outcome)).Inc() }

// ObserveBearer counts an event of the bearer token verifier; only
// negative cache hits are counted.
func (m *Metrics) ObserveBearer(event string) {
	if event == bearer.ObserveNegativeHit {
		m.negHits.Inc()
	}
}

func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
