package inspect

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
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

// TestTaskWaitOnTheWire checks that a task record carries the structured
// wait (wait_kind, wait_resource, waiting_since, wait_external) and a loop
// record its stats: a task awaiting a future waits on that resource and
// only another task can end it; a sleeping one can end by itself.
func TestTaskWaitOnTheWire(t *testing.T) {
	startLoop(t, "wire-wait", func(ctx context.Context) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return runtime.NewFuture[int](ctx).Await(ctx)
		}, runtime.Named("on-future"))
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.Named("sleeping"))
	})
	_, c := listen(t, Options{ReadOnly: true})
	ctx := context.Background()
	before := time.Now()
	var fut, sl wire.Task
	waitFor(t, "both tasks waiting", func() bool {
		ts, err := c.Tasks(ctx, client.TaskFilter{Loop: "wire-wait"})
		if err != nil {
			t.Fatal(err)
		}
		fut, _ = taskNamed(ts, "on-future")
		sl, _ = taskNamed(ts, "sleeping")
		return fut.WaitKind != "" && sl.WaitKind != ""
	})
	rs, err := c.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rs, func(r wire.Resource) bool { return r.ID == fut.WaitResource })
	if fut.WaitKind != "future" || fut.WaitResource == 0 || fut.WaitExternal || i < 0 || rs[i].Kind != wire.ResourceFuture ||
		!slices.Contains(rs[i].Waiters, fut.ID) {
		t.Errorf("on-future: wait %q resource %d external %t; want a future of /v1/resources that lists it, not external",
			fut.WaitKind, fut.WaitResource, fut.WaitExternal)
	}
	if sl.WaitKind != "sleep" || sl.WaitResource != 0 || !sl.WaitExternal {
		t.Errorf("sleeping: wait %q resource %d external %t; want sleep, no resource, external", sl.WaitKind, sl.WaitResource, sl.WaitExternal)
	}
	for _, tk := range []wire.Task{fut, sl} {
		if tk.WaitingSince.IsZero() || tk.WaitingSince.After(time.Now()) || tk.WaitingSince.Before(before.Add(-time.Minute)) {
			t.Errorf("%s: waiting_since %v, want a recent time", tk.Name, tk.WaitingSince)
		}
	}
	loops, err := c.Loops(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j := slices.IndexFunc(loops, func(l wire.Loop) bool { return l.Name == "wire-wait" })
	if j < 0 || loops[j].Stats.Timers == 0 || loops[j].Stats.LastWork.IsZero() || loops[j].Stats.WindowNS <= 0 {
		t.Errorf("loops = %+v; want wire-wait with a timer, a last work time and a window", loops)
	}
}
