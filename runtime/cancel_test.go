package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

func TestCancelDeliversErrCancelledAtNextSuspension(t *testing.T) {
	var (
		stateAfterCancel runtime.State
		sleepErr         error
		ctxDone, ctxErr  bool
		awaitErr         error
		sleeper          *runtime.Task[int]
		cancelAgain      bool
	)
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		sleeper = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			sleepErr = runtime.Sleep(ctx, time.Hour)
			select {
			case <-ctx.Done():
				ctxDone = true
			default:
			}
			ctxErr = errors.Is(ctx.Err(), context.Canceled)
			return 0, sleepErr
		})
		runtime.Yield(ctx)
		if !sleeper.Cancel("stop", "now") {
			t.Error("Cancel of a pending task = false, want true")
		}
		stateAfterCancel = sleeper.State()
		_, awaitErr = sleeper.Await(ctx)
		cancelAgain = sleeper.Cancel()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stateAfterCancel != runtime.Cancelling {
		t.Errorf("state right after Cancel = %v, want cancelling", stateAfterCancel)
	}
	for _, target := range []error{runtime.ErrCancelled, context.Canceled} {
		if !errors.Is(sleepErr, target) {
			t.Errorf("Sleep returned %v; errors.Is(err, %v) = false", sleepErr, target)
		}
		if !errors.Is(awaitErr, target) {
			t.Errorf("Await returned %v; errors.Is(err, %v) = false", awaitErr, target)
		}
	}
	if sleepErr == nil || !strings.Contains(sleepErr.Error(), "stop now") {
		t.Errorf("Sleep error %v does not carry the message %q", sleepErr, "stop now")
	}
	var ce *runtime.CancelError
	if !errors.As(sleepErr, &ce) || ce.Msg != "stop now" {
		t.Errorf("Sleep error %v: want a *CancelError with Msg %q", sleepErr, "stop now")
	}
	if !ctxDone || !ctxErr {
		t.Errorf("task context after the cancel: Done closed %t, Err is Canceled %t; want both", ctxDone, ctxErr)
	}
	if got := sleeper.State(); got != runtime.Cancelled || !sleeper.Cancelled() || !sleeper.Done() {
		t.Errorf("final state = %v (Cancelled() %t, Done() %t), want cancelled", got, sleeper.Cancelled(), sleeper.Done())
	}
	if cancelAgain {
		t.Error("Cancel on a done task = true, want false")
	}
}

func TestCancelBeforeFirstStepNeverRunsBody(t *testing.T) {
	ran := false
	var err error
	var tk *runtime.Task[int]
	_, runErr := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		tk = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { ran = true; return 1, nil })
		tk.Cancel("too early")
		_, err = tk.Await(ctx)
		return 0, nil
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	if ran {
		t.Error("the body of a task cancelled before its first step ran")
	}
	if tk.State() != runtime.Cancelled || !errors.Is(err, runtime.ErrCancelled) {
		t.Errorf("state %v, Await error %v; want cancelled and ErrCancelled", tk.State(), err)
	}
	if !strings.Contains(fmt.Sprint(err), "too early") {
		t.Errorf("Await error %v does not carry the message", err)
	}
}

