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
	"math"
	"net/netip"
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
	// ClientIP is the client's address: the peer's, or behind trusted
	// proxies the one they report; "" when it is the zero Addr.
	ClientIP netip.Addr
	// Host is the request's host (and port), canonical once the gate read it.
	Host   string
	Method string
	// Path is the request path, never the query string.
	Path   string
	Status int
	// Bytes is the size of the response body sent (for an upgraded
	// connection, what was relayed to the client).
	Bytes    int64
	Duration time.Duration
	// Route is the upstream's name or one of the gateway's own endpoints.
	Route string
	// Upstream is the upstream's host:port, "" when the request did not go
	// to one.
	Upstream  string
	UserAgent string
	// Sub is the authenticated user's subject, "" when there is none.
	Sub string
	// Outcome is the gateway's authentication or authorization decision
	// ("allowed", "denied", ...), "" when it made none.
	Outcome string
	// TraceID is the request's trace (tracing on); the attribute is left
	// out when it is "".
	TraceID string
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
	b = append(b, " level=INFO msg=request"...)
	return append(appendFields(b, e, textFormat), '\n')
}

// format is how appendFields writes a field: slog's text handler's
// key=value or its JSON handler's "key":value.
type format bool

const (
	textFormat format = false
	jsonFormat format = true
)

// key appends the separator before a field and its key.
func (f format) key(b []byte, k string) []byte {
	if f == jsonFormat {
		b = append(b, `,"`...)
		b = append(b, k...)
		return append(b, `":`...)
	}
	b = append(b, ' ')
	b = append(b, k...)
	return append(b, '=')
}

func (f format) str(b []byte, k, v string) []byte {
	b = f.key(b, k)
	if f == jsonFormat {
		return appendJSONString(b, v)
	}
	return appendTextValue(b, v)
}

func (f format) int(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(f.key(b, k), v, 10)
}

func (f format) seconds(b []byte, k string, d time.Duration) []byte {
	b = f.key(b, k)
	if f == jsonFormat {
		return appendJSONFloat(b, d.Seconds())
	}
	return strconv.AppendFloat(b, d.Seconds(), 'g', -1, 64)
}

func (f format) addr(b []byte, k string, a netip.Addr) []byte {
	b = f.key(b, k)
	if f == jsonFormat {
		b = append(b, '"')
		if a.IsValid() {
			b = a.AppendTo(b)
		}
		return append(b, '"')
	}
	return appendTextAddr(b, a)
}

// appendFields appends e's fields after the message, in f, in the order
// both handlers write them.
func appendFields(b []byte, e *Entry, f format) []byte {
	b = f.str(b, "request_id", e.RequestID)
	b = f.addr(b, "client_ip", e.ClientIP)
	b = f.str(b, "host", e.Host)
	b = f.str(b, "method", e.Method)
	b = f.str(b, "path", e.Path)
	b = f.int(b, "status", int64(e.Status))
	b = f.int(b, "bytes", e.Bytes)
	b = f.seconds(b, "duration", e.Duration)
	b = f.str(b, "route", e.Route)
	b = f.str(b, "upstream", e.Upstream)
	b = f.str(b, "user_agent", e.UserAgent)
	b = f.str(b, "sub", e.Sub)
	b = f.str(b, "outcome", e.Outcome)
	if e.TraceID != "" {
		b = f.str(b, "trace_id", e.TraceID)
	}
	return b
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

// appendTextAddr appends a as slog's text handler writes a.String()
// (quoted when empty; an address never needs quoting otherwise).
func appendTextAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, `""`...)
	}
	return a.AppendTo(b)
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
// seconds, a number).
func (l *Logger) appendJSON(b []byte, e *Entry) []byte {
	b = append(b, `{"time":"`...)
	b = l.appendTime(b, e.Time, false)
	b = append(b, `","level":"INFO","msg":"request"`...)
	return append(appendFields(b, e, jsonFormat), "}\n"...)
}

// appendJSONFloat appends f as encoding/json writes a float64 (which
// slog's JSON handler uses): 'f' format, exponent form below 1e-6 and from
// 1e21, with "e-07" written "e-7". f is a duration: never NaN or infinite.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
