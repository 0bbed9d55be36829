package runtime

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	goruntime "runtime"
	"testing"
	"time"
)

// The workloads of issue 2 (W1–W4); bench/compare.sh runs the same ones in
// Python asyncio and Node.js. The Bare* benchmarks run W1 and W2 with the
// always-on recording switched off, so W1/Bare is the instrumentation's
// overhead.

const (
	w1Tasks    = 200_000
	w2Handoffs = 1_000_000
	w3Tasks    = 100_000
	w4Tasks    = 100_000
)

// quiet keeps the watchdog's warnings (a step that spawns 100,000 tasks
// takes more than 100 ms) out of the benchmark output; the watchdog runs.
func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

func runW1(b *testing.B, opts ...Option) {
	opts = append(opts, quiet())
	b.ReportAllocs()
	ctx := context.Background()
	trivial := func(ctx context.Context) (int, error) { return 1, nil }
	var ms0, ms1 goruntime.MemStats
	goruntime.ReadMemStats(&ms0)
	for b.Loop() {
		_, err := Run(ctx, func(ctx context.Context) (int, error) {
			ts := make([]*Task[int], w1Tasks)
			for j := range ts {
				ts[j] = Spawn(ctx, trivial)
			}
			res, err := Gather(ctx, ts...)
			return len(res), err
		}, opts...)
		if err != nil {
			b.Fatal(err)
		}
	}
	goruntime.ReadMemStats(&ms1)
	n := float64(b.N) * w1Tasks
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/task")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/task")
}

// BenchmarkW1SpawnGather spawns 200,000 trivial tasks and gathers them.
func BenchmarkW1SpawnGather(b *testing.B) { runW1(b) }

// BenchmarkBareSpawnGather is W1 with recording off.
func BenchmarkBareSpawnGather(b *testing.B) { runW1(b, withoutRecording()) }

func runW2(b *testing.B, opts ...Option) {
	opts = append(opts, quiet())
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		_, err := Run(ctx, func(ctx context.Context) (int, error) {
			var fut [2]*Future[int]
			fut[0], fut[1] = NewFuture[int](ctx), NewFuture[int](ctx)
			player := func(me int) func(context.Context) (int, error) {
				return func(ctx context.Context) (int, error) {
					for {
						v, err := fut[me].Await(ctx)
						if err != nil {
							return 0, err
						}
						fut[me] = NewFuture[int](ctx)
						fut[1-me].SetResult(v + 1)
						if v >= w2Handoffs {
							return v, nil
						}
					}
				}
			}
			a, c := Spawn(ctx, player(0)), Spawn(ctx, player(1))
			fut[0].SetResult(0)
			_, err := Gather(ctx, a, c)
			return 0, err
		}, opts...)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*w2Handoffs), "ns/handoff")
}

// BenchmarkW2PingPong hands a value between two tasks through futures,
// 1,000,000 times.
func BenchmarkW2PingPong(b *testing.B) { runW2(b) }

// BenchmarkBarePingPong is W2 with recording off.
func BenchmarkBarePingPong(b *testing.B) { runW2(b, withoutRecording()) }

// BenchmarkW3Sleep runs 100,000 tasks that sleep 0–100 ms at random and
// reports how long the whole took beyond the 100 ms floor.
func BenchmarkW3Sleep(b *testing.B) {
	ctx := context.Background()
	var over time.Duration
	for b.Loop() {
		start := time.Now()
		_, err := Run(ctx, func(ctx context.Context) (int, error) {
			ts := make([]*Task[int], w3Tasks)
			for j := range ts {
				d := time.Duration(rand.Int64N(int64(100 * time.Millisecond)))
				ts[j] = Spawn(ctx, func(ctx context.Context) (int, error) { return 0, Sleep(ctx, d) })
			}
			_, err := Gather(ctx, ts...)
			return 0, err
		}, quiet())
		if err != nil {
			b.Fatal(err)
		}
		over += time.Since(start) - 100*time.Millisecond
	}
	b.ReportMetric(float64(over.Microseconds())/1000/float64(b.N), "ms-over-floor")
}

// BenchmarkW4PendingEvent parks 100,000 tasks on one Event and reports the
// memory each pending task holds (heap and goroutine stacks).
func BenchmarkW4PendingEvent(b *testing.B) {
	ctx := context.Background()
	var per, stack float64
	for b.Loop() {
		_, err := Run(ctx, func(ctx context.Context) (int, error) {
			ev := NewEvent()
			goruntime.GC()
			var m0, m1 goruntime.MemStats
			goruntime.ReadMemStats(&m0)
			ts := make([]*Task[int], w4Tasks)
			for j := range ts {
				ts[j] = Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
			}
			if err := Yield(ctx); err != nil {
				return 0, err
			}
			goruntime.GC()
			goruntime.ReadMemStats(&m1)
			per = float64((m1.HeapInuse+m1.StackInuse)-(m0.HeapInuse+m0.StackInuse)) / w4Tasks
			stack = float64(m1.StackInuse-m0.StackInuse) / w4Tasks
			ev.Set()
			_, err := Gather(ctx, ts...)
			return 0, err
		}, quiet())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(per, "B/task")
	b.ReportMetric(stack, "stack-B/task")
}

// BenchmarkSnapshot100k measures snapshots of a loop with 100,000 pending
// tasks: "pause" is the part that holds the loop's lock (the only time the
// loop can be held up), "full" adds resolving frames.
func BenchmarkSnapshot100k(b *testing.B) {
	for _, full := range []bool{false, true} {
		name := "pause"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			l := NewLoop(quiet())
			var held time.Duration
			err := l.Run(ctx, func(ctx context.Context) error {
				ev := NewEvent()
				for range w4Tasks {
					Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
				}
				if err := Yield(ctx); err != nil {
					return err
				}
				for b.Loop() {
					if full {
						s := l.Snapshot()
						if len(s.Tasks) != w4Tasks+1 {
							b.Fatalf("snapshot has %d tasks, want %d", len(s.Tasks), w4Tasks+1)
						}
					} else {
						raws, _, h := l.snapshotRaw()
						if len(raws) != w4Tasks+1 {
							b.Fatalf("snapshot has %d tasks, want %d", len(raws), w4Tasks+1)
						}
						held += h
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/snapshot")
				if !full {
					b.ReportMetric(float64(held.Microseconds())/1000/float64(b.N), "ms-lock-held")
				}
				ev.Set()
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
