package metrics

import "github.com/gatehouse-dev/gatehouse/internal/audit"

// ObserveEvent counts one of the gateway's audit events
// (proxy.EventObserver); the same call logs it, so metrics and the audit
// log cannot disagree. Counted: login, login_failed (Reason), refresh,
// refresh_failed (Reason), logout (Channel), logout_rejected, access_denied
// (Route); other kinds are not counted.
func (m *Metrics) ObserveEvent(e audit.Event) {
	switch e.Kind {
	case audit.Login:
		m.logins.WithLabelValues("success", "").Inc()
	case audit.LoginFailed:
		m.logins.WithLabelValues("failure", bounded(e.Reason)).Inc()
	case audit.Refresh:
		m.refreshes.WithLabelValues("success").Inc()
	case audit.RefreshFailed:
		m.refreshes.WithLabelValues(bounded(e.Reason)).Inc()
	case audit.Logout:
		m.logouts.WithLabelValues(bounded(e.Channel)).Inc()
	case audit.LogoutRejected:
		m.logouts.WithLabelValues("rejected").Inc()
	case audit.AccessDenied:
		m.denials.WithLabelValues(bounded(e.Route)).Inc()
	}
}

// bounded keeps label values short and printable; reasons are a fixed set
// in the code, this only guards against surprises.
func bounded(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "other"
		}
	}
	if s == "" {
		return "unknown"
	}
	return s
}
