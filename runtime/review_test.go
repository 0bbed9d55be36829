package runtime_test

import (
	"context"
	"errors"
	"log/slog"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// TestTouchKindNoRace checks that using a Lock and a Semaphore (their first
// change in each step) does not write their kind while Resources reads it
// from another goroutine: run with -race.
func TestTouchKindNoRace(t *testing.T) {
	var stop atomic.Bool
	done := make(chan struct{})
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		loop := runtime.LoopOf(ctx)
		m := runtime.NewLock()
		sem := runtime.NewSemaphore(1)
		go func() {
			defer close(done)
			for !stop.Load() {
				_ = loop.Resources()
			}
		}()
		defer func() { stop.Store(true); <-done }()
		for i := 0; i < 5000; i++ {
			if err := m.Lock(ctx); err != nil {
				return 0, err
			}
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			runtime.Yield(ctx)
			sem.Release()
			m.Unlock()
		}
		return 0, nil
	})
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
}

// TestDeadlockSemaphoreHandedPermit checks that a Semaphore permit Release
// handed to a waiter that has not resumed yet counts as held: C waits for
// the semaphore while A (awaiting C) and B hold its two permits, and X, handed
// B's permit, runs next and releases it, so C is not deadlocked.
func TestDeadlockSemaphoreHandedPermit(t *testing.T) {
	lg, buf := newLogger()
	var deadlocks []runtime.Deadlock
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		sem := runtime.NewSemaphore(2)
		a := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			defer sem.Release()
			c := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				runtime.Yield(ctx)
				if err := sem.Acquire(ctx); err != nil {
					return 0, err
				}
				sem.Release()
				return 0, nil
			}, runtime.Named("C"))
			return c.Await(ctx)
		}, runtime.Named("A"))
		b := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			runtime.Yield(ctx)
			sem.Release()
			return 0, nil
		}, runtime.Named("B"))
		x := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			sem.Release()
			return 0, nil
		}, runtime.Named("X"))
		_, err := runtime.Gather(ctx, a, b, x)
		deadlocks = runtime.LoopOf(ctx).Deadlocks()
		return 0, err
	}, runtime.WithLogger(lg))
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
	if got := buf.String(); strings.Contains(got, "deadlock") {
		t.Errorf("log = %s, want no deadlock", got)
	}
	if len(deadlocks) != 0 {
		t.Errorf("Deadlocks() = %v, want none", deadlocks)
	}
}

// TestDeadlockTaskGroupAbort checks that a TaskGroup.Wait with several live
// children does not close a cycle: main holds L and waits for the group, B
// waits for L, but C fails, the group aborts and cancels main's wait.
func TestDeadlockTaskGroupAbort(t *testing.T) {
	lg, buf := newLogger()
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		m := runtime.NewLock()
		if err := m.Lock(ctx); err != nil {
			return 0, err
		}
		defer m.Unlock()
		g, _ := runtime.NewTaskGroup(ctx)
		runtime.SpawnIn(g, func(ctx context.Context) (int, error) {
			if err := m.Lock(ctx); err != nil {
				return 0, err
			}
			m.Unlock()
			return 0, nil
		}, runtime.Named("B"))
		runtime.SpawnIn(g, func(ctx context.Context) (int, error) {
			runtime.Sleep(ctx, 10*time.Millisecond)
			return 0, errors.New("sibling failed")
		}, runtime.Named("C"))
		if err := g.Wait(ctx); err == nil {
			return 0, errors.New("runtime: TaskGroup.Wait = nil, want the group's error")
		}
		return 0, nil
	}, runtime.WithLogger(lg))
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
	if got := buf.String(); strings.Contains(got, "deadlock") {
		t.Errorf("log = %s, want no deadlock", got)
	}
}

