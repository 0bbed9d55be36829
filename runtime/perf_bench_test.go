package runtime

import (
	"context"
	"testing"
	"time"
)

// BenchmarkResources100k measures Loop.Resources with 100,000 pending
// tasks, each waiting on a Future of its own ("futures") or all on one
// Event ("event"); "ms-lock-held" is how long the loop was paused (the part
// under the loop's lock), "ms/call" the whole call.
func BenchmarkResources100k(b *testing.B) {
	for _, name := range []string{"futures", "event"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			l := NewLoop(quiet())
			var held time.Duration
			err := l.Run(ctx, func(ctx context.Context) error {
				ev := NewEvent()
				futs := make([]*Future[int], w4Tasks)
				for i := range w4Tasks {
					if name == "futures" {
						f := NewFuture[int](ctx)
						futs[i] = f
						Spawn(ctx, func(ctx context.Context) (int, error) { return f.Await(ctx) })
					} else {
						Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
					}
				}
				if err := Yield(ctx); err != nil {
					return err
				}
				want := 1
				if name == "futures" {
					want = w4Tasks + 1 // and the Event main made
				}
				for b.Loop() {
					rs, h := l.resources()
					if len(rs) != want {
						b.Fatalf("Resources lists %d, want %d", len(rs), want)
					}
					held += h
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/call")
				b.ReportMetric(float64(held.Microseconds())/1000/float64(b.N), "ms-lock-held")
				ev.Set()
				for _, f := range futs {
					if f != nil {
						f.SetResult(0)
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
