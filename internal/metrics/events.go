package metrics

import (
	"context"
	"log/slog"
)

// EventHandler counts the gateway's audit events as they are logged, so
// metrics and the audit log can never disagree. It sees every record at Info
// and above whatever the log level, and passes to next only what next enables.
//
// Counted events (the stable "event" attribute): login, login_failed
// (reason), refresh, refresh_failed (reason), logout (kind), logout_rejected,
// access_denied (route).
func (m *Metrics) EventHandler(next slog.Handler) slog.Handler {
	return &eventHandler{next: next, m: m}
}

type eventHandler struct {
	next slog.Handler
	m    *Metrics
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	var event, reason, kind, route string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "event":
			event = a.Value.String()
		case "reason":
			reason = a.Value.String()
		case "kind":
			kind = a.Value.String()
		case "route":
			route = a.Value.String()
		}
		return true
	})
	switch event {
	case "":
	case "login":
		h.m.logins.WithLabelValues("success", "").Inc()
	case "login_failed":
		h.m.logins.WithLabelValues("failure", bounded(reason)).Inc()
	case "refresh":
		h.m.refreshes.WithLabelValues("success").Inc()
	case "refresh_failed":
		h.m.refreshes.WithLabelValues(bounded(reason)).Inc()
	case "logout":
		h.m.logouts.WithLabelValues(bounded(kind)).Inc()
	case "logout_rejected":
		h.m.logouts.WithLabelValues("rejected").Inc()
	case "access_denied":
		h.m.denials.WithLabelValues(bounded(route)).Inc()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventHandler{next: h.next.WithAttrs(as), m: h.m}
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	return &eventHandler{next: h.next.WithGroup(name), m: h.m}
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
