// Package trace turns the lifecycle of runtime tasks into OpenTelemetry
// spans, span events and metrics, so that a task workload can be looked at
// in Jaeger or any OpenTelemetry backend.
//
// Install an Observer on a loop:
//
//	obs := trace.New(trace.WithTracerProvider(tp), trace.WithParentContext(ctx))
//	_, err := runtime.Run(ctx, main, runtime.WithObserver(obs))
//
// # Spans
//
// Each task gets one span, from its creation to its end, parented to the
// span of the task that spawned it, so the task tree is the trace tree. A
// loop's main task and tasks sent with Loop.Submit have no parent task: their
// spans are roots, or children of the span in WithParentContext's context
// (pass the context given to Run so that a request span owns the loop's
// work). The span name is the task function without its import path
// ("main.fetch", "app.(*Server).handle.func1"): low-cardinality, unlike task
// names.
//
// # Attributes
//
// Task attributes live in the task.* namespace; the spawn site uses
// OpenTelemetry's code attributes as semantic conventions v1.30+ name them
// (go.opentelemetry.io/otel/semconv/v1.43.0):
//
//   - task.id: the task's id (int).
//   - task.name: its name (Named, or "Task-<id>").
//   - task.parent_id: the parent task's id, set only when the parent's span
//     could not be found (it had ended).
//   - loop.name: the loop's name (runtime.WithName).
//   - code.function.name: the fully qualified function that called Spawn.
//   - code.file.path, code.line.number: the file (absolute) and line of the
//     Spawn call.
//
// The deprecated code.function, code.filepath, code.lineno and
// code.namespace are not written.
//
// # Events
//
// One span event per transition, named as runtime.EventKind prints it:
//
//   - scheduled: the task became ready to run.
//   - started, resumed: a step began (the gap after "scheduled" is the loop's
//     lag).
//   - suspended: a step ended at an await; task.suspended_at (file:line of
//     the user's await call), task.suspended_in (its function),
//     task.awaiting ("sleep(1s)", "gather(3 tasks)") and task.awaits (ids of
//     awaited tasks).
//   - cancel_requested: task.cancel.message.
//   - blocked_loop: a step ran past the slow-step threshold, blocking every
//     other task; blocked.duration_ns, blocked.duration, blocked.stack (the
//     goroutine's stack while it blocked, innermost first, one
//     "function\n\tfile:line" per frame), blocked.at, blocked.function and
//     blocked.call (time.Sleep, say). Its timestamp is when the step began.
//     The runtime reports it before the task's next transition, so it is on
//     the span even for a task's last step, and the span ends when the task
//     ends (the Observer needs no copy of the loop's threshold, and holds
//     nothing open).
//   - finished, failed or cancelled: how the task ended. When it ran more
//     than one step, task.steps and task.busy_ns (time spent running, from
//     the events' times) say how much; a cancelled task's event has
//     task.cancel.message. A failed task also gets an "exception" event
//     (exception.type, exception.message, and exception.stacktrace for a
//     panic) and status Error with the error's text. A cancelled task keeps
//     status Unset: cancellation is not a failure.
//
// The span attributes task.state (failed, cancelled),
// task.cancel.message, task.events.dropped and task.blocked.count are set
// only when they apply.
//
// # What is kept on long-lived tasks
//
// A task that runs for hours makes millions of transitions, and the SDK
// keeps at most 128 events per span by default, silently evicting the
// oldest. The Observer therefore keeps, per span, the first half and the
// last half of a budget of step events (scheduled, started, resumed,
// suspended; WithMaxEventsPerSpan, default 100), up to 8 cancel_requested
// and 8 blocked_loop events, and always the end and exception events: at
// most 118. What it leaves out is counted in the span's
// task.events.dropped attribute and in Stats.EventsDropped; task.steps on
// the end event gives the total number of steps, and the metrics below
// count everything.
//
// # Metrics
//
// Through the MeterProvider (WithMeterProvider), every measurement with
// loop.name: MetricTasks (live tasks by task.state: pending, running,
// cancelling), MetricTasksEnded and MetricTaskDuration (by end state),
// MetricLoopLag (per step: ready to running) and MetricLoopBlocked (steps
// that blocked the loop; its sum is the time the loop was blocked).
//
// # Cost
//
// Everything happens synchronously on the loop goroutine. With no SDK
// installed (the global no-op providers) the Observer starts one no-op span
// per loop's main task and skips the rest: no allocation of its own per
// task, a map lookup per transition (BenchmarkW1Traced/no-sdk against
// BenchmarkW1Traced/untraced). With an SDK, a task that starts and finishes
// at once costs one span, three events and about 17 allocations, most of
// them the SDK's (BenchmarkW1Traced/sdk): on a shared 2-core machine W1 ran
// at 110,000-140,000 task spans per second when it was quiet and down to
// 65,000 under load, 10-15 µs of CPU per task (the GC runs on the second
// core), against about 1.5 µs untraced.
//
// # Exporting: the batch queue and dropped spans
//
// Use the SDK's batch span processor: the loop only enqueues ended spans.
// Its queue (2,048 spans by default) is the trade-off. A burst of spans
// larger than the queue, faster than the exporter drains it, is dropped: in
// BenchmarkW1Jaeger the default queue dropped about 60% of a burst of
// 100,000 task spans sent to a local Jaeger. A queue of 262,144 absorbed the
// burst without drops, at the price of holding up to that many ended spans
// (about 1 KB each) in memory while the exporter catches up.
// sdktrace.WithBlocking never drops but makes the loop wait for the
// exporter, which an Observer must not do; avoid it.
//
// Build the batch processor with Exporter.Batcher: it is the SDK's, and
// the Exporter counts every span that ends as exported, lost in a failed
// export, or dropped by the queue (ExportStats), as ExampleNewExporter
// shows:
//
//	exp := trace.NewExporter(otlpExporter, nil)
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(exp.Batcher(
//		sdktrace.WithMaxQueueSize(1<<18), sdktrace.WithMaxExportBatchSize(4096))))
//
// Exporter also bounds each export (DefaultExportTimeout) and the
// provider's Shutdown (DefaultShutdownTimeout, less when the backend fails
// or stalls then), reports an unreachable or silent backend once per
// outage rather than once per batch (a backend that accepts connections
// and never answers within DefaultStallWarning), reports the first spans
// the queue drops, logs when export resumes, and at Shutdown logs how many
// spans were not exported.
//
// # Jaeger
//
// Jaeger v1 reached its end of life on 2025-12-31; the docs and tests target
// Jaeger v2. scripts/jaeger.sh start builds the module tag v1.76.0 of
// github.com/jaegertracing/jaeger/cmd/jaeger from the Go module proxy
// (tools/jaeger), which is the Jaeger v2 binary (the OpenTelemetry
// Collector based one; v2 releases are tagged v1.x on the module proxy), and
// runs it on 127.0.0.1 only: OTLP/HTTP on 4318, OTLP/gRPC
// on 4317, the query API on 16686, in-memory storage. The integration tests
// of this package (TestJaeger*, BenchmarkW1Jaeger) use it and are skipped
// when it is not running. examples/jaeger exports a small workload to
// OTEL_EXPORTER_OTLP_ENDPOINT (default http://127.0.0.1:4318).
package trace
