package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

func TestToThreadDoesNotBlockTheLoop(t *testing.T) {
	var ticks atomic.Int32
	v, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ticker := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				ticks.Add(1)
				if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
					return 0, nil
				}
			}
		})
		defer ticker.Cancel()
		// The worker returns only once the ticker task has made progress:
		// that happens only if the loop runs other tasks meanwhile.
		return runtime.ToThread(ctx, func() (int, error) {
			deadline := time.Now().Add(20 * time.Second)
			for ticks.Load() < 10 {
				if time.Now().After(deadline) {
					return 0, errors.New("no other task ran while ToThread work was in flight")
				}
				time.Sleep(time.Millisecond)
			}
			return 5, nil
		})
	})
	if v != 5 || err != nil {
		t.Errorf("ToThread = %d, %v; want 5, nil", v, err)
	}
}

func TestToThreadResults(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		fn    func() (int, error)
		want  int
		check func(error) bool
	}{
		{"value", func() (int, error) { return 3, nil }, 3, func(err error) bool { return err == nil }},
		{"error", func() (int, error) { return 0, boom }, 0, func(err error) bool { return errors.Is(err, boom) }},
		{"panic", func() (int, error) { panic("in a worker") }, 0, func(err error) bool {
			var pe *runtime.PanicError
			return errors.As(err, &pe) && pe.Value == "in a worker" && len(pe.Stack) > 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v int
			var err error
			_, runErr := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				v, err = runtime.ToThread(ctx, tt.fn)
				return 0, nil
			})
			if runErr != nil {
				t.Fatal(runErr)
			}
			if v != tt.want || !tt.check(err) {
				t.Errorf("ToThread = %d, %v", v, err)
			}
		})
	}
}

func TestToThreadCancellation(t *testing.T) {
	var toThreadErr error
	var workerSawCancel atomic.Bool
	var workerReturnedFirst bool
	release := make(chan struct{})
	var returned atomic.Bool
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		w := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			_, err := runtime.ToThread(ctx, func() (int, error) {
				<-ctx.Done() // the task's context is done once the cancel is delivered
				workerSawCancel.Store(true)
				<-release
				returned.Store(true)
				return 1, nil
			})
			toThreadErr = err
			workerReturnedFirst = returned.Load()
			return 0, err
		})
		for !strings.Contains(w.String(), "awaiting to_thread") {
			runtime.Yield(ctx)
		}
		w.Cancel("stop working")
		w.Await(ctx)
		close(release) // Run waits for the worker before it returns
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(toThreadErr, runtime.ErrCancelled) {
		t.Errorf("ToThread in a cancelled task = %v, want ErrCancelled", toThreadErr)
	}
	if workerReturnedFirst {
		t.Error("ToThread waited for the worker to return; want the cancellation at once")
	}
	if !workerSawCancel.Load() {
		t.Error("the worker did not see the task's context done")
	}
	if !returned.Load() {
		t.Error("Run returned before the ToThread worker did")
	}
}

func TestSeveralLoopsOnSeveralGoroutines(t *testing.T) {
	const n = 4
	var barrier, counted sync.WaitGroup
	barrier.Add(n)
	counted.Add(n)
	type result struct {
		sum      int
		loopID   uint64
		sawLoops int
		err      error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			_, r.err = runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				l := loopOf(t, ctx)
				r.loopID = l.ID()
				var ts []*runtime.Task[int]
				for j := range 50 {
					ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						if err := runtime.Sleep(ctx, time.Duration(j%3)*time.Millisecond); err != nil {
							return 0, err
						}
						if got, _ := runtime.FindTask(runtime.CurrentTask(ctx).ID()); got != l {
							return 0, fmt.Errorf("task of loop %v found in loop %v", l, got)
						}
						return j, nil
					}))
				}
				// Hold every loop running at once, without blocking any, while
				// each one counts the running loops.
				r.sawLoops, _ = runtime.ToThread(ctx, func() (int, error) {
					barrier.Done()
					barrier.Wait()
					n := len(runtime.Loops())
					counted.Done()
					counted.Wait()
					return n, nil
				})
				vs, err := runtime.Gather(ctx, ts...)
				for _, v := range vs {
					r.sum += v
				}
				return 0, err
			}, runtime.WithName(fmt.Sprintf("multi-%d", i)))
		}()
	}
	wg.Wait()
	ids := map[uint64]bool{}
	for i, r := range results {
		if r.err != nil || r.sum != 49*50/2 {
			t.Errorf("loop %d: sum %d, error %v; want %d, nil", i, r.sum, r.err, 49*50/2)
		}
		if r.sawLoops < n {
			t.Errorf("loop %d saw %d running loops, want at least %d", i, r.sawLoops, n)
		}
		ids[r.loopID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct loop ids, want %d", len(ids), n)
	}
}

