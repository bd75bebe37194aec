//go:build race

package upstream

// raceEnabled: the race detector makes sync.Pool drop items at random.
const raceEnabled = true
