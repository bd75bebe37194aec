package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// slogLine is what the gateway wrote with slog before this package: the
// reference for the format.
func slogLine(h slog.Handler, e Entry) {
	r := slog.NewRecord(e.Time, slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("request_id", e.RequestID), slog.String("client_ip", addrString(e.ClientIP)), slog.String("host", e.Host),
		slog.String("method", e.Method), slog.String("path", e.Path), slog.Int("status", e.Status),
		slog.Int64("bytes", e.Bytes), slog.Float64("duration", e.Duration.Seconds()),
		slog.String("route", e.Route), slog.String("upstream", e.Upstream), slog.String("user_agent", e.UserAgent),
		slog.String("sub", e.Sub), slog.String("outcome", e.Outcome))
	if e.TraceID != "" {
		r.AddAttrs(slog.String("trace_id", e.TraceID))
	}
	_ = h.Handle(context.Background(), r)
}

func TestLineMatchesSlog(t *testing.T) {
	at := time.Date(2026, 11, 21, 12, 1, 41, 123456789, time.FixedZone("CET", 3600))
	base := Entry{Time: at, RequestID: "Xk2f9aQ1b2c3-1a", ClientIP: netip.MustParseAddr("203.0.113.7"), Host: "app.example.com", Method: "GET",
		Path: "/reports/2026", Status: 200, Bytes: 5120, Duration: 1234567 * time.Nanosecond, Route: "app",
		Upstream: "10.0.0.5:8080", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Sub: "user-alice", Outcome: "allowed"}
	cases := []struct {
		name string
		edit func(*Entry)
	}{
		{"plain", func(*Entry) {}},
		{"anonymous", func(e *Entry) { e.Sub = "" }},
		{"space and quote in the path", func(e *Entry) { e.Path = `/a b/"c"` }},
		{"newline in the path (log injection)", func(e *Entry) { e.Path = "/x\nlevel=ERROR msg=forged" }},
		{"equals sign", func(e *Entry) { e.Path = "/a=b" }},
		{"backslash", func(e *Entry) { e.Path = `/a\b` }},
		{"unicode", func(e *Entry) { e.Path = "/zürich/日本"; e.Sub = "Zoë" }},
		{"non-breaking space", func(e *Entry) { e.Path = "/a\u00a0b" }},
		{"invalid UTF-8", func(e *Entry) { e.Path = "/a\xffb" }},
		{"control and DEL", func(e *Entry) { e.Path = "/a\x01b\x7f" }},
		{"html characters", func(e *Entry) { e.Path = "/<script>&" }},
		{"error status, long duration", func(e *Entry) { e.Status = 503; e.Duration = 90 * time.Second }},
		{"zero duration", func(e *Entry) { e.Duration = 0 }},
		{"sub-microsecond duration", func(e *Entry) { e.Duration = 700 * time.Nanosecond }},
		{"one nanosecond duration", func(e *Entry) { e.Duration = 1 }},
		{"whole-second duration", func(e *Entry) { e.Duration = 3 * time.Second }},
		{"hours-long WebSocket", func(e *Entry) { e.Status = 101; e.Duration = 26*time.Hour + 7*time.Millisecond; e.Bytes = 1 << 40 }},
		{"client went away", func(e *Entry) { e.Status = 499; e.Bytes = 0; e.Outcome = "" }},
		{"no upstream, no user agent", func(e *Entry) { e.Upstream = ""; e.UserAgent = ""; e.Route = "oauth2_callback" }},
		{"user agent with quotes and newline", func(e *Entry) { e.UserAgent = "x\"y\nlevel=ERROR" }},
		{"IPv6 client", func(e *Entry) { e.ClientIP = netip.MustParseAddr("2001:db8::1"); e.Host = "[2001:db8::2]:8443" }},
		{"no client address", func(e *Entry) { e.ClientIP = netip.Addr{} }},
		{"IPv4-mapped IPv6 zone", func(e *Entry) { e.ClientIP = netip.MustParseAddr("fe80::1%eth0") }},
		{"trace ID", func(e *Entry) { e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736" }},
		{"UTC", func(e *Entry) { e.Time = at.UTC() }},
		{"whole second", func(e *Entry) { e.Time = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }},
		{"whole milliseconds", func(e *Entry) { e.Time = time.Date(2026, 11, 21, 12, 0, 0, 120_000_000, time.UTC) }},
		{"one nanosecond", func(e *Entry) { e.Time = time.Date(2026, 11, 21, 12, 0, 0, 1, time.UTC) }},
		{"local time", func(e *Entry) { e.Time = at.Local() }},
		{"negative offset", func(e *Entry) { e.Time = at.In(time.FixedZone("X", -(9*3600 + 30*60))) }},
	}
	// One logger of each format for all cases: the cached second must
	// follow the times and zones of the cases.
	var want, got bytes.Buffer
	textLog, jsonLog := New(&got, false), New(&got, true)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := base
			c.edit(&e)

			want.Reset()
			got.Reset()
			slogLine(slog.NewTextHandler(&want, nil), e)
			textLog.Log(e)
			if got.String() != want.String() {
				t.Errorf("text:\n got %q\nwant %q", got.String(), want.String())
			}
			if strings.Count(got.String(), "\n") != 1 {
				t.Errorf("text line is not one line: %q", got.String())
			}

			want.Reset()
			got.Reset()
			slogLine(slog.NewJSONHandler(&want, nil), e)
			jsonLog.Log(e)
			var wantObj, gotObj map[string]any
			if err := json.Unmarshal(want.Bytes(), &wantObj); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got.Bytes(), &gotObj); err != nil {
				t.Fatalf("JSON line does not parse: %v: %q", err, got.String())
			}
			if fmt.Sprint(gotObj) != fmt.Sprint(wantObj) {
				t.Errorf("json:\n got %v\nwant %v", gotObj, wantObj)
			}
		})
	}
}

