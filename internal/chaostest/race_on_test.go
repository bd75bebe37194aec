//go:build race

package chaostest

// raceEnabled: the tests run with -race (make test), so the gateway binary
// is built with it too, and a data race in its log fails the test.
const raceEnabled = true
