package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// Loops run inside testing/synctest bubbles: every clock the loop reads
// (task timings, sleeps, timeouts, CallLater, the watchdog) is the bubble's
// fake clock, so hours of virtual time pass at once and deterministically.

// TestSynctestGatherSleeps gathers sleeps of one and two hours: in virtual
// time they take exactly two hours, and no real time.
func TestSynctestGatherSleeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		got, err := runtime.Run(t.Context(), func(ctx context.Context) ([]string, error) {
			a := runtime.Spawn(ctx, sleepThen(time.Hour, "a"))
			b := runtime.Spawn(ctx, sleepThen(2*time.Hour, "b"))
			return runtime.Gather(ctx, a, b)
		}, quietLogger())
		if err != nil || fmt.Sprint(got) != "[a b]" {
			t.Fatalf("Gather = %v, %v; want [a b], nil", got, err)
		}
		if d := time.Since(start); d != 2*time.Hour {
			t.Errorf("virtual time passed = %v, want exactly 2h", d)
		}
	})
}

// TestSynctestWaitFor times out a one-hour sleep after a minute of virtual
// time, and lets a shorter task finish in time.
func TestSynctestWaitFor(t *testing.T) {
	tests := []struct {
		name    string
		sleep   time.Duration
		timeout time.Duration
		wantErr error
		elapsed time.Duration
	}{
		{"times out", time.Hour, time.Minute, runtime.ErrTimeout, time.Minute},
		{"in time", time.Minute, time.Hour, nil, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				_, err := runtime.Run(t.Context(), func(ctx context.Context) (string, error) {
					return runtime.WaitFor(ctx, tt.timeout, runtime.Spawn(ctx, sleepThen(tt.sleep, "done")))
				}, quietLogger())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("WaitFor error = %v, want %v", err, tt.wantErr)
				}
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("virtual time passed = %v, want exactly %v", got, tt.elapsed)
				}
			})
		})
	}
}

// TestSynctestCallLater runs callbacks a day and a week away, in order, at
// their exact virtual times.
func TestSynctestCallLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var got []string
		err := runtime.NewLoop(quietLogger()).Run(t.Context(), func(ctx context.Context) error {
			done := runtime.NewEvent()
			runtime.CallLater(ctx, 7*24*time.Hour, func() {
				got = append(got, fmt.Sprint("week at ", time.Since(start)))
				done.Set()
			})
			runtime.CallLater(ctx, 24*time.Hour, func() {
				got = append(got, fmt.Sprint("day at ", time.Since(start)))
			})
			cancelled := runtime.CallLater(ctx, time.Hour, func() { got = append(got, "cancelled timer ran") })
			cancelled.Cancel()
			return done.Wait(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "[day at 24h0m0s week at 168h0m0s]"
		if fmt.Sprint(got) != want {
			t.Errorf("callbacks = %v, want %v", got, want)
		}
	})
}

// TestSynctestWatchdog blocks the loop with time.Sleep inside a task: the
// watchdog sees it in virtual time and reports the exact duration.
func TestSynctestWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loop := runtime.NewLoop(quietLogger(), runtime.WithSlowStepThreshold(100*time.Millisecond))
		err := loop.Run(t.Context(), func(ctx context.Context) error {
			t := runtime.Spawn(ctx, func(context.Context) (struct{}, error) {
				time.Sleep(3 * time.Second) // the misuse: blocks the loop
				return struct{}{}, nil
			}, runtime.Named("sleepy"))
			_, err := t.Await(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		evs := loop.Blocking()
		if len(evs) != 1 {
			t.Fatalf("Blocking() = %d events, want 1: %+v", len(evs), evs)
		}
		ev := evs[0]
		if ev.TaskName != "sleepy" || ev.Duration != 3*time.Second || ev.Ongoing {
			t.Errorf("block event = task %q, %v, ongoing %v; want sleepy, exactly 3s, ended", ev.TaskName, ev.Duration, ev.Ongoing)
		}
		if ev.Call != "time.Sleep" {
			t.Errorf("block event call = %q, want time.Sleep", ev.Call)
		}
	})
}

// TestSynctestRecordsFakeClock is the guarantee that nothing in the loop
// reads a clock synctest cannot fake: every time a task record holds is the
// bubble's clock, to the nanosecond.
func TestSynctestRecordsFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		loop := runtime.NewLoop(quietLogger())
		var created, started time.Time
		err := loop.Run(t.Context(), func(ctx context.Context) error {
			if err := runtime.Sleep(ctx, time.Minute); err != nil {
				return err
			}
			w := runtime.Spawn(ctx, sleepThen(time.Hour, "w"), runtime.Named("w"))
			if err := runtime.Sleep(ctx, time.Second); err != nil {
				return err
			}
			info, ok := loop.Task(w.ID())
			if !ok {
				return errors.New("task w not found")
			}
			created, started = info.Created, info.Started
			if info.Until != start.Add(time.Minute+time.Hour) {
				return fmt.Errorf("w sleeps until %v, want %v", info.Until, start.Add(time.Minute+time.Hour))
			}
			_, err := w.Await(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := start.Add(time.Minute); !created.Equal(want) || !started.Equal(want) {
			t.Errorf("w created %v, started %v; want both %v", created, started, want)
		}
		var found bool
		for _, h := range loop.History() {
			if h.Name != "w" {
				continue
			}
			found = true
			if want := start.Add(time.Minute + time.Hour); !h.Finished.Equal(want) {
				t.Errorf("w finished %v, want %v", h.Finished, want)
			}
			if h.Busy != 0 || h.SchedWait != 0 {
				t.Errorf("w busy %v, scheduled-wait %v; want 0 in a bubble (no time passes while code runs)", h.Busy, h.SchedWait)
			}
		}
		if !found {
			t.Error("w not in the history")
		}
	})
}

func sleepThen(d time.Duration, v string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if err := runtime.Sleep(ctx, d); err != nil {
			return "", err
		}
		return v, nil
	}
}

// A test runs a loop in virtual time by running it inside synctest.Test:
// the two sleeps below take exactly two hours of the bubble's clock and no
// real time. Everything the loop records (task timings, block events) reads
// the same fake clock.
func Example_virtualTime() {
	testGather := func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			got, err := runtime.Run(t.Context(), func(ctx context.Context) ([]string, error) {
				hour := runtime.Spawn(ctx, sleepThen(time.Hour, "an hour"))
				day := runtime.Spawn(ctx, sleepThen(24*time.Hour, "a day"))
				return runtime.Gather(ctx, hour, day)
			})
			if err != nil || time.Since(start) != 24*time.Hour {
				t.Fatalf("got %v, %v after %v", got, err, time.Since(start))
			}
		})
	}
	_ = testGather // in a _test.go file: func TestGather(t *testing.T) { ... }
}