func TestAwaitingOutsideATaskIsAnError(t *testing.T) {
	bl := startLoop(t, quietLogger())
	other := bl.L.Submit(func(ctx context.Context) error { _, err := sleepHour(ctx); return err })
	bg := context.Background()
	q := runtime.NewQueue[int](1)
	q.PutNowait(1)
	tests := []struct {
		name string
		call func() error
	}{
		{"Sleep", func() error { return runtime.Sleep(bg, time.Second) }},
		{"Yield", func() error { return runtime.Yield(bg) }},
		{"Gather", func() error { _, err := runtime.Gather(bg, other); return err }},
		{"GatherAll", func() error { _, err := runtime.GatherAll(bg, other); return err }},
		{"Wait", func() error { _, _, err := runtime.Wait(bg, []runtime.Handle{other}); return err }},
		{"AsCompleted", func() error {
			for _, err := range runtime.AsCompleted(bg, []*runtime.Task[struct{}]{other}) {
				return err
			}
			return nil
		}},
		{"WaitFor", func() error { _, err := runtime.WaitFor(bg, time.Second, other); return err }},
		{"Shield", func() error { _, err := runtime.Shield(bg, other); return err }},
		{"Event.Wait", func() error { return runtime.NewEvent().Wait(bg) }},
		{"Lock.Lock", func() error { return runtime.NewLock().Lock(bg) }},
		{"Semaphore.Acquire", func() error { return runtime.NewSemaphore(1).Acquire(bg) }},
		{"Queue.Get", func() error { _, err := q.Get(bg); return err }},
		{"Queue.Put", func() error { return q.Put(bg, 2) }},
		{"Queue.Join", func() error { return q.Join(bg) }},
		{"ToThread", func() error { _, err := runtime.ToThread(bg, func() (int, error) { return 0, nil }); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, runtime.ErrNotInTask) || !strings.HasPrefix(err.Error(), "runtime: ") {
				t.Errorf("%s outside a task = %v, want an error wrapping ErrNotInTask", tt.name, err)
			}
		})
	}
	panics := []struct {
		name string
		call func()
	}{
		{"Spawn", func() { runtime.Spawn(bg, sleepHour) }},
		{"NewFuture", func() { runtime.NewFuture[int](bg) }},
		{"NewTaskGroup", func() { runtime.NewTaskGroup(bg) }},
		{"CallSoon", func() { runtime.CallSoon(bg, func() {}) }},
		{"CallLater", func() { runtime.CallLater(bg, time.Second, func() {}) }},
	}
	for _, p := range panics {
		t.Run(p.name+" panics", func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "runtime: ") {
					t.Errorf("%s outside a task: recovered %v, want a panic prefixed with the package name", p.name, r)
				}
			}()
			p.call()
		})
	}
	t.Run("Await blocks until ctx is done", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(bg, 10*time.Millisecond)
		defer cancel()
		if _, err := other.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Await outside a task with a short context = %v, want DeadlineExceeded", err)
		}
	})
}

