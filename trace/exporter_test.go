package trace_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskdump/taskdump/internal/syncbuf"
	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

// syncBuffer is a buffer for a logger written by the batch processor's
// goroutine and read by the test.
type syncBuffer = syncbuf.Buffer

// freePort returns a loopback port that nothing listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// listen listens on a port, retrying for a while in case the port is still
// being released.
func listen(t testing.TB, port int) net.Listener {
	t.Helper()
	var err error
	for range 100 {
		var l net.Listener
		if l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("listen on %d: %v", port, err)
	return nil
}

// pipeline is an OTLP/HTTP export pipeline to 127.0.0.1:port.
type pipeline struct {
	tp     *sdktrace.TracerProvider
	exp    *trace.Exporter
	client *http.Client
	log    *syncBuffer
}

// newPipeline builds the pipeline; bsp replaces the tests' small batches.
func newPipeline(t testing.TB, port int, service string, bsp ...sdktrace.BatchSpanProcessorOption) *pipeline {
	t.Helper()
	return newPipelineWith(t, port, service, nil, bsp...)
}

// newPipelineWith builds the pipeline with an Exporter configured by opts.
func newPipelineWith(t testing.TB, port int, service string, opts []trace.ExporterOption, bsp ...sdktrace.BatchSpanProcessorOption) *pipeline {
	t.Helper()
	if bsp == nil {
		bsp = []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxExportBatchSize(16), sdktrace.WithMaxQueueSize(4096)}
	}
	p := &pipeline{client: &http.Client{Transport: &http.Transport{}}, log: &syncBuffer{}}
	otlp, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpoint(fmt.Sprintf("127.0.0.1:%d", port)),
		otlptracehttp.WithInsecure(),
		otlptracehttp.WithHTTPClient(p.client),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
		otlptracehttp.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	p.exp = trace.NewExporter(otlp, slog.New(slog.NewTextHandler(p.log, nil)), opts...)
	res := resource.NewSchemaless(attribute.String("service.name", service))
	p.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(p.exp.Batcher(bsp...)))
	return p
}

func (p *pipeline) close(t testing.TB) {
	t.Helper()
	if err := p.tp.Shutdown(context.Background()); err != nil {
		t.Errorf("tp.Shutdown: %v", err)
	}
	p.client.CloseIdleConnections()
}

// workload runs a loop with n small tasks under a main task named name and
// flushes the pipeline; it fails the test if the workload does not finish.
func (p *pipeline) workload(t *testing.T, name string, n int) {
	t.Helper()
	obs := trace.New(trace.WithTracerProvider(p.tp))
	got, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ts := make([]*runtime.Task[int], n)
		for i := range ts {
			ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, runtime.Yield(ctx) })
		}
		rs, err := runtime.Gather(ctx, ts...)
		return len(rs), err
	}, runtime.WithObserver(obs), runtime.WithName(name))
	if err != nil || got != n {
		t.Fatalf("workload %s: got %d, %v; want %d, nil", name, got, err, n)
	}
	if err := p.tp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
}

// otlpSink is the smallest OTLP/HTTP receiver: it accepts every export
// request and counts them.
func otlpSink(l net.Listener) (*http.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(l)
	return srv, &n
}

// TestExportFailureReportedOnce exports to a port where nothing listens: the
// workload runs normally, the failure is logged once for many failed
// batches, and export resumes when a receiver appears there.
func TestExportFailureReportedOnce(t *testing.T) {
	port := freePort(t)
	p := newPipeline(t, port, "taskdump-trace-fault")
	defer p.close(t)

	const n = 100 // 101 spans, 7 batches of at most 16
	p.workload(t, "down", n)
	st := p.exp.Stats()
	if st.FailedBatches < 2 || st.Lost != n+1 || st.Exported != 0 || st.Outages != 1 {
		t.Errorf("while down: %+v; want several failed batches, %d lost, none exported, 1 outage", st, n+1)
	}
	if got := strings.Count(p.log.String(), "exporting spans failed"); got != 1 {
		t.Errorf("failure logged %d times for %d failed batches, want once:\n%s", got, st.FailedBatches, p.log)
	}

	srv, requests := otlpSink(listen(t, port))
	defer srv.Close()
	p.workload(t, "up", n)
	st = p.exp.Stats()
	if st.Exported != n+1 || requests.Load() == 0 {
		t.Errorf("after recovery: %+v with %d requests; want %d spans exported", st, requests.Load(), n+1)
	}
	if got := strings.Count(p.log.String(), "span export resumed"); got != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", got, p.log)
	}
	if got := strings.Count(p.log.String(), "exporting spans failed"); got != 1 {
		t.Errorf("failure logged %d times in all, want once:\n%s", got, p.log)
	}
}

// hangingListener accepts connections, reads what they send and never
// answers: an OTLP endpoint that hangs.
type hangingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newHangingListener(t testing.TB) *hangingListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingListener{Listener: l}
	h.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			h.wg.Go(func() { io.Copy(io.Discard, c) })
		}
	})
	return h
}

func (h *hangingListener) port() int { return h.Addr().(*net.TCPAddr).Port }

