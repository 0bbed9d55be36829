package trace_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
	p.exp = trace.NewExporter(otlp, slog.New(slog.NewTextHandler(p.log, nil)))
	res := resource.NewSchemaless(attribute.String("service.name", service))
	p.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(p.exp, bsp...))
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
