// Command jaeger runs a small crawler-like task workload with tracing on and
// exports it over OTLP/HTTP, so that the task tree can be looked at in
// Jaeger.
//
// Start Jaeger (see the README section "View traces in Jaeger"), then:
//
//	go run ./examples/jaeger
//
// It prints the trace id and where to find it. Every task is a span: the
// request span "crawl" owns the loop's main task, which spawns one fetch
// task per page; each fetch spawns a parse task. Each span carries an event
// per transition (scheduled, started, suspended with where and on what,
// resumed, finished). One fetch fails (status Error, with an exception
// event), one is cancelled by WaitFor's timeout (cancel_requested with its
// message, then cancelled), and one parse blocks the loop with time.Sleep
// (a blocked_loop event with the stack, showing time.Sleep under the task).
//
// The standard OpenTelemetry environment variables choose where spans go:
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (default http://127.0.0.1:4318, Jaeger's OTLP/HTTP port) and
// OTEL_SERVICE_NAME (default taskdump-example). If nothing listens there the
// workload still runs; the export failure is logged once. If something
// listens and never answers, that is logged after 2s and the program still
// exits within 5s (trace.DefaultShutdownTimeout), saying how many spans were
// not exported.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

func main() {
	ctx := context.Background()
	exp, err := newExporter(ctx)
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(newResource()),
		sdktrace.WithSpanProcessor(exp.Batcher(sdktrace.WithMaxQueueSize(1<<18), sdktrace.WithMaxExportBatchSize(4096))))
	id, err := crawl(ctx, tp)
	if err != nil {
		log.Print(err)
	}
	// Shutdown flushes every span, or gives up within 5s when the endpoint
	// fails or does not answer.
	if err := tp.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	st := exp.Stats()
	fmt.Printf("trace %s: %d spans exported, %d lost, %d dropped\n", id, st.Exported, st.Lost, st.Dropped)
	if st.Exported > 0 {
		fmt.Printf("Jaeger UI:  http://127.0.0.1:16686/trace/%s (official image or release binary)\n", id)
		fmt.Printf("Jaeger API: curl -s http://127.0.0.1:16686/api/traces/%s\n", id)
	} else {
		fmt.Println("nothing exported: is Jaeger running? (scripts/jaeger.sh start)")
	}
}

// newExporter returns the OTLP/HTTP exporter configured by the
// OTEL_EXPORTER_OTLP_* variables, defaulting to Jaeger on loopback, wrapped
// so that an unreachable endpoint is reported once.
func newExporter(ctx context.Context) (*trace.Exporter, error) {
	var opts []otlptracehttp.Option
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		opts = append(opts, otlptracehttp.WithEndpointURL("http://127.0.0.1:4318/v1/traces"))
	}
	otlp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("jaeger example: %w", err)
	}
	return trace.NewExporter(otlp, nil), nil
}

// newResource names the service: OTEL_SERVICE_NAME, or taskdump-example.
func newResource() *resource.Resource {
	if os.Getenv("OTEL_SERVICE_NAME") != "" {
		return resource.Default()
	}
	r, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", "taskdump-example")))
	if err != nil {
		return resource.Default()
	}
	return r
}

var pages = []string{"/", "/about", "/blog", "/missing", "/slow", "/heavy"}

// crawl runs the workload under a request span and returns its trace id.
func crawl(ctx context.Context, tp oteltrace.TracerProvider) (oteltrace.TraceID, error) {
	ctx, req := tp.Tracer("taskdump-example").Start(ctx, "crawl")
	defer req.End()
	obs := trace.New(trace.WithTracerProvider(tp), trace.WithParentContext(ctx))
	_, err := runtime.Run(ctx, func(ctx context.Context) (int, error) {
		tasks := make([]*runtime.Task[int], len(pages))
		for i, p := range pages {
			tasks[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				return runtime.WaitFor(ctx, 200*time.Millisecond, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					return fetch(ctx, p)
				}, runtime.Named("fetch "+p)))
			}, runtime.Named("page "+p))
		}
		return 0, errors.Join(resultErrs(runtime.GatherAll(ctx, tasks...))...)
	}, runtime.WithObserver(obs), runtime.WithName("crawler"))
	return req.SpanContext().TraceID(), err
}

func resultErrs(rs []runtime.Result[int], _ error) []error {
	var errs []error
	for _, r := range rs {
		if r.Err != nil && !errors.Is(r.Err, runtime.ErrTimeout) {
			errs = append(errs, r.Err)
		}
	}
	return errs
}

var errNotFound = errors.New("404 not found")

// fetch pretends to download a page, then parses it in a child task.
func fetch(ctx context.Context, page string) (int, error) {
	delay := 20 * time.Millisecond
	switch page {
	case "/missing":
		if err := runtime.Sleep(ctx, delay); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("fetch %s: %w", page, errNotFound)
	case "/slow":
		delay = time.Hour // WaitFor cancels it after 200ms
	}
	if err := runtime.Sleep(ctx, delay); err != nil {
		return 0, err
	}
	parse := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
		if page == "/heavy" {
			// The deliberate misuse whose blocked_loop event the trace shows.
			//taskvet:ignore deliberate: this example demonstrates a blocked loop in Jaeger
			time.Sleep(150 * time.Millisecond) // blocks the loop: use runtime.ToThread
		}
		return len(page), runtime.Yield(ctx)
	}, runtime.Named("parse "+page))
	return parse.Await(ctx)
}
