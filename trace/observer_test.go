package trace_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/trace"
)

func TestTaskTreeIsSpanTree(t *testing.T) {
	spans, obs := recorded(t, func(ctx context.Context) (int, error) {
		p := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			c := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 2, nil }, runtime.Named("child"))
			return c.Await(ctx)
		}, runtime.Named("parent"))
		return p.Await(ctx)
	})
	if got, want := len(spans), 3; got != want {
		t.Fatalf("got %d spans, want %d", got, want)
	}
	if got := obs.Stats().Spans; got != 3 {
		t.Errorf("Stats().Spans = %d, want 3", got)
	}
	main, parent, child := span(t, spans, "main"), span(t, spans, "parent"), span(t, spans, "child")
	tests := []struct {
		name       string
		s          sdktrace.ReadOnlySpan
		wantParent oteltrace.SpanID
	}{
		{"main", main, oteltrace.SpanID{}},
		{"parent", parent, main.SpanContext().SpanID()},
		{"child", child, parent.SpanContext().SpanID()},
	}
	for _, tt := range tests {
		if got := tt.s.Parent().SpanID(); got != tt.wantParent {
			t.Errorf("%s: parent span %v, want %v", tt.name, got, tt.wantParent)
		}
		if got, want := tt.s.SpanContext().TraceID(), main.SpanContext().TraceID(); got != want {
			t.Errorf("%s: trace %v, want %v (main's)", tt.name, got, want)
		}
		if got := tt.s.SpanKind(); got != oteltrace.SpanKindInternal {
			t.Errorf("%s: kind %v, want internal", tt.name, got)
		}
		if v, _ := attr(tt.s.Attributes(), "loop.name"); !strings.HasPrefix(v.AsString(), "loop-") {
			t.Errorf("%s: loop.name = %q, want loop-<id>", tt.name, v.AsString())
		}
		if v, ok := attr(tt.s.Attributes(), "task.id"); !ok || v.AsInt64() <= 0 {
			t.Errorf("%s: task.id = %v, want a positive id", tt.name, v.String())
		}
		if v, _ := attr(tt.s.Attributes(), "code.file.path"); !strings.HasSuffix(v.AsString(), "_test.go") {
			t.Errorf("%s: code.file.path = %q, want the spawn site in a test file", tt.name, v.AsString())
		}
		if v, _ := attr(tt.s.Attributes(), "code.line.number"); v.AsInt64() <= 0 {
			t.Errorf("%s: code.line.number = %d, want the spawn site's line", tt.name, v.AsInt64())
		}
		if !strings.HasPrefix(tt.s.Name(), "trace_test.TestTaskTreeIsSpanTree.func1") {
			t.Errorf("%s: span name %q, want the task function without its import path", tt.name, tt.s.Name())
		}
	}
}

// TestSpawnSiteAttributes feeds the Observer the events the runtime sends
// and checks the span's attributes, including the code.* spawn site.
func TestSpawnSiteAttributes(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	obs := trace.New(trace.WithTracerProvider(tp))
	now := time.Now()
	ev := runtime.TaskEvent{
		Time: now, LoopID: 1 << 60, LoopName: "web", TaskID: 1 << 61, TaskName: "fetch-7",
		Function:  "example.com/app/internal/web.(*Server).fetch",
		SpawnedAt: runtime.Frame{Function: "example.com/app/internal/web.(*Server).serve", File: "/src/app/web/server.go", Line: 42},
	}
	for _, k := range []runtime.EventKind{runtime.TaskCreated, runtime.TaskScheduled, runtime.TaskStarted, runtime.TaskFinished} {
		ev.Kind = k
		ev.Time = ev.Time.Add(time.Millisecond)
		obs.OnTask(ev)
	}
	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	s := spans[0]
	if got, want := s.Name(), "web.(*Server).fetch"; got != want {
		t.Errorf("span name %q, want %q", got, want)
	}
	want := map[string]any{
		"task.id":            int64(1 << 61),
		"task.name":          "fetch-7",
		"loop.name":          "web",
		"code.function.name": "example.com/app/internal/web.(*Server).serve",
		"code.file.path":     "/src/app/web/server.go",
		"code.line.number":   int64(42),
	}
	for k, w := range want {
		v, ok := attr(s.Attributes(), k)
		if !ok {
			t.Errorf("attribute %s missing", k)
			continue
		}
		if got := v.AsInterface(); got != w {
			t.Errorf("attribute %s = %v, want %v", k, got, w)
		}
	}
}

