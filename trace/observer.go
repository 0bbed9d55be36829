package trace

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/taskdump/taskdump/runtime"
)

// instrumentationName names the tracer and the meter.
const instrumentationName = "github.com/taskdump/taskdump/trace"

// Observer turns the lifecycle transitions of tasks into OpenTelemetry spans,
// span events and metrics. Install it with runtime.WithObserver; one Observer
// may serve several loops at once. Create it with New; the zero Observer is
// not usable.
//
// All of its work happens synchronously on the loop goroutine: starting a
// span, adding an event per transition and ending the span. With an SDK
// installed that costs a few microseconds per task (see the package
// documentation for figures); with the default no-op providers it costs a
// map insertion and deletion per task and nothing per transition.
type Observer struct {
	tracer oteltrace.Tracer
	parent context.Context // holds only the span of WithParentContext
	headN  int             // step events kept from the start of a span
	tailN  int             // step events kept from the end of a span
	m      *instruments

	loops sync.Map // loop id -> *loopState

	spans         atomic.Uint64
	eventsDropped atomic.Uint64
}

var _ runtime.Observer = (*Observer)(nil)

// Stats are the Observer's counters since New.
type Stats struct {
	// Spans is the number of task spans ended (recording spans only).
	Spans uint64
	// EventsDropped is the number of transitions not recorded as span
	// events because of the per-span budget (WithMaxEventsPerSpan); each
	// span says how many it lost in its task.events.dropped attribute.
	EventsDropped uint64
}

// New returns an Observer configured by opts, to install with
// runtime.WithObserver. It creates a tracer and the metric instruments and
// registers one metric callback; it starts no goroutine.
func New(opts ...Option) *Observer {
	cfg := config{maxEvents: DefaultMaxEventsPerSpan}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	parent := context.Background()
	if cfg.parent != nil {
		if sp := oteltrace.SpanFromContext(cfg.parent); sp.SpanContext().IsValid() {
			parent = oteltrace.ContextWithSpan(parent, sp)
		}
	}
	o := &Observer{
		tracer: cfg.tp.Tracer(instrumentationName),
		parent: parent,
		headN:  cfg.maxEvents - cfg.maxEvents/2,
		tailN:  cfg.maxEvents / 2,
	}
	if cfg.maxEvents < 2 {
		o.headN, o.tailN = 0, 0
	}
	o.m = newInstruments(cfg.mp.Meter(instrumentationName), o)
	return o
}

// Stats returns the Observer's counters. Safe from any goroutine.
func (o *Observer) Stats() Stats {
	return Stats{Spans: o.spans.Load(), EventsDropped: o.eventsDropped.Load()}
}

// Caps on events that are not step events.
const (
	maxCancelEvents = 8
	maxBlockEvents  = 8
)

// Task phases, indexes into loopState.active.
const (
	phasePending = iota
	phaseRunning
	phaseCancelling
	nPhases
)

// loopState is what the Observer keeps per loop. tasks is touched only on
// the loop goroutine; active is read by the metric callback.
type loopState struct {
	id     uint64
	name   string
	tasks  map[uint64]*taskState
	active [nPhases]atomic.Int64
	attrs  loopAttrs
	// untraced is set when the loop's last root task got no span (no SDK).
	untraced bool
	attrBuf  [8]attribute.KeyValue
}

// taskState is what the Observer keeps per live task.
type taskState struct {
	taskID    uint64
	span      oteltrace.Span
	ctx       context.Context // span's context for child spans, made on first use
	recording bool
	metrics   bool
	started   bool
	cancelReq bool
	phase     int8
	created   time.Time
	stepStart time.Time
	steps     int64         // steps begun
	busy      time.Duration // time spent in steps, from the events' times
	head      int           // step events recorded so far from the start
	ring      []stepEvent   // the most recent step events past the head
	ringN     int           // step events offered to ring
	dropped   int
	cancels   int
	blocks    int
}

// stepEvent is a step transition kept in the ring until the span ends.
type stepEvent struct {
	kind     runtime.EventKind
	time     time.Time
	lag      time.Duration
	at       runtime.Frame
	awaiting string
	awaits   []uint64
}

func (o *Observer) loop(id uint64, name string) *loopState {
	if v, ok := o.loops.Load(id); ok {
		return v.(*loopState)
	}
	ls := &loopState{id: id, name: name, tasks: make(map[uint64]*taskState)}
	ls.attrs = newLoopAttrs(name)
	v, _ := o.loops.LoadOrStore(id, ls)
	return v.(*loopState)
}

