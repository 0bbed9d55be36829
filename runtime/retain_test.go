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
// (spawnClock), but never across a block: a task spawned after the code
// before it blocked gets a fresh reading — in a step the watchdog caught,
// in a callback (not watched: every spawn reads the clock), and in a step
// of a loop without a watchdog (the same).
func TestSpawnClock(t *testing.T) {
	noop := func(ctx context.Context) (int, error) { return 0, nil }
	for _, tt := range []struct {
		name     string
		opts     []runtime.Option
		callback bool
	}{
		{"step caught blocking", []runtime.Option{runtime.WithSlowStepThreshold(20 * time.Millisecond)}, false},
		{"callback", []runtime.Option{runtime.WithSlowStepThreshold(20 * time.Millisecond)}, true},
		{"no watchdog", []runtime.Option{runtime.WithSlowStepThreshold(0)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := runtime.NewLoop(append(tt.opts, quietLogger())...)
			var before, after, last runtime.TaskInfo
			var start time.Time
			err := l.Run(context.Background(), func(ctx context.Context) error {
				spawnAll := func() {
					start = time.Now()
					a := runtime.Spawn(ctx, noop)
					for range 10 {
						runtime.Spawn(ctx, noop)
					}
					time.Sleep(300 * time.Millisecond) // blocks the loop (a watchdog looks every 10ms)
					b := runtime.Spawn(ctx, noop)
					var c *runtime.Task[int]
					for range 200 {
						c = runtime.Spawn(ctx, noop)
					}
					before, _ = l.Task(a.ID())
					after, _ = l.Task(b.ID())
					last, _ = l.Task(c.ID())
				}
				if !tt.callback {
					spawnAll()
					return nil
				}
				done := runtime.NewEvent()
				runtime.Spawn(ctx, noop) // this step's reading must not reach the callback
				runtime.CallSoon(ctx, func() { spawnAll(); done.Set() })
				return done.Wait(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			if d := before.Created.Sub(start); d < -time.Millisecond {
				t.Errorf("a created %v before the code that made it ran", -d)
			}
			if d := after.Created.Sub(before.Created); d < 250*time.Millisecond {
				t.Errorf("b, spawned after a 300ms block, was created %v after a", d)
			}
			if last.Created.Before(after.Created) {
				t.Errorf("a later spawn created at %v, before b's %v", last.Created, after.Created)
			}
		})
	}
}