func TestTransitionEvents(t *testing.T) {
	tests := []struct {
		name       string
		body       func(context.Context) (int, error)
		cancel     string // cancel the task with this message after it suspends
		cancelNow  bool   // cancel it before it first runs
		want       []string
		wantStatus codes.Code
		wantState  string
		wantMsg    string // task.cancel.message
	}{
		{
			name:      "returns at once",
			body:      func(ctx context.Context) (int, error) { return 1, nil },
			want:      []string{"scheduled", "started", "finished"},
			wantState: "finished",
		},
		{
			name:      "sleeps once",
			body:      func(ctx context.Context) (int, error) { return 1, runtime.Sleep(ctx, time.Millisecond) },
			want:      []string{"scheduled", "started", "suspended", "scheduled", "resumed", "finished"},
			wantState: "finished",
		},
		{
			name:       "fails",
			body:       func(ctx context.Context) (int, error) { return 0, fmt.Errorf("fetch: %w", errExpected) },
			want:       []string{"scheduled", "started", "exception", "failed"},
			wantStatus: codes.Error,
			wantState:  "failed",
		},
		{
			name:       "panics",
			body:       func(ctx context.Context) (int, error) { panic("boom") },
			want:       []string{"scheduled", "started", "exception", "failed"},
			wantStatus: codes.Error,
			wantState:  "failed",
		},
		{
			name:      "cancelled while sleeping",
			body:      func(ctx context.Context) (int, error) { return 0, runtime.Sleep(ctx, time.Hour) },
			cancel:    "shutting down",
			want:      []string{"scheduled", "started", "suspended", "cancel_requested", "scheduled", "resumed", "cancelled"},
			wantState: "cancelled",
			wantMsg:   "shutting down",
		},
		{
			name:      "cancelled before it runs",
			body:      func(ctx context.Context) (int, error) { return 1, nil },
			cancel:    "too late",
			cancelNow: true,
			want:      []string{"scheduled", "cancel_requested", "cancelled"},
			wantState: "cancelled",
			wantMsg:   "too late",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans, _ := recorded(t, func(ctx context.Context) (int, error) {
				task := runtime.Spawn(ctx, tt.body, runtime.Named("t"))
				if tt.cancelNow {
					task.Cancel(tt.cancel)
				} else if tt.cancel != "" {
					if err := runtime.Yield(ctx); err != nil {
						return 0, err
					}
					task.Cancel(tt.cancel)
				}
				runtime.GatherAll(ctx, task)
				return 0, nil
			})
			s := span(t, spans, "t")
			if got := eventNames(s); !slices.Equal(got, tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
			if got := s.Status().Code; got != tt.wantStatus {
				t.Errorf("status %v (%q), want %v", got, s.Status().Description, tt.wantStatus)
			}
			if end := s.Events()[len(s.Events())-1]; end.Name != tt.wantState {
				t.Errorf("end event %q, want %q", end.Name, tt.wantState)
			}
			// The span itself says so when the task did not finish normally.
			v, ok := attr(s.Attributes(), "task.state")
			if tt.wantState == "finished" && ok {
				t.Errorf("span task.state = %q set on a task that finished", v.AsString())
			}
			if tt.wantState != "finished" && v.AsString() != tt.wantState {
				t.Errorf("span task.state = %q, want %q", v.AsString(), tt.wantState)
			}
			if tt.wantMsg != "" {
				if v, _ := attr(s.Attributes(), "task.cancel.message"); v.AsString() != tt.wantMsg {
					t.Errorf("span task.cancel.message = %q, want %q", v.AsString(), tt.wantMsg)
				}
				e, _ := event(s, "cancel_requested")
				if v, _ := attr(e.Attributes, "task.cancel.message"); v.AsString() != tt.wantMsg {
					t.Errorf("cancel_requested event message = %q, want %q", v.AsString(), tt.wantMsg)
				}
			}
			if tt.wantStatus == codes.Error {
				e, _ := event(s, "exception")
				if v, _ := attr(e.Attributes, "exception.message"); v.AsString() == "" {
					t.Errorf("exception event without exception.message: %v", e.Attributes)
				}
				if tt.name == "panics" {
					if v, _ := attr(e.Attributes, "exception.stacktrace"); !strings.Contains(v.AsString(), "panic") {
						t.Errorf("panic exception.stacktrace = %q, want the panicking stack", v.AsString())
					}
				}
			}
			if first := s.Events()[0].Time; first.Before(s.StartTime()) {
				t.Errorf("first event at %v, before the span starts at %v", first, s.StartTime())
			}
			if last := s.Events()[len(s.Events())-1].Time; s.EndTime().Before(last) {
				t.Errorf("span ends at %v, before its last event at %v", s.EndTime(), last)
			}
			for i := 1; i < len(s.Events()); i++ {
				if s.Events()[i].Time.Before(s.Events()[i-1].Time) {
					t.Errorf("event %d (%s) is earlier than event %d", i, s.Events()[i].Name, i-1)
				}
			}
		})
	}
}

