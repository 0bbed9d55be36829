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

func TestSpawnDoesNotRunAndReadyTasksRunFIFO(t *testing.T) {
	var got []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		var ts []*runtime.Task[int]
		for _, name := range []string{"a", "b", "c"} {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				got = append(got, name+"1")
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
				got = append(got, name+"2")
				return 0, nil
			}))
		}
		got = append(got, "spawned")
		if err := runtime.Yield(ctx); err != nil {
			return struct{}{}, err
		}
		got = append(got, "main")
		_, err := runtime.Gather(ctx, ts...)
		return struct{}{}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"spawned", "a1", "b1", "c1", "main", "a2", "b2", "c2"}
	if !slices.Equal(got, want) {
		t.Errorf("steps ran in order %v, want %v", got, want)
	}
}

func TestRunCancelsLeftoverTasks(t *testing.T) {
	var leftover *runtime.Task[int]
	var sleepErr error
	cleaned := false
	v, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		leftover = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			sleepErr = runtime.Sleep(ctx, time.Hour)
			// Cleanup may still await while the task is being cancelled.
			if err := runtime.Yield(ctx); err != nil {
				return 0, fmt.Errorf("cleanup yield: %w", err)
			}
			cleaned = true
			return 0, sleepErr
		}, runtime.Named("leftover"))
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		return 42, nil
	})
	if v != 42 || err != nil {
		t.Fatalf("Run = %d, %v; want 42, nil", v, err)
	}
	if got := leftover.State(); got != runtime.Cancelled {
		t.Errorf("leftover task state = %v, want cancelled", got)
	}
	if !errors.Is(sleepErr, runtime.ErrCancelled) {
		t.Errorf("leftover's Sleep returned %v, want ErrCancelled", sleepErr)
	}
	if !cleaned {
		t.Error("leftover task did not get to finish its cleanup")
	}
}

func TestUnretrievedErrorIsLogged(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		retrieve func(ctx context.Context, t *runtime.Task[int])
		wantLog  bool
	}{
		{"never retrieved", func(ctx context.Context, t *runtime.Task[int]) {}, true},
		{"seen through Wait only", func(ctx context.Context, t *runtime.Task[int]) {
			runtime.Wait(ctx, []runtime.Handle{t})
		}, true},
		{"retrieved by Await", func(ctx context.Context, t *runtime.Task[int]) { t.Await(ctx) }, false},
		{"retrieved by Result", func(ctx context.Context, t *runtime.Task[int]) {
			runtime.Wait(ctx, []runtime.Handle{t})
			t.Result()
		}, false},
		{"retrieved by GatherAll", func(ctx context.Context, t *runtime.Task[int]) { runtime.GatherAll(ctx, t) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := newLogger()
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				f := runtime.Spawn(ctx, yieldsFail[int](1, boom), runtime.Named("doomed"))
				tt.retrieve(ctx, f)
				for !f.Done() {
					runtime.Yield(ctx)
				}
				return 0, nil
			}, runtime.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			var found map[string]any
			for _, r := range buf.records(t) {
				if strings.Contains(r["msg"].(string), "task error was never retrieved") {
					found = r
				}
			}
			if (found != nil) != tt.wantLog {
				t.Fatalf("logged %q; want a never-retrieved report: %t", buf.String(), tt.wantLog)
			}
			if found == nil {
				return
			}
			if got, _ := found["task"].(string); !strings.HasPrefix(got, "<Task failed name=doomed ") {
				t.Errorf("report's task = %q, want the task's repr", got)
			}
			if got := found["error"]; got != "boom" {
				t.Errorf("report's error = %v, want boom", got)
			}
		})
	}
}

func TestMainErrorIsReturnedNotLogged(t *testing.T) {
	log, buf := newLogger()
	boom := errors.New("boom")
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) { return 0, boom }, runtime.WithLogger(log))
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want main's error", err)
	}
	if strings.Contains(buf.String(), "never retrieved") {
		t.Errorf("main's error, which Run returns, was logged as never retrieved: %s", buf)
	}
}

