package accesslog

import (
	"io"
	"sync"
	"time"
)

// Writer collects whole lines and writes them to the underlying writer in
// batches: when the interval has passed since the first line of a batch,
// when the next line would make a batch longer than maxBatch bytes, and on
// Flush and Close. So a line
// reaches the log at most FlushInterval late, and under load one write(2)
// carries up to about twenty lines. Each Write must be whole lines (Logger writes one line
// per call); lines keep their order.
type Writer struct {
	w        io.Writer
	interval time.Duration

	mu    sync.Mutex
	buf   []byte
	spare []byte
	timer *time.Timer // armed while buf holds lines
	done  bool

	out sync.Mutex // serializes writes to w, in order
}

// maxBatch bounds one write. Writes of up to PIPE_BUF (4096 bytes on
// Linux) to a pipe are atomic, so batches never interleave with the lines
// other loggers write to the same pipe (a container's stdout or stderr).
const maxBatch = 4096

// NewWriter returns a Writer flushing to w at most interval after a line
// arrives. A zero or negative interval writes every line at once.
func NewWriter(w io.Writer, interval time.Duration) *Writer {
	return &Writer{w: w, interval: interval}
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
	if len(w.buf) > 0 && len(w.buf)+len(p) > maxBatch {
		w.flushLocked()
		w.mu.Lock()
	}
	if w.done {
		w.mu.Unlock()
		w.writeOut(p)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) == len(p) { // the first line of a batch
		if w.timer == nil {
			w.timer = time.AfterFunc(w.interval, w.Flush)
		} else {
			w.timer.Reset(w.interval)
		}
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *Writer) writeOut(p []byte) {
	w.out.Lock()
	_, _ = w.w.Write(p)
	w.out.Unlock()
}

// Flush writes what is queued.
func (w *Writer) Flush() {
	w.mu.Lock()
	w.flushLocked()
}

// flushLocked, called with w.mu held, swaps the batch out, releases w.mu
// and writes the batch, so that requests queueing lines never wait for the
// write itself. w.out, taken before w.mu is released, keeps batches in
// order.
func (w *Writer) flushLocked() {
	if len(w.buf) == 0 {
		w.mu.Unlock()
		return
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	b := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.out.Lock()
	w.mu.Unlock()
	_, _ = w.w.Write(b)
	w.out.Unlock()
	w.mu.Lock()
	if w.spare == nil && cap(b) <= 2*maxBatch {
		w.spare = b[:0]
	}
	w.mu.Unlock()
}

// Close writes what is queued; later lines are written at once.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.done = true
	w.flushLocked()
	return nil
}
