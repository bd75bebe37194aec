package upstream

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestStreamingResponsesAreFlushed: with the default FlushInterval, a
// server-sent event stream and a chunked response of unknown length reach
// the client as they are written, not when the upstream finishes.
func TestStreamingResponsesAreFlushed(t *testing.T) {
	for _, tc := range []struct{ name, contentType string }{
		{"ServerSentEvents", "text/event-stream"},
		{"UnknownLength", "application/octet-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				io.WriteString(w, "first\n")
				w.(http.Flusher).Flush()
				select { // the rest only once the client has seen the first line
				case <-release:
				case <-r.Context().Done():
					return
				}
				io.WriteString(w, "second\n")
			}))
			defer up.Close()
			target, _ := url.Parse(up.URL)
			rt, err := New(Options{Routes: []Route{{Name: "app", Target: target}}})
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				route, _ := rt.Match("", r.URL.Path)
				route.ServeHTTP(w, r)
			}))
			defer gw.Close()

			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(gw.URL + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			if err != nil || line != "first\n" {
				t.Fatalf("first line: %q, %v (the proxy held the stream back)", line, err)
			}
			close(release)
			rest, err := io.ReadAll(br)
			if err != nil || !strings.Contains(string(rest), "second") {
				t.Fatalf("rest: %q, %v", rest, err)
			}
		})
	}
}

func TestBufferPool(t *testing.T) {
	bp := NewBufferPool()
	b := bp.Get()
	if len(b) != bufferSize {
		t.Fatalf("len = %d, want %d", len(b), bufferSize)
	}
	bp.Put(b[:10]) // a resliced buffer comes back whole
	if got := bp.Get(); len(got) != bufferSize {
		t.Fatalf("len after Put = %d, want %d", len(got), bufferSize)
	}
	bp.Put(make([]byte, 10)) // a foreign buffer is dropped
	if got := bp.Get(); len(got) != bufferSize {
		t.Fatalf("len = %d, want %d", len(got), bufferSize)
	}
}

func TestBufferPoolDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	bp := NewBufferPool()
	bp.Put(bp.Get())
	if n := testing.AllocsPerRun(100, func() { bp.Put(bp.Get()) }); n != 0 {
		t.Errorf("Get and Put: %v allocations, want 0", n)
	}
}
