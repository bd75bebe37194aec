package metrics

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// TestObserveEventCounters: each counted audit event moves its counter with
// the labels docs/deployment.md lists; other kinds move none.
func TestObserveEventCounters(t *testing.T) {
	m := New()
	for _, e := range []audit.Event{
		{Kind: audit.Login},
		{Kind: audit.Login},
		{Kind: audit.LoginFailed, Reason: "unknown_state"},
		{Kind: audit.LoginFailed, Reason: "Not A Reason"},
		{Kind: audit.Refresh},
		{Kind: audit.RefreshFailed, Reason: "invalid_grant"},
		{Kind: audit.Logout, Channel: "backchannel"},
		{Kind: audit.LogoutRejected, Channel: "local", Reason: "cross_site"},
		{Kind: audit.AccessDenied, Route: "app"},
		{Kind: audit.AccessDenied},
		{Kind: audit.RESTFlowStart},
		{Kind: audit.BearerRefused},
	} {
		m.ObserveEvent(e)
	}
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"logins success", value(t, m.logins.WithLabelValues("success", "")), 2},
		{"logins unknown_state", value(t, m.logins.WithLabelValues("failure", "unknown_state")), 1},
		{"logins other", value(t, m.logins.WithLabelValues("failure", "other")), 1},
		{"refreshes success", value(t, m.refreshes.WithLabelValues("success")), 1},
		{"refreshes invalid_grant", value(t, m.refreshes.WithLabelValues("invalid_grant")), 1},
		{"logouts backchannel", value(t, m.logouts.WithLabelValues("backchannel")), 1},
		{"logouts rejected", value(t, m.logouts.WithLabelValues("rejected")), 1},
		{"denials app", value(t, m.denials.WithLabelValues("app")), 1},
		{"denials unknown", value(t, m.denials.WithLabelValues("unknown")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
