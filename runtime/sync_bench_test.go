package runtime

import (
	"context"
	"fmt"
	"testing"
)

// The synchronisation primitives under contention: every acquisition but
// the first of each round is a handoff from the releasing task to a parked
// waiter, the path issue 15 changed.

const (
	syncWorkers = 8
	syncRounds  = 20_000 // per worker
	queueItems  = 200_000
)

// runContended runs syncWorkers tasks that each take and give back a
// resource syncRounds times, yielding while they hold it so that the others
// queue up behind.
func runContended(b *testing.B, newSync func() (acquire func(context.Context) error, release func())) {
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		_, err := Run(ctx, func(ctx context.Context) (int, error) {
			acquire, release := newSync()
			ts := make([]*Task[int], syncWorkers)
			for i := range ts {
				ts[i] = Spawn(ctx, func(ctx context.Context) (int, error) {
					for range syncRounds {
						if err := acquire(ctx); err != nil {
							return 0, err
						}
						err := Yield(ctx)
						release()
						if err != nil {
							return 0, err
						}
					}
					return 0, nil
				})
			}
			_, err := Gather(ctx, ts...)
			return 0, err
		}, quiet())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*syncWorkers*syncRounds), "ns/acquire")
}

// BenchmarkLockContended hands one Lock among 8 tasks, 160,000 times.
func BenchmarkLockContended(b *testing.B) {
	runContended(b, func() (func(context.Context) error, func()) {
		m := NewLock()
		return m.Lock, m.Unlock
	})
}

// BenchmarkSemaphoreContended hands 2 permits among 8 tasks, 160,000 times.
func BenchmarkSemaphoreContended(b *testing.B) {
	runContended(b, func() (func(context.Context) error, func()) {
		s := NewSemaphore(2)
		return s.Acquire, s.Release
	})
}

// BenchmarkQueuePingPong passes 200,000 items from a producer to a consumer
// through a queue of size 1, so both sides park on every item.
func BenchmarkQueuePingPong(b *testing.B) {
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		_, err := Run(ctx, func(ctx context.Context) (int, error) {
			q := NewQueue[int](1)
			prod := Spawn(ctx, func(ctx context.Context) (int, error) {
				for i := range queueItems {
					if err := q.Put(ctx, i); err != nil {
						return 0, err
					}
				}
				return 0, nil
			})
			cons := Spawn(ctx, func(ctx context.Context) (int, error) {
				sum := 0
				for range queueItems {
					v, err := q.Get(ctx)
					if err != nil {
						return 0, err
					}
					sum += v
				}
				return sum, nil
			})
			_, err := Gather(ctx, prod, cons)
			return 0, err
		}, quiet())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*queueItems), "ns/item")
}

// BenchmarkSemaphoreManyHolders: n tasks each take a permit of one
// semaphore (no waiting), hold it while the others take theirs, then
// release it in the same order. The cost per holder stays flat as n grows
// (publishing every holder at each step made it O(n): 18 µs per holder at
// 20,000).
func BenchmarkSemaphoreManyHolders(b *testing.B) {
	for _, holders := range []int{2_000, 20_000} {
		b.Run(fmt.Sprint(holders), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				_, err := Run(ctx, func(ctx context.Context) (int, error) {
					s, ev := NewSemaphore(holders), NewEvent()
					ts := make([]*Task[int], holders)
					for i := range ts {
						ts[i] = Spawn(ctx, func(ctx context.Context) (int, error) {
							if err := s.Acquire(ctx); err != nil {
								return 0, err
							}
							defer s.Release()
							return 0, ev.Wait(ctx)
						})
					}
					if err := Yield(ctx); err != nil {
						return 0, err
					}
					ev.Set()
					_, err := Gather(ctx, ts...)
					return 0, err
				}, quiet())
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(holders)), "ns/holder")
		})
	}
}
