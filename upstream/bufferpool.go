package upstream

import (
	"net/http/httputil"
	"sync"
)

// bufferSize is the size of the buffers that copy response bodies, as
// httputil.ReverseProxy allocates them itself when it has no BufferPool.
const bufferSize = 32 << 10

// NewBufferPool returns the httputil.BufferPool of the gateway's reverse
// proxies: reused 32 KiB buffers for copying response bodies. Without one,
// ReverseProxy allocates a new buffer for every response, which makes the
// garbage collector run several times as often under load. The benchmark's
// bare proxy uses it too, so comparisons measure the gateway, not the pool.
func NewBufferPool() httputil.BufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([bufferSize]byte) }}}
}

// bufferPool keeps array pointers, so that neither Get nor Put allocates.
type bufferPool struct{ p sync.Pool }

func (bp *bufferPool) Get() []byte { return bp.p.Get().(*[bufferSize]byte)[:] }

func (bp *bufferPool) Put(b []byte) {
	if cap(b) != bufferSize {
		return
	}
	bp.p.Put((*[bufferSize]byte)(b[:bufferSize]))
}