// TestPrimitivesAfterRun checks that a Queue and an Event a task made may be
// used once Run has returned: nothing runs on the closed loop to race with,
// so their methods must not panic naming Loop.CallSoonThreadsafe.
func TestPrimitivesAfterRun(t *testing.T) {
	var q *runtime.Queue[int]
	var ev *runtime.Event
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		q = runtime.NewQueue[int](0)
		ev = runtime.NewEvent()
		return 0, q.Put(ctx, 1)
	})
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"Queue.GetNowait", func() { q.GetNowait() }},
		{"Queue.PutNowait", func() { q.PutNowait(2) }},
		{"Event.Set", func() { ev.Set() }},
		{"Event.Clear", func() { ev.Clear() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s after Run returned: panic %v, want none", tt.name, r)
				}
			}()
			tt.f()
		})
	}
}

// TestResultOffLoopNoRace checks that Task.Result called from a goroutine
// outside the loop does not write the loop's own record of the retrieval,
// which the loop reads when it closes: run with -race. The goroutine's
// Result is ordered with nothing the loop does after it saw ready closed.
func TestResultOffLoopNoRace(t *testing.T) {
	loop := runtime.NewLoop()
	started, ready, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var result error
	go func() {
		defer close(done)
		<-started
		tk := loop.Submit(func(ctx context.Context) error { return errors.New("boom") })
		for !tk.Done() {
			time.Sleep(time.Millisecond)
		}
		close(ready)
		_, result = tk.Result()
	}()
	err := loop.Run(context.Background(), func(ctx context.Context) error {
		close(started)
		for {
			select {
			case <-ready:
				return nil
			default:
			}
			if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
				return err
			}
		}
	})
	<-done
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
	if result == nil || result.Error() != "boom" {
		t.Errorf("Result() error = %v, want boom", result)
	}
}

// TestOffLoopPanics checks that TimerHandle.Cancel and Queue.TaskDone,
// called from a goroutine that is neither the loop nor one of its tasks,
// panic at once naming Loop.CallSoonThreadsafe, as the other primitives'
// methods do, rather than edit the loop's state unsynchronised.
func TestOffLoopPanics(t *testing.T) {
	tests := []struct {
		name string
		// prepare runs in a task and returns what the other goroutine calls.
		prepare func(ctx context.Context) func()
	}{
		{"TimerHandle.Cancel", func(ctx context.Context) func() {
			h := runtime.CallLater(ctx, time.Hour, func() {})
			return func() { h.Cancel() }
		}},
		{"Queue.TaskDone", func(ctx context.Context) func() {
			q := runtime.NewQueue[int](0)
			if err := q.PutNowait(1); err != nil {
				panic(err)
			}
			if _, err := q.GetNowait(); err != nil {
				panic(err)
			}
			return func() { q.TaskDone() }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				f := tt.prepare(ctx)
				done := make(chan any, 1)
				go func() {
					defer func() { done <- recover() }()
					f()
				}()
				for {
					select {
					case got = <-done:
						return 0, nil
					default:
					}
					if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
						return 0, err
					}
				}
			})
			if err != nil {
				t.Fatalf("runtime: Run: %v", err)
			}
			msg, _ := got.(string)
			if !strings.Contains(msg, tt.name) || !strings.Contains(msg, "CallSoonThreadsafe") {
				t.Errorf("%s off the loop: recover() = %v, want a panic naming it and Loop.CallSoonThreadsafe", tt.name, got)
			}
		})
	}
}

