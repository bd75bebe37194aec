// Command run is the benchmark suite behind `make bench`. It measures what
// the gateway costs compared with a bare reverse proxy in front of the same
// upstream, on 127.0.0.1, and writes the results to docs/performance.md.
//
// It builds the gatehouse binary and bench/bareproxy, then starts, each as
// its own process so that /proc gives each one's CPU time and peak RSS: a
// fast upstream (this program again, with -serve-upstream), the bare proxy,
// a redis-server, and gateways with the memory store and with the Redis
// store and with the cookie store, each with and without the local session
// cache (and one without its access log). The development
// authorization server (internal/devop, approving every login at once) runs
// in this process. wrk is the load generator.
//
// The targets are measured in rounds, in a different order each round, so
// that noise from other work on the machine hits all of them alike; the
// report gives medians over the rounds, and ratios to the bare proxy taken
// within each round.
//
// It needs Linux (/proc), wrk and redis-server (Debian packages wrk and
// redis-server), and must run from the repository root. bench is its own
// module, so `make bench` builds it into bin/gatehouse-bench and runs that:
//
//	make bench BENCHFLAGS="[-rounds 8] [-duration 2s] [-conns 50] [-sessions 10000] [-out docs/performance.md]"
//
// With -hold it starts everything, prints each target's URL, process ID and
// session cookie, and waits: attach perf or send your own load.
package main
