package config

import "time"

// Limits bounds what clients without a session can make the gateway do
// (docs/limits.md).
type Limits struct {
	// FlowsPerBrowser is how many pending logins one browser (its binding
	// cookie) keeps; starting more ends its oldest ones, so a user with many
	// tabs still logs in. Between 1 and 1000. Default 20.
	FlowsPerBrowser int `toml:"flows_per_browser"`
	// FlowsPerClient is how many logins one client address (IPv4 address or
	// IPv6 /64, as reported by server.trusted_proxies) may start at once; it
	// may start as many more per flow lifetime (10m). Past it: 429 with
	// Retry-After. Counted in each replica's memory. Between 1 and 1000000.
	// Default 1000.
	FlowsPerClient int `toml:"flows_per_client"`
	// JWKSRefetchInterval is the least time between two fetches of the AS's
	// key set for a token no known key verifies (forged tokens, or a key
	// rotation). Between 1s and 1h. Default 1m.
	JWKSRefetchInterval Duration `toml:"jwks_refetch_interval"`
}

func limitsDefaults() Limits {
	return Limits{FlowsPerBrowser: 20, FlowsPerClient: 1000, JWKSRefetchInterval: Duration{time.Minute}}
}

func (l *Limits) validate(p *problems) {
	if n := l.FlowsPerBrowser; n < 1 || n > 1000 {
		p.add("limits.flows_per_browser", "%d is outside 1 to 1000", n)
	}
	if n := l.FlowsPerClient; n < 1 || n > 1_000_000 {
		p.add("limits.flows_per_client", "%d is outside 1 to 1000000", n)
	}
	if d := l.JWKSRefetchInterval.Duration; d < time.Second || d > time.Hour {
		p.add("limits.jwks_refetch_interval", "%v is outside 1s to 1h", d)
	}
}