// TestEachTaskReentrant checks that the function EachTask and
// EachTaskSince call may call the loop's other readers (here Loop.Task):
// it ran with the reader frame cache locked, so that call deadlocked.
func TestEachTaskReentrant(t *testing.T) {
	tests := []struct {
		name string
		walk func(l *runtime.Loop, fn func(id uint64))
	}{
		{"EachTask", func(l *runtime.Loop, fn func(id uint64)) {
			l.EachTask(runtime.SnapshotOptions{}, func(ti *runtime.TaskInfo) bool { fn(ti.ID); return true })
		}},
		{"EachTaskSince", func(l *runtime.Loop, fn func(id uint64)) {
			l.EachTaskSince(0, runtime.SnapshotOptions{Stacks: true}, func(ti *runtime.TaskInfo, _ bool) bool { fn(ti.ID); return true })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop := runtime.NewLoop()
			started, walked := make(chan struct{}), make(chan int, 1)
			go func() {
				<-started
				n := 0
				tt.walk(loop, func(id uint64) {
					if _, ok := loop.Task(id); ok {
						n++
					}
				})
				walked <- n
			}()
			var got int
			err := loop.Run(context.Background(), func(ctx context.Context) error {
				runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					return 0, runtime.Sleep(ctx, time.Hour) // cancelled when main returns
				})
				close(started)
				deadline := time.Now().Add(30 * time.Second)
				for {
					select {
					case got = <-walked:
						return nil
					default:
					}
					if time.Now().After(deadline) {
						return errors.New("runtime: the walk did not return in 30s (deadlocked)")
					}
					if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
						return err
					}
				}
			})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got < 1 {
				t.Errorf("%s: Task found %d of the tasks visited, want at least 1", tt.name, got)
			}
		})
	}
}

// TestRegistryDropsUnreachablePrimitives checks that the Queues and Events a
// long-lived task made and dropped are not kept by the loop's registry
// (every one was held until the task ended), while one it still holds stays
// listed.
func TestRegistryDropsUnreachablePrimitives(t *testing.T) {
	const rounds, perRound = 3, 20000
	var got []int
	var keptListed bool
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		kept := runtime.NewQueue[int](0)
		if err := kept.PutNowait(7); err != nil {
			return 0, err
		}
		for range rounds {
			for i := range perRound {
				q := runtime.NewQueue[[64]byte](0)
				if err := q.PutNowait([64]byte{}); err != nil {
					return 0, err
				}
				if _, err := q.GetNowait(); err != nil {
					return 0, err
				}
				runtime.NewEvent().Set()
				if i%1000 == 999 {
					runtime.Yield(ctx) // the step ends: publish and sweep run
				}
			}
			goruntime.GC()
			runtime.Yield(ctx)
			got = append(got, len(l.Resources()))
		}
		for _, ri := range l.Resources() {
			if ri.Kind == "queue" && ri.Len == 1 {
				keptListed = true
			}
		}
		goruntime.KeepAlive(kept)
		return 0, nil
	})
	if err != nil {
		t.Fatalf("runtime: Run: %v", err)
	}
	for i, n := range got {
		if n > 2000 {
			t.Errorf("round %d: Resources() lists %d primitives, want at most 2000 (the ones made since the last GC)", i, n)
		}
	}
	if !keptListed {
		t.Errorf("Resources() lost the queue the task still holds")
	}
}

// BenchmarkNewPrimitiveInTask measures making a Queue or an Event in a task
// and using it once, including its registration with the loop at the end
// of the step (a step every 100 primitives), and the sweeps.
func BenchmarkNewPrimitiveInTask(b *testing.B) {
	benches := []struct {
		name string
		make func()
	}{
		{"Queue", func() {
			q := runtime.NewQueue[int](0)
			_ = q.PutNowait(1)
		}},
		{"Event", func() { runtime.NewEvent().Set() }},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				i := 0
				for b.Loop() {
					bb.make()
					if i++; i%100 == 0 {
						runtime.Yield(ctx)
					}
				}
				return 0, nil
			})
			if err != nil {
				b.Fatalf("runtime: Run: %v", err)
			}
		})
	}
}

