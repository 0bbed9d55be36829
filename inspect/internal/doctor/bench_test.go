package doctor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// BenchmarkDoctor100k diagnoses a loop of 100,000 tasks (40% awaiting a
// future each, 40% sleeping, 20% idle on a queue) while a probe task on the
// loop yields in a tight loop. ns/op is one diagnosis (Collect and
// Diagnose); max-gap-ms is the longest the probe waited between two of its
// steps while diagnoses ran: an upper bound of the loop's pause, inflated
// by whatever else the machine runs (the runtime's own figures for the
// pause are in Snapshot's and Resources' doc comments). With a
// --stuck-after longer than the waits, doctor reads no resources; with a
// short one, every future and queue wait is a finding and it does.
//
//	go test -run '^$' -bench Doctor100k -benchtime 5x ./inspect/internal/doctor/
func BenchmarkDoctor100k(b *testing.B) {
	const n = 100_000
	ready := make(chan struct{})
	stop := make(chan struct{})
	var maxGap atomic.Int64
	var measuring atomic.Bool
	done := make(chan error, 1)
	l := runtime.NewLoop(runtime.WithName("bench"))
	go func() {
		done <- l.Run(context.Background(), func(ctx context.Context) error {
			q := runtime.NewQueue[int](0)
			for i := range n {
				switch i % 5 {
				case 0, 1:
					runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						return runtime.NewFuture[int](ctx).Await(ctx)
					})
				case 2, 3:
					runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						return 0, runtime.Sleep(ctx, time.Hour)
					})
				default:
					runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return q.Get(ctx) })
				}
			}
			if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
				return err
			}
			stopped := runtime.NewEvent()
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				last := time.Now()
				for !stopped.IsSet() {
					if err := runtime.Yield(ctx); err != nil {
						return 0, err
					}
					now := time.Now()
					if gap := now.Sub(last); measuring.Load() && int64(gap) > maxGap.Load() {
						maxGap.Store(int64(gap))
					}
					last = now
				}
				return 0, nil
			}, runtime.Named("probe"))
			close(ready)
			go func() { <-stop; l.CallSoonThreadsafe(stopped.Set) }()
			return stopped.Wait(ctx) // then Run cancels the rest
		})
	}()
	<-ready
	for _, c := range []struct {
		name       string
		stuckAfter time.Duration
	}{{"healthy", time.Hour}, {"all-stuck", time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			maxGap.Store(0)
			measuring.Store(true)
			var findings int
			for range b.N {
				opts := Options{StuckAfter: c.stuckAfter}
				d := Diagnose([]Loop{Collect(l, opts)}, opts)
				findings = len(d.Findings)
			}
			measuring.Store(false)
			b.ReportMetric(float64(maxGap.Load())/1e6, "max-gap-ms")
			b.ReportMetric(float64(findings), "findings")
		})
	}
	close(stop)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDiagnoseAwaitChain40k diagnoses 40,000 tasks each awaiting the
// next, the last a future: the wait graph's stuck set in one pass (it took
// ~22 s when found by a pass over the set per task dropped).
func BenchmarkDiagnoseAwaitChain40k(b *testing.B) {
	const n = 40_000
	ts := make([]runtime.TaskInfo, 0, n)
	for i := range n - 1 {
		id := uint64(100 + i)
		ts = append(ts, with(task(id, "link", 40, 41, "task", time.Minute), awaits(id+1)))
	}
	ts = append(ts, with(task(100+n-1, "last", 40, 41, "future", time.Minute), res(5)))
	l := loop(alive, ts...)
	for b.Loop() {
		diagnose(l)
	}
}
