package trace_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

// TestMain checks that neither the loops nor the SDK pipelines the tests
// build leave goroutines behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quiet is a logger for loops whose blocking warnings would clutter the
// test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorded runs main on a loop observed by an Observer that records into an
// in-memory SDK pipeline, and returns the ended spans and the Observer.
func recorded(t *testing.T, main func(context.Context) (int, error), opts ...trace.Option) ([]sdktrace.ReadOnlySpan, *trace.Observer) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Errorf("tp.Shutdown: %v", err)
		}
	}()
	obs := trace.New(append([]trace.Option{trace.WithTracerProvider(tp)}, opts...)...)
	_, err := runtime.Run(context.Background(), main, runtime.WithObserver(obs), runtime.WithLogger(quiet))
	if err != nil && !errors.Is(err, errExpected) {
		t.Fatalf("runtime.Run: %v", err)
	}
	return sr.Ended(), obs
}

var errExpected = errors.New("expected failure")

// span returns the span of the task named name.
func span(t *testing.T, spans []sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if v, ok := attr(s.Attributes(), "task.name"); ok && v.AsString() == name {
			return s
		}
	}
	t.Fatalf("no span for task %q among %d spans", name, len(spans))
	return nil
}

func attr(kvs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Name)
	}
	return out
}

func event(s sdktrace.ReadOnlySpan, name string) (sdktrace.Event, bool) {
	for _, e := range s.Events() {
		if e.Name == name {
			return e, true
		}
	}
	return sdktrace.Event{}, false
}
