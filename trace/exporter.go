package trace

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporter wraps a span exporter so that an unreachable backend is reported
// once per outage instead of once per batch, and counts what it exported and
// what it lost. Put it between the batch span processor and the real
// exporter:
//
//	exp := trace.NewExporter(otlpExporter, nil)
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(1<<17)))
//
// When an export fails, the first failure is logged at Warn level with its
// error and later failures are only counted; the batch is lost (the batch
// processor does not retry, and Exporter does not either), and nil is
// returned so that the SDK does not log it again through otel.Handle. The
// first success after a failure is logged at Info level with the number of
// spans lost. The workload is never slowed down: export runs on the batch
// processor's goroutine.
//
// Create it with NewExporter; the zero Exporter is not usable. Its methods
// are safe for concurrent use; the wrapper costs two atomic additions per
// batch.
type Exporter struct {
	next   sdktrace.SpanExporter
	logger *slog.Logger

	mu      sync.Mutex // serialises the failing/healthy transitions
	failing bool

	exported      atomic.Uint64
	lost          atomic.Uint64
	failedBatches atomic.Uint64
	outages       atomic.Uint64
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// ExportStats are an Exporter's counters.
type ExportStats struct {
	// Exported is the number of spans the wrapped exporter accepted.
	Exported uint64
	// Lost is the number of spans in batches whose export failed.
	Lost uint64
	// FailedBatches is the number of failed exports.
	FailedBatches uint64
	// Outages is the number of times export went from working (or the
	// start) to failing: each was logged once.
	Outages uint64
}

// NewExporter returns next wrapped as described on Exporter, logging to
// logger (nil means slog.Default()).
func NewExporter(next sdktrace.SpanExporter, logger *slog.Logger) *Exporter {
	if logger == nil {
		logger = slog.Default()
	}
	return &Exporter{next: next, logger: logger}
}

// ExportSpans exports spans through the wrapped exporter; see Exporter for
// what happens on failure. It always returns nil.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	n := uint64(len(spans))
	if err != nil {
		e.lost.Add(n)
		e.failedBatches.Add(1)
		e.mu.Lock()
		first := !e.failing
		e.failing = true
		e.mu.Unlock()
		if first {
			e.outages.Add(1)
			e.logger.Warn(fmt.Sprintf("trace: exporting spans failed; dropping spans until export works again (reported once): %v", err),
				"spans", n)
		}
		return nil
	}
	e.exported.Add(n)
	e.mu.Lock()
	recovered := e.failing
	e.failing = false
	e.mu.Unlock()
	if recovered {
		e.logger.Info("trace: span export resumed", "lost_spans", e.lost.Load(), "failed_batches", e.failedBatches.Load())
	}
	return nil
}

// Shutdown shuts the wrapped exporter down.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if err := e.next.Shutdown(ctx); err != nil {
		return fmt.Errorf("trace: shutting exporter down: %w", err)
	}
	return nil
}

// Stats returns the Exporter's counters. Safe from any goroutine.
func (e *Exporter) Stats() ExportStats {
	return ExportStats{
		Exported:      e.exported.Load(),
		Lost:          e.lost.Load(),
		FailedBatches: e.failedBatches.Load(),
		Outages:       e.outages.Load(),
	}
}