// release forgets a loop once nothing of it is left.
func (o *Observer) release(ls *loopState) {
	if len(ls.tasks) == 0 {
		o.loops.CompareAndDelete(ls.id, ls)
	}
}

// OnTask implements runtime.Observer: it starts the task's span on
// TaskCreated, adds an event per transition and ends the span when the task
// ends. Called on the loop goroutine.
func (o *Observer) OnTask(ev runtime.TaskEvent) {
	ls := o.loop(ev.LoopID, ev.LoopName)
	if ev.Kind == runtime.TaskCreated {
		o.created(ls, &ev)
		return
	}
	st := ls.tasks[ev.TaskID]
	if st == nil {
		return
	}
	switch ev.Kind {
	case runtime.TaskScheduled:
		o.stepEvent(ls, st, &ev)
	case runtime.TaskStarted, runtime.TaskResumed:
		st.started = true
		st.steps++
		st.stepStart = ev.Time
		o.setPhase(ls, st, phaseRunning)
		if st.metrics {
			o.m.lag.Record(context.Background(), ev.Lag.Seconds(), ls.attrs.loop)
		}
		o.stepEvent(ls, st, &ev)
	case runtime.TaskSuspended:
		st.busy += ev.Time.Sub(st.stepStart)
		if st.cancelReq {
			o.setPhase(ls, st, phaseCancelling)
		} else {
			o.setPhase(ls, st, phasePending)
		}
		o.stepEvent(ls, st, &ev)
	case runtime.TaskCancelRequested:
		st.cancelReq = true
		if st.phase == phasePending {
			o.setPhase(ls, st, phaseCancelling)
		}
		st.cancels++
		if st.recording && st.cancels <= maxCancelEvents {
			st.span.AddEvent("cancel_requested", oteltrace.WithAttributes(attribute.String("task.cancel.message", ev.CancelMsg)))
		} else if st.recording {
			st.dropped++
		}
	case runtime.TaskFinished, runtime.TaskFailed, runtime.TaskCancelled:
		o.ended(ls, st, &ev)
	}
}

func (o *Observer) setPhase(ls *loopState, st *taskState, p int8) {
	if st.phase == p {
		return
	}
	if st.metrics {
		ls.active[st.phase].Add(-1)
		ls.active[p].Add(1)
	}
	st.phase = p
}

// created starts the span of a new task.
func (o *Observer) created(ls *loopState, ev *runtime.TaskEvent) {
	var (
		span      oteltrace.Span
		recording bool
		metrics   = o.m.enabled()
	)
	parent := o.parent
	if ev.ParentID == 0 && ev.Context != nil && oteltrace.SpanContextFromContext(ev.Context).IsValid() {
		// A span in the context given to Run (or Spawn) owns the task.
		parent = ev.Context
	}
	traced, orphan := true, false
	if ev.ParentID != 0 {
		if p := ls.tasks[ev.ParentID]; p != nil {
			if p.span == nil {
				traced = false
			} else {
				if p.ctx == nil {
					p.ctx = oteltrace.ContextWithSpan(context.Background(), p.span)
				}
				parent = p.ctx
			}
		} else if ls.untraced {
			traced = false
		} else {
			orphan = true // its parent's span is gone: say who it was
		}
	}
	if traced {
		// The SDK copies the attributes; the loop's buffer is reused.
		attrs := append(ls.attrBuf[:0],
			attribute.Int64("task.id", int64(ev.TaskID)),
			attribute.String("task.name", ev.TaskName),
			attribute.String("loop.name", ev.LoopName))
		if !ev.SpawnedAt.IsZero() {
			attrs = append(attrs,
				semconv.CodeFunctionName(ev.SpawnedAt.Function),
				semconv.CodeFilePath(ev.SpawnedAt.File),
				semconv.CodeLineNumber(ev.SpawnedAt.Line))
		}
		if orphan {
			attrs = append(attrs, attribute.Int64("task.parent_id", int64(ev.ParentID)))
		}
		// No explicit timestamp: the Observer runs at the transition, so the
		// SDK's clock reading is the event's time, without boxing one.
		_, sp := o.tracer.Start(parent, spanName(ev.Function), oteltrace.WithAttributes(attrs...))
		clear(attrs)
		recording = sp.IsRecording()
		if recording || sp.SpanContext().IsValid() {
			span = sp
		}
		if ev.ParentID == 0 {
			// No SDK and no parent span: this loop's tasks are not traced
			// (until its next root task), which saves a span start per task.
			ls.untraced = span == nil
		}
	}
	if span == nil && !metrics {
		return // nothing to record and nothing for children to inherit
	}
	st := &taskState{taskID: ev.TaskID, span: span, recording: recording, metrics: metrics, created: ev.Time}
	if metrics {
		ls.active[phasePending].Add(1)
	}
	ls.tasks[ev.TaskID] = st
}

