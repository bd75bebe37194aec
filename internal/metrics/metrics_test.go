package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/jwks"
)

func TestLimitCounters(t *testing.T) {
	m := New()
	m.ObserveLimit("flows_per_client")
	m.ObserveLimit("flows_per_client")
	m.ObserveLimit("password_attempts")
	m.ObserveJWKS(jwks.Fetched)
	m.ObserveJWKS(jwks.Suppressed)
	m.ObserveJWKS(jwks.Suppressed)
	m.ObserveBearer(bearer.ObserveNegativeHit)
	m.ObserveBearer("something else")
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"limited flows_per_client", value(t, m.limited.WithLabelValues("flows_per_client")), 2},
		{"limited password_attempts", value(t, m.limited.WithLabelValues("password_attempts")), 1},
		{"jwks fetched", value(t, m.jwks.WithLabelValues(jwks.Fetched)), 1},
		{"jwks suppressed", value(t, m.jwks.WithLabelValues(jwks.Suppressed)), 2},
		{"negative hits", value(t, m.negHits), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// value reads a counter's current value.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// gaugeValue reads a gauge's current value.
func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
