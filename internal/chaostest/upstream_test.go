package chaostest

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// misbehavingUpstream is an application that fails on purpose, by path:
//
//	/reset...      resets the connection without answering
//	/hang...       never answers
//	/truncated...  promises 1000 bytes, sends 10 and closes
//	/slow...       answers after slowDelay
//	anything else  200 with the user the gateway named
type misbehavingUpstream struct {
	addr string
}

const slowDelay = 300 * time.Millisecond

func startUpstream(t testing.TB) *misbehavingUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(serveMisbehaving), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return &misbehavingUpstream{addr: ln.Addr().String()}
}

func serveMisbehaving(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/reset"):
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	case strings.HasPrefix(p, "/hang"):
		<-r.Context().Done()
	case strings.HasPrefix(p, "/truncated"):
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "0123456789")
		_ = http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case strings.HasPrefix(p, "/slow"):
		select {
		case <-time.After(slowDelay):
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "slow ok\n")
	default:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok "+r.Header.Get("X-Forwarded-Preferred-Username")+"\n")
	}
}
