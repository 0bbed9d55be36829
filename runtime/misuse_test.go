package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// panicText runs fn and returns what it panicked with, as text ("" if it
// returned).
func panicText(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}

// TestOffLoopCallsPanicAtOnce calls, with a task's context, the functions
// that touch the loop's own state from goroutines that are not the loop's:
// each panics at once with a message naming what to use instead, and the
// loop goes on (before, Spawn from another goroutine raced with the loop
// and crashed the process in Loop.iterate).
func TestOffLoopCallsPanicAtOnce(t *testing.T) {
	calls := []struct {
		name string
		call func(ctx context.Context, other *runtime.Task[int])
		want string // in the panic message
		task string // the task it names
	}{
		{"Spawn", func(ctx context.Context, _ *runtime.Task[int]) {
			runtime.Spawn(ctx, yields(1, 0))
		}, "use Loop.Submit from other goroutines", "main"},
		{"CallSoon", func(ctx context.Context, _ *runtime.Task[int]) {
			runtime.CallSoon(ctx, func() {})
		}, "use Loop.CallSoonThreadsafe", "main"},
		{"CallLater", func(ctx context.Context, _ *runtime.Task[int]) {
			runtime.CallLater(ctx, time.Hour, func() {})
		}, "use Loop.CallSoonThreadsafe", "main"},
		{"AddDoneCallback", func(_ context.Context, other *runtime.Task[int]) {
			other.AddDoneCallback(func(runtime.Handle) {})
		}, "use Loop.CallSoonThreadsafe", "other"},
	}
	// Where the call is made from: every goroutine that is not the loop's.
	froms := []struct {
		name string
		run  func(ctx context.Context, f func()) (string, error)
	}{
		{"goroutine", func(_ context.Context, f func()) (string, error) {
			ch := make(chan string)
			go func() { ch <- panicText(f) }()
			return <-ch, nil
		}},
		{"ToThread", func(ctx context.Context, f func()) (string, error) {
			return runtime.ToThread(ctx, func() (string, error) { return panicText(f), nil })
		}},
		{"another loop", func(_ context.Context, f func()) (string, error) {
			type result struct {
				msg string
				err error
			}
			ch := make(chan result)
			go func() {
				msg, err := runtime.Run(context.Background(), func(context.Context) (string, error) {
					return panicText(f), nil
				}, quietLogger())
				ch <- result{msg, err}
			}()
			r := <-ch
			return r.msg, r.err
		}},
	}
	for _, c := range calls {
		for _, from := range froms {
			t.Run(c.name+"/"+from.name, func(t *testing.T) {
				got, err := runtime.Run(context.Background(), func(ctx context.Context) (string, error) {
					other := runtime.Spawn(ctx, yields(3, 0), runtime.Named("other"))
					msg, err := from.run(ctx, func() { c.call(ctx, other) })
					if err != nil {
						return "", err
					}
					// The loop is intact: it still spawns and awaits.
					if _, err := runtime.Gather(ctx, other, runtime.Spawn(ctx, yields(2, 0))); err != nil {
						return "", err
					}
					return msg, nil
				}, quietLogger())
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				for _, want := range []string{"runtime: " + c.name + " called", "task " + c.task + " ", c.want} {
					if !strings.Contains(got, want) {
						t.Errorf("panic = %q; want it to contain %q", got, want)
					}
				}
				if !strings.HasPrefix(got, "runtime: ") {
					t.Errorf("panic = %q; want the prefix \"runtime: \"", got)
				}
			})
		}
	}
}

// TestOnLoopCallsStillWork: from the loop's own task and from a callback
// it runs, the same calls work.
func TestOnLoopCallsStillWork(t *testing.T) {
	var order []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		done := make(chan struct{})
		runtime.CallSoon(ctx, func() {
			// A callback on the loop goroutine, with a task's context.
			c := runtime.Spawn(ctx, func(context.Context) (int, error) {
				order = append(order, "spawned from a callback")
				close(done)
				return 0, nil
			})
			c.AddDoneCallback(func(runtime.Handle) { order = append(order, "done callback") })
			runtime.CallLater(ctx, 0, func() { order = append(order, "call later") })
		})
		for len(order) < 3 {
			if err := runtime.Yield(ctx); err != nil {
				return 0, err
			}
		}
		<-done
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	slices.Sort(order)
	if got, want := strings.Join(order, ", "), "call later, done callback, spawned from a callback"; got != want {
		t.Errorf("order = %s; want %s", got, want)
	}
}

// TestOffLoopAwaitsFailAtOnce: awaiting functions called with a task's
// context from another goroutine return an error wrapping ErrNotInTask at
// once (DESIGN: a clear error, not a hang), and the loop goes on.
func TestOffLoopAwaitsFailAtOnce(t *testing.T) {
	awaits := []struct {
		name string
		call func(ctx context.Context, other *runtime.Task[int]) error
	}{
		{"Sleep", func(ctx context.Context, _ *runtime.Task[int]) error { return runtime.Sleep(ctx, time.Hour) }},
		{"Yield", func(ctx context.Context, _ *runtime.Task[int]) error { return runtime.Yield(ctx) }},
		{"Task.Await", func(ctx context.Context, o *runtime.Task[int]) error { _, err := o.Await(ctx); return err }},
		{"Gather", func(ctx context.Context, o *runtime.Task[int]) error { _, err := runtime.Gather(ctx, o); return err }},
		{"WaitFor", func(ctx context.Context, o *runtime.Task[int]) error {
			_, err := runtime.WaitFor(ctx, time.Hour, o)
			return err
		}},
		{"Shield", func(ctx context.Context, o *runtime.Task[int]) error { _, err := runtime.Shield(ctx, o); return err }},
		{"ToThread", func(ctx context.Context, _ *runtime.Task[int]) error {
			_, err := runtime.ToThread(ctx, func() (int, error) { return 0, nil })
			return err
		}},
	}
	for _, a := range awaits {
		t.Run(a.name, func(t *testing.T) {
			var got error
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				other := runtime.Spawn(ctx, sleepHour)
				ch := make(chan error)
				go func() { ch <- a.call(ctx, other) }()
				got = <-ch
				other.Cancel()
				return 0, nil
			}, quietLogger())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !errors.Is(got, runtime.ErrNotInTask) || !strings.HasPrefix(got.Error(), "runtime: "+a.name) {
				t.Errorf("%s off the loop = %v; want an error wrapping ErrNotInTask, prefixed runtime: %s", a.name, got, a.name)
			}
		})
	}
}
