package trace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Batcher returns the SDK's batch span processor exporting to e, configured
// by opts as sdktrace.WithBatcher(e, opts...) would be, wrapped so that e
// counts every span that ends (ExportStats.Ended) and so what the queue
// drops (ExportStats.Dropped), and so that its Shutdown is bounded (see
// WithShutdownTimeout). Install it with sdktrace.WithSpanProcessor. Call it
// once per Exporter; a second call panics.
//
// Shutdown stops accepting spans (later ones are counted as dropped) and
// exports what is queued. If an export fails or stalls during Shutdown, or
// one is already hanging on a failing backend when it begins, or the
// shutdown timeout passes, it gives up: the export in flight is cancelled,
// the spans left are counted as lost or dropped, the loss is logged once,
// and Shutdown returns an error saying why. When Shutdown returns, ExportStats are
// final, and the processor's goroutine has ended (unless the wrapped
// exporter ignores its context). ForceFlush is the SDK's, bounded only by
// its context (and each export by the export timeout).
func (e *Exporter) Batcher(opts ...sdktrace.BatchSpanProcessorOption) sdktrace.SpanProcessor {
	if e.batcher.Swap(true) {
		panic("trace: Exporter.Batcher called twice on one Exporter")
	}
	// The queue and batch sizes, as the SDK computes them, passed to it
	// explicitly so that the bound on what it holds is known.
	o := sdktrace.BatchSpanProcessorOptions{
		MaxQueueSize:       envInt("OTEL_BSP_MAX_QUEUE_SIZE", sdktrace.DefaultMaxQueueSize),
		MaxExportBatchSize: envInt("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", sdktrace.DefaultMaxExportBatchSize),
	}
	if o.MaxExportBatchSize > o.MaxQueueSize {
		o.MaxExportBatchSize = min(sdktrace.DefaultMaxExportBatchSize, o.MaxQueueSize)
	}
	for _, opt := range opts {
		opt(&o)
	}
	o.MaxQueueSize = max(o.MaxQueueSize, 1)
	o.MaxExportBatchSize = max(o.MaxExportBatchSize, 1)
	// The processor holds at most a full queue and a batch, plus the span
	// its goroutine took from the queue while a flush exports.
	e.mu.Lock()
	e.limit = uint64(o.MaxQueueSize) + uint64(o.MaxExportBatchSize) + 1
	e.mu.Unlock()
	opts = append(opts[:len(opts):len(opts)],
		sdktrace.WithMaxQueueSize(o.MaxQueueSize), sdktrace.WithMaxExportBatchSize(o.MaxExportBatchSize))
	return &batcher{e: e, bsp: sdktrace.NewBatchSpanProcessor(e, opts...)}
}

// closeWait is how long Shutdown waits, past its deadline, for the batch
// processor's goroutine to finish once every export fails at once.
const closeWait = time.Second

// envInt reads an integer environment variable as the SDK does.
func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

// batcher counts the spans it hands to the SDK's batch span processor and
// bounds its Shutdown.
type batcher struct {
	e    *Exporter
	bsp  sdktrace.SpanProcessor
	once sync.Once
	err  error
}

var _ sdktrace.SpanProcessor = (*batcher)(nil)

func (b *batcher) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) { b.bsp.OnStart(ctx, s) }

// OnEnd counts a sampled span and hands it to the batch processor, or
// counts it as dropped after Shutdown.
func (b *batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return // the batch processor ignores it too
	}
	if !b.e.shuttingDown.Load() {
		b.bsp.OnEnd(s) // otherwise it is counted as dropped: never handed over
	}
	// Counted once the processor has it (see Exporter.Stats).
	b.e.ended.Add(1)
}

func (b *batcher) ForceFlush(ctx context.Context) error { return b.bsp.ForceFlush(ctx) }

// Shutdown shuts the batch processor down within the shutdown timeout; see
// Exporter.Batcher.
func (b *batcher) Shutdown(ctx context.Context) error {
	b.once.Do(func() { b.err = b.shutdown(ctx) })
	return b.err
}

func (b *batcher) shutdown(ctx context.Context) error {
	e := b.e
	e.shuttingDown.Store(true)
	e.mu.Lock()
	stuck := e.failing && e.inFlight > 0
	e.mu.Unlock()
	if stuck {
		// An export is already hanging on a failing backend.
		e.abort(fmt.Errorf("%w: the backend was failing", errGaveUp))
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, e.cfg.shutdownTimeout)
	defer cancel()
	expired := func() {
		if parent.Err() != nil {
			e.abort(fmt.Errorf("%w: %w", errGaveUp, context.Cause(parent)))
		} else {
			e.abort(fmt.Errorf("%w: shutdown timed out after %v", errGaveUp, e.cfg.shutdownTimeout))
		}
	}
	stop := context.AfterFunc(ctx, expired)
	err := b.bsp.Shutdown(ctx)
	stop()
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		expired() // in case stop came before the AfterFunc ran
		err = nil // the abort's cause says it
	}
	if gaveUp := context.Cause(e.abortCtx); gaveUp != nil {
		err = errors.Join(gaveUp, err)
	}
	if err != nil {
		err = fmt.Errorf("trace: shutting span export down: %w", err)
	}
	// Past the deadline every export fails at once, so the processor's
	// goroutine ends promptly, closing the exporter last; then the counts
	// are final. An exporter that ignores its context may hold it longer.
	e.abort(errGaveUp)
	select {
	case <-e.closed:
		e.final.Store(true)
	case <-time.After(closeWait):
	}
	if st := e.Stats(); st.Lost+st.Dropped > 0 {
		e.logger.Warn(fmt.Sprintf("trace: %d of %d spans were not exported", st.Lost+st.Dropped, st.Ended),
			"exported", st.Exported, "lost_in_failed_exports", st.Lost, "dropped_by_queue", st.Dropped)
	}
	return err
}
