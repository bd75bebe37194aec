package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// NewLogger builds the process's logger from server.log_level and
// server.log_format. (The audit events reach metrics through
// proxy.Options.Events, not through the logger.)
func NewLogger(s config.Server, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevel(s)}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if s.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h)
}

// logLevel is server.log_level (validated; info when empty).
func logLevel(s config.Server) slog.Level {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	return level
}

// AccessLog is the access log and the batching writer under it.
type AccessLog struct {
	l *accesslog.Logger
	w *accesslog.Writer
}

// NewAccessLog returns the access log server.access_log asks for, in the
// process log's format, or nil when it is off (also when log_level is above
// info: access lines are info lines).
func NewAccessLog(s config.Server, w io.Writer) *AccessLog {
	if !s.AccessLog || logLevel(s) > slog.LevelInfo {
		return nil
	}
	aw := accesslog.NewWriter(w, s.AccessLogFlushInterval.Duration)
	return &AccessLog{l: accesslog.New(aw, s.LogFormat == "json"), w: aw}
}

// Logger is the logger the proxy writes access lines to; nil when a is nil.
func (a *AccessLog) Logger() *accesslog.Logger {
	if a == nil {
		return nil
	}
	return a.l
}

// Close writes the lines still queued. A nil AccessLog does nothing.
func (a *AccessLog) Close() error {
	if a == nil {
		return nil
	}
	return a.w.Close()
}

// RedisLogger sends go-redis's internal messages (reconnects, failovers) to
// the gateway's log at debug level; failures reach the gateway as errors.
// Install it with redis.SetLogger (process-wide).
type RedisLogger struct{ L *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (r RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.L.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