func TestPanicFailsTaskAndLoopGoesOn(t *testing.T) {
	sentinel := errors.New("sentinel")
	tests := []struct {
		name  string
		value any
	}{
		{"string", "kaboom"},
		{"error", sentinel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var p *runtime.Task[int]
			v, runErr := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				p = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					runtime.Yield(ctx)
					panicker(tt.value)
					return 0, nil
				})
				after := runtime.Spawn(ctx, yields(3, 7))
				_, err = p.Await(ctx)
				return after.Await(ctx)
			})
			if v != 7 || runErr != nil {
				t.Fatalf("Run = %d, %v; want 7, nil: the loop must go on after a panic", v, runErr)
			}
			if p.State() != runtime.Failed {
				t.Errorf("state = %v, want failed", p.State())
			}
			var pe *runtime.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("Await error = %v (%T), want *PanicError", err, err)
			}
			if pe.Value != tt.value {
				t.Errorf("PanicError.Value = %v, want %v", pe.Value, tt.value)
			}
			if !strings.Contains(string(pe.Stack), "runtime_test.panicker") {
				t.Errorf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
			}
			if !strings.Contains(pe.Error(), fmt.Sprint(tt.value)) {
				t.Errorf("Error() = %q, want it to name the panic value", pe.Error())
			}
			if e, ok := tt.value.(error); ok && !errors.Is(err, e) {
				t.Errorf("errors.Is(err, panic value) = false, want true")
			}
		})
	}
}

func panicker(v any) { panic(v) }

func TestAwaitCycleIsDetectedAtOnce(t *testing.T) {
	for n := 1; n <= 3; n++ {
		t.Run(fmt.Sprintf("%d tasks", n), func(t *testing.T) {
			ts := make([]*runtime.Task[int], n)
			var cycleErr error
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				for i := range n {
					ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						if i == n-1 {
							// Let the others park on their awaits first.
							runtime.Yield(ctx)
							_, err := ts[0].Await(ctx)
							cycleErr = err
							return 0, err
						}
						return ts[i+1].Await(ctx)
					}, runtime.Named(fmt.Sprintf("t%d", i)))
				}
				rs, err := runtime.GatherAll(ctx, ts...)
				for _, r := range rs {
					if !errors.Is(r.Err, runtime.ErrAwaitCycle) {
						t.Errorf("a task of the cycle ended with %v, want the cycle error", r.Err)
					}
				}
				return 0, err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(cycleErr, runtime.ErrAwaitCycle) {
				t.Fatalf("closing await returned %v, want ErrAwaitCycle", cycleErr)
			}
			for i, tk := range ts {
				want := fmt.Sprintf("t%d (id %d)", i, tk.ID())
				if !strings.Contains(cycleErr.Error(), want) {
					t.Errorf("cycle error %q does not name %q", cycleErr, want)
				}
			}
		})
	}
}

