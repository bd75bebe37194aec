package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

type eventRecorder []audit.Event

func (r *eventRecorder) ObserveEvent(e audit.Event) { *r = append(*r, e) }

// countingHandler counts the records it is handed.
type countingHandler struct {
	slog.Handler
	handled int
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	h.handled++
	return h.Handler.Handle(ctx, r)
}

// TestAuditLogsAndCounts: one call logs the audit line (the stable keys,
// "event" first) and tells the observer; below the logger's level the
// event is still counted but no record is built.
func TestAuditLogsAndCounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		level    slog.Level
		wantLine string
	}{
		{"info", slog.LevelInfo, `level=INFO msg=logout event=logout kind=local sub=alice` + "\n"},
		{"warn", slog.LevelWarn, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := &countingHandler{Handler: slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level:       tc.level,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
			})}
			var rec eventRecorder
			b := &base{logger: slog.New(h), events: &rec}
			e := audit.Event{Kind: audit.Logout, Channel: "local"}
			b.audit(slog.LevelInfo, "logout", e, slog.String("sub", "alice"))
			if len(rec) != 1 || rec[0] != e {
				t.Errorf("observed %v, want [%v]", rec, e)
			}
			if got := buf.String(); got != tc.wantLine {
				t.Errorf("log %q, want %q", got, tc.wantLine)
			}
			if want := min(1, len(tc.wantLine)); h.handled != want {
				t.Errorf("%d records handled, want %d", h.handled, want)
			}
		})
	}
	t.Run("no observer", func(t *testing.T) {
		var buf bytes.Buffer
		b := &base{logger: slog.New(slog.NewTextHandler(&buf, nil))}
		b.audit(slog.LevelWarn, "refused", audit.Event{Kind: audit.AccessDenied, Route: "app"})
		if !strings.Contains(buf.String(), "event=access_denied route=app") {
			t.Errorf("log %q", buf.String())
		}
	})
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