func TestSuspendedEventSaysWhereAndOnWhat(t *testing.T) {
	var sleeperID uint64
	spans, _ := recorded(t, func(ctx context.Context) (int, error) {
		sleeper := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 1, runtime.Sleep(ctx, 2*time.Millisecond)
		}, runtime.Named("sleeper"))
		sleeperID = sleeper.ID()
		waiter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return sleeper.Await(ctx)
		}, runtime.Named("waiter"))
		return waiter.Await(ctx)
	})
	tests := []struct {
		task, wantAwaiting string
		wantAwaits         []int64
	}{
		{"sleeper", "sleep(2ms)", nil},
		{"waiter", "", []int64{int64(sleeperID)}},
	}
	for _, tt := range tests {
		e, ok := event(span(t, spans, tt.task), "suspended")
		if !ok {
			t.Errorf("%s: no suspended event", tt.task)
			continue
		}
		if v, _ := attr(e.Attributes, "task.suspended_at"); !strings.Contains(v.AsString(), "observer_test.go:") {
			t.Errorf("%s: task.suspended_at = %q, want this file and line", tt.task, v.AsString())
		}
		if v, _ := attr(e.Attributes, "task.awaiting"); tt.wantAwaiting != "" && v.AsString() != tt.wantAwaiting {
			t.Errorf("%s: task.awaiting = %q, want %q", tt.task, v.AsString(), tt.wantAwaiting)
		}
		if tt.wantAwaits != nil {
			if v, _ := attr(e.Attributes, "task.awaits"); !slices.Equal(v.AsInt64Slice(), tt.wantAwaits) {
				t.Errorf("%s: task.awaits = %v, want %v", tt.task, v.AsInt64Slice(), tt.wantAwaits)
			}
		}
	}
}

// counting forwards events to an Observer and counts the step transitions.
type counting struct {
	runtime.Observer
	steps map[uint64]int
}

func (c *counting) OnTask(ev runtime.TaskEvent) {
	switch ev.Kind {
	case runtime.TaskScheduled, runtime.TaskStarted, runtime.TaskResumed, runtime.TaskSuspended:
		c.steps[ev.TaskID]++
	}
	c.Observer.OnTask(ev)
}

func TestEventBudgetKeepsHeadAndTail(t *testing.T) {
	const budget, yields = 10, 40
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	obs := trace.New(trace.WithTracerProvider(tp), trace.WithMaxEventsPerSpan(budget))
	c := &counting{Observer: obs, steps: map[uint64]int{}}
	var id uint64
	runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		task := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for range yields {
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
			}
			return 0, nil
		}, runtime.Named("busy"))
		id = task.ID()
		return task.Await(ctx)
	}, runtime.WithObserver(c))
	s := span(t, sr.Ended(), "busy")
	names := eventNames(s)
	total := c.steps[id]
	if got, want := len(names), budget+1; got != want {
		t.Errorf("%d events, want %d (the budget and the end): %q", got, want, names)
	}
	if got, want := names[:2], []string{"scheduled", "started"}; !slices.Equal(got, want) {
		t.Errorf("first events %q, want %q (the head is kept)", got, want)
	}
	if got, want := names[len(names)-2:], []string{"resumed", "finished"}; !slices.Equal(got, want) {
		t.Errorf("last events %q, want %q (the tail is kept)", got, want)
	}
	v, _ := attr(s.Attributes(), "task.events.dropped")
	if got, want := v.AsInt64(), int64(total-budget); got != want {
		t.Errorf("task.events.dropped = %d, want %d (%d transitions, budget %d)", got, want, total, budget)
	}
	if got, want := obs.Stats().EventsDropped, uint64(total-budget); got != want {
		t.Errorf("Stats().EventsDropped = %d, want %d", got, want)
	}
	end, _ := event(s, "finished")
	if v, _ := attr(end.Attributes, "task.steps"); v.AsInt64() != yields+1 {
		t.Errorf("task.steps = %d, want %d", v.AsInt64(), yields+1)
	}
	if v, _ := attr(end.Attributes, "task.busy_ns"); v.AsInt64() <= 0 || time.Duration(v.AsInt64()) > s.EndTime().Sub(s.StartTime()) {
		t.Errorf("task.busy_ns = %d, want positive and at most the span's duration", v.AsInt64())
	}
}

