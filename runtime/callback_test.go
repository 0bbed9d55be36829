package runtime_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// callbackWays schedules fn on ctx's loop in each way the loop runs a
// callback.
var callbackWays = []struct {
	name     string
	schedule func(ctx context.Context, fn func())
}{
	{"CallSoon", func(ctx context.Context, fn func()) { runtime.CallSoon(ctx, fn) }},
	{"CallLater", func(ctx context.Context, fn func()) { runtime.CallLater(ctx, time.Millisecond, fn) }},
	{"AddDoneCallback", func(ctx context.Context, fn func()) {
		runtime.Spawn(ctx, yields(1, 0)).AddDoneCallback(func(runtime.Handle) { fn() })
	}},
	{"CallSoonThreadsafe", func(ctx context.Context, fn func()) {
		l := runtime.LoopOf(ctx)
		go l.CallSoonThreadsafe(fn)
	}},
}

// TestCallbackPanicIsContained: a callback that panics is logged once (the
// panic value, the callback's function, its stack) and the loop goes on, as
// asyncio's call_exception_handler does; Run returns main's result, the
// loop is unregistered and no goroutine is left (goleak). Before, the panic
// escaped Run and left the loop registered with its goroutines.
func TestCallbackPanicIsContained(t *testing.T) {
	for _, way := range callbackWays {
		t.Run(way.name, func(t *testing.T) {
			logger, logs := newLogger()
			l := runtime.NewLoop(runtime.WithLogger(logger))
			var got error
			if p := panicText(func() {
				got = l.Run(context.Background(), func(ctx context.Context) error {
					ran := runtime.NewEvent()
					way.schedule(ctx, func() {
						ran.Set()
						panic("callback bug")
					})
					if err := ran.Wait(ctx); err != nil {
						return err
					}
					// The loop goes on: callbacks and tasks still run.
					after := runtime.NewEvent()
					runtime.CallSoon(ctx, after.Set)
					if err := after.Wait(ctx); err != nil {
						return err
					}
					if v, err := runtime.Spawn(ctx, yields(2, 7)).Await(ctx); v != 7 || err != nil {
						return fmt.Errorf("after the panic: Await = %v, %v; want 7, nil", v, err)
					}
					return errors.New("main's own error")
				})
			}); p != "" {
				t.Fatalf("Run panicked: %s", p)
			}
			if got == nil || got.Error() != "main's own error" {
				t.Errorf("Run = %v; want main's own error", got)
			}
			if slices.Contains(runtime.Loops(), l) {
				t.Error("the loop is still registered after Run returned")
			}
			var errs []map[string]any
			for _, r := range logs.records(t) {
				if r["level"] == "ERROR" {
					errs = append(errs, r)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("logged %d errors; want 1: %v", len(errs), errs)
			}
			e := errs[0]
			checks := []struct{ field, want string }{
				{"msg", "runtime: a callback the loop ran panicked; the loop goes on"},
				{"panic", "callback bug"},
				// The user's function, not the loop's wrapper around it.
				{"callback", "github.com/taskdump/taskdump/runtime_test."},
				{"at", "callback_test.go:"},
				{"stack", "panic("},
			}
			for _, c := range checks {
				if got, _ := e[c.field].(string); !strings.Contains(got, c.want) {
					t.Errorf("logged %s = %q; want it to contain %q", c.field, got, c.want)
				}
			}
		})
	}
}

// goexitObserver calls runtime.Goexit on the first TaskStarted of a task
// named "victim" (the loop's goroutine emits it).
type goexitObserver struct{}

func (goexitObserver) OnTask(ev runtime.TaskEvent) {
	if ev.Kind == runtime.TaskStarted && ev.TaskName == "victim" {
		goruntime.Goexit()
	}
}
func (goexitObserver) OnBlock(runtime.BlockEvent) {}

// goexitOnBlock calls runtime.Goexit in OnBlock.
type goexitOnBlock struct{}

func (goexitOnBlock) OnTask(runtime.TaskEvent)   {}
func (goexitOnBlock) OnBlock(runtime.BlockEvent) { goruntime.Goexit() }

// TestGoexitInCallbackEndsRun: a callback (or an Observer method) that calls
// runtime.Goexit, as t.Fatal does, ends the loop: Run returns an error
// matching ErrGoexit that names it, the loop is unregistered, the tasks
// left are cancelled, and nothing hangs or leaks. Before, the Goexit killed
// the goroutine that called Run: Run never returned.
func TestGoexitInCallbackEndsRun(t *testing.T) {
	type result struct {
		err      error
		goexited bool // the goroutine that called Run died
	}
	cases := []struct {
		name string
		opts []runtime.Option
		main func(ctx context.Context) error
		want string // in Run's error
	}{}
	for _, way := range callbackWays {
		cases = append(cases, struct {
			name string
			opts []runtime.Option
			main func(ctx context.Context) error
			want string
		}{way.name, nil, func(ctx context.Context) error {
			way.schedule(ctx, func() { goruntime.Goexit() })
			return runtime.Sleep(ctx, time.Hour)
		}, "callback github.com/taskdump/taskdump/runtime_test."})
	}
	cases = append(cases, struct {
		name string
		opts []runtime.Option
		main func(ctx context.Context) error
		want string
	}{"Observer", []runtime.Option{runtime.WithObserver(goexitObserver{})}, func(ctx context.Context) error {
		_, err := runtime.Spawn(ctx, sleepHour, runtime.Named("victim")).Await(ctx)
		return err
	}, "the loop's Observer (OnTask, started)"})
	cases = append(cases, struct {
		name string
		opts []runtime.Option
		main func(ctx context.Context) error
		want string
	}{"Observer OnBlock", []runtime.Option{runtime.WithObserver(goexitOnBlock{}), runtime.WithSlowStepThreshold(5 * time.Millisecond)},
		func(ctx context.Context) error {
			time.Sleep(30 * time.Millisecond) // a blocking step: OnBlock
			return runtime.Sleep(ctx, time.Hour)
		}, "the loop's Observer (OnBlock or OnDeadlock)"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := runtime.NewLoop(append(c.opts, quietLogger())...)
			var left *runtime.Task[int]
			ch := make(chan result, 1)
			go func() {
				returned := false
				defer func() {
					if !returned {
						ch <- result{goexited: true}
					}
				}()
				err := l.Run(context.Background(), func(ctx context.Context) error {
					left = runtime.Spawn(ctx, sleepHour, runtime.Named("left"))
					return c.main(ctx)
				})
				returned = true
				ch <- result{err: err}
			}()
			var r result
			select {
			case r = <-ch:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return within 30s")
			}
			if r.goexited {
				t.Fatal("the Goexit killed the goroutine that called Run; want Run to return an error")
			}
			if !errors.Is(r.err, runtime.ErrGoexit) || !strings.Contains(r.err.Error(), c.want) ||
				!strings.HasPrefix(r.err.Error(), "runtime: ") {
				t.Errorf("Run = %v; want an error matching ErrGoexit that names %q", r.err, c.want)
			}
			if slices.Contains(runtime.Loops(), l) {
				t.Error("the loop is still registered after Run returned")
			}
			if st := left.State(); st != runtime.Cancelled {
				t.Errorf("a task left when the loop ended is %v; want Cancelled", st)
			}
		})
	}
}
