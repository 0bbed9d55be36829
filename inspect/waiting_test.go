package inspect

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/runtime"
)

// TestTasksWaitingLongerThan checks the waiting_longer_than filter of GET
// /v1/tasks: it selects on the time a task has waited at its current
// await, not on its age. A task awaiting a future nobody resolves is
// selected once it has waited long enough; a task as old that sleeps a
// millisecond at a time, and so keeps starting new awaits, never is.
func TestTasksWaitingLongerThan(t *testing.T) {
	startLoop(t, "waiting", func(ctx context.Context) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return runtime.NewFuture[int](ctx).Await(ctx)
		}, runtime.Named("waits"))
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
					return 0, err
				}
			}
		}, runtime.Named("ticks"))
	})
	_, c := listen(t, Options{ReadOnly: true})
	names := func(f client.TaskFilter) []string {
		f.Loop = "waiting"
		ts, err := c.Tasks(context.Background(), f)
		if err != nil {
			t.Fatalf("Tasks(%+v): %v", f, err)
		}
		var ns []string
		for _, tk := range ts {
			ns = append(ns, tk.Name)
		}
		slices.Sort(ns)
		return ns
	}
	const d = 500 * time.Millisecond
	waitFor(t, "the waiting task to have waited "+d.String(), func() bool {
		return slices.Contains(names(client.TaskFilter{WaitingLongerThan: d}), "waits")
	})
	if got := names(client.TaskFilter{WaitingLongerThan: d}); slices.Contains(got, "ticks") {
		t.Errorf("waiting longer than %s: %v; the ticking task waits a millisecond at a time", d, got)
	}
	if got := names(client.TaskFilter{OlderThan: d}); !slices.Contains(got, "ticks") || !slices.Contains(got, "waits") {
		t.Errorf("older than %s: %v; want both tasks (age is since creation)", d, got)
	}
	if got := names(client.TaskFilter{WaitingLongerThan: time.Hour}); len(got) != 0 {
		t.Errorf("waiting longer than 1h: %v, want none", got)
	}
}