func TestContextUsedFromAnotherGoroutineIsAnError(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		// The worker goroutine holds the task's context while the task is
		// suspended in ToThread: awaiting with it must fail, not hang.
		self := runtime.CurrentTask(ctx)
		inner, err := runtime.ToThread(ctx, func() (error, error) {
			// Wait until the task has parked (see TestContextUsedWhileTaskRuns).
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(self.String(), "awaiting to_thread") && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			return runtime.Sleep(ctx, time.Millisecond), nil
		})
		if err != nil {
			return 0, err
		}
		if !errors.Is(inner, runtime.ErrNotInTask) {
			t.Errorf("Sleep with a task's context from another goroutine = %v, want ErrNotInTask", inner)
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAwaitingAnotherLoopsTaskIsAnError(t *testing.T) {
	bl := startLoop(t, quietLogger())
	foreign := bl.L.Submit(func(ctx context.Context) error { _, err := sleepHour(ctx); return err })
	ev := runtime.NewEvent()
	bl.L.Submit(func(ctx context.Context) error { return ev.Wait(ctx) }) // binds ev to bl's loop
	var fut *runtime.Future[int]
	mk := bl.L.Submit(func(ctx context.Context) error { fut = runtime.NewFuture[int](ctx); return nil })
	if _, err := mk.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the event has a waiter on the first loop", func() bool {
		for _, ti := range bl.L.Snapshot().Tasks {
			if ti.Awaiting == "event" {
				return true
			}
		}
		return false
	})
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Await", func(ctx context.Context) error { _, err := foreign.Await(ctx); return err }},
		{"Gather", func(ctx context.Context) error { _, err := runtime.Gather(ctx, foreign); return err }},
		{"Wait", func(ctx context.Context) error { _, _, err := runtime.Wait(ctx, []runtime.Handle{foreign}); return err }},
		{"WaitFor", func(ctx context.Context) error { _, err := runtime.WaitFor(ctx, time.Second, foreign); return err }},
		{"Shield", func(ctx context.Context) error { _, err := runtime.Shield(ctx, foreign); return err }},
		{"AsCompleted", func(ctx context.Context) error {
			for _, err := range runtime.AsCompleted(ctx, []*runtime.Task[struct{}]{foreign}) {
				return err
			}
			return nil
		}},
		{"Future.Await", func(ctx context.Context) error { _, err := fut.Await(ctx); return err }},
		{"Event.Wait", func(ctx context.Context) error { return ev.Wait(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				return 0, tt.call(ctx)
			})
			if !errors.Is(err, runtime.ErrWrongLoop) {
				t.Errorf("%s of another loop's object = %v, want an error wrapping ErrWrongLoop", tt.name, err)
			}
		})
	}
}

