package proxy

import (
	"bufio"
	"errors"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/internal/bearer"
)

// statusWriter remembers what was sent (status, bytes) and what the gate
// noted about the request, for the access log and metrics. Unwrap lets
// http.ResponseController reach Flush (streaming); Hijack is its own, to
// see a connection upgraded (a WebSocket) and count what is relayed on it.
type statusWriter struct {
	http.ResponseWriter
	obs      RequestObserver // nil without metrics
	status   int             // the final status; 0 until one is sent
	bytes    int64           // body bytes written through Write
	route    string          // set by the gate; "" for the gateway's own endpoints
	upstream string          // the upstream's host:port, when the request was proxied
	sub      string
	outcome  string
	stream   string // the OpenStreams kind this response counts as, "" when none
	upgrade  string // the request's Upgrade header
	hijacked bool
	conn     *countingConn // the hijacked connection
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) { // 1xx are interim (103 Early Hints)
		w.status = code
		w.noteStream()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.noteStream()
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// noteStream counts a server-sent events response as an open stream.
func (w *statusWriter) noteStream() {
	if w.obs == nil || w.stream != "" {
		return
	}
	ct := w.Header().Get("Content-Type")
	if ct == "" || !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		return
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "text/event-stream" {
		w.stream = StreamSSE
		w.obs.OpenStreams(w.stream, 1)
	}
}

// Hijack takes over the connection (httputil.ReverseProxy does for a
// protocol upgrade). What is written to it afterwards, the upgrade's
// response included, is counted as sent.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // nothing is buffered after a hijack; to be sure
		return nil, nil, errors.Join(err, conn.Close())
	}
	w.hijacked = true
	w.conn = &countingConn{Conn: conn}
	brw.Writer.Reset(w.conn)
	if w.obs != nil {
		w.stream = StreamUpgrade
		if strings.EqualFold(strings.TrimSpace(w.upgrade), "websocket") {
			w.stream = StreamWebSocket
		}
		w.obs.OpenStreams(w.stream, 1)
	}
	return w.conn, brw, nil
}

// sent is the number of bytes sent to the client: the body written, and
// whatever went over the connection after a hijack.
func (w *statusWriter) sent() int64 {
	if w.conn != nil {
		return w.bytes + w.conn.n.Load()
	}
	return w.bytes
}

// countingConn counts the bytes written to a hijacked connection. The
// relay's goroutines may still write after the handler returned: n is
// atomic.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// isInvalidCredential reports whether err refuses a bearer token.
func isInvalidCredential(err error) bool {
	return errors.Is(err, bearer.ErrInvalidToken) || errors.Is(err, errBadToken) || errors.Is(err, errBasicRejected)
}
