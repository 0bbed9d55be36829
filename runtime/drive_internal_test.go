package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// mixedWorkload runs tasks that hand work to each other every way the
// runtime offers (futures, a queue, a lock, an event, zero sleeps, Yield,
// callbacks, a cancel, a task cancelled before it ran, a panic) and
// returns what each step saw, in the order the steps ran.
func mixedWorkload(ctx context.Context) ([]string, error) {
	var log []string
	note := func(ctx context.Context, what string, args ...any) {
		if g := getg(); g != 0 && taskOf(ctx).loop.steppingG.Load() != g {
			what = "WRONG GOROUTINE " + what
		}
		log = append(log, taskOf(ctx).displayName()+": "+fmt.Sprintf(what, args...))
	}
	var fut [3]*Future[int]
	for i := range fut {
		fut[i] = NewFuture[int](ctx)
	}
	q := NewQueue[int](2)
	var mu sync.Mutex // guards nothing: the loop runs one step at a time
	lock := NewLock()
	ev := NewEvent()
	var ts []*Task[int]
	spawn := func(name string, fn func(ctx context.Context) (int, error)) *Task[int] {
		t := Spawn(ctx, fn, Named(name))
		ts = append(ts, t)
		return t
	}
	for i := range fut { // a ring of three passing a token through futures
		spawn(fmt.Sprint("ring", i), func(ctx context.Context) (int, error) {
			for {
				v, err := fut[i].Await(ctx)
				if err != nil {
					return 0, err
				}
				note(ctx, "token %d", v)
				fut[i] = NewFuture[int](ctx)
				fut[(i+1)%3].SetResult(v + 1)
				if v >= 30 {
					return v, nil
				}
				if v%7 == 0 {
					CallSoon(ctx, func() { log = append(log, fmt.Sprint("callback ", v)) })
				}
				if v%5 == 0 {
					if err := Sleep(ctx, 0); err != nil {
						return 0, err
					}
					note(ctx, "slept")
				}
			}
		})
	}
	fut[0].SetResult(0)
	spawn("producer", func(ctx context.Context) (int, error) {
		for i := range 12 {
			if err := q.Put(ctx, i); err != nil {
				return 0, err
			}
			note(ctx, "put %d", i)
		}
		return 0, nil
	})
	for c := range 2 {
		spawn(fmt.Sprint("consumer", c), func(ctx context.Context) (int, error) {
			for range 6 {
				v, err := q.Get(ctx)
				if err != nil {
					return 0, err
				}
				note(ctx, "got %d", v)
			}
			return 0, nil
		})
	}
	for w := range 3 {
		spawn(fmt.Sprint("locker", w), func(ctx context.Context) (int, error) {
			for range 3 {
				if err := lock.Lock(ctx); err != nil {
					return 0, err
				}
				mu.Lock()
				note(ctx, "locked")
				mu.Unlock()
				if err := Yield(ctx); err != nil {
					return 0, err
				}
				lock.Unlock()
			}
			return 0, nil
		})
	}
	spawn("waiter", func(ctx context.Context) (int, error) {
		if err := ev.Wait(ctx); err != nil {
			return 0, err
		}
		note(ctx, "event")
		return 0, nil
	})
	victim := spawn("victim", func(ctx context.Context) (int, error) {
		note(ctx, "ran")
		return 0, nil
	})
	sleeper := spawn("sleeper", func(ctx context.Context) (int, error) {
		return 0, Sleep(ctx, time.Hour)
	})
	spawn("canceller", func(ctx context.Context) (int, error) {
		if err := Yield(ctx); err != nil {
			return 0, err
		}
		sleeper.Cancel("by canceller")
		ev.Set()
		note(ctx, "cancelled")
		return 0, nil
	})
	spawn("panicker", func(ctx context.Context) (int, error) {
		if err := Yield(ctx); err != nil {
			return 0, err
		}
		panic("boom")
	})
	victim.Cancel() // before its first step
	res, err := GatherAll(ctx, ts...)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		log = append(log, fmt.Sprintf("result %s: %d %v", ts[i].Name(), r.Value, r.Err != nil))
	}
	return log, nil
}