func (h *hangingListener) close() {
	h.Close()
	h.mu.Lock()
	for _, c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// TestExportStalledEndpoint exports to an endpoint that accepts connections
// and never answers: the stall is reported once within a few seconds, the
// spans the full queue drops are counted while it lasts, every span is
// accounted for after Shutdown, and Shutdown is bounded.
func TestExportStalledEndpoint(t *testing.T) {
	h := newHangingListener(t)
	defer h.close()
	const queue, batch = 64, 16
	p := newPipeline(t, h.port(), "taskdump-trace-stall",
		sdktrace.WithMaxQueueSize(queue), sdktrace.WithMaxExportBatchSize(batch))
	defer p.client.CloseIdleConnections()

	const n = 1000 // 1001 spans
	obs := trace.New(trace.WithTracerProvider(p.tp))
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ts := make([]*runtime.Task[int], n)
		for i := range ts {
			ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, runtime.Yield(ctx) })
		}
		_, err := runtime.Gather(ctx, ts...)
		return 0, err
	}, runtime.WithObserver(obs), runtime.WithName("stall"))
	if err != nil {
		t.Fatalf("workload: %v", err)
	}
	ended := obs.Stats().Spans

	// The first batch filled at once and its export hangs: the stall is
	// reported after DefaultStallWarning (2s); allow a slow machine more.
	waitFor(t, 30*time.Second, "the stall warning", func() bool {
		return strings.Contains(p.log.String(), "span export has had no answer")
	})
	st := p.exp.Stats()
	if st.Ended != ended || st.Exported != 0 || st.Stalls == 0 || st.Outages != 1 {
		t.Errorf("while stalled: %+v; want %d ended, none exported, a stall, 1 outage", st, ended)
	}
	// The processor holds at most the queue, a batch and the export in
	// flight: the rest is already counted as dropped.
	if least := ended - queue - 3*batch - 1 - st.Lost; st.Dropped < least {
		t.Errorf("while stalled: %d dropped, want at least %d (%+v)", st.Dropped, least, st)
	}
	t.Logf("while stalled: %+v", st)
	if sum := st.Exported + st.Lost + st.Dropped + st.Pending; sum != st.Ended {
		t.Errorf("while stalled: exported+lost+dropped+pending = %d, want ended = %d (%+v)", sum, st.Ended, st)
	}

	start := time.Now()
	err = p.tp.Shutdown(context.Background())
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("tp.Shutdown = %v, want an error saying export was abandoned", err)
	}
	// The code's bound is DefaultShutdownTimeout (5s) and it gives up at
	// the first stall (2s); the test's bound is generous.
	if took > 10*time.Second {
		t.Errorf("tp.Shutdown took %v, want it bounded (5s)", took)
	}
	st = p.exp.Stats()
	t.Logf("shutdown took %v: %v; %+v", took, err, st)
	if st.Ended != ended || st.Exported != 0 || st.Pending != 0 || st.Lost+st.Dropped != ended {
		t.Errorf("after shutdown: %+v; want all %d ended spans lost or dropped, none pending", st, ended)
	}
	log := p.log.String()
	for _, want := range []string{"span export has had no answer", fmt.Sprintf("%d of %d spans were not exported", ended, ended)} {
		if got := strings.Count(log, want); got != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", want, got, log)
		}
	}
	if strings.Contains(log, "exporting spans failed") {
		t.Errorf("the stall's later failures were logged again:\n%s", log)
	}
}

// TestExportShutdownDeadline shuts down while an export hangs and no stall
// has been seen (the stall warning is off): Shutdown gives up at its
// deadline, cancelling the export, and the spans are counted as lost.
func TestExportShutdownDeadline(t *testing.T) {
	h := newHangingListener(t)
	defer h.close()
	p := newPipelineWith(t, h.port(), "taskdump-trace-deadline",
		[]trace.ExporterOption{trace.WithStallWarning(time.Hour), trace.WithShutdownTimeout(time.Second), trace.WithExportTimeout(time.Minute)})
	defer p.client.CloseIdleConnections()
	_, sp := p.tp.Tracer("test").Start(context.Background(), "one")
	sp.End()

	start := time.Now()
	err := p.tp.Shutdown(context.Background())
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Errorf("tp.Shutdown = %v, want an error saying it timed out after 1s", err)
	}
	if took > 8*time.Second {
		t.Errorf("tp.Shutdown took %v, want about 1s", took)
	}
	if st := p.exp.Stats(); st.Ended != 1 || st.Lost != 1 || st.Exported+st.Dropped+st.Pending != 0 || st.Stalls != 0 {
		t.Errorf("after shutdown: %+v; want the one span lost, no stall", st)
	}
	if log := p.log.String(); !strings.Contains(log, "1 of 1 spans were not exported") {
		t.Errorf("the loss is not reported:\n%s", log)
	}
}

// TestExportStatsAddUp checks the accounting against a healthy receiver
// and a queue too small for a burst: what the queue drops is counted, and
// after Shutdown ended = exported + dropped.
func TestExportStatsAddUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := otlpSink(l)
	defer srv.Close()
	p := newPipeline(t, l.Addr().(*net.TCPAddr).Port, "taskdump-trace-addup",
		sdktrace.WithMaxQueueSize(8), sdktrace.WithMaxExportBatchSize(4))
	p.workload(t, "burst", 2000)
	p.close(t)
	st := p.exp.Stats()
	if st.Ended != 2001 || st.Exported+st.Dropped != st.Ended || st.Lost != 0 || st.Pending != 0 {
		t.Errorf("%+v; want 2001 ended = exported + dropped, none lost or pending", st)
	}
	if st.Dropped > 0 && strings.Count(p.log.String(), "span queue is full") != 1 {
		t.Errorf("%d dropped spans not reported once:\n%s", st.Dropped, p.log)
	}
	t.Logf("%+v", st)
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, limit)
		}
	}
}

// TestBatcherTwicePanics: one Exporter counts the spans of one processor.
func TestBatcherTwicePanics(t *testing.T) {
	exp := trace.NewExporter(tracetest.NewNoopExporter(), quiet)
	bsp := exp.Batcher()
	defer bsp.Shutdown(context.Background())
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "trace: ") {
			t.Errorf("second Batcher: recovered %v, want a panic prefixed with trace:", r)
		}
	}()
	exp.Batcher()
}