func TestCancelEndState(t *testing.T) {
	other := errors.New("other failure")
	tests := []struct {
		name  string
		after func(ctx context.Context, err error) error // what the task returns after its Sleep was cancelled
		want  runtime.State
	}{
		{"returns the cancellation", func(ctx context.Context, err error) error { return err }, runtime.Cancelled},
		{"returns it wrapped", func(ctx context.Context, err error) error { return fmt.Errorf("cleanup: %w", err) }, runtime.Cancelled},
		{"returns ctx.Err()", func(ctx context.Context, err error) error { return ctx.Err() }, runtime.Cancelled},
		{"catches it", func(ctx context.Context, err error) error { return nil }, runtime.Finished},
		{"catches it and awaits again", func(ctx context.Context, err error) error { return runtime.Yield(ctx) }, runtime.Finished},
		{"returns another error", func(ctx context.Context, err error) error { return other }, runtime.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tk *runtime.Task[int]
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				tk = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					return 0, tt.after(ctx, runtime.Sleep(ctx, time.Hour))
				})
				runtime.Yield(ctx)
				tk.Cancel()
				runtime.GatherAll(ctx, tk)
				return 0, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := tk.State(); got != tt.want {
				t.Errorf("end state = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCancelPropagation checks which awaits pass a cancellation of the
// awaiting task on to the task they await.
func TestCancelPropagation(t *testing.T) {
	tests := []struct {
		name       string
		await      func(ctx context.Context, inner *runtime.Task[int]) error
		propagates bool
	}{
		{"Await", func(ctx context.Context, in *runtime.Task[int]) error { _, err := in.Await(ctx); return err }, true},
		{"Gather", func(ctx context.Context, in *runtime.Task[int]) error { _, err := runtime.Gather(ctx, in); return err }, true},
		{"GatherAll", func(ctx context.Context, in *runtime.Task[int]) error {
			_, err := runtime.GatherAll(ctx, in)
			return err
		}, true},
		{"WaitFor", func(ctx context.Context, in *runtime.Task[int]) error {
			_, err := runtime.WaitFor(ctx, time.Hour, in)
			return err
		}, true},
		{"Shield", func(ctx context.Context, in *runtime.Task[int]) error { _, err := runtime.Shield(ctx, in); return err }, false},
		{"Wait", func(ctx context.Context, in *runtime.Task[int]) error {
			_, _, err := runtime.Wait(ctx, []runtime.Handle{in})
			return err
		}, false},
		{"AsCompleted", func(ctx context.Context, in *runtime.Task[int]) error {
			for _, err := range runtime.AsCompleted(ctx, []*runtime.Task[int]{in}) {
				return err
			}
			return errors.New("AsCompleted yielded nothing")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var outerErr, innerErr error
			var innerState runtime.State
			var innerVal int
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				release := runtime.NewEvent()
				inner := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					if err := release.Wait(ctx); err != nil {
						return 0, err
					}
					return 1, nil
				}, runtime.Named("inner"))
				outer := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					return 0, tt.await(ctx, inner)
				}, runtime.Named("outer"))
				runtime.Yield(ctx) // inner waits on the event, outer on inner
				outer.Cancel("outer cancelled")
				_, outerErr = outer.Await(ctx)
				innerState = inner.State()
				release.Set()
				innerVal, innerErr = inner.Await(ctx)
				return 0, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(outerErr, runtime.ErrCancelled) {
				t.Errorf("the cancelled awaiter ended with %v, want ErrCancelled", outerErr)
			}
			if tt.propagates {
				if innerState != runtime.Cancelled || !errors.Is(innerErr, runtime.ErrCancelled) {
					t.Errorf("awaited task: state %v, error %v when the awaiter ended; want cancelled", innerState, innerErr)
				}
			} else {
				if innerState.Done() || innerState == runtime.Cancelling {
					t.Errorf("awaited task was %v when the awaiter ended; want it untouched (pending)", innerState)
				}
				if innerVal != 1 || innerErr != nil {
					t.Errorf("awaited task then returned %d, %v; want 1, nil", innerVal, innerErr)
				}
			}
		})
	}
}

