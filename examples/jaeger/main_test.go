package main

import (
	"context"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCrawl runs the example's workload into an in-memory recorder and
// checks what a user will find in Jaeger.
func TestCrawl(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	id, err := crawl(context.Background(), tp)
	if err == nil {
		t.Errorf("crawl returned no error, want the /missing page's")
	}
	spans := sr.Ended()
	if got, want := len(spans), 18; got != want {
		t.Fatalf("%d spans, want %d (crawl, main, 6 pages, 6 fetches, 4 parses)", got, want)
	}
	var failed, cancelled, blocked int
	for _, s := range spans {
		if s.SpanContext().TraceID() != id {
			t.Errorf("span %s is in trace %v, want %v", s.Name(), s.SpanContext().TraceID(), id)
		}
		names := []string{}
		for _, e := range s.Events() {
			names = append(names, e.Name)
		}
		if s.Status().Code == codes.Error {
			failed++
		}
		if slices.Contains(names, "cancelled") {
			cancelled++
		}
		if slices.Contains(names, "blocked_loop") {
			blocked++
		}
	}
	// The /missing fetch fails, and so do its page task and main, which
	// return its error; the /slow fetch is cancelled by WaitFor and its page
	// fails with ErrTimeout.
	if failed != 4 || cancelled != 1 || blocked != 1 {
		t.Errorf("failed %d, cancelled %d, blocked %d; want 4, 1, 1", failed, cancelled, blocked)
	}
}