// recorder is an io.Writer that keeps every write separately.
type recorder struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{}
}

func newRecorder() *recorder { return &recorder{wrote: make(chan struct{}, 1000)} }

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, string(p))
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return len(p), nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

// TestWriterWritesAfterTheInterval: queued lines reach the writer without
// Flush or Close, and later batches too.
func TestWriterWritesAfterTheInterval(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, 20*time.Millisecond)
	defer w.Close()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for strings.Join(rec.all(), "") != want {
			select {
			case <-rec.wrote:
			case <-deadline:
				t.Fatalf("written %q, want %q", rec.all(), want)
			}
		}
	}
	w.Write([]byte("one\n"))
	w.Write([]byte("two\n"))
	waitFor("one\ntwo\n")
	w.Write([]byte("three\n"))
	waitFor("one\ntwo\nthree\n")
}

func TestWriterBoundsBatches(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, time.Hour)
	line := strings.Repeat("x", 199) + "\n"
	for range 100 {
		w.Write([]byte(line))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if total := strings.Join(got, ""); total != strings.Repeat(line, 100) {
		t.Fatalf("lines lost or reordered: %d bytes written", len(total))
	}
	// A full batch (4096 bytes) is written at once, in at most two writes
	// of whole lines; so 20,000 bytes take at most 10.
	if len(got) > 10 {
		t.Errorf("%d writes for 100 lines, want batches", len(got))
	}
	for _, wr := range got {
		if len(wr) > maxBatch || !strings.HasSuffix(wr, "\n") {
			t.Errorf("a write of %d bytes (over %d, or not whole lines)", len(wr), maxBatch)
		}
	}
	// After Close, lines are written at once.
	w.Write([]byte("late\n"))
	if got := rec.all(); got[len(got)-1] != "late\n" {
		t.Errorf("a line after Close was not written at once: %q", got)
	}
}

