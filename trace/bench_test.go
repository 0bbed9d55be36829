package trace_test

import (
	"context"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

// w1Tasks is the size of the W1 workload of the runtime's benchmarks:
// spawn this many trivial tasks, then gather them.
const w1Tasks = 200_000

// runW1 runs W1 once per iteration on a loop with opts.
func runW1(b *testing.B, tasks int, opts ...runtime.Option) {
	for b.Loop() {
		w1(b, tasks, opts...)
	}
}

// w1 spawns tasks trivial tasks on a loop with opts and gathers them. The
// loop's log is discarded: spawning them all is one step, which the
// watchdog reports as blocking.
func w1(tb testing.TB, tasks int, opts ...runtime.Option) {
	trivial := func(ctx context.Context) (int, error) { return 1, nil }
	n, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ts := make([]*runtime.Task[int], tasks)
		for j := range ts {
			ts[j] = runtime.Spawn(ctx, trivial)
		}
		res, err := runtime.Gather(ctx, ts...)
		return len(res), err
	}, append([]runtime.Option{runtime.WithLogger(quiet)}, opts...)...)
	if err != nil || n != tasks {
		tb.Fatalf("W1: %d, %v", n, err)
	}
}

// BenchmarkW1Traced is W1 (200,000 tasks spawned, then gathered) with
// tracing on: with no SDK installed, and with an SDK whose batch span
// processor feeds an exporter that discards spans, for several queue
// sizes. It reports task spans ended per second (spans/s) and the spans the
// batch processor dropped because its queue was full (dropped/op).
//
//	go test -run '^$' -bench W1Traced -benchmem ./trace
func BenchmarkW1Traced(b *testing.B) {
	b.Run("untraced", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		runW1(b, w1Tasks)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*w1Tasks), "ns/task")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*w1Tasks), "cpu-ns/task")
	})
	b.Run("no-sdk", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		runW1(b, w1Tasks, runtime.WithObserver(trace.New()))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*w1Tasks), "ns/task")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*w1Tasks), "cpu-ns/task")
	})
	for _, bc := range []struct {
		name string
		opts []sdktrace.BatchSpanProcessorOption
	}{
		{"queue=2048(default)", nil},
		{"queue=65536", []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(1 << 16), sdktrace.WithMaxExportBatchSize(4096)}},
		{"queue=262144", []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(1 << 18), sdktrace.WithMaxExportBatchSize(4096)}},
		{"queue=2048+blocking", []sdktrace.BatchSpanProcessorOption{sdktrace.WithBlocking()}},
	} {
		b.Run("sdk/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			exp := trace.NewExporter(tracetest.NewNoopExporter(), nil)
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(exp.Batcher(bc.opts...)))
			obs := trace.New(trace.WithTracerProvider(tp))
			cpu0 := cpuTime()
			runW1(b, w1Tasks, runtime.WithObserver(obs))
			elapsed, cpu := b.Elapsed(), cpuTime()-cpu0
			if err := tp.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
			spans, dropped := obs.Stats().Spans, exp.Stats().Dropped
			b.ReportMetric(float64(spans)/elapsed.Seconds(), "spans/s")
			b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
			b.ReportMetric(100*float64(dropped)/float64(spans), "%dropped")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*w1Tasks), "ns/task")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*w1Tasks), "cpu-ns/task")
		})
	}
}

// ExampleNewExporter exports through the batch processor made by
// Exporter.Batcher, which counts every span: exported, lost in a failed
// export, or dropped by the queue.
func ExampleNewExporter() {
	exp := trace.NewExporter(tracetest.NewNoopExporter(), nil)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(exp.Batcher(
		sdktrace.WithMaxQueueSize(1<<18), sdktrace.WithMaxExportBatchSize(4096))))
	obs := trace.New(trace.WithTracerProvider(tp))

	runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ts := make([]*runtime.Task[int], 1000)
		for i := range ts {
			ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return i, nil })
		}
		_, err := runtime.Gather(ctx, ts...)
		return 0, err
	}, runtime.WithObserver(obs))
	tp.Shutdown(context.Background()) // flushes the queue, within 5s

	st := exp.Stats()
	fmt.Printf("spans ended %d (observer: %d), exported %d, lost %d, dropped %d\n",
		st.Ended, obs.Stats().Spans, st.Exported, st.Lost, st.Dropped)
	// Output:
	// spans ended 1001 (observer: 1001), exported 1001, lost 0, dropped 0
}
