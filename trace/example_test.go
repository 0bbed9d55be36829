package trace_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

// ExampleNew traces a loop whose main task spawns a worker that sleeps and
// a task that fails, and prints each span with its events.
func ExampleNew() {
	sr := tracetest.NewSpanRecorder() // in a program: an OTLP exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())

	obs := trace.New(trace.WithTracerProvider(tp))
	runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		worker := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 1, runtime.Sleep(ctx, time.Millisecond)
		}, runtime.Named("worker"))
		broken := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, fmt.Errorf("no such page")
		}, runtime.Named("broken"))
		runtime.GatherAll(ctx, worker, broken)
		return 0, nil
	}, runtime.WithObserver(obs))

	for _, s := range sr.Ended() {
		var events []string
		for _, e := range s.Events() {
			events = append(events, e.Name)
		}
		name := ""
		for _, kv := range s.Attributes() {
			if kv.Key == "task.name" {
				name = kv.Value.AsString()
			}
		}
		fmt.Printf("%-6s %-6s %s\n", name, s.Status().Code, strings.Join(events, " "))
	}
	// Output:
	// broken Error  scheduled started exception failed
	// worker Unset  scheduled started suspended scheduled resumed finished
	// main   Unset  scheduled started suspended scheduled resumed finished
}
