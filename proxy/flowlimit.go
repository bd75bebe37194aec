package proxy

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/lru"
	"github.com/gatehouse-dev/gatehouse/session"
)

// Defaults of FlowLimits.
const (
	// DefaultFlowsPerBrowser is how many pending logins one browser (one
	// binding cookie) keeps; starting more ends its oldest ones.
	DefaultFlowsPerBrowser = 20
	// DefaultFlowsPerClient is how many logins one client address may start
	// at once; after that, DefaultFlowsPerClient more per flow TTL.
	DefaultFlowsPerClient = 1000
	// maxTrackedClients and maxTrackedBrowsers bound the limiter's tables;
	// past them the least recently seen entry is forgotten.
	maxTrackedClients  = 100_000
	maxTrackedBrowsers = 20_000
)

// FlowLimits bounds the pending logins (flows) that clients who have no
// session can make the gateway store. The zero value is the defaults.
// The counters live in each replica's memory: with n replicas a client
// can start up to n times as many flows.
type FlowLimits struct {
	// PerBrowser is how many pending flows one browser binding keeps
	// (default DefaultFlowsPerBrowser). A browser that starts more (many
	// tabs) does not fail: its oldest pending flows are ended.
	PerBrowser int
	// PerClient is a token bucket per client address (IPv4 address, IPv6
	// /64; behind trusted proxies the address they report): PerClient flows
	// at once, refilled at PerClient per flow TTL, so at most about twice
	// PerClient of its flows are pending at any time (default
	// DefaultFlowsPerClient). Past it the client gets 429 with Retry-After.
	PerClient int
}

// LimitObserver is told when a limit acted (metrics).
type LimitObserver interface {
	// ObserveLimit counts one limited request of kind (a Limit* constant).
	ObserveLimit(kind string)
}

// Kinds of ObserveLimit.
const (
	// LimitFlowsPerClient: a client address started too many logins (429).
	LimitFlowsPerClient = "flows_per_client"
	// LimitFlowsPerBrowser: a browser's oldest pending login was ended.
	LimitFlowsPerBrowser = "flows_per_browser"
	// LimitPasswordAttempts: a password-grant user name was blocked (429).
	LimitPasswordAttempts = "password_attempts"
)

var errTooManyFlows = &httpError{Status: http.StatusTooManyRequests, Code: "too_many_logins", Title: "Too many sign-ins",
	Detail: "Too many sign-ins were started from your network. Please wait a moment and try again."}

// flowLimiter keeps the counters of FlowLimits. It is safe for concurrent use.
type flowLimiter struct {
	limits FlowLimits
	ttl    time.Duration

	mu       sync.Mutex                              // guards the values in the caches
	clients  *lru.Cache[netip.Prefix, *clientBucket] // the least recently used forgotten first
	browsers *lru.Cache[string, *browserFlows]       // by binding digest
}

type clientBucket struct {
	tokens float64
	last   time.Time
}

type browserFlows struct {
	flows []pendingRef // oldest first
}

type pendingRef struct {
	secret  string // the flow's state, to delete it
	expires time.Time
}

func newFlowLimiter(l FlowLimits, ttl time.Duration) *flowLimiter {
	if l.PerBrowser <= 0 {
		l.PerBrowser = DefaultFlowsPerBrowser
	}
	if l.PerClient <= 0 {
		l.PerClient = DefaultFlowsPerClient
	}
	return &flowLimiter{
		limits: l, ttl: ttl,
		clients:  lru.New[netip.Prefix, *clientBucket](maxTrackedClients),
		browsers: lru.New[string, *browserFlows](maxTrackedBrowsers),
	}
}

// admitClient takes one flow from addr's bucket. It returns 0, or how long
// the client must wait for the next one.
func (l *flowLimiter) admitClient(addr netip.Addr, now time.Time) time.Duration {
	key := clientKey(addr)
	capacity := float64(l.limits.PerClient)
	rate := capacity / l.ttl.Seconds() // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients.Get(key, now)
	if ok {
		b.tokens = min(capacity, b.tokens+now.Sub(b.last).Seconds()*rate)
		b.last = now
	} else {
		b = &clientBucket{tokens: capacity, last: now}
		l.clients.Add(key, b, time.Time{})
	}
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return 0
}

// noteBrowser records a new pending flow of the browser with binding and
// returns the secrets of the flows it no longer keeps (its oldest, past
// PerBrowser), for the caller to delete.
func (l *flowLimiter) noteBrowser(binding, secret string, now time.Time) (evicted []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bf, ok := l.browsers.Get(binding, now)
	if !ok {
		bf = &browserFlows{}
		l.browsers.Add(binding, bf, time.Time{})
	}
	live := bf.flows[:0]
	for _, f := range bf.flows {
		if now.Before(f.expires) {
			live = append(live, f)
		}
	}
	bf.flows = append(live, pendingRef{secret: secret, expires: now.Add(l.ttl)})
	for len(bf.flows) > l.limits.PerBrowser {
		evicted = append(evicted, bf.flows[0].secret)
		bf.flows = bf.flows[1:]
	}
	return evicted
}

// clientKey is the bucket of an address: itself for IPv4, its /64 for IPv6
// (one subscriber typically holds a whole /64).
func clientKey(a netip.Addr) netip.Prefix {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// clientAddr returns the address of the client that sent r: the peer, or,
// when the peer is a trusted proxy, the last address in X-Forwarded-For
// that is not a trusted proxy (a client can prepend anything, so entries
// left of the first untrusted one are never believed). The zero Addr when
// nothing parses.
func (g trustedProxies) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !g.trustedAddr(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a malformed hop: the last one understood
		}
		addr = a.Unmap()
		if !g.trustedAddr(addr) {
			return addr
		}
	}
	return addr
}

func (g trustedProxies) trustedAddr(a netip.Addr) bool {
	for _, p := range g {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// observeLimit tells the LimitObserver, if any.
func observeLimit(o LimitObserver, kind string) {
	if o != nil {
		o.ObserveLimit(kind)
	}
}

// flowGuard applies FlowLimits to the requests that start a login.
type flowGuard struct {
	base
	flows    *flowLimiter
	proxies  trustedProxies
	observer LimitObserver
	sessions *session.Manager
}

// admitFlow refuses a new flow (429, Retry-After) when r's client address
// has started too many.
func (l *flowGuard) admitFlow(r *http.Request) error {
	wait := l.flows.admitClient(l.proxies.clientAddr(r), l.now())
	if wait <= 0 {
		return nil
	}
	observeLimit(l.observer, LimitFlowsPerClient)
	l.logger.Debug("login refused: too many pending logins from one client address", "kind", LimitFlowsPerClient)
	pe := *errTooManyFlows
	pe.RetryAfter = wait
	return &pe
}

// capBrowserFlows records a browser's new flow and ends its oldest ones
// past FlowLimits.PerBrowser, and returns their secrets (with the cookie
// store the caller expires their cookies). Only browsers that came with a
// binding cookie are tracked: one without gets a new cookie and has this
// one flow.
func (l *flowGuard) capBrowserFlows(r *http.Request, binding, secret string) []string {
	evicted := l.flows.noteBrowser(binding, secret, l.now())
	for _, old := range evicted {
		observeLimit(l.observer, LimitFlowsPerBrowser)
		if err := l.sessions.DeleteFlow(r.Context(), old); err != nil {
			l.logger.Warn("could not end a browser's oldest pending login", "error", err)
		}
	}
	return evicted
}
