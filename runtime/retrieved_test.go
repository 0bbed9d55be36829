package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// TestHistoryRetrieved checks TaskInfo.Retrieved in the history: set for a
// failed task whose error was taken (Await, Result, Gather, WaitFor, a
// TaskGroup), unset for one nobody looked at; what doctor's unretrieved
// finding reads.
func TestHistoryRetrieved(t *testing.T) {
	boom := errors.New("boom")
	fail := func(ctx context.Context) (int, error) {
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		return 0, boom
	}
	got := map[string]bool{}
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := loopOf(t, ctx)
		forgotten := runtime.Spawn(ctx, fail, runtime.Named("forgotten"))
		awaited := runtime.Spawn(ctx, fail, runtime.Named("awaited"))
		result := runtime.Spawn(ctx, fail, runtime.Named("result"))
		gathered := runtime.Spawn(ctx, fail, runtime.Named("gathered"))
		waited := runtime.Spawn(ctx, fail, runtime.Named("waitfor"))
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, nil }, runtime.Named("ok"))
		if _, err := awaited.Await(ctx); !errors.Is(err, boom) {
			t.Errorf("Await = %v", err)
		}
		if _, err := runtime.Gather(ctx, gathered); !errors.Is(err, boom) {
			t.Errorf("Gather = %v", err)
		}
		if _, err := runtime.WaitFor(ctx, time.Hour, waited); !errors.Is(err, boom) {
			t.Errorf("WaitFor = %v", err)
		}
		g, _ := runtime.NewTaskGroup(ctx)
		runtime.SpawnIn(g, fail, runtime.Named("grouped"))
		if err := g.Wait(ctx); !errors.Is(err, boom) {
			t.Errorf("TaskGroup.Wait = %v", err)
		}
		for !forgotten.Done() || !result.Done() {
			if err := runtime.Yield(ctx); err != nil {
				return 0, err
			}
		}
		if _, err := result.Result(); !errors.Is(err, boom) {
			t.Errorf("Result = %v", err)
		}
		if err := runtime.Yield(ctx); err != nil { // let the loop retire them
			return 0, err
		}
		for _, ti := range l.History() {
			got[ti.Name] = ti.Retrieved
		}
		_, _ = forgotten.Result() // retrieved now: Run logs nothing at exit
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"forgotten": false, "awaited": true, "result": true, "gathered": true, "waitfor": true, "grouped": true, "ok": false}
	for name, w := range want {
		if r, ok := got[name]; !ok || r != w {
			t.Errorf("history %q: Retrieved = %v (found %v), want %v", name, r, ok, w)
		}
	}
}
