package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// RequestBodyError is the error an ErrorHandler receives when the client's
// request body could not be read while it was sent to the upstream: it was
// malformed (a bad chunk), cut short, or too slow (the route's
// BodyReadTimeout passed). The client is at fault, not the upstream. Err is
// the read error.
type RequestBodyError struct{ Err error }

func (e *RequestBodyError) Error() string {
	return "upstream: read the client's request body: " + e.Err.Error()
}

// Unwrap returns Err.
func (e *RequestBodyError) Unwrap() error { return e.Err }

// Timeout reports whether the body was too slow (the read deadline passed),
// so that a net.Error the transport wraps around it says so too.
func (e *RequestBodyError) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, os.ErrDeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// clientBody wraps a proxied request's body. It remembers the first read
// error: the transport may report it as something else (a failed write to
// the upstream; context.Canceled, as the server cancels the request when
// reading from the client fails). A read deadline, when set, is cleared once
// the body is read to its end, so it never cuts a response short; after an
// error it stays, so the server does not wait for the rest of the body.
type clientBody struct {
	io.ReadCloser

	mu       sync.Mutex               // Read runs on the transport's goroutine
	ctl      *http.ResponseController // non-nil while a read deadline is set
	deadline time.Time                // the read deadline, zero when none
	err      error                    // the first read error (not io.EOF)
}

type clientBodyKey struct{}

// watchBody replaces r.Body (when there is one), sets the read deadline and
// returns the request to proxy, whose context carries the body for the
// ErrorHandler (a request without a body is returned as it is).
func watchBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) (*http.Request, *clientBody) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	cb := &clientBody{ReadCloser: r.Body}
	if timeout > 0 {
		ctl := http.NewResponseController(w)
		deadline := time.Now().Add(timeout)
		if ctl.SetReadDeadline(deadline) == nil {
			cb.ctl, cb.deadline = ctl, deadline
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), clientBodyKey{}, cb))
	r.Body = cb
	return r, cb
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.mu.Lock()
		if errors.Is(err, io.EOF) {
			if b.ctl != nil {
				_ = b.ctl.SetReadDeadline(time.Time{})
			}
		} else {
			if b.err == nil {
				b.err = err
			}
			err = &RequestBodyError{Err: err}
		}
		b.ctl = nil
		b.mu.Unlock()
	}
	return n, err
}

// release stops later reads (by a transport still writing the body) from
// touching the connection's deadline: the server sets its own for the next
// request.
func (b *clientBody) release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.ctl = nil
	b.mu.Unlock()
}

// bodyError returns err as a *RequestBodyError when reading the client's
// body of r failed (whatever the transport made of it), else err.
func bodyError(r *http.Request, err error) error {
	cb, _ := r.Context().Value(clientBodyKey{}).(*clientBody)
	if cb == nil {
		return err
	}
	var be *RequestBodyError
	if errors.As(err, &be) { // the transport may have wrapped it (*net.OpError)
		return be
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	switch {
	case cb.err != nil:
		return &RequestBodyError{Err: cb.err}
	case !cb.deadline.IsZero() && errors.Is(err, context.Canceled) && !time.Now().Before(cb.deadline):
		// The deadline passed and the server canceled the request before
		// the transport's Read returned its error: the body was too slow.
		return &RequestBodyError{Err: os.ErrDeadlineExceeded}
	}
	return err
}
