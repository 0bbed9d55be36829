package runtime_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/taskdump/taskdump/runtime"
)

// TestTouchKindNoRace checks that using a Lock and a Semaphore (their first
// change in each step) does not write their kind while Resources reads it
// from another goroutine: run with -race.
func TestTouchKindNoRace(t *testing.T) {
	var stop atomic.Bool
	done := make(chan struct{})
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		loop := runtime.LoopOf(ctx)
		m := runtime.NewLock()
		sem := runtime.NewSemaphore(1)
		go func() {
			defer close(done)
			for !stop.Load() {
				_ = loop.Resources()
			}
		}()
		defer func() { stop.Store(true); <-done }()
		for i := 0; i < 5000; i++ {
			if err := m.Lock(ctx); err != nil {
				return 0, err
			}
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			runtime.Yield(ctx)
			sem.Release()
			m.Unlock()
		}
		return 0, nil
	})
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
}