// TestDeadlockCheckBudget checks that a deadlock check visits a bounded
// number of tasks: H holds L and awaits (GatherAll) k sleeping tasks and
// then X, which waits for L. With few tasks the cycle is found; behind 5,000
// the check runs out of budget and reports nothing (it may miss a
// deadlock, never invents one) instead of walking them all for each
// waiter, which cost O(n·k) on the loop.
func TestDeadlockCheckBudget(t *testing.T) {
	tests := []struct {
		k    int
		want int // deadlocks reported
	}{
		{k: 10, want: 1},
		{k: 5000, want: 0},
	}
	for _, tt := range tests {
		lg, _ := newLogger()
		var got int
		_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
			m := runtime.NewLock()
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := m.Lock(ctx); err != nil {
					return 0, err
				}
				defer m.Unlock()
				ts := make([]*runtime.Task[int], 0, tt.k+1)
				for range tt.k {
					ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						return 0, runtime.Sleep(ctx, time.Hour)
					}))
				}
				ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					if err := m.Lock(ctx); err != nil {
						return 0, err
					}
					m.Unlock()
					return 0, nil
				}, runtime.Named("X")))
				_, err := runtime.GatherAll(ctx, ts...)
				return 0, err
			}, runtime.Named("H"))
			for range 3 {
				runtime.Yield(ctx)
			}
			got = len(runtime.LoopOf(ctx).Deadlocks())
			return 0, nil // the loop's shutdown cancels H and the rest
		}, runtime.WithLogger(lg))
		if err != nil {
			t.Fatalf("k=%d: runtime: Run: %v", tt.k, err)
		}
		if got != tt.want {
			t.Errorf("k=%d: %d deadlocks reported, want %d", tt.k, got, tt.want)
		}
	}
}

// TestSecondGoexitDuringShutdown checks that a runtime.Goexit in a callback
// the shutdown runs, after a first Goexit ended the loop (t.Fatal in a
// callback, then in a done callback of a task the shutdown cancels), ends
// neither Run's caller nor the shutdown: Run returns an error matching
// ErrGoexit.
func TestSecondGoexitDuringShutdown(t *testing.T) {
	returned := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
			t1 := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, runtime.Sleep(ctx, time.Hour) })
			t1.AddDoneCallback(func(runtime.Handle) { goruntime.Goexit() })
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				err := runtime.Sleep(ctx, time.Hour)
				for range 3 {
					runtime.Yield(ctx)
				}
				return 0, err
			})
			runtime.Yield(ctx)
			runtime.CallSoon(ctx, func() { goruntime.Goexit() })
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.WithLogger(slog.New(slog.DiscardHandler)))
		returned <- err
	}()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("runtime: Run did not return in 30s")
	}
	select {
	case err := <-returned:
		if !errors.Is(err, runtime.ErrGoexit) {
			t.Errorf("Run() error = %v, want one matching ErrGoexit", err)
		}
	default:
		t.Error("Run never returned: the second Goexit ended its caller's goroutine")
	}
}

// TestCallbacksAtShutdown checks that callbacks queued as the last tasks
// end run before Run returns, as asyncio runs them: a done callback of a
// task the shutdown cancels, main's own done callback, a CallSoon made by a
// task unwinding at shutdown.
func TestCallbacksAtShutdown(t *testing.T) {
	tests := []struct {
		name string
		main func(ctx context.Context, ran *bool) (int, error)
	}{
		{"done callback of a task cancelled at shutdown", func(ctx context.Context, ran *bool) (int, error) {
			c := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, runtime.Sleep(ctx, time.Hour) })
			c.AddDoneCallback(func(runtime.Handle) { *ran = true })
			runtime.Yield(ctx)
			return 0, nil
		}},
		{"main's done callback", func(ctx context.Context, ran *bool) (int, error) {
			runtime.CurrentTask(ctx).(*runtime.Task[int]).AddDoneCallback(func(runtime.Handle) { *ran = true })
			return 0, nil
		}},
		{"CallSoon while unwinding at shutdown", func(ctx context.Context, ran *bool) (int, error) {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				err := runtime.Sleep(ctx, time.Hour)
				runtime.CallSoon(ctx, func() { *ran = true })
				return 0, err
			})
			runtime.Yield(ctx)
			return 0, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				return tt.main(ctx, &ran)
			})
			if err != nil {
				t.Fatalf("runtime: Run: %v", err)
			}
			if !ran {
				t.Errorf("%s: the callback never ran, want it run before Run returns", tt.name)
			}
		})
	}
}