func TestBlockedLoopEvent(t *testing.T) {
	const threshold = 20 * time.Millisecond
	tests := []struct {
		name string
		body func(context.Context) (int, error)
	}{
		{"in its last step", func(ctx context.Context) (int, error) {
			time.Sleep(3 * threshold)
			return 0, nil
		}},
		{"in an earlier step", func(ctx context.Context) (int, error) {
			time.Sleep(3 * threshold)
			return 0, runtime.Sleep(ctx, time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
			defer tp.Shutdown(context.Background())
			obs := trace.New(trace.WithTracerProvider(tp))
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				return runtime.Spawn(ctx, tt.body, runtime.Named("blocker")).Await(ctx)
			}, runtime.WithObserver(obs), runtime.WithSlowStepThreshold(threshold), runtime.WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			s := span(t, sr.Ended(), "blocker")
			e, ok := event(s, "blocked_loop")
			if !ok {
				t.Fatalf("no blocked_loop event: %q", eventNames(s))
			}
			if v, _ := attr(e.Attributes, "blocked.duration_ns"); time.Duration(v.AsInt64()) < threshold {
				t.Errorf("blocked.duration_ns = %v, want at least the threshold %v", time.Duration(v.AsInt64()), threshold)
			}
			if v, _ := attr(e.Attributes, "blocked.stack"); !strings.Contains(v.AsString(), "time.Sleep") {
				t.Errorf("blocked.stack does not show time.Sleep:\n%s", v.AsString())
			}
			if !s.EndTime().After(e.Time) {
				t.Errorf("span ends at %v, not after the block began at %v", s.EndTime(), e.Time)
			}
		})
	}
}

// TestParentContextOwnsTheLoop: a span in the context given to Run parents
// the loop's main task, whether or not the observer was told with
// WithParentContext.
func TestParentContextOwnsTheLoop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		option bool
	}{{"from Run's context", false}, {"WithParentContext", true}} {
		t.Run(tc.name, func(t *testing.T) {
			sr := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
			defer tp.Shutdown(context.Background())
			ctx, req := tp.Tracer("test").Start(context.Background(), "GET /report")
			opts := []trace.Option{trace.WithTracerProvider(tp)}
			if tc.option {
				opts = append(opts, trace.WithParentContext(ctx))
			}
			obs := trace.New(opts...)
			_, err := runtime.Run(ctx, func(ctx context.Context) (int, error) {
				return runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, nil }, runtime.Named("work")).Await(ctx)
			}, runtime.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			req.End()
			spans := sr.Ended()
			main, work := span(t, spans, "main"), span(t, spans, "work")
			if got, want := main.Parent().SpanID(), req.SpanContext().SpanID(); got != want {
				t.Errorf("main's parent %v, want the request span %v", got, want)
			}
			if got, want := work.Parent().SpanID(), main.SpanContext().SpanID(); got != want {
				t.Errorf("work's parent %v, want main %v", got, want)
			}
			for _, s := range []sdktrace.ReadOnlySpan{main, work} {
				if got, want := s.SpanContext().TraceID(), req.SpanContext().TraceID(); got != want {
					t.Errorf("%s: trace %v, want the request's %v", s.Name(), got, want)
				}
			}
		})
	}
}

// TestWithoutProviders runs with the global (no-op) providers: the workload
// runs and nothing is recorded.
func TestWithoutProviders(t *testing.T) {
	obs := trace.New()
	got, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ts := make([]*runtime.Task[int], 100)
		for i := range ts {
			ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, runtime.Yield(ctx) })
		}
		rs, err := runtime.Gather(ctx, ts...)
		return len(rs), err
	}, runtime.WithObserver(obs))
	if err != nil || got != 100 {
		t.Fatalf("Run = %d, %v; want 100, nil", got, err)
	}
	if s := obs.Stats(); s != (trace.Stats{}) {
		t.Errorf("Stats() = %+v, want zero with no provider installed", s)
	}
}

