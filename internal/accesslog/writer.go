package accesslog

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Writer collects whole lines and writes them to the underlying writer in
// batches, from a goroutine of its own: at the latest one interval after a
// line arrives, as soon as a batch holds maxBatch bytes, and on Flush and
// Close. Requests only append to a buffer; none waits for a write(2) unless
// the underlying writer falls behind by maxPending bytes. Each Write must be
// whole lines (Logger writes one line per call); lines keep their order.
type Writer struct {
	w        io.Writer
	interval time.Duration
	kick     chan struct{} // a batch is full
	quit     chan struct{}
	stopped  chan struct{}

	mu       sync.Mutex
	buf      []byte
	spare    []byte
	inflight int // bytes a Flush took from buf and has not written yet
	closed   bool

	out sync.Mutex // serializes writes to w, in order
}

const (
	// maxBatch bounds one write. Writes of up to PIPE_BUF (4096 bytes on
	// Linux) to a pipe are atomic, so batches never interleave with the
	// lines other loggers write to the same pipe (a container's stdout or
	// stderr).
	maxBatch = 4096
	// maxPending is how far the underlying writer may fall behind before
	// Write waits for it (as an unbuffered log would).
	maxPending = 256 << 10
)

// NewWriter returns a Writer flushing to w at most interval after a line
// arrives. A zero or negative interval writes every line at once. Close
// stops it.
func NewWriter(w io.Writer, interval time.Duration) *Writer {
	bw := &Writer{w: w, interval: interval}
	if interval > 0 {
		bw.kick = make(chan struct{}, 1)
		bw.quit = make(chan struct{})
		bw.stopped = make(chan struct{})
		go bw.loop()
	}
	return bw
}

// Write queues p; with no interval, or after Close, it writes p at once. It
// never fails: errors of the underlying writer are dropped, as a log
// write's must be.
func (w *Writer) Write(p []byte) (int, error) {
	if w.interval <= 0 {
		w.writeOut(p)
		return len(p), nil
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.writeOut(p)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	n := len(w.buf) + w.inflight // behind: queued, and taken but not yet written
	w.mu.Unlock()
	switch {
	case n >= maxPending:
		w.Flush()
	case n >= maxBatch:
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (w *Writer) loop() {
	defer close(w.stopped)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.kick:
		case <-t.C:
		case <-w.quit:
			return
		}
		w.Flush()
	}
}

// Flush writes what is queued.
func (w *Writer) Flush() {
	w.out.Lock()
	defer w.out.Unlock()
	w.mu.Lock()
	b := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.inflight = len(b)
	w.mu.Unlock()
	if len(b) == 0 {
		return
	}
	w.writeChunks(b)
	w.mu.Lock()
	w.inflight = 0
	if w.spare == nil && cap(b) <= 4*maxBatch {
		w.spare = b[:0]
	}
	w.mu.Unlock()
}

// writeChunks writes b, whole lines, in writes of at most maxBatch bytes
// (a longer line alone).
func (w *Writer) writeChunks(b []byte) {
	for len(b) > 0 {
		n := len(b)
		if n > maxBatch {
			if n = bytes.LastIndexByte(b[:maxBatch], '\n') + 1; n == 0 {
				if n = bytes.IndexByte(b, '\n') + 1; n == 0 {
					n = len(b)
				}
			}
		}
		_, _ = w.w.Write(b[:n])
		b = b[n:]
	}
}

func (w *Writer) writeOut(p []byte) {
	w.out.Lock()
	_, _ = w.w.Write(p)
	w.out.Unlock()
}

// Close writes what is queued and stops the Writer's goroutine; later lines
// are written at once.
func (w *Writer) Close() error {
	if w.interval <= 0 {
		return nil
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.quit)
	<-w.stopped
	w.Flush()
	return nil
}