func TestCancelFromAnotherGoroutine(t *testing.T) {
	bl := startLoop(t, quietLogger())
	var sleepErr error
	tk := bl.L.Submit(func(ctx context.Context) error {
		sleepErr = runtime.Sleep(ctx, time.Hour) // mark:submitted-sleep
		return sleepErr
	})
	want := fmt.Sprintf("suspended at cancel_test.go:%d awaiting sleep(1h0m0s)>", markLine(t, "submitted-sleep"))
	waitUntil(t, "the submitted task is suspended", func() bool { return strings.HasSuffix(tk.String(), want) })
	if tk.ID() == 0 || !strings.HasPrefix(tk.Name(), "Task-") || tk.State() != runtime.Pending || tk.Done() {
		t.Errorf("from another goroutine: ID %d, Name %q, State %v, Done %t", tk.ID(), tk.Name(), tk.State(), tk.Done())
	}
	if !tk.Cancel("from outside") {
		t.Fatal("Cancel from another goroutine = false, want true")
	}
	if got := tk.State(); got != runtime.Cancelling && got != runtime.Cancelled {
		t.Errorf("state right after Cancel = %v, want cancelling", got)
	}
	_, err := tk.Await(context.Background()) // blocks this goroutine until done
	if !errors.Is(err, runtime.ErrCancelled) || !strings.Contains(err.Error(), "from outside") {
		t.Errorf("Await from another goroutine = %v, want the cancellation with its message", err)
	}
	if !errors.Is(sleepErr, runtime.ErrCancelled) {
		t.Errorf("the task's Sleep returned %v, want ErrCancelled", sleepErr)
	}
	if !tk.Done() || tk.State() != runtime.Cancelled || tk.Cancel() {
		t.Errorf("after the end: Done %t, State %v; want done, cancelled and Cancel false", tk.Done(), tk.State())
	}
	if err := bl.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestCancelTaskByID(t *testing.T) {
	bl := startLoop(t, quietLogger())
	tk := bl.L.Submit(func(ctx context.Context) error { _, err := sleepHour(ctx); return err })
	waitUntil(t, "the task is suspended", func() bool { return strings.Contains(tk.String(), "awaiting sleep") })
	if err := bl.L.CancelTask(tk.ID(), "by id", "taskdump"); err != nil {
		t.Fatal(err)
	}
	info, ok := bl.L.Task(tk.ID())
	if ok && (info.CancelMsg != "by id" || info.CancelBy != "taskdump") {
		t.Errorf("record of the cancelled task: CancelMsg %q, CancelBy %q", info.CancelMsg, info.CancelBy)
	}
	if _, err := tk.Await(context.Background()); !errors.Is(err, runtime.ErrCancelled) {
		t.Errorf("Await = %v, want ErrCancelled", err)
	}
	if err := bl.L.CancelTask(tk.ID(), "again", "test"); err == nil {
		t.Error("CancelTask of an ended task = nil, want an error")
	}
	if err := bl.L.CancelTask(1<<62, "", ""); err == nil {
		t.Error("CancelTask of an unknown id = nil, want an error")
	}
}

func TestRunContextCancelCancelsMain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err := runtime.Run(ctx, func(ctx context.Context) (int, error) { return sleepHour(ctx) })
	if !errors.Is(err, runtime.ErrCancelled) {
		t.Errorf("Run with a cancelled context = %v, want ErrCancelled", err)
	}
}

func TestCancelFromOutsideIsDeliveredAtNextSuspension(t *testing.T) {
	bl := startLoop(t, quietLogger(), runtime.WithSlowStepThreshold(0))
	entered := make(chan struct{})
	var release atomic.Bool
	var errDuringStep, yieldErr error
	tk := bl.L.Submit(func(ctx context.Context) error {
		close(entered)
		for !release.Load() { // a step that runs on while the cancel is requested
			time.Sleep(time.Millisecond)
		}
		errDuringStep = ctx.Err()
		yieldErr = runtime.Yield(ctx)
		return yieldErr
	})
	<-entered
	if !tk.Cancel("later") {
		t.Fatal("Cancel of a running task = false")
	}
	if got := tk.State(); got != runtime.Cancelling {
		t.Errorf("state of a running task right after Cancel = %v, want cancelling", got)
	}
	release.Store(true)
	if _, err := tk.Await(context.Background()); !errors.Is(err, runtime.ErrCancelled) {
		t.Errorf("Await = %v, want ErrCancelled", err)
	}
	if errDuringStep != nil {
		t.Errorf("ctx.Err() in the step that was running when Cancel came = %v, want nil (delivered at the next suspension)", errDuringStep)
	}
	if !errors.Is(yieldErr, runtime.ErrCancelled) || !strings.Contains(yieldErr.Error(), "later") {
		t.Errorf("next await returned %v, want the cancellation with its message", yieldErr)
	}
}

