package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/upstream"
)

// DefaultBodyReadTimeout is the default of Options.BodyReadTimeout.
const DefaultBodyReadTimeout = 10 * time.Second

// MaxBodyBytes bounds the request body of the gateway's own endpoints
// (413 beyond); each endpoint may accept less.
const MaxBodyBytes = 1 << 20

// Pages of requests the client spoiled.
var (
	errClientGone = &httpError{Status: 499, Code: "client_closed_request", Title: "Client closed the request",
		Detail: "The client went away before the answer was ready."}
	errBodyTooLarge = &httpError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Title: "Request too large",
		Detail: "The request body is larger than the gateway accepts."}
	errBodyTimeout = &httpError{Status: http.StatusRequestTimeout, Code: "body_timeout", Title: "Request timed out",
		Detail: "The request body was not sent in time."}
	errBodyInvalid = &httpError{Status: http.StatusBadRequest, Code: "body_invalid", Title: "Bad request",
		Detail: "The request body could not be read (it is malformed or incomplete)."}
)

// clientFault returns what the client is told when err is its own doing, or
// nil when it is not: the client went away (499), or its request body could
// not be read: too large (413), too slow (408), malformed or cut short
// (400). It is the one classification of client faults, for the gateway's
// own endpoints (failErr) and for proxied requests (upstreamError); a client
// fault is neither logged nor counted as a failure of the gateway, the AS or
// the upstream.
func clientFault(r *http.Request, err error) *httpError {
	var (
		mbe *http.MaxBytesError
		ube *upstream.RequestBodyError
		obe *bodyReadError
	)
	switch {
	case errors.As(err, &mbe):
		return errBodyTooLarge
	case errors.As(err, &ube) || errors.As(err, &obe):
		switch {
		case upstream.IsTimeout(err):
			return errBodyTimeout
		case r.Context().Err() != nil: // the connection broke: the client is gone
			return errClientGone
		}
		return errBodyInvalid
	case errors.Is(err, context.Canceled):
		return errClientGone
	}
	return nil
}

// isClientFault reports whether e is one of clientFault's answers.
func isClientFault(e *httpError) bool {
	return e == errClientGone || e == errBodyTooLarge || e == errBodyTimeout || e == errBodyInvalid
}

// bodyReadError is a failure to read the request body of one of the
// gateway's own endpoints.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "proxy: read the request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// guardBody limits the request body of the gateway's own endpoints to
// MaxBodyBytes and its reading to Options.BodyReadTimeout (a read deadline
// on the connection, cleared once the body is read).
func (g *Gateway) guardBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	b := &guardedBody{rc: http.MaxBytesReader(w, r.Body, MaxBodyBytes)}
	if d := g.opts.BodyReadTimeout; d > 0 {
		ctl := http.NewResponseController(w)
		if ctl.SetReadDeadline(time.Now().Add(d)) == nil {
			b.ctl = ctl
		}
	}
	r.Body = b
}

// guardedBody is the body guardBody installs. It is read by the handler's
// own goroutine only. The read deadline is cleared once the body is read to
// its end; after an error it stays, so the server does not wait for the rest.
type guardedBody struct {
	rc  io.ReadCloser
	ctl *http.ResponseController // non-nil while the read deadline is set
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		if errors.Is(err, io.EOF) && b.ctl != nil {
			_ = b.ctl.SetReadDeadline(time.Time{})
		} else if !errors.Is(err, io.EOF) {
			err = &bodyReadError{err}
		}
		b.ctl = nil
	}
	return n, err
}

func (b *guardedBody) Close() error { return b.rc.Close() }
