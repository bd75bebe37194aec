// Package storetest holds the contract checks every session.Store
// implementation must pass, shared by the memstore and redisstore tests.
package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/session"
)

// TakeSingleUse checks that of 50 concurrent Take calls on one key exactly
// one gets the value and the others ErrNotFound, for rounds keys in turn.
func TakeSingleUse(t *testing.T, s session.Store, rounds int) {
	t.Helper()
	ctx := t.Context()
	const takers = 50
	for round := range rounds {
		key := fmt.Sprint("flow-", round)
		if err := s.Set(ctx, key, []byte("state"), time.Minute); err != nil {
			t.Fatal(err)
		}
		var wins, misses atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range takers {
			wg.Go(func() {
				<-start
				_, err := s.Take(ctx, key)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, session.ErrNotFound):
					misses.Add(1)
				default:
					t.Errorf("Take: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || misses.Load() != takers-1 {
			t.Fatalf("round %d: %d wins, %d misses; want 1 and %d", round, wins.Load(), misses.Load(), takers-1)
		}
	}
}