// TestDerivedContextsSeeTheCancel: contexts derived from a task's context
// (for HTTP requests, say) are done once the task's cancel is delivered.
func TestDerivedContextsSeeTheCancel(t *testing.T) {
	var derivedErr, timeoutErr error
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		w := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			derived, cancel := context.WithCancel(ctx)
			defer cancel()
			withTimeout, cancel2 := context.WithTimeout(ctx, time.Hour)
			defer cancel2()
			// Hand the derived contexts to a worker that blocks on them.
			_, err := runtime.ToThread(ctx, func() (int, error) {
				<-derived.Done()
				<-withTimeout.Done()
				derivedErr, timeoutErr = derived.Err(), withTimeout.Err()
				return 0, nil
			})
			return 0, err
		})
		for !strings.Contains(w.String(), "awaiting to_thread") {
			runtime.Yield(ctx)
		}
		w.Cancel()
		w.Await(ctx)
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Run has waited for the worker, so both errors are set.
	if !errors.Is(derivedErr, context.Canceled) || !errors.Is(timeoutErr, context.Canceled) {
		t.Errorf("derived contexts' Err = %v, %v; want context.Canceled", derivedErr, timeoutErr)
	}
}

// TestCancelFromSameLoopIsImmediate: a Cancel made by a task of the same
// loop reaches tasks already in this iteration's ready batch: one that has
// not started never runs, and one whose Sleep ended in the same iteration
// gets the cancellation instead of nil.
func TestCancelFromSameLoopIsImmediate(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ran := false
		var x *runtime.Task[int]
		y := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { x.Cancel("by y"); return 0, nil })
		x = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { ran = true; return 0, nil })
		var a *runtime.Task[int]
		b := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
				return 0, err
			}
			a.Cancel("by b")
			return 0, nil
		})
		var aErr error
		a = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			aErr = runtime.Sleep(ctx, 10*time.Millisecond)
			return 0, aErr
		})
		runtime.GatherAll(ctx, y, x, b, a)
		if ran || x.State() != runtime.Cancelled {
			t.Errorf("x: ran=%t state=%v, want a cancelled task that never ran", ran, x.State())
		}
		if !errors.Is(aErr, runtime.ErrCancelled) || a.State() != runtime.Cancelled {
			t.Errorf("a: Sleep = %v, state %v; want ErrCancelled and Cancelled", aErr, a.State())
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestShutdownCancelsTaskThatCaughtACancel: a task that caught a
// cancellation and went on (still Cancelling) is cancelled again when Run
// shuts the loop down, as asyncio.run cancels every task left; Run
// returned only if that task caught the first one only.
func TestShutdownCancelsTaskThatCaughtACancel(t *testing.T) {
	done := make(chan error, 1)
	var caught atomic.Int32
	go func() {
		_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
			x := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					err := runtime.Sleep(ctx, time.Hour)
					if !errors.Is(err, runtime.ErrCancelled) || caught.Add(1) > 1 {
						return 0, err
					}
				}
			}, runtime.Named("stubborn"))
			if err := runtime.Yield(ctx); err != nil {
				return 0, err
			}
			x.Cancel("go away")
			for range 3 {
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
			}
			if got := x.State(); got != runtime.Cancelling || caught.Load() != 1 {
				return 0, fmt.Errorf("after the first cancel: %v, %d caught; want Cancelling, 1", got, caught.Load())
			}
			return 0, nil
		}, quietLogger())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return: the task that caught a cancel was not cancelled at shutdown")
	}
	if caught.Load() != 2 {
		t.Errorf("the task saw %d cancellations; want 2", caught.Load())
	}
}