func TestCurrentTaskAndAllTasks(t *testing.T) {
	if h := runtime.CurrentTask(context.Background()); h != nil {
		t.Errorf("CurrentTask outside a task = %v, want nil", h)
	}
	if hs := runtime.AllTasks(context.Background()); hs != nil {
		t.Errorf("AllTasks outside a task = %v, want nil", hs)
	}
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		main := runtime.CurrentTask(ctx)
		if main == nil || main.Name() != "main" || main.State() != runtime.Running {
			t.Errorf("CurrentTask in main = %v, want the running main task", main)
		}
		var ts []*runtime.Task[uint64]
		for _, name := range []string{"c", "a", "b"} {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (uint64, error) {
				return runtime.CurrentTask(ctx).ID(), nil
			}, runtime.Named(name)))
		}
		var names []string
		for _, h := range runtime.AllTasks(ctx) {
			names = append(names, h.Name())
		}
		if want := []string{"main", "c", "a", "b"}; !slices.Equal(names, want) {
			t.Errorf("AllTasks = %v, want %v (creation order)", names, want)
		}
		ids, err := runtime.Gather(ctx, ts...)
		if err != nil {
			return 0, err
		}
		for i, id := range ids {
			if id != ts[i].ID() {
				t.Errorf("CurrentTask in task %s has id %d, want %d", ts[i].Name(), id, ts[i].ID())
			}
		}
		if hs := runtime.AllTasks(ctx); len(hs) != 1 || hs[0].ID() != main.ID() {
			t.Errorf("AllTasks after the others ended = %v, want only main", hs)
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallSoonAndCallLater(t *testing.T) {
	var got []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) { got = append(got, "task"); return 0, nil })
		runtime.CallSoon(ctx, func() { got = append(got, "soon1") })
		runtime.CallSoon(ctx, func() { got = append(got, "soon2") })
		late := runtime.CallLater(ctx, 10*time.Millisecond, func() { got = append(got, "later") })
		never := runtime.CallLater(ctx, 5*time.Millisecond, func() { got = append(got, "cancelled timer ran") })
		if !never.Cancel() {
			t.Error("TimerHandle.Cancel of a pending timer = false, want true")
		}
		if never.Cancel() {
			t.Error("second TimerHandle.Cancel = true, want false")
		}
		if !strings.Contains(late.String(), "pending=true") {
			t.Errorf("pending handle String() = %q", late.String())
		}
		got = append(got, "main")
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		got = append(got, "main yielded")
		if err := runtime.Sleep(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
		if late.Cancel() {
			t.Error("TimerHandle.Cancel after the timer fired = true, want false")
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"main", "task", "soon1", "soon2", "main yielded", "later"}
	if !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

func failing(ctx context.Context) (int, error) { return 0, errors.New("boom") }

func finishing(ctx context.Context) (int, error) { return 1, nil }

func TestTaskRepr(t *testing.T) {
	file := "sched_test.go"
	sleepAt := fmt.Sprintf("%s:%d", "main_test.go", markLine(t, "sleepSecond"))
	_ = sleepAt
	var got []struct{ name, repr string }
	record := func(name string, h runtime.Handle) { got = append(got, struct{ name, repr string }{name, h.String()}) }
	var spawnLine int
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		record("running", runtime.CurrentTask(ctx))
		spawnLine = line() + 1
		w := runtime.Spawn(ctx, sleepSecond, runtime.Named("worker-3"))
		f := runtime.Spawn(ctx, finishing, runtime.Named("fine"))
		e := runtime.Spawn(ctx, failing, runtime.Named("bad"))
		record("created", w)
		runtime.Yield(ctx)
		record("suspended", w)
		w.Cancel("enough")
		record("cancelling", w)
		w.Await(ctx)
		record("cancelled", w)
		record("finished", f)
		e.Await(ctx)
		record("failed", e)
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"created":    fmt.Sprintf("<Task pending name=worker-3 fn=runtime_test.sleepSecond created at %s:%d>", file, spawnLine),
		"suspended":  "<Task pending name=worker-3 fn=runtime_test.sleepSecond suspended at " + sleepAt + " awaiting sleep(1s)>",
		"cancelling": "<Task cancelling name=worker-3 fn=runtime_test.sleepSecond suspended at " + sleepAt + " awaiting sleep(1s)>",
		"cancelled":  `<Task cancelled name=worker-3 fn=runtime_test.sleepSecond msg="enough">`,
		"finished":   "<Task finished name=fine fn=runtime_test.finishing>",
		"failed":     `<Task failed name=bad fn=runtime_test.failing error="boom">`,
	}
	for _, g := range got {
		if g.name == "running" {
			if !strings.HasPrefix(g.repr, "<Task running name=main fn=runtime_test.TestTaskRepr.") {
				t.Errorf("running repr = %s", g.repr)
			}
			continue
		}
		if g.repr != want[g.name] {
			t.Errorf("%s repr:\n got %s\nwant %s", g.name, g.repr, want[g.name])
		}
	}
}

func TestAddDoneCallback(t *testing.T) {
	var got []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		w := runtime.Spawn(ctx, yields(1, 0), runtime.Named("w"))
		w.AddDoneCallback(func(h runtime.Handle) { got = append(got, "cb1 "+h.Name()+" "+h.State().String()) })
		w.AddDoneCallback(func(h runtime.Handle) { got = append(got, "cb2") })
		w.Await(ctx)
		runtime.Yield(ctx)
		// On a done task the callback still runs soon, not at once.
		w.AddDoneCallback(func(h runtime.Handle) { got = append(got, "late") })
		got = append(got, "added late")
		runtime.Yield(ctx)
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cb1 w finished", "cb2", "added late", "late"}; !slices.Equal(got, want) {
		t.Errorf("callbacks ran %v, want %v", got, want)
	}
}

type ctxKey struct{}

func TestTaskContextCarriesValues(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "from Run")
	v, err := runtime.Run(ctx, func(ctx context.Context) (string, error) {
		child := runtime.Spawn(context.WithValue(ctx, ctxKey{}, "from Spawn"), func(ctx context.Context) (string, error) {
			grandchild := runtime.Spawn(ctx, func(ctx context.Context) (string, error) {
				return ctx.Value(ctxKey{}).(string), nil
			})
			return grandchild.Await(ctx)
		})
		got, err := child.Await(ctx)
		return ctx.Value(ctxKey{}).(string) + ", " + got, err
	})
	if want := "from Run, from Spawn"; v != want || err != nil {
		t.Errorf("values seen = %q, %v; want %q", v, err, want)
	}
}