func TestWriterWithoutIntervalWritesEachLine(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, 0)
	w.Write([]byte("a\n"))
	w.Write([]byte("b\n"))
	if got := rec.all(); len(got) != 2 {
		t.Errorf("writes = %q, want two", got)
	}
}

// TestWriterConcurrent loses no line and splits none, with many writers
// and Flush calls racing (run with -race).
func TestWriterConcurrent(t *testing.T) {
	rec := newRecorder()
	rec.wrote = nil
	w := NewWriter(writerFunc(func(p []byte) (int, error) {
		rec.mu.Lock()
		rec.writes = append(rec.writes, string(p))
		rec.mu.Unlock()
		return len(p), nil
	}), time.Millisecond)
	l := New(w, false)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				l.Log(Entry{Time: time.Unix(0, 0), RequestID: fmt.Sprintf("g%d-%d", g, i), Route: "r", Method: "GET", Path: "/", Status: 200})
				if i%100 == 0 {
					w.Flush()
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	seen := map[string]bool{}
	for _, wr := range rec.all() {
		if !strings.HasSuffix(wr, "\n") {
			t.Fatalf("a write ends inside a line: %q", wr)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(wr, "\n"), "\n") {
			_, rest, _ := strings.Cut(line, "request_id=")
			id, _, _ := strings.Cut(rest, " ")
			if seen[id] {
				t.Fatalf("line %s written twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 8*500 {
		t.Errorf("%d lines written, want %d", len(seen), 8*500)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func BenchmarkLog(b *testing.B) {
	e := Entry{Time: time.Now(), RequestID: "Xk2f9aQ1b2c3-1a", ClientIP: netip.MustParseAddr("203.0.113.7"), Host: "app.example.com", Method: "GET",
		Path: "/reports/2026", Status: 200, Bytes: 5120, Duration: 1234567 * time.Nanosecond, Route: "app",
		Upstream: "10.0.0.5:8080", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Sub: "user-alice", Outcome: "allowed"}
	b.Run("text", func(b *testing.B) {
		l := New(discard{}, false)
		b.ReportAllocs()
		for b.Loop() {
			l.Log(e)
		}
	})
	b.Run("json", func(b *testing.B) {
		l := New(discard{}, true)
		b.ReportAllocs()
		for b.Loop() {
			l.Log(e)
		}
	})
	b.Run("slog-text", func(b *testing.B) { // the reference: what the gateway used before
		h := slog.NewTextHandler(discard{}, nil)
		b.ReportAllocs()
		for b.Loop() {
			slogLine(h, e)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestWriterLongLine: a line longer than a batch is written alone and whole.
func TestWriterLongLine(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, time.Hour)
	long := strings.Repeat("y", 5000) + "\n"
	w.Write([]byte("a\n"))
	w.Write([]byte(long))
	w.Write([]byte("b\n"))
	w.Close()
	got := rec.all()
	if strings.Join(got, "") != "a\n"+long+"b\n" {
		t.Fatalf("lines lost or reordered")
	}
	for _, wr := range got {
		if strings.Count(wr, "\n") > 1 && len(wr) > maxBatch {
			t.Errorf("a write of %d bytes holds the long line and others", len(wr))
		}
	}
}

// TestWriterBoundsWhatIsQueued: however long the interval, no more than
// maxPending bytes wait in memory; past that a Write writes them itself.
func TestWriterBoundsWhatIsQueued(t *testing.T) {
	var mu sync.Mutex
	written := 0
	w := NewWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		written += len(p)
		mu.Unlock()
		return len(p), nil
	}), time.Hour)
	defer w.Close()
	line := []byte(strings.Repeat("z", 99) + "\n")
	total := 0
	for range 10_000 { // 1 MB
		w.Write(line)
		total += len(line)
		mu.Lock()
		queued := total - written
		mu.Unlock()
		if queued > maxPending {
			t.Fatalf("%d bytes queued, more than %d", queued, maxPending)
		}
	}
}

// addrString is what the gateway logged before the address was appended
// without allocating: its String, "" for the zero Addr.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
