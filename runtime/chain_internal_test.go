package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockObserver records the blocks a loop reports.
type blockObserver struct {
	mu     sync.Mutex
	blocks []BlockEvent
}

func (o *blockObserver) OnTask(TaskEvent) {}

func (o *blockObserver) OnBlock(ev BlockEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.blocks = append(o.blocks, ev)
}

// TestChainRunsFirstStepsOnOneCoroutine: tasks that end in their first
// step, ready one after another, run on one coroutine without going back to
// the loop goroutine between them (chain), and what each step publishes is
// as if each had been stepped from the loop goroutine: the order they run
// in, each task's steps, start and end, and the goroutine identity misuse
// checks compare with. With an Observer the loop does not chain.
func TestChainRunsFirstStepsOnOneCoroutine(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprint("observed=", observed), func(t *testing.T) {
			opts := []Option{quiet()}
			if observed {
				opts = append(opts, WithObserver(&blockObserver{}))
			}
			l := NewLoop(opts...)
			var names []string
			err := l.Run(context.Background(), func(ctx context.Context) error {
				var ts []*Task[int]
				for i := range 4 {
					ts = append(ts, Spawn(ctx, func(ctx context.Context) (int, error) {
						names = append(names, taskOf(ctx).displayName())
						if g := getg(); g != 0 && l.steppingG.Load() != g {
							return 0, errors.New("the step's goroutine is not the one misuse checks compare with")
						}
						return i, nil
					}, Named(fmt.Sprint("c", i))))
				}
				got, err := Gather(ctx, ts...)
				if err != nil {
					return err
				}
				if want := []int{0, 1, 2, 3}; !slices.Equal(got, want) {
					return fmt.Errorf("Gather = %v; want %v", got, want)
				}
				for _, x := range ts {
					if x.pub.steps != 1 || x.pub.started == 0 || x.endTime < x.pub.started || x.co != nil {
						return fmt.Errorf("task %s: steps %d, started %d, ended %d, coroutine %p; want one step, started, ended after, retired",
							x.Name(), x.pub.steps, x.pub.started, x.endTime, x.co)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"c0", "c1", "c2", "c3"}; !slices.Equal(names, want) {
				t.Errorf("ran %v; want %v", names, want)
			}
			// c1, c2 and c3 began on the coroutine c0 ended on.
			if want := map[bool]int{false: 3, true: 0}[observed]; l.chained != want {
				t.Errorf("%d first steps chained; want %d", l.chained, want)
			}
		})
	}
}

// TestChainEnds: what ends a chain, or a task in it, leaves the loop as a
// step run from the loop goroutine would: a task cancelled by the one
// before it never runs, a panic fails only its task, a Goexit ends Run with
// its error (its coroutine is parked, not reused), a block is reported with
// the blocking task's own stack, and a full pool of idle coroutines stops
// the chain (goleak in TestMain checks that every coroutine is stopped).
func TestChainEnds(t *testing.T) {
	trivial := func(context.Context) (int, error) { return 1, nil }
	t.Run("cancelled by the task before it", func(t *testing.T) {
		ran := false
		l := NewLoop(quiet())
		err := l.Run(context.Background(), func(ctx context.Context) error {
			var victim *Task[int]
			Spawn(ctx, trivial) // a begins on its coroutine
			a := Spawn(ctx, func(context.Context) (int, error) { victim.Cancel(); return 1, nil })
			victim = Spawn(ctx, func(context.Context) (int, error) { ran = true; return 1, nil })
			c := Spawn(ctx, trivial)
			for _, x := range []*Task[int]{a, c} {
				if v, err := x.Await(ctx); v != 1 || err != nil {
					return fmt.Errorf("Await = %d, %v; want 1, nil", v, err)
				}
			}
			if _, err := victim.Await(ctx); !errors.Is(err, context.Canceled) {
				return fmt.Errorf("victim: Await = %v; want it cancelled", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if l.chained == 0 {
			t.Error("no first step was chained")
		}
		if ran {
			t.Error("a task cancelled before its first step ran")
		}
	})
	t.Run("panic", func(t *testing.T) {
		l := NewLoop(quiet())
		err := l.Run(context.Background(), func(ctx context.Context) error {
			a := Spawn(ctx, trivial)
			b := Spawn(ctx, func(context.Context) (int, error) { panic("boom") })
			c := Spawn(ctx, trivial)
			res, err := GatherAll(ctx, a, b, c)
			if err != nil {
				return err
			}
			var pe *PanicError
			if res[0].Value != 1 || !errors.As(res[1].Err, &pe) || res[2].Value != 1 {
				return fmt.Errorf("GatherAll = %+v; want 1, a panic, 1", res)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if l.chained == 0 {
			t.Error("no first step was chained")
		}
	})
	t.Run("Goexit", func(t *testing.T) {
		after := false
		l := NewLoop(quiet())
		err := l.Run(context.Background(), func(ctx context.Context) error {
			Spawn(ctx, trivial)
			Spawn(ctx, func(context.Context) (int, error) { goruntime.Goexit(); return 0, nil }, Named("quitter"))
			Spawn(ctx, func(context.Context) (int, error) { after = true; return 1, nil })
			return Sleep(ctx, time.Hour)
		})
		if !errors.Is(err, ErrGoexit) || !strings.Contains(err.Error(), "quitter") {
			t.Errorf("Run = %v; want ErrGoexit naming quitter", err)
		}
		if l.chained == 0 {
			t.Error("no first step was chained")
		}
		if !after {
			t.Error("the task after the Goexit did not run")
		}
	})
	t.Run("block", func(t *testing.T) {
		var logs strings.Builder
		var mu sync.Mutex
		l := NewLoop(WithSlowStepThreshold(20*time.Millisecond),
			WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
		err := l.Run(context.Background(), func(ctx context.Context) error {
			a := Spawn(ctx, trivial)
			b := Spawn(ctx, blockInChain, Named("c-blocker"))
			_, err := Gather(ctx, a, b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if l.chained == 0 {
			t.Error("the blocking task did not run chained")
		}
		mu.Lock()
		defer mu.Unlock()
		for _, want := range []string{`c-blocker`, "chain_internal_test.go:", "time.Sleep"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log = %q; want it to name %q", logs.String(), want)
			}
		}
	})
	t.Run("full pool", func(t *testing.T) {
		n := maxIdleCoros + 100
		ran := 0
		_, err := Run(context.Background(), func(ctx context.Context) (int, error) {
			ev := NewEvent()
			ts := make([]*Task[int], 0, n+1)
			for range n {
				ts = append(ts, Spawn(ctx, func(ctx context.Context) (int, error) {
					if err := ev.Wait(ctx); err != nil {
						return 0, err
					}
					ran++
					return 1, nil
				}))
			}
			if err := Yield(ctx); err != nil { // every waiter parks
				return 0, err
			}
			ev.Set()
			// Ready after the n waiters, in the same batch: the last waiter
			// ends with the pool full.
			ts = append(ts, Spawn(ctx, func(context.Context) (int, error) { ran++; return 1, nil }))
			_, err := Gather(ctx, ts...)
			return 0, err
		}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		if ran != n+1 {
			t.Errorf("%d tasks ran; want %d", ran, n+1)
		}
	})
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// blockInChain blocks the loop for longer than the slow-step threshold.
func blockInChain(context.Context) (int, error) {
	time.Sleep(120 * time.Millisecond) //taskvet:ignore the step must block the loop
	return 1, nil
}

type blockKey struct{}

// sameFn is the function of parked tasks and of one that blocks the loop.
func sameFn(ctx context.Context) (int, error) {
	if ctx.Value(blockKey{}) != nil {
		time.Sleep(300 * time.Millisecond) //taskvet:ignore the step must block the loop
		return 1, nil
	}
	return 0, Sleep(ctx, time.Hour)
}

// TestLiveStackSkipsParkedTasks: the watchdog's capture picks the
// goroutine running the blocked step, not one of the same function parked
// in an await (they park through parkSince, not park).
func TestLiveStackSkipsParkedTasks(t *testing.T) {
	l := NewLoop(quiet(), WithSlowStepThreshold(50*time.Millisecond))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		var parked []*Task[int]
		for range 3 {
			parked = append(parked, Spawn(ctx, sameFn))
		}
		if err := Yield(ctx); err != nil {
			return err
		}
		b := Spawn(context.WithValue(ctx, blockKey{}, 1), sameFn, Named("blocker"))
		_, err := b.Await(ctx)
		for _, x := range parked {
			x.Cancel()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := l.Blocking()
	if len(evs) != 1 {
		t.Fatalf("blocks = %+v; want one", evs)
	}
	if ev := evs[0]; ev.Call != "time.Sleep" || len(ev.Stack) == 0 {
		t.Errorf("block of %s calling %q at %v; want the blocker's time.Sleep", ev.TaskName, ev.Call, ev.At)
	}
}

// napInlined blocks the loop from a function small enough to be inlined
// into its caller.
func napInlined() {
	time.Sleep(80 * time.Millisecond) //taskvet:ignore the step must block the loop
}

// TestLiveStackInlined: the stack of a step blocking in an inlined
// function names each function once (the goroutine profile records an
// inlined call as a frame of its own: expanding it again showed its
// caller twice).
func TestLiveStackInlined(t *testing.T) {
	l := NewLoop(quiet(), WithSlowStepThreshold(20*time.Millisecond))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		_, err := Spawn(ctx, func(context.Context) (int, error) {
			napInlined()
			return 0, nil
		}, Named("napper")).Await(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := l.Blocking()
	if len(evs) != 1 || evs[0].Call != "time.Sleep" {
		t.Fatalf("blocks = %+v; want one, in time.Sleep", evs)
	}
	st := evs[0].Stack
	var fns []string
	for i, f := range st {
		fns = append(fns, f.Function)
		if i > 0 && f == st[i-1] {
			t.Errorf("frame %d repeats the one before: %+v", i, f)
		}
	}
	if !slices.ContainsFunc(fns, func(fn string) bool { return strings.HasSuffix(fn, ".napInlined") }) {
		t.Errorf("stack %q does not name napInlined", fns)
	}
}

// goexitLogger is a slog handler that calls runtime.Goexit at its first
// record, as a test's t.Fatal in a handler would.
type goexitLogger struct{ once sync.Once }

func (h *goexitLogger) Enabled(context.Context, slog.Level) bool { return true }
func (h *goexitLogger) Handle(context.Context, slog.Record) error {
	h.once.Do(goruntime.Goexit)
	return nil
}
func (h *goexitLogger) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *goexitLogger) WithGroup(string) slog.Handler      { return h }

// TestLoggerGoexitAtStepEnd: a logger that calls runtime.Goexit while the
// loop reports a blocking step that ended its task (the watchdog caught
// it) ends Run with ErrGoexit; the task still completes, so what awaits it
// wakes (Run hung: the task was retired but never completed).
func TestLoggerGoexitAtStepEnd(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), func(ctx context.Context) (int, error) {
			a := Spawn(ctx, func(context.Context) (int, error) {
				time.Sleep(150 * time.Millisecond) //taskvet:ignore the step must block the loop
				return 1, nil
			}, Named("slow"))
			b := Spawn(ctx, func(context.Context) (int, error) { return 1, nil })
			_, err := Gather(ctx, a, b)
			return 0, err
		}, WithLogger(slog.New(&goexitLogger{})), WithSlowStepThreshold(20*time.Millisecond))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrGoexit) {
			t.Errorf("Run = %v; want an error matching ErrGoexit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the logger called runtime.Goexit")
	}
}
