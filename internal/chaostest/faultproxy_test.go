package chaostest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is what a faultProxy does to the connections it accepts.
type fault int32

const (
	passThrough fault = iota // forward both ways
	refuse                   // close the listener: connections are refused
	blackHole                // accept, read and never answer
	slow                     // forward, holding each chunk for the proxy's delay
)

// faultProxy is a TCP proxy on a fixed port of 127.0.0.1 in front of a
// dependency (the AS, Redis): it stands for the network path, so the
// dependency keeps its state while the gateway cannot reach it.
type faultProxy struct {
	t      testing.TB
	Addr   string
	target string
	delay  time.Duration

	mode atomic.Int32
	mu   sync.Mutex
	ln   net.Listener // nil while refusing
	conn map[net.Conn]struct{}
	wg   sync.WaitGroup
}

func startFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, Addr: ln.Addr().String(), target: target, delay: 300 * time.Millisecond, conn: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.set(refuse)
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.track(c, true)
			p.wg.Go(func() { p.handle(c) })
		}
	})
}

func (p *faultProxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conn[c] = struct{}{}
	} else {
		delete(p.conn, c)
	}
}

// set switches the fault. Every switch closes the open connections, as a
// network change or a restarted server would: a client finds out on its next
// use of a pooled connection.
func (p *faultProxy) set(f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode.Store(int32(f))
	for c := range p.conn {
		c.Close()
	}
	switch {
	case f == refuse && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case f != refuse && p.ln == nil:
		var ln net.Listener
		var err error
		// The port was ours a moment ago; the kernel may hold it briefly.
		for range 100 {
			if ln, err = net.Listen("tcp", p.Addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			p.t.Errorf("faultproxy: listen again on %s: %v", p.Addr, err)
			return
		}
		p.serve(ln)
	}
}

func (p *faultProxy) handle(c net.Conn) {
	defer p.track(c, false)
	defer c.Close()
	if fault(p.mode.Load()) == blackHole {
		_, _ = io.Copy(io.Discard, c) // until the client or set closes it
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	p.track(up, true)
	defer p.track(up, false)
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if fault(p.mode.Load()) == slow {
					time.Sleep(p.delay)
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
}