func TestSleepNonPositiveYields(t *testing.T) {
	var got []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) { got = append(got, "other"); return 0, nil })
		if err := runtime.Sleep(ctx, -time.Second); err != nil {
			return 0, err
		}
		got = append(got, "main")
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"other", "main"}; !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v: Sleep(<=0) must let ready tasks run", got, want)
	}
}

// TestAwaitCycleThroughEveryAwait closes a cycle a → b → a where a waits on
// b through each task-waiting await.
func TestAwaitCycleThroughEveryAwait(t *testing.T) {
	tests := []struct {
		name  string
		await func(ctx context.Context, b *runtime.Task[int]) error
	}{
		{"Await", func(ctx context.Context, b *runtime.Task[int]) error { _, err := b.Await(ctx); return err }},
		{"Gather", func(ctx context.Context, b *runtime.Task[int]) error { _, err := runtime.Gather(ctx, b); return err }},
		{"GatherAll", func(ctx context.Context, b *runtime.Task[int]) error { _, err := runtime.GatherAll(ctx, b); return err }},
		{"Wait", func(ctx context.Context, b *runtime.Task[int]) error {
			_, _, err := runtime.Wait(ctx, []runtime.Handle{b})
			return err
		}},
		{"WaitFor", func(ctx context.Context, b *runtime.Task[int]) error {
			_, err := runtime.WaitFor(ctx, time.Hour, b)
			return err
		}},
		{"Shield", func(ctx context.Context, b *runtime.Task[int]) error { _, err := runtime.Shield(ctx, b); return err }},
		{"AsCompleted", func(ctx context.Context, b *runtime.Task[int]) error {
			for _, err := range runtime.AsCompleted(ctx, []*runtime.Task[int]{b}) {
				return err
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closing error
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				var a, b *runtime.Task[int]
				a = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, tt.await(ctx, b) }, runtime.Named("a"))
				b = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					runtime.Yield(ctx)
					_, closing = a.Await(ctx)
					return 0, closing
				}, runtime.Named("b"))
				runtime.GatherAll(ctx, a, b)
				return 0, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(closing, runtime.ErrAwaitCycle) || !strings.Contains(closing.Error(), "a (id") || !strings.Contains(closing.Error(), "b (id") {
				t.Errorf("closing await = %v, want an ErrAwaitCycle naming a and b", closing)
			}
		})
	}
}

func TestStateNamesRoundTrip(t *testing.T) {
	want := map[runtime.State]string{
		runtime.Pending: "pending", runtime.Running: "running", runtime.Cancelling: "cancelling",
		runtime.Finished: "finished", runtime.Failed: "failed", runtime.Cancelled: "cancelled",
	}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), name)
		}
		if got, ok := runtime.ParseState(name); !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %t", name, got, ok)
		}
		if done := s >= runtime.Finished; s.Done() != done {
			t.Errorf("%v.Done() = %t, want %t", s, s.Done(), done)
		}
	}
	if _, ok := runtime.ParseState("sleeping"); ok {
		t.Error(`ParseState("sleeping") succeeded`)
	}
}

func TestFrameForms(t *testing.T) {
	f := runtime.Frame{Function: "main.fetch", File: "/src/app/main.go", Line: 42}
	if f.Short() != "main.go:42" || f.String() != "main.fetch /src/app/main.go:42" || f.IsZero() {
		t.Errorf("Short %q, String %q, IsZero %t", f.Short(), f.String(), f.IsZero())
	}
	if z := (runtime.Frame{}); !z.IsZero() || z.Short() != "?" {
		t.Errorf("zero Frame: IsZero %t, Short %q", z.IsZero(), z.Short())
	}
}

func TestTaskContextAndLoopStrings(t *testing.T) {
	l := runtime.NewLoop(runtime.WithName("named"))
	if want := fmt.Sprintf("<Loop named id=%d>", l.ID()); l.String() != want {
		t.Errorf("Loop.String() = %q, want %q", l.String(), want)
	}
	err := l.Run(context.Background(), func(ctx context.Context) error {
		if d, ok := ctx.Deadline(); ok || !d.IsZero() {
			t.Errorf("task context Deadline = %v, %t; want none", d, ok)
		}
		if s := fmt.Sprint(ctx); !strings.Contains(s, "main") {
			t.Errorf("task context String() = %q, want it to name the task", s)
		}
		if ctx.Err() != nil {
			t.Errorf("Err() of a live task's context = %v", ctx.Err())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
