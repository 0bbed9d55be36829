package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporter wraps a span exporter so that a backend that is unreachable, or
// that accepts connections and never answers, is reported once per outage
// instead of once per batch; it bounds how long an export may take, and
// counts every span: exported, lost in a failed export, or dropped by the
// batch queue. Build the batch processor with Exporter.Batcher, which puts
// the SDK's batch span processor in front of it:
//
//	exp := trace.NewExporter(otlpExporter, nil)
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(
//		exp.Batcher(sdktrace.WithMaxQueueSize(1<<18), sdktrace.WithMaxExportBatchSize(4096))))
//	defer tp.Shutdown(ctx) // at most DefaultShutdownTimeout
//
// Each export is given at most the export timeout (WithExportTimeout,
// default DefaultExportTimeout). When an export has had no answer after the
// stall threshold (WithStallWarning, default DefaultStallWarning), or when
// it fails, a warning is logged at Warn level, once per outage; later
// failures are only counted. A failed batch is lost (the batch processor
// does not retry, and Exporter does not either), and nil is returned so
// that the SDK does not log it again through otel.Handle. The first success
// after a failure is logged at Info level with the spans lost so far. The
// first time the batch queue is known to have dropped spans (it is full
// because the exporter does not keep up), that is logged once as well. The
// workload is never slowed down: export runs on the batch processor's
// goroutine.
//
// Spans given to it through sdktrace.WithBatcher instead of Batcher are
// exported, bounded and reported the same way, but the spans that queue
// dropped are not counted (ExportStats.Ended and Dropped stay 0) and
// shutting down is not bounded.
//
// Create it with NewExporter; the zero Exporter is not usable. Its methods
// are safe for concurrent use; the wrapper costs an atomic addition per
// ended span and a lock, a context and a timer per batch.
type Exporter struct {
	next   sdktrace.SpanExporter
	logger *slog.Logger
	cfg    exporterConfig

	// abortCtx is cancelled when Batcher's Shutdown gives up on the
	// backend: the export in flight is cancelled and later ones fail at
	// once.
	abortCtx context.Context
	abort    context.CancelCauseFunc

	batcher      atomic.Bool   // Batcher was called
	shuttingDown atomic.Bool   // Batcher's Shutdown has begun
	final        atomic.Bool   // the batch processor is done: Dropped is exact
	closed       chan struct{} // closed when Shutdown is called (after the processor's last export)
	closeOnce    sync.Once

	ended atomic.Uint64 // spans Batcher handed to the batch processor

	mu            sync.Mutex // serialises the counters below and the outage state
	failing       bool
	dropWarned    bool
	inFlight      int    // exports running
	limit         uint64 // spans the batch processor can hold: queue + batch + 1
	handed        uint64
	exported      uint64
	lost          uint64
	failedBatches uint64
	outages       uint64
	stalls        uint64
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// Defaults of the Exporter's bounds.
const (
	// DefaultExportTimeout bounds one export (WithExportTimeout).
	DefaultExportTimeout = 5 * time.Second
	// DefaultStallWarning is how long an export may go unanswered before
	// the stall is reported (WithStallWarning).
	DefaultStallWarning = 2 * time.Second
	// DefaultShutdownTimeout bounds the Shutdown of the processor made by
	// Batcher (WithShutdownTimeout).
	DefaultShutdownTimeout = 5 * time.Second
)

// ExporterOption configures an Exporter (NewExporter).
type ExporterOption func(*exporterConfig)

type exporterConfig struct {
	exportTimeout   time.Duration
	stallAfter      time.Duration
	shutdownTimeout time.Duration
}

// WithExportTimeout bounds each export: the context given to the wrapped
// exporter expires after d, and the batch is lost. The default, or d <= 0,
// is DefaultExportTimeout. The batch processor's own export timeout
// (sdktrace.WithExportTimeout, default 30 s) applies too.
func WithExportTimeout(d time.Duration) ExporterOption {
	return func(c *exporterConfig) { c.exportTimeout = d }
}

// WithStallWarning sets how long an export may go unanswered before the
// outage is reported (once), before the export times out. The default, or
// d <= 0, is DefaultStallWarning; a d above the export timeout reports only
// the timeout.
func WithStallWarning(d time.Duration) ExporterOption {
	return func(c *exporterConfig) { c.stallAfter = d }
}

// WithShutdownTimeout bounds the Shutdown of the processor made by Batcher,
// whatever the context given to it: when d has passed, the export in flight
// is cancelled, the spans still queued are dropped, and Shutdown returns an
// error. The default, or d <= 0, is DefaultShutdownTimeout.
func WithShutdownTimeout(d time.Duration) ExporterOption {
	return func(c *exporterConfig) { c.shutdownTimeout = d }
}

// ExportStats are an Exporter's counters. Once the processor made by
// Batcher has shut down, Ended = Exported + Lost + Dropped; before that,
// Ended = Exported + Lost + Dropped + Pending.
type ExportStats struct {
	// Ended is the number of sampled spans that ended and went to the
	// processor made by Batcher (0 without Batcher).
	Ended uint64
	// Exported is the number of spans the wrapped exporter accepted.
	Exported uint64
	// Lost is the number of spans in batches whose export failed, timed
	// out, or was cancelled by the shutdown deadline.
	Lost uint64
	// Dropped is the number of ended spans that never reached the
	// exporter: the batch queue was full, they were still queued when the
	// shutdown deadline passed, or they ended after Shutdown. Before the
	// processor has shut down the count is a lower bound: spans may be
	// dropped while the queue holds others, and only how many the queue
	// can hold is known. It is exact after Shutdown. 0 without Batcher.
	Dropped uint64
	// Pending is the number of ended spans still queued or being exported,
	// at most the queue size plus two batches; 0 after Shutdown.
	Pending uint64
	// FailedBatches is the number of failed exports.
	FailedBatches uint64
	// Stalls is the number of exports that had no answer within the stall
	// threshold (WithStallWarning).
	Stalls uint64
	// Outages is the number of times export went from working (or the
	// start) to failing or stalled: each was logged once.
	Outages uint64
}

// NewExporter returns next wrapped as described on Exporter, logging to
// logger (nil means slog.Default()) and configured by opts.
func NewExporter(next sdktrace.SpanExporter, logger *slog.Logger, opts ...ExporterOption) *Exporter {
	if logger == nil {
		logger = slog.Default()
	}
	var cfg exporterConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.exportTimeout <= 0 {
		cfg.exportTimeout = DefaultExportTimeout
	}
	if cfg.stallAfter <= 0 {
		cfg.stallAfter = DefaultStallWarning
	}
	if cfg.shutdownTimeout <= 0 {
		cfg.shutdownTimeout = DefaultShutdownTimeout
	}
	e := &Exporter{next: next, logger: logger, cfg: cfg, closed: make(chan struct{})}
	e.abortCtx, e.abort = context.WithCancelCause(context.Background())
	return e
}

// errGaveUp is why exports fail once the shutdown deadline passed or the
// backend failed during shutdown.
var errGaveUp = errors.New("span export abandoned at shutdown")

// ExportSpans exports spans through the wrapped exporter, giving it at most
// the export timeout; see Exporter for what happens on failure. It always
// returns nil.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := uint64(len(spans))
	e.mu.Lock()
	e.handed += n
	e.inFlight++
	e.mu.Unlock()
	if e.abortCtx.Err() != nil {
		// Shutting down and the backend is gone: do not try.
		e.failed(n, context.Cause(e.abortCtx), new(export))
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.exportTimeout)
	defer cancel()
	stopAbort := context.AfterFunc(e.abortCtx, cancel)
	defer stopAbort()
	ex := new(export) // guarded by mu
	if e.cfg.stallAfter < e.cfg.exportTimeout {
		stall := time.AfterFunc(e.cfg.stallAfter, func() { e.stalled(ex) })
		defer stall.Stop()
	}
	err := e.next.ExportSpans(ctx, spans)
	if err != nil {
		if cause := context.Cause(e.abortCtx); cause != nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		e.failed(n, err, ex)
		return nil
	}
	e.mu.Lock()
	ex.done = true
	e.inFlight--
	e.exported += n
	recovered := e.failing
	e.failing = false
	lost, failed := e.lost, e.failedBatches
	e.mu.Unlock()
	if recovered {
		e.logger.Info("trace: span export resumed", "lost_spans", lost, "failed_batches", failed)
	}
	e.warnDrops()
	return nil
}

// export is one call of ExportSpans, for its stall timer.
type export struct {
	done bool // it returned: too late to call it stalled
}

// failed counts a failed export of n spans and reports it if it begins an
// outage. During Batcher's Shutdown a failure abandons the exports left.
func (e *Exporter) failed(n uint64, err error, ex *export) {
	e.mu.Lock()
	ex.done = true
	e.inFlight--
	e.lost += n
	e.failedBatches++
	first := !e.failing
	e.failing = true
	if first {
		e.outages++
	}
	e.mu.Unlock()
	if first {
		e.logger.Warn(fmt.Sprintf("trace: exporting spans failed; dropping spans until export works again (reported once): %v", err),
			"spans", n)
	}
	if e.shuttingDown.Load() {
		e.abort(fmt.Errorf("%w after an export failed", errGaveUp))
	}
	e.warnDrops()
}

// stalled runs when an export has had no answer within the stall
// threshold.
func (e *Exporter) stalled(ex *export) {
	e.mu.Lock()
	if ex.done {
		e.mu.Unlock()
		return
	}
	e.stalls++
	first := !e.failing
	e.failing = true
	if first {
		e.outages++
	}
	e.mu.Unlock()
	if first {
		e.logger.Warn(fmt.Sprintf("trace: span export has had no answer for %v; spans queue up and are dropped when the queue is full (reported once; each export gives up after %v)",
			e.cfg.stallAfter, e.cfg.exportTimeout))
	}
	if e.shuttingDown.Load() {
		e.abort(fmt.Errorf("%w: an export had no answer for %v", errGaveUp, e.cfg.stallAfter))
	}
}

// warnDrops logs, once, that the batch queue has dropped spans.
func (e *Exporter) warnDrops() {
	if !e.batcher.Load() || e.shuttingDown.Load() {
		return // Shutdown reports what was not exported
	}
	st := e.Stats()
	if st.Dropped == 0 {
		return
	}
	e.mu.Lock()
	first := !e.dropWarned
	e.dropWarned = true
	limit := e.limit
	e.mu.Unlock()
	if first {
		e.logger.Warn("trace: the span queue is full and drops spans; see Exporter.Stats (reported once)",
			"dropped_at_least", st.Dropped, "queue_and_batch", limit)
	}
}

// Shutdown shuts the wrapped exporter down. The batch processor calls it
// after its last export.
func (e *Exporter) Shutdown(ctx context.Context) error {
	defer e.closeOnce.Do(func() { close(e.closed) })
	if err := e.next.Shutdown(ctx); err != nil {
		return fmt.Errorf("trace: shutting exporter down: %w", err)
	}
	return nil
}

// Stats returns the Exporter's counters, a consistent snapshot. Safe from
// any goroutine.
func (e *Exporter) Stats() ExportStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := ExportStats{
		Exported:      e.exported,
		Lost:          e.lost,
		FailedBatches: e.failedBatches,
		Stalls:        e.stalls,
		Outages:       e.outages,
	}
	if !e.batcher.Load() {
		return st
	}
	// A span is counted as ended once the processor has it, so a span
	// still on its way in is not counted yet (which keeps Dropped a lower
	// bound), and one may be handed over before it is counted.
	st.Ended = e.ended.Load()
	queued := st.Ended - min(e.handed, st.Ended) // in the processor, or dropped by it
	switch {
	case e.final.Load():
		st.Dropped = queued
	case queued > e.limit:
		st.Dropped = queued - e.limit
	}
	if done := st.Exported + st.Lost + st.Dropped; done < st.Ended {
		st.Pending = st.Ended - done
	}
	return st
}
