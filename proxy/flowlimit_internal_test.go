package proxy

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestClientAddr(t *testing.T) {
	g := trustedProxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"UntrustedPeerIgnoresHeader", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"TrustedPeerNoHeader", "10.1.2.3:5000", "", "10.1.2.3"},
		{"TrustedPeerOneHop", "10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"ClientPrependedSpoof", "10.1.2.3:5000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"ChainOfTrustedProxies", "10.1.2.3:5000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"MalformedHopStops", "10.1.2.3:5000", "198.51.100.1, garbage, 10.9.9.9", "10.9.9.9"},
		{"MappedIPv4", "[::ffff:203.0.113.9]:5000", "", "203.0.113.9"},
		{"IPv6BehindTrusted", "[fd00::1]:5000", "2001:db8::7", "2001:db8::7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := g.clientAddr(r); got.String() != tc.want {
				t.Errorf("clientAddr = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFlowLimiterBuckets(t *testing.T) {
	l := newFlowLimiter(FlowLimits{PerClient: 10}, 10*time.Minute)
	now := time.Unix(1_700_000_000, 0)
	a := netip.MustParseAddr("2001:db8::1")
	same64 := netip.MustParseAddr("2001:db8::ffff")
	for i := range 10 {
		addr := a
		if i%2 == 1 {
			addr = same64
		}
		if wait := l.admitClient(addr, now); wait != 0 {
			t.Fatalf("flow %d refused", i)
		}
	}
	wait := l.admitClient(a, now)
	if wait <= 0 || wait > time.Minute {
		t.Fatalf("11th flow of one /64: wait %v, want about a minute", wait)
	}
	if l.admitClient(netip.MustParseAddr("2001:db8:1::1"), now) != 0 {
		t.Error("another /64 is limited too")
	}
	if l.admitClient(a, now.Add(wait)) != 0 {
		t.Error("refused after Retry-After")
	}
}

func TestFlowLimiterBrowserEviction(t *testing.T) {
	l := newFlowLimiter(FlowLimits{PerBrowser: 2}, 10*time.Minute)
	now := time.Unix(1_700_000_000, 0)
	if ev := l.noteBrowser("b", "s1", now); len(ev) != 0 {
		t.Fatal(ev)
	}
	l.noteBrowser("b", "s2", now)
	if ev := l.noteBrowser("b", "s3", now); len(ev) != 1 || ev[0] != "s1" {
		t.Errorf("evicted %v, want [s1]", ev)
	}
	// Expired flows leave without eviction.
	if ev := l.noteBrowser("b", "s4", now.Add(11*time.Minute)); len(ev) != 0 {
		t.Errorf("evicted %v after the TTL, want none", ev)
	}
	for i := range maxTrackedBrowsers + 10 {
		l.noteBrowser(strconv.Itoa(i), "s", now)
	}
	if n := l.browsers.Len(); n > maxTrackedBrowsers {
		t.Errorf("%d browsers tracked, want at most %d", n, maxTrackedBrowsers)
	}
}
