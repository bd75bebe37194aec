// Package accesslog writes the gateway's access log: one line per request,
// in the same shape as the process's slog lines (text or JSON), formatted
// without reflection into a buffer that is written out in batches.
//
// The access log is the only log written for every request, so its cost is
// paid by every request: formatting through slog and one write(2) per line
// were about 5 µs of a proxied request's ~80 µs of CPU. Here a line costs a
// few hundred nanoseconds, and the write is shared by every line of a flush
// interval (see Writer).
package accesslog

import (
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Entry is one request.
type Entry struct {
	Time      time.Time
	RequestID string
	Route     string
	Method    string
	// Path is the request path, never the query string.
	Path     string
	Status   int
	Duration time.Duration
	// Sub is the authenticated user's subject, "" when there is none.
	Sub string
}

// Logger formats entries and writes each as one line to its writer.
type Logger struct {
	w    io.Writer
	json bool
	pool sync.Pool
	// second caches the formatted date and zone of the last second a line
	// was written in: formatting a time is a third of a line's cost.
	second atomic.Pointer[secondText]
}

type secondText struct {
	unix       int64
	loc        *time.Location
	date, zone string
}

// New returns a Logger writing text lines (logfmt, as slog.TextHandler
// writes them) or, with jsonFormat, JSON lines (as slog.JSONHandler). Each
// line goes to w in a single Write.
func New(w io.Writer, jsonFormat bool) *Logger {
	return &Logger{w: w, json: jsonFormat, pool: sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}}
}

// Log writes e. Write errors are dropped: a request is not failed because
// its log line could not be written.
func (l *Logger) Log(e Entry) {
	bp := l.pool.Get().(*[]byte)
	b := (*bp)[:0]
	if l.json {
		b = l.appendJSON(b, &e)
	} else {
		b = l.appendText(b, &e)
	}
	_, _ = l.w.Write(b)
	*bp = b
	l.pool.Put(bp)
}

// appendText appends e as slog.TextHandler would write
// LogAttrs(ctx, LevelInfo, "request", ...) with the same attributes.
func (l *Logger) appendText(b []byte, e *Entry) []byte {
	b = append(b, "time="...)
	b = l.appendTime(b, e.Time, true)
	b = append(b, " level=INFO msg=request request_id="...)
	b = appendTextValue(b, e.RequestID)
	b = append(b, " route="...)
	b = appendTextValue(b, e.Route)
	b = append(b, " method="...)
	b = appendTextValue(b, e.Method)
	b = append(b, " path="...)
	b = appendTextValue(b, e.Path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, " duration="...)
	b = append(b, e.Duration.String()...)
	b = append(b, " sub="...)
	b = appendTextValue(b, e.Sub)
	return append(b, '\n')
}

// appendTime appends t as "2006-01-02T15:04:05.000Z07:00" (millis, as
// slog's text handler writes it) or RFC 3339 with nanoseconds, trailing
// zeros dropped (as its JSON handler does).
func (l *Logger) appendTime(b []byte, t time.Time, millis bool) []byte {
	unix, loc := t.Unix(), t.Location()
	st := l.second.Load()
	if st == nil || st.unix != unix || st.loc != loc {
		st = &secondText{unix: unix, loc: loc, date: t.Format("2006-01-02T15:04:05"), zone: t.Format("Z07:00")}
		l.second.Store(st)
	}
	b = append(b, st.date...)
	ns := t.Nanosecond()
	switch {
	case millis:
		b = append(b, '.')
		b = appendPadded(b, ns/1e6, 3)
	case ns != 0:
		b = appendPadded(append(b, '.'), ns, 9)
		for b[len(b)-1] == '0' { // ns != 0: a digit other than 0 stops this
			b = b[:len(b)-1]
		}
	}
	return append(b, st.zone...)
}

// appendPadded appends v in decimal with at least width digits.
func appendPadded(b []byte, v, width int) []byte {
	var d [9]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}

// appendTextValue quotes s when slog's text handler would: when it is
// empty or holds a space, '=', '"', a control character or anything that is
// not printable (log injection through a path with a newline stays on one
// line).
func appendTextValue(b []byte, s string) []byte {
	if !needsQuoting(s) {
		return append(b, s...)
	}
	return strconv.AppendQuote(b, s)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !strconv.IsPrint(r) || r == '\u00a0' {
			return true
		}
		i += size
	}
	return false
}

// appendJSON appends e as slog.JSONHandler would write it (duration in
// nanoseconds).
func (l *Logger) appendJSON(b []byte, e *Entry) []byte {
	b = append(b, `{"time":"`...)
	b = l.appendTime(b, e.Time, false)
	b = append(b, `","level":"INFO","msg":"request","request_id":`...)
	b = appendJSONString(b, e.RequestID)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, e.Route)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, e.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(e.Duration), 10)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, e.Sub)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string. Plain ASCII is copied; any
// other string goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals; invalid UTF-8 becomes U+FFFD
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