func TestSharedByLoops(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	obs := trace.New(trace.WithTracerProvider(tp))
	const loops, tasks = 4, 50
	errs := make(chan error, loops)
	for i := range loops {
		go func() {
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				ts := make([]*runtime.Task[int], tasks)
				for j := range ts {
					ts[j] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return j, runtime.Yield(ctx) })
				}
				_, err := runtime.Gather(ctx, ts...)
				return 0, err
			}, runtime.WithObserver(obs), runtime.WithName(fmt.Sprintf("shared-%d", i)))
			errs <- err
		}()
	}
	for range loops {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	spans := sr.Ended()
	if got, want := len(spans), loops*(tasks+1); got != want {
		t.Fatalf("%d spans, want %d", got, want)
	}
	mains := map[oteltrace.TraceID]string{}
	for _, s := range spans {
		if !s.Parent().IsValid() {
			v, _ := attr(s.Attributes(), "loop.name")
			mains[s.SpanContext().TraceID()] = v.AsString()
		}
	}
	if len(mains) != loops {
		t.Fatalf("%d traces, want one per loop (%d)", len(mains), loops)
	}
	for _, s := range spans {
		v, _ := attr(s.Attributes(), "loop.name")
		if got, want := v.AsString(), mains[s.SpanContext().TraceID()]; got != want {
			t.Errorf("span of loop %q is in the trace of loop %q", got, want)
		}
	}
}

var _ = errors.New

// TestSpanEndsWithItsTask: the runtime reports a blocking step before the
// task's next transition, so a span ends when its task ends and carries the
// blocked_loop event of the task's last step, even when that step ended
// just past the threshold before the watchdog looked (no stack captured).
// In a synctest bubble the watchdog ticks every threshold/4 at exact
// virtual times: a step that starts half a tick after a tick and lasts the
// threshold plus 1 ns ends between two ticks, unseen.
func TestSpanEndsWithItsTask(t *testing.T) {
	const threshold = 40 * time.Millisecond
	tests := []struct {
		name       string
		last       time.Duration // how long the task's last step blocks
		wantBlocks int
	}{
		{"last step just under the threshold", threshold * 3 / 4, 0},
		{"last step just past the threshold, unseen by the watchdog", threshold + 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sr := tracetest.NewSpanRecorder()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
				defer tp.Shutdown(context.Background())
				obs := trace.New(trace.WithTracerProvider(tp))
				var endedAtAwait []string
				_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
					blocker := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						if err := runtime.Sleep(ctx, threshold/8); err != nil {
							return 0, err
						}
						time.Sleep(tt.last) //taskvet:ignore the step must block the loop
						return 0, nil
					}, runtime.Named("blocker"))
					_, err := blocker.Await(ctx)
					for _, s := range sr.Ended() {
						endedAtAwait = append(endedAtAwait, s.Name())
					}
					return 0, err
				}, runtime.WithObserver(obs), runtime.WithSlowStepThreshold(threshold), runtime.WithLogger(quiet))
				if err != nil {
					t.Fatal(err)
				}
				if len(endedAtAwait) != 1 {
					t.Errorf("spans ended when the blocker's Await returned: %q, want the blocker's", endedAtAwait)
				}
				s := span(t, sr.Ended(), "blocker")
				e, ok := event(s, "blocked_loop")
				if ok != (tt.wantBlocks > 0) {
					t.Fatalf("blocked_loop event: %v, want %v (events %q)", ok, tt.wantBlocks > 0, eventNames(s))
				}
				v, _ := attr(s.Attributes(), "task.blocked.count")
				if got := int(v.AsInt64()); got != tt.wantBlocks {
					t.Errorf("task.blocked.count = %d, want %d", got, tt.wantBlocks)
				}
				if ok {
					if v, _ := attr(e.Attributes, "blocked.duration_ns"); time.Duration(v.AsInt64()) != tt.last {
						t.Errorf("blocked.duration_ns = %v, want %v", time.Duration(v.AsInt64()), tt.last)
					}
					if v, _ := attr(e.Attributes, "blocked.stack"); v.AsString() != "" {
						t.Errorf("blocked.stack = %q, want none (the watchdog did not look)", v.AsString())
					}
				}
				names := eventNames(s)
				if got := names[len(names)-1]; got != "finished" {
					t.Errorf("last event %q, want finished (events %q)", got, names)
				}
			})
		})
	}
}
