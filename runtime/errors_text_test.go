package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/taskdump/taskdump/runtime"
)

// TestErrorTexts: an operation's error says the package once, then the
// operation, then what went wrong, and still matches its sentinel.
func TestErrorTexts(t *testing.T) {
	var cycle error
	_, _ = runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		var a, b *runtime.Task[int]
		fut := runtime.NewFuture[int](ctx)
		a = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if _, err := fut.Await(ctx); err != nil {
				return 0, err
			}
			_, cycle = b.Await(ctx)
			return 0, nil
		}, runtime.Named("a"))
		b = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return a.Await(ctx) }, runtime.Named("b"))
		if err := runtime.Sleep(ctx, 0); err != nil {
			return 0, err
		}
		fut.SetResult(1)
		_, err := runtime.GatherAll(ctx, a, b)
		return 0, err
	}, quietLogger())
	_, notInTask := runtime.Gather[int](context.Background())
	var other *runtime.Future[int]
	_, _ = runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		other = runtime.NewFuture[int](ctx)
		return 0, nil
	}, quietLogger())
	var wrongLoop, offTask error
	_, _ = runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		_, wrongLoop = other.Await(ctx)
		done := make(chan struct{})
		go func() { // the task's context used on another goroutine
			defer close(done)
			offTask = runtime.Sleep(ctx, 0)
		}()
		return runtime.ToThread(ctx, func() (int, error) { <-done; return 0, nil })
	}, quietLogger())
	tests := []struct {
		name   string
		err    error
		target error
		prefix string
	}{
		{"outside a task", notInTask, runtime.ErrNotInTask, "runtime: Gather: not called from a task"},
		{"await cycle", cycle, runtime.ErrAwaitCycle, "runtime: task: await cycle: a (id "},
		{"another loop's future", wrongLoop, runtime.ErrWrongLoop, "runtime: Future.Await: belongs to another loop"},
		{"a task's context on another goroutine", offTask, runtime.ErrNotInTask, "runtime: Sleep: not called from a task (task main is not running"},
	}
	for _, tt := range tests {
		if tt.err == nil || !errors.Is(tt.err, tt.target) || !strings.HasPrefix(tt.err.Error(), tt.prefix) || strings.Count(tt.err.Error(), "runtime:") != 1 {
			t.Errorf("%s: %v; want an error matching %v that starts %q and says runtime: once", tt.name, tt.err, tt.target, tt.prefix)
		}
	}
}
