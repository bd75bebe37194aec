// Package chaostest holds Gatehouse's reliability suites, as tests only:
//
//   - TestChaos: the fault suite. It runs the built gatehouse binary with a
//     real redis-server (internal/redistest), the development authorization
//     server (internal/devop) and upstreams that misbehave on purpose, breaks
//     one dependency at a time (the store killed, flushed, frozen and cut
//     off; the AS killed, black-holed and slow; upstream faults; a restart
//     of the gateway under load), asserts what the user sees and prints a
//     table of figures. `make test` runs its short form; `make chaos`
//     (GATEHOUSE_CHAOS=full) runs longer phases.
//   - TestHostileCorpus: sends every raw HTTP/1.1 request of
//     testdata/hostile/*.txt over TCP to a running gateway: no 5xx, no
//     session created, no crash. TestCorpusGenerated keeps the generated part
//     in step with its generator (corpusgen_test.go; -update rewrites it).
//   - TestSoak: `make soak` (GATEHOUSE_SOAK_DURATION, default 10m):
//     authenticated load with refreshes, reporting non-2xx answers, RSS and
//     goroutine growth and p99 per minute. It is skipped unless that
//     variable is set.
//
// The suites need Linux (/proc, signals), redis-server and the Go toolchain
// (to build the binary).
package chaostest
