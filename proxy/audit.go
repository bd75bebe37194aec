package proxy

import (
	"context"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// EventObserver counts the gateway's audit events (metrics).
type EventObserver interface {
	ObserveEvent(e audit.Event)
}

// audit logs e at level with msg, e's fields and extra, and tells the
// event observer: the one call behind every audit line, so that logs and
// metrics cannot disagree. The record is only built when the logger takes
// level.
func (b *base) audit(level slog.Level, msg string, e audit.Event, extra ...slog.Attr) {
	if b.events != nil {
		b.events.ObserveEvent(e)
	}
	ctx := context.Background()
	if !b.logger.Enabled(ctx, level) {
		return
	}
	b.logger.LogAttrs(ctx, level, msg, e.Attrs(extra...)...)
}