// stepEvent records a scheduled, started, resumed or suspended transition
// within the span's budget.
func (o *Observer) stepEvent(ls *loopState, st *taskState, ev *runtime.TaskEvent) {
	if !st.recording {
		return
	}
	se := stepEvent{kind: ev.Kind, time: ev.Time, lag: ev.Lag}
	if ev.Kind == runtime.TaskSuspended {
		se.at, se.awaiting, se.awaits = ev.SuspendedAt, ev.Awaiting, ev.Awaits
	}
	if st.head < o.headN {
		st.head++
		addStepEvent(st.span, &se, true, &ls.attrBuf)
		return
	}
	if o.tailN == 0 {
		st.dropped++
		return
	}
	if st.ring == nil {
		st.ring = make([]stepEvent, o.tailN)
	}
	if st.ringN >= o.tailN {
		st.dropped++
	}
	st.ring[st.ringN%o.tailN] = se
	st.ringN++
}

// appendFrame adds f as two attributes, "file:line" under at and the
// function under fn, unless f is unknown.
func appendFrame(attrs []attribute.KeyValue, at, fn string, f runtime.Frame) []attribute.KeyValue {
	if f.IsZero() {
		return attrs
	}
	return append(attrs, attribute.String(at, f.File+":"+strconv.Itoa(f.Line)), attribute.String(fn, f.Function))
}

// addStepEvent adds a step event to span: live ones happen now and take the
// SDK's clock; kept ones carry their time. buf is scratch for attributes
// (the SDK copies them).
func addStepEvent(span oteltrace.Span, se *stepEvent, live bool, buf *[8]attribute.KeyValue) {
	name := se.kind.String()
	attrs := buf[:0]
	if se.kind == runtime.TaskSuspended {
		attrs = appendFrame(attrs, "task.suspended_at", "task.suspended_in", se.at)
		if se.awaiting != "" {
			attrs = append(attrs, attribute.String("task.awaiting", se.awaiting))
		}
		if len(se.awaits) > 0 {
			ids := make([]int64, len(se.awaits))
			for i, id := range se.awaits {
				ids[i] = int64(id)
			}
			attrs = append(attrs, attribute.Int64Slice("task.awaits", ids))
		}
	}
	switch {
	case live && len(attrs) == 0:
		span.AddEvent(name)
	case live:
		span.AddEvent(name, oteltrace.WithAttributes(attrs...))
	default:
		span.AddEvent(name, oteltrace.WithTimestamp(se.time), oteltrace.WithAttributes(attrs...))
	}
	clear(attrs)
}

