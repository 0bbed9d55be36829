package trace

import (
	"context"

	"go.opentelemetry.io/otel/metric"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// Option configures an Observer (New). Options are applied in order; a later
// option overrides an earlier one.
type Option func(*config)

type config struct {
	tp        oteltrace.TracerProvider
	mp        metric.MeterProvider
	parent    context.Context
	maxEvents int
}

// DefaultMaxEventsPerSpan is the default budget of step events (scheduled,
// started, resumed, suspended) recorded on one task's span: the first half
// and the most recent half are kept, the rest are counted. Together with the
// events that are always or separately kept (at most 8 cancel_requested, 8
// blocked_loop, the end event and an exception) a span never carries more
// than 118 events, under the SDK's default limit of 128.
const DefaultMaxEventsPerSpan = 100

// WithTracerProvider sets where task spans go. The default, or nil, is the
// global provider, otel.GetTracerProvider(): until a program installs an SDK
// there, spans are non-recording and the Observer only does bookkeeping.
func WithTracerProvider(tp oteltrace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where the task metrics go. The default, or nil, is
// the global provider, otel.GetMeterProvider(): until a program installs an
// SDK there, no measurement is taken.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithParentContext parents the span of every task that has no parent task
// (a loop's main task and tasks sent with Loop.Submit) to the span found in
// ctx, so that a request span can own a loop's work. Use the same ctx that
// is given to runtime.Run:
//
//	obs := trace.New(trace.WithParentContext(ctx))
//	runtime.Run(ctx, main, runtime.WithObserver(obs))
//
// Only ctx's span context is used; its cancellation is ignored. The default
// (or nil) is context.Background(): those tasks start new traces. A span in
// the context given to runtime.Run itself takes precedence (the runtime
// hands it to the observer with the main task's TaskCreated event), so this
// option is needed only for tasks sent with Loop.Submit.
func WithParentContext(ctx context.Context) Option {
	return func(c *config) { c.parent = ctx }
}

// WithMaxEventsPerSpan sets the budget of step events per task span
// (default DefaultMaxEventsPerSpan). A task that makes more transitions keeps
// the first n/2 and the last n/2 of them; the number left out is in the
// span's task.events.dropped attribute and Stats. Keep n+18 at most the
// SDK's span event limit (sdktrace.SpanLimits.EventCountLimit, default 128),
// or the SDK itself drops the oldest events. n < 2 records no step events.
func WithMaxEventsPerSpan(n int) Option {
	return func(c *config) { c.maxEvents = max(n, 0) }
}
