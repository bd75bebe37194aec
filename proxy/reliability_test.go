package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// rawExchange sends req, then body (when not nil), over a new TCP
// connection to the gateway and returns the response with its body read.
func (e *env) rawExchange(t *testing.T, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.gwURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestUpstreamHungAnswers504: a request to an upstream that never answers
// gets the 504 page once the route's timeout passes (issue #14.2).
func TestUpstreamHungAnswers504(t *testing.T) {
	done := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(done)
	target, _ := url.Parse(hung.URL)
	logs := &logBuffer{}
	e := newEnv(t, envOptions{logger: logs.logger(), routes: []proxy.Route{
		{Name: "hung", PathPrefix: "/hung", Auth: proxy.AuthPublic, Target: target,
			Transport: upstream.TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond}},
		{Name: "app", PathPrefix: "/"},
	}})
	req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/hung/page", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body := bodyOf(resp)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "upstream_timeout") {
		t.Errorf("status %d, want 504 upstream_timeout: %s", resp.StatusCode, body)
	}
}

// TestClientBodyFaultIsNotUpstreamFailure: a signed-in client's malformed
// chunked body is answered 400 and not logged as an unreachable upstream
// (issue #14.3).
func TestClientBodyFaultIsNotUpstreamFailure(t *testing.T) {
	logs := &logBuffer{}
	m := metrics.New()
	e := newEnv(t, envOptions{logger: logs.logger(), wrapUp: m.UpstreamTransport})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	resp, body := e.rawExchange(t, "POST /upload HTTP/1.1\r\nHost: gw\r\nAccept: application/json\r\nCookie: "+e.sessionCookie(c)+
		"\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "body_invalid") {
		t.Errorf("status %d, want 400 body_invalid: %s", resp.StatusCode, body)
	}
	logs.mu.Lock()
	log := logs.buf.String()
	logs.mu.Unlock()
	if strings.Contains(log, "upstream unreachable") || strings.Contains(log, "upstream_unavailable") {
		t.Errorf("a client fault was logged as an upstream failure:\n%s", log)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_upstream_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == "error" {
					t.Errorf("a client fault was counted as an upstream error: %v", mt)
				}
			}
		}
	}
}

// TestSlowRequestBodiesAreCutOff: a body trickled to one of the gateway's
// own endpoints, or to a route with body_read_timeout, gets 408 once the
// timeout passes (issue #14.4); a body too large for an endpoint gets 413.
func TestSlowRequestBodiesAreCutOff(t *testing.T) {
	// An upload handler reads the whole body before it answers (one that
	// answered first would race the deadline).
	uploads := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		io.WriteString(w, "stored")
	}))
	t.Cleanup(uploads.Close)
	uploadsURL, _ := url.Parse(uploads.URL)
	e := newEnv(t, envOptions{bodyTimeout: 100 * time.Millisecond, routes: []proxy.Route{
		{Name: "uploads", PathPrefix: "/uploads", Target: uploadsURL, Auth: proxy.AuthPublic, BodyReadTimeout: 100 * time.Millisecond},
		{Name: "app", PathPrefix: "/"},
	}})
	for _, path := range []string{"/oauth2/backchannel_logout", "/uploads/file"} {
		t.Run(strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
			resp, _ := e.rawExchange(t, "POST "+path+" HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: 1000\r\n\r\nlogout_token=only-a-part")
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d, want 408", resp.StatusCode)
			}
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		resp, err := http.PostForm(e.gwURL+"/oauth2/backchannel_logout", url.Values{"logout_token": {strings.Repeat("a", 100<<10)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})
}