// ended records how a task ended and ends its span. The runtime reports a
// blocking step before the task's next transition (runtime.Observer), so
// every blocked_loop event of the task is on the span already.
func (o *Observer) ended(ls *loopState, st *taskState, ev *runtime.TaskEvent) {
	delete(ls.tasks, ev.TaskID)
	state := endState(ev.Kind)
	if st.metrics {
		ls.active[st.phase].Add(-1)
		o.m.ended.Add(context.Background(), 1, ls.attrs.ended[state])
		o.m.duration.Record(context.Background(), ev.Time.Sub(st.created).Seconds(), ls.attrs.ended[state])
	}
	if !st.recording {
		o.release(ls)
		return
	}
	// Step events kept at the end of a long life, oldest first.
	if st.ringN > 0 {
		n := min(st.ringN, o.tailN)
		for i := st.ringN - n; i < st.ringN; i++ {
			addStepEvent(st.span, &st.ring[i%o.tailN], false, &ls.attrBuf)
		}
		st.ring = nil
	}
	span := st.span
	// The end event is named after the end state. Its attributes are the
	// totals, for tasks that ran more than one step (for one step they are
	// the gap between "started" and the end). Span attributes are added only
	// for what is unusual: an SDK span grows its attribute slice on a late
	// SetAttributes, which would cost every task.
	if st.started {
		st.busy += ev.Time.Sub(st.stepStart)
	}
	eattrs := ls.attrBuf[:0]
	if st.steps > 1 {
		eattrs = append(eattrs,
			attribute.Int64("task.steps", st.steps),
			attribute.Int64("task.busy_ns", int64(st.busy)))
	}
	var sbuf [4]attribute.KeyValue
	sattrs := sbuf[:0]
	stateAttr := attribute.String("task.state", endStateNames[state])
	switch ev.Kind {
	case runtime.TaskFinished:
		if len(eattrs) == 0 {
			span.AddEvent("finished")
		} else {
			span.AddEvent("finished", oteltrace.WithAttributes(eattrs...))
		}
	case runtime.TaskFailed:
		msg := "<nil>"
		if ev.Err != nil {
			msg = ev.Err.Error()
			var xattrs []attribute.KeyValue
			var pe *runtime.PanicError
			if errors.As(ev.Err, &pe) {
				xattrs = append(xattrs, attribute.String("exception.stacktrace", string(pe.Stack)))
			}
			span.RecordError(ev.Err, oteltrace.WithAttributes(xattrs...))
		}
		span.AddEvent("failed", oteltrace.WithAttributes(eattrs...))
		span.SetStatus(codes.Error, msg)
		sattrs = append(sattrs, stateAttr)
	case runtime.TaskCancelled:
		cm := attribute.String("task.cancel.message", ev.CancelMsg)
		span.AddEvent("cancelled", oteltrace.WithAttributes(append(eattrs, cm)...))
		sattrs = append(sattrs, stateAttr, cm)
	}
	if st.dropped > 0 {
		sattrs = append(sattrs, attribute.Int("task.events.dropped", st.dropped))
		o.eventsDropped.Add(uint64(st.dropped))
	}
	if st.blocks > 0 {
		sattrs = append(sattrs, attribute.Int("task.blocked.count", st.blocks))
	}
	if len(sattrs) > 0 {
		span.SetAttributes(sattrs...)
	}
	clear(ls.attrBuf[:])
	st.span.End()
	o.spans.Add(1)
	o.release(ls)
}

// OnBlock implements runtime.Observer: it adds a blocked_loop event, with
// the duration and the stack of the blocking step, to the task's span and
// records the blocked time. Called on the loop goroutine.
func (o *Observer) OnBlock(ev runtime.BlockEvent) {
	v, ok := o.loops.Load(ev.LoopID)
	if !ok {
		return // no task of the loop is traced
	}
	ls := v.(*loopState)
	if o.m.enabled() {
		o.m.blocked.Record(context.Background(), ev.Duration.Seconds(), ls.attrs.loop)
	}
	if st := ls.tasks[ev.TaskID]; st != nil {
		st.blocks++
		if !st.recording {
			return
		}
		if st.blocks <= maxBlockEvents {
			addBlockEvent(st.span, &ev)
		} else {
			st.dropped++
		}
	}
}

func addBlockEvent(span oteltrace.Span, ev *runtime.BlockEvent) {
	var stack strings.Builder
	for _, f := range ev.Stack {
		stack.WriteString(f.Function)
		stack.WriteString("\n\t")
		stack.WriteString(f.File)
		stack.WriteByte(':')
		stack.WriteString(strconv.Itoa(f.Line))
		stack.WriteByte('\n')
	}
	attrs := []attribute.KeyValue{
		attribute.Int64("blocked.duration_ns", int64(ev.Duration)),
		attribute.String("blocked.duration", ev.Duration.Round(time.Microsecond).String()),
		attribute.String("blocked.stack", stack.String()),
	}
	attrs = appendFrame(attrs, "blocked.at", "blocked.function", ev.At)
	if ev.Call != "" {
		attrs = append(attrs, attribute.String("blocked.call", ev.Call))
	}
	span.AddEvent("blocked_loop", oteltrace.WithTimestamp(ev.Started), oteltrace.WithAttributes(attrs...))
}

// spanName is the span name for a task function: its name without the
// import path ("main.fetch", "service.(*Server).handle.func1"), which has
// the low cardinality span names need. Tasks without a known function are
// named "task".
func spanName(fn string) string {
	if fn == "" {
		return "task"
	}
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	return fn
}

// End states, indexes into endStateNames and loopAttrs.ended.
const (
	endFinished = iota
	endFailed
	endCancelled
	nEnds
)

var endStateNames = [nEnds]string{"finished", "failed", "cancelled"}

func endState(k runtime.EventKind) int {
	switch k {
	case runtime.TaskFailed:
		return endFailed
	case runtime.TaskCancelled:
		return endCancelled
	}
	return endFinished
}