// TestDriveOrder: a coroutine whose task suspends steps the ready tasks in
// the loop's place (drive), and the tasks run in the very order, on the
// very goroutines the misuse checks expect, that the loop goroutine would
// run them in.
func TestDriveOrder(t *testing.T) {
	run := func(opts ...Option) ([]string, *Loop) {
		l := NewLoop(append(opts, quiet())...)
		var log []string
		err := l.Run(context.Background(), func(ctx context.Context) (err error) {
			log, err = mixedWorkload(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return log, l
	}
	want, base := run(withoutDrive())
	got, l := run()
	if base.driven != 0 {
		t.Errorf("withoutDrive: %d steps driven", base.driven)
	}
	if l.driven == 0 {
		t.Error("no step was driven")
	}
	if !slices.Equal(got, want) {
		t.Errorf("driven steps ran as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range got {
		if strings.Contains(line, "WRONG") {
			t.Errorf("%s", line)
		}
	}
	if l.drivers != 0 {
		t.Errorf("%d drivers left", l.drivers)
	}
}

// pingPong hands a value between two tasks through futures n times and
// runs also on every handoff.
func pingPong(ctx context.Context, n int, also func(ctx context.Context, v int) error) error {
	var fut [2]*Future[int]
	fut[0], fut[1] = NewFuture[int](ctx), NewFuture[int](ctx)
	player := func(me int) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			for {
				v, err := fut[me].Await(ctx)
				if err != nil {
					return 0, err
				}
				if err := also(ctx, v); err != nil {
					return 0, err
				}
				fut[me] = NewFuture[int](ctx)
				fut[1-me].SetResult(v + 1)
				if v >= n {
					return v, nil
				}
			}
		}
	}
	a, b := Spawn(ctx, player(0), Named("ping")), Spawn(ctx, player(1), Named("pong"))
	fut[0].SetResult(0)
	_, err := Gather(ctx, a, b)
	return err
}

// TestDriveLeavesTheLoopItsWork: what only the loop goroutine does comes
// in its turn while two tasks hand a value to each other with no switch to
// the loop between them: a timer due, a callback posted from another
// goroutine, ToThread's completion, a block reported with the blocking
// task's stack, a Goexit; a handoff costs one driven step.
func TestDriveLeavesTheLoopItsWork(t *testing.T) {
	nothing := func(context.Context, int) error { return nil }
	t.Run("one driven step per two handoffs", func(t *testing.T) {
		l := NewLoop(quiet())
		if err := l.Run(context.Background(), func(ctx context.Context) error { return pingPong(ctx, 1000, nothing) }); err != nil {
			t.Fatal(err)
		}
		if l.driven < 490 || l.driven > 510 {
			t.Errorf("%d steps driven; want about 500", l.driven)
		}
	})
	t.Run("timer, posted callback, ToThread", func(t *testing.T) {
		l := NewLoop(quiet())
		err := l.Run(context.Background(), func(ctx context.Context) error {
			woke := false
			Spawn(ctx, func(ctx context.Context) (int, error) {
				err := Sleep(ctx, 5*time.Millisecond)
				woke = true
				return 0, err
			})
			posted, threaded := false, false
			go l.CallSoonThreadsafe(func() { posted = true })
			th := Spawn(ctx, func(ctx context.Context) (int, error) {
				return ToThread(ctx, func() (int, error) { threaded = true; return 1, nil })
			})
			err := pingPong(ctx, 5_000_000, func(context.Context, int) error {
				if woke && posted && threaded {
					return errors.New("done")
				}
				return nil
			})
			if err == nil || err.Error() != "done" {
				return fmt.Errorf("ping-pong ended with %v; want it to see the timer, the callback and ToThread", err)
			}
			_, err = th.Await(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("block", func(t *testing.T) {
		var logs strings.Builder
		var mu sync.Mutex
		l := NewLoop(WithSlowStepThreshold(20*time.Millisecond),
			WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
		err := l.Run(context.Background(), func(ctx context.Context) error {
			return pingPong(ctx, 100, func(ctx context.Context, v int) error {
				if v == 51 { // pong's: a driven step
					time.Sleep(60 * time.Millisecond) //taskvet:ignore the step must block the loop
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		evs := l.Blocking()
		if len(evs) != 1 || evs[0].TaskName != "pong" || evs[0].Call != "time.Sleep" {
			t.Fatalf("blocks = %+v; want one, pong's, in time.Sleep", evs)
		}
		mu.Lock()
		defer mu.Unlock()
		if n := strings.Count(logs.String(), "blocked the loop"); n != 1 || !strings.Contains(logs.String(), `\"pong\"`) {
			t.Errorf("log = %q; want one warning naming pong", logs.String())
		}
	})
	t.Run("Goexit", func(t *testing.T) {
		l := NewLoop(quiet())
		err := l.Run(context.Background(), func(ctx context.Context) error {
			return pingPong(ctx, 100, func(ctx context.Context, v int) error {
				if v == 41 {
					goruntime.Goexit()
				}
				return nil
			})
		})
		if !errors.Is(err, ErrGoexit) || !strings.Contains(err.Error(), "pong") {
			t.Errorf("Run = %v; want ErrGoexit naming pong", err)
		}
	})
	t.Run("a ring longer than maxDrivers", func(t *testing.T) {
		const n = 3 * maxDrivers
		l := NewLoop(quiet())
		err := l.Run(context.Background(), func(ctx context.Context) error {
			futs := make([]*Future[int], n)
			for i := range futs {
				futs[i] = NewFuture[int](ctx)
			}
			deepest := 0
			ts := make([]*Task[int], n)
			for i := range ts {
				ts[i] = Spawn(ctx, func(ctx context.Context) (int, error) {
					for {
						v, err := futs[i].Await(ctx)
						if err != nil {
							return 0, err
						}
						deepest = max(deepest, l.drivers)
						futs[i] = NewFuture[int](ctx)
						futs[(i+1)%n].SetResult(v + 1)
						if v >= 5*n-n {
							return v, nil
						}
					}
				})
			}
			futs[0].SetResult(0)
			if _, err := Gather(ctx, ts...); err != nil {
				return err
			}
			if deepest != maxDrivers {
				return fmt.Errorf("at most %d drivers at once; want %d", deepest, maxDrivers)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// exitingLogger is a slog handler that calls runtime.Goexit at the first
// warning of a blocked loop.
type exitingLogger struct{ n int }

func (h *exitingLogger) Enabled(context.Context, slog.Level) bool { return true }
func (h *exitingLogger) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "blocked the loop") {
		if h.n++; h.n == 1 {
			goruntime.Goexit()
		}
	}
	return nil
}
func (h *exitingLogger) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *exitingLogger) WithGroup(string) slog.Handler      { return h }

// TestDriveSlowStepMissedByWatchdog: a step just past the threshold, ended
// before the watchdog looked, is reported when the next step begins; that
// report goes to the logger from the loop goroutine, not from a driver (a
// logger that called runtime.Goexit there ended the driver's task half
// begun, and Run waited for ever; Run returns the logger's ErrGoexit).
func TestDriveSlowStepMissedByWatchdog(t *testing.T) {
	const threshold = 40 * time.Millisecond
	l := NewLoop(WithLogger(slog.New(&exitingLogger{})), WithSlowStepThreshold(threshold))
	done := make(chan error, 1)
	go func() {
		done <- l.Run(context.Background(), func(ctx context.Context) error {
			return pingPong(ctx, 20, func(ctx context.Context, v int) error {
				if v == 7 {
					// Past the threshold, but ended before the watchdog's
					// next tick (every threshold/4) most of the time.
					time.Sleep(threshold + time.Millisecond) //taskvet:ignore the step must block the loop
				}
				return nil
			})
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrGoexit) || !strings.Contains(err.Error(), "logger") {
			t.Errorf("Run = %v; want ErrGoexit naming the logger", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
