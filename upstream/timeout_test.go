package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// serveRoutes starts a gateway-like server in front of routes.
func serveRoutes(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	rt, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, _ := rt.Match("", r.URL.Path)
		if route == nil {
			http.NotFound(w, r)
			return
		}
		route.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	return gw
}

// hungUpstream accepts requests and never answers until the test ends.
func hungUpstream(t *testing.T) *url.URL {
	t.Helper()
	done := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(done) })
	u, _ := url.Parse(up.URL)
	return u
}

// TestResponseHeaderTimeout: an upstream that never sends its headers gets
// 504 once the route's timeout passes (issue #14.2), not an endless wait.
func TestResponseHeaderTimeout(t *testing.T) {
	gw := serveRoutes(t, Options{Routes: []Route{{Name: "hung", Target: hungUpstream(t),
		Transport: TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond}}}})
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(gw.URL + "/")
	if err != nil {
		t.Fatalf("the request did not end with an answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", resp.StatusCode)
	}
}

// TestResponseHeaderTimeoutSparesStreams: once the headers arrived, a
// stream outlives the header timeout.
func TestResponseHeaderTimeoutSparesStreams(t *testing.T) {
	const timeout = 50 * time.Millisecond
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(4 * timeout) // an event much later than the header timeout
		io.WriteString(w, "data: second\n\n")
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	gw := serveRoutes(t, Options{Routes: []Route{{Name: "sse", Target: target, Transport: TransportOptions{ResponseHeaderTimeout: timeout}}}})
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(gw.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil || !strings.Contains(string(body), "second") {
		t.Errorf("status %d, body %q, error %v: the stream was cut", resp.StatusCode, body, err)
	}
}

// TestRoutesShareTransportByOptions: routes with equal TransportOptions
// share one connection pool; different options get their own.
func TestRoutesShareTransportByOptions(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:1")
	slow := TransportOptions{ResponseHeaderTimeout: 5 * time.Minute}
	rt, err := New(Options{Routes: []Route{
		{Name: "a", PathPrefix: "/a", Target: target},
		{Name: "b", PathPrefix: "/b", Target: target},
		{Name: "c", PathPrefix: "/c", Target: target, Transport: slow},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr := func(p string) *http.Transport {
		route, _ := rt.Match("", p)
		return route.handler.(*httputil.ReverseProxy).Transport.(*http.Transport)
	}
	if tr("/a") != tr("/b") {
		t.Error("two routes with default options have separate pools")
	}
	if tr("/a") == tr("/c") {
		t.Error("routes with different options share a pool")
	}
	if got := tr("/a").ResponseHeaderTimeout; got != DefaultResponseHeaderTimeout {
		t.Errorf("default ResponseHeaderTimeout %v, want %v", got, DefaultResponseHeaderTimeout)
	}
	if got := tr("/c").ResponseHeaderTimeout; got != slow.ResponseHeaderTimeout {
		t.Errorf("ResponseHeaderTimeout %v, want %v", got, slow.ResponseHeaderTimeout)
	}
}

// rawRequest sends req over a new TCP connection to srv and returns the
// response's status code.
func rawRequest(t *testing.T, addr, req string, rest func(net.Conn)) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if rest != nil {
		rest(c)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClientBodyErrors: a request body the client spoils reaches the
// ErrorHandler as a *RequestBodyError (issue #14.3), and a slow body is cut
// off after the route's BodyReadTimeout (issue #14.4).
func TestClientBodyErrors(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	errs := make(chan error, 1)
	gw := serveRoutes(t, Options{
		Routes: []Route{{Name: "app", Target: target, BodyReadTimeout: 100 * time.Millisecond}},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, route *Route, err error) {
			errs <- err
			w.WriteHeader(http.StatusTeapot)
		},
	})
	addr := strings.TrimPrefix(gw.URL, "http://")
	for _, tc := range []struct {
		name, req string
		timeout   bool
	}{
		{"MalformedChunk", "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", false},
		{"SlowBody", "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := rawRequest(t, addr, tc.req, nil); code != http.StatusTeapot {
				t.Fatalf("status %d, want the ErrorHandler's", code)
			}
			err := <-errs
			be, ok := err.(*RequestBodyError)
			if !ok {
				t.Fatalf("ErrorHandler got %T %v, want *RequestBodyError", err, err)
			}
			if IsTimeout(be) != tc.timeout {
				t.Errorf("IsTimeout(%v) = %v, want %v", be, IsTimeout(be), tc.timeout)
			}
		})
	}
	t.Run("DefaultErrorHandler", func(t *testing.T) {
		gw := serveRoutes(t, Options{Routes: []Route{{Name: "app", Target: target}}})
		req := "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
		if code := rawRequest(t, strings.TrimPrefix(gw.URL, "http://"), req, nil); code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", code)
		}
	})
}

// TestRequestBodyTimeoutThroughTransportErrors: a body read that hit its
// deadline stays a timeout when the transport wraps it in a *net.OpError
// ("readfrom tcp ...: ... i/o timeout"), so the client gets 408, not 499.
func TestRequestBodyTimeoutThroughTransportErrors(t *testing.T) {
	slow := &RequestBodyError{Err: os.ErrDeadlineExceeded}
	wrapped := &net.OpError{Op: "readfrom", Net: "tcp", Err: slow}
	if !IsTimeout(wrapped) {
		t.Errorf("IsTimeout(%v) = false, want true", wrapped)
	}
	if bad := (&net.OpError{Op: "readfrom", Net: "tcp", Err: &RequestBodyError{Err: io.ErrUnexpectedEOF}}); IsTimeout(bad) {
		t.Errorf("IsTimeout(%v) = true for a body cut short", bad)
	}
}
