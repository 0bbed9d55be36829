package runtime_test

import (
	"context"
	goruntime "runtime"
	"testing"
	"time"
	"weak"

	"github.com/taskdump/taskdump/runtime"
)

// TestEndedTaskNotRetained: once a task has ended and nothing of the
// user's holds it (no history kept), the loop keeps nothing of it either:
// not through the pooled coroutine it ran on (its suspension's waiter, its
// timer), whichever tasks run on that coroutine after it, and not what it
// awaited.
func TestEndedTaskNotRetained(t *testing.T) {
	var slept weak.Pointer[runtime.Task[[]byte]]
	var child weak.Pointer[runtime.Task[[]byte]]
	var aliveSlept, aliveChild bool
	l := runtime.NewLoop(runtime.WithHistorySize(0))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		func() {
			// One that slept (its coroutine's timer pointed at it)...
			tk := runtime.Spawn(ctx, func(ctx context.Context) ([]byte, error) {
				if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
					return nil, err
				}
				return make([]byte, 1<<20), nil
			})
			// ...and one awaited by another (its awaiter's suspension
			// named it).
			var c *runtime.Task[[]byte]
			a := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				c = runtime.Spawn(ctx, func(ctx context.Context) ([]byte, error) {
					if err := runtime.Yield(ctx); err != nil {
						return nil, err
					}
					return make([]byte, 1<<20), nil
				})
				_, err := c.Await(ctx)
				return 0, err
			})
			if _, err := tk.Await(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Await(ctx); err != nil {
				t.Fatal(err)
			}
			slept, child = weak.Make(tk), weak.Make(c)
		}()
		for range 100 { // later tasks neither sleep nor await tasks, on the pooled coroutines
			x := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, runtime.Yield(ctx) })
			if _, err := x.Await(ctx); err != nil {
				return err
			}
		}
		for range 3 {
			goruntime.GC()
		}
		aliveSlept, aliveChild = slept.Value() != nil, child.Value() != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if aliveSlept || aliveChild {
		t.Errorf("ended tasks still reachable after GC: the sleeper %v, the awaited child %v", aliveSlept, aliveChild)
	}
}

// TestRunMainReadable: a reader on another goroutine may snapshot a loop
// from the moment it runs: Loop.Run's main task is whole before it is
// listed (under -race, a field written after would be a race).
func TestRunMainReadable(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, l := range runtime.Loops() {
				for _, ti := range l.Snapshot().Tasks {
					_ = ti.Function
				}
			}
		}
	}()
	for range 20 {
		l := runtime.NewLoop()
		if err := l.Run(context.Background(), func(ctx context.Context) error { return runtime.Yield(ctx) }); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
}

// TestSpawnClock: tasks spawned in a row share clock readings
// (spawnClock), but a task spawned after its step blocked gets a fresh one:
// its created time is never the blocked step's start.
func TestSpawnClock(t *testing.T) {
	l := runtime.NewLoop(runtime.WithSlowStepThreshold(20*time.Millisecond), quietLogger())
	var before, after, last runtime.TaskInfo
	err := l.Run(context.Background(), func(ctx context.Context) error {
		start := time.Now()
		a := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil })
		for range 10 {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil })
		}
		time.Sleep(300 * time.Millisecond) // blocks the loop: the watchdog catches it (it looks every 10ms)
		b := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil })
		var ok bool
		if before, ok = l.Task(a.ID()); !ok {
			t.Fatal("no record of a")
		}
		if after, ok = l.Task(b.ID()); !ok {
			t.Fatal("no record of b")
		}
		var c *runtime.Task[int]
		for range 200 {
			c = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil })
		}
		last, _ = l.Task(c.ID())
		if d := before.Created.Sub(start); d < -time.Millisecond {
			t.Errorf("a created %v before the step that made it", -d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Created.Sub(before.Created); d < 250*time.Millisecond {
		t.Errorf("b, spawned after the step blocked 300ms, was created %v after a", d)
	}
	if last.Created.Before(after.Created) {
		t.Errorf("a later spawn created at %v, before b's %v", last.Created, after.Created)
	}
}