func TestSubmitAndCallSoonThreadsafeFromManyGoroutines(t *testing.T) {
	bl := startLoop(t, quietLogger())
	const goroutines, each = 8, 50
	counter := 0 // touched only on the loop goroutine
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ts []*runtime.Task[struct{}]
			for i := range each {
				bl.L.CallSoonThreadsafe(func() { counter++ })
				ts = append(ts, bl.L.Submit(func(ctx context.Context) error {
					if err := runtime.Yield(ctx); err != nil {
						return err
					}
					counter++
					if i%10 == 0 {
						return fmt.Errorf("g%d i%d", g, i)
					}
					return nil
				}))
			}
			for i, tk := range ts {
				_, err := tk.Await(context.Background())
				if (err != nil) != (i%10 == 0) {
					errs <- fmt.Errorf("submitted task %d returned %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var got int
	read := bl.L.Submit(func(ctx context.Context) error { got = counter; return nil })
	if _, err := read.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := 2 * goroutines * each; got != want {
		t.Errorf("counter = %d, want %d", got, want)
	}
	if err := bl.Stop(); err != nil {
		t.Fatal(err)
	}
	late := bl.L.Submit(func(ctx context.Context) error { return nil })
	if _, err := late.Await(context.Background()); !errors.Is(err, runtime.ErrLoopClosed) || late.State() != runtime.Failed {
		t.Errorf("Submit after close: state %v, error %v; want failed with ErrLoopClosed", late.State(), err)
	}
	bl.L.CallSoonThreadsafe(func() { t.Error("a callback posted after close ran") })
}

func TestLoopRunsOnce(t *testing.T) {
	l := runtime.NewLoop(runtime.WithName("once"))
	if l.Name() != "once" || l.ID() == 0 {
		t.Errorf("Name %q, ID %d", l.Name(), l.ID())
	}
	if err := l.Run(context.Background(), func(ctx context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background(), func(ctx context.Context) error { return nil }); err == nil {
		t.Error("second Run = nil, want an error")
	}
	if got := runtime.NewLoop().Name(); !strings.HasPrefix(got, "loop-") {
		t.Errorf("default loop name = %q, want loop-<id>", got)
	}
}

// TestContextUsedWhileTaskRuns: a goroutine that awaits with a task's context
// while that task's step is still running is refused: the check compares the
// calling goroutine with the one running the step, not just the task.
func TestContextUsedWhileTaskRuns(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		got := make(chan error, 1)
		go func() { got <- runtime.Sleep(ctx, time.Millisecond) }()
		// Block this step (briefly) until the other goroutine has tried.
		var err error
		select {
		case err = <-got:
		case <-time.After(10 * time.Second):
			return 0, errors.New("the foreign Sleep hung")
		}
		if !errors.Is(err, runtime.ErrNotInTask) {
			t.Errorf("Sleep from another goroutine during the step = %v, want ErrNotInTask", err)
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func submitted(ctx context.Context) error { _, err := sleepHour(ctx); return err }

func TestSubmittedTaskRecord(t *testing.T) {
	bl := startLoop(t, quietLogger())
	spawnLine := line() + 1
	tk := bl.L.Submit(submitted)
	waitUntil(t, "the task is suspended", func() bool { return strings.Contains(tk.String(), "awaiting") })
	if want := "<Task pending name=" + tk.Name() + " fn=runtime_test.submitted suspended at main_test.go:"; !strings.HasPrefix(tk.String(), want) {
		t.Errorf("repr %s, want prefix %s", tk, want)
	}
	ti, ok := bl.L.Task(tk.ID())
	if !ok {
		t.Fatal("the submitted task has no record")
	}
	if ti.Function != "github.com/taskdump/taskdump/runtime_test.submitted" || ti.ParentID != 0 ||
		ti.SpawnedAt.File != thisFile() || ti.SpawnedAt.Line != spawnLine {
		t.Errorf("record: Function %q, ParentID %d, SpawnedAt %s; want the user's function, no parent, line %d",
			ti.Function, ti.ParentID, ti.SpawnedAt, spawnLine)
	}
}

func TestAnotherTasksContextIsAnError(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		var otherCtx context.Context
		other := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { otherCtx = ctx; return sleepHour(ctx) })
		runtime.Yield(ctx)
		if err := runtime.Sleep(otherCtx, time.Millisecond); !errors.Is(err, runtime.ErrNotInTask) {
			t.Errorf("Sleep with another task's context = %v, want ErrNotInTask", err)
		}
		other.Cancel()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSubmitWhileTheLoopCloses submits from other goroutines while the loop
// shuts down: every submitted task must end (run, be cancelled by the
// shutdown, or fail with ErrLoopClosed), and awaiting it from outside must
// not hang.
func TestSubmitWhileTheLoopCloses(t *testing.T) {
	for range 50 {
		l := runtime.NewLoop(quietLogger())
		done := make(chan error, 1)
		go func() {
			done <- l.Run(context.Background(), func(ctx context.Context) error { return runtime.Yield(ctx) })
		}()
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 {
					tk := l.Submit(func(ctx context.Context) error { return nil })
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err := tk.Await(ctx)
					hung := ctx.Err() != nil
					cancel()
					if hung || (err != nil && !errors.Is(err, runtime.ErrLoopClosed) && !errors.Is(err, runtime.ErrCancelled)) || !tk.Done() {
						errs <- fmt.Errorf("submitted task: Await = %v, state %v; want it ended", err, tk.State())
						return
					}
				}
			}()
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

func TestWithThreadWorkersBoundsToThread(t *testing.T) {
	var inFlight, most atomic.Int32
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		var ts []*runtime.Task[int]
		for range 6 {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				return runtime.ToThread(ctx, func() (int, error) {
					n := inFlight.Add(1)
					for {
						m := most.Load()
						if n <= m || most.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(2 * time.Millisecond)
					inFlight.Add(-1)
					return 1, nil
				})
			}))
		}
		vs, err := runtime.Gather(ctx, ts...)
		return len(vs), err
	}, runtime.WithThreadWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m > 2 || m < 1 {
		t.Errorf("%d ToThread functions ran at once, want at most 2 (WithThreadWorkers)", m)
	}
}

// TestAwaitFromOutsideDuringShutdown: a goroutine outside the loop awaits
// a failing submitted task while the loop shuts down. Under -race this
// checks that retrieving the result from outside does not race with the
// loop's "never retrieved" report.
func TestAwaitFromOutsideDuringShutdown(t *testing.T) {
	for range 20 {
		l := runtime.NewLoop(quietLogger())
		ready := make(chan *runtime.Task[struct{}], 1)
		done := make(chan error, 1)
		go func() {
			_, err := (<-ready).Await(context.Background())
			done <- err
		}()
		err := l.Run(context.Background(), func(ctx context.Context) error {
			ready <- l.Submit(func(ctx context.Context) error { return errors.New("failed") })
			for range 3 {
				runtime.Yield(ctx)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err == nil || err.Error() != "failed" {
			t.Fatalf("Await from outside = %v, want the task's error", err)
		}
	}
}
