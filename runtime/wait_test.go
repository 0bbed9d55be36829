package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// names returns the names of hs.
func names(hs []runtime.Handle) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.Name())
	}
	return out
}

func TestGatherReturnsResultsInArgumentOrder(t *testing.T) {
	got, err := runtime.Run(context.Background(), func(ctx context.Context) ([]string, error) {
		// The first argument ends last.
		return runtime.Gather(ctx,
			runtime.Spawn(ctx, yields(5, "a")),
			runtime.Spawn(ctx, yields(1, "b")),
			runtime.Spawn(ctx, yields(3, "c")),
			runtime.Spawn(ctx, yields(0, "d")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("Gather = %v, want %v", got, want)
	}
}

func TestGatherReturnsFirstErrorOthersKeepRunning(t *testing.T) {
	errA := errors.New("a failed")
	errC := errors.New("c failed")
	var gatherErr error
	var slowDoneAtReturn bool
	var slow *runtime.Task[int]
	var slowVal int
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		slow = runtime.Spawn(ctx, yields(10, 2))
		_, gatherErr = runtime.Gather(ctx,
			runtime.Spawn(ctx, yieldsFail[int](4, errC)),
			slow,
			runtime.Spawn(ctx, yieldsFail[int](2, errA)))
		slowDoneAtReturn = slow.Done()
		v, err := slow.Await(ctx)
		slowVal = v
		return 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(gatherErr, errA) {
		t.Errorf("Gather error = %v, want the first failure %v", gatherErr, errA)
	}
	if slowDoneAtReturn {
		t.Error("the slow task was done when Gather returned its first error; want Gather to return at once")
	}
	if slow.State() != runtime.Finished || slowVal != 2 {
		t.Errorf("slow task ended %v with %d; want it to keep running and finish with 2", slow.State(), slowVal)
	}
}

func TestGatherAllReturnsEveryResult(t *testing.T) {
	boom := errors.New("boom")
	got, err := runtime.Run(context.Background(), func(ctx context.Context) ([]runtime.Result[int], error) {
		cancelled := runtime.Spawn(ctx, sleepHour)
		cancelled.Cancel()
		return runtime.GatherAll(ctx,
			runtime.Spawn(ctx, yields(3, 1)),
			runtime.Spawn(ctx, yieldsFail[int](1, boom)),
			cancelled,
			runtime.Spawn(ctx, yields(0, 4)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("GatherAll returned %d results, want 4", len(got))
	}
	checks := []struct {
		val int
		err error
	}{{1, nil}, {0, boom}, {0, runtime.ErrCancelled}, {4, nil}}
	for i, c := range checks {
		if got[i].Value != c.val || !errors.Is(got[i].Err, c.err) || (c.err == nil) != (got[i].Err == nil) {
			t.Errorf("result %d = %+v, want value %d, error %v", i, got[i], c.val, c.err)
		}
	}
}

func TestWaitWithTimeoutDoesNotCancel(t *testing.T) {
	var done, pending []runtime.Handle
	var slowState runtime.State
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		fast := runtime.Spawn(ctx, yields(1, 0), runtime.Named("fast"))
		slow := runtime.Spawn(ctx, sleepHour, runtime.Named("slow"))
		var err error
		done, pending, err = runtime.Wait(ctx, []runtime.Handle{slow, fast}, runtime.WithTimeout(20*time.Millisecond))
		if err != nil {
			return 0, err
		}
		runtime.Yield(ctx)
		slowState = slow.State()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(done); !slices.Equal(got, []string{"fast"}) {
		t.Errorf("done = %v, want [fast]", got)
	}
	if got := names(pending); !slices.Equal(got, []string{"slow"}) {
		t.Errorf("pending = %v, want [slow]", got)
	}
	if slowState != runtime.Pending {
		t.Errorf("pending task after the timeout is %v, want pending (Wait must not cancel)", slowState)
	}
}

func TestWaitReturnWhen(t *testing.T) {
	boom := errors.New("boom")
	// Tasks: a finishes after 1 yield, b after 5, c fails after 2, d never ends.
	tests := []struct {
		name        string
		opts        []runtime.WaitOption
		tasks       string
		wantDone    []string
		wantPending []string
	}{
		{"FirstCompleted", []runtime.WaitOption{runtime.ReturnWhen(runtime.FirstCompleted)}, "abcd", []string{"a"}, []string{"b", "c", "d"}},
		{"FirstException", []runtime.WaitOption{runtime.ReturnWhen(runtime.FirstException)}, "abcd", []string{"a", "c"}, []string{"b", "d"}},
		{"FirstException without failure", []runtime.WaitOption{runtime.ReturnWhen(runtime.FirstException)}, "ab", []string{"a", "b"}, []string{}},
		{"AllCompleted", []runtime.WaitOption{runtime.ReturnWhen(runtime.AllCompleted)}, "abc", []string{"a", "b", "c"}, []string{}},
		{"default is AllCompleted", nil, "cba", []string{"c", "b", "a"}, []string{}},
		{"duplicates count once", nil, "aab", []string{"a", "b"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var done, pending []runtime.Handle
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				byName := map[rune]runtime.Handle{
					'a': runtime.Spawn(ctx, yields(1, 0), runtime.Named("a")),
					'b': runtime.Spawn(ctx, yields(5, 0), runtime.Named("b")),
					'c': runtime.Spawn(ctx, yieldsFail[int](2, boom), runtime.Named("c")),
					'd': runtime.Spawn(ctx, sleepHour, runtime.Named("d")),
				}
				var hs []runtime.Handle
				for _, r := range tt.tasks {
					hs = append(hs, byName[r])
				}
				var err error
				done, pending, err = runtime.Wait(ctx, hs, tt.opts...)
				return 0, err
			}, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			if got := names(done); !slices.Equal(got, tt.wantDone) {
				t.Errorf("done = %v, want %v", got, tt.wantDone)
			}
			if got := names(pending); !slices.Equal(got, tt.wantPending) {
				t.Errorf("pending = %v, want %v", got, tt.wantPending)
			}
		})
	}
}

func TestWaitEmptyListIsAnError(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		_, _, err := runtime.Wait(ctx, nil)
		return 0, err
	})
	if err == nil || !strings.HasPrefix(err.Error(), "runtime: ") {
		t.Errorf("Wait with no tasks = %v, want a runtime error", err)
	}
}

func TestAsCompletedYieldsInCompletionOrder(t *testing.T) {
	boom := errors.New("boom")
	type item struct {
		v   string
		err error
	}
	var got []item
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ts := []*runtime.Task[string]{
			runtime.Spawn(ctx, yields(4, "a")),
			runtime.Spawn(ctx, yields(1, "b")),
			runtime.Spawn(ctx, yieldsFail[string](2, boom)),
			runtime.Spawn(ctx, yields(0, "d")),
		}
		for v, err := range runtime.AsCompleted(ctx, ts) {
			got = append(got, item{v, err})
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []item{{"d", nil}, {"b", nil}, {"", boom}, {"a", nil}}
	if !slices.Equal(got, want) {
		t.Errorf("AsCompleted yielded %v, want %v", got, want)
	}
}

func TestAsCompletedTimeoutYieldsOneErrTimeout(t *testing.T) {
	var got []string
	var timeouts int
	var slowState runtime.State
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		slow := runtime.Spawn(ctx, func(ctx context.Context) (string, error) { _, err := sleepHour(ctx); return "slow", err })
		ts := []*runtime.Task[string]{slow, runtime.Spawn(ctx, yields(1, "fast")), slow}
		for v, err := range runtime.AsCompleted(ctx, ts, runtime.WithTimeout(20*time.Millisecond)) {
			if err != nil {
				if !errors.Is(err, runtime.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("AsCompleted error = %v, want ErrTimeout (and DeadlineExceeded)", err)
				}
				timeouts++
				continue
			}
			got = append(got, v)
		}
		slowState = slow.State()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"fast"}) || timeouts != 1 {
		t.Errorf("AsCompleted yielded values %v and %d timeouts; want [fast] and exactly one timeout", got, timeouts)
	}
	if slowState != runtime.Pending {
		t.Errorf("slow task after the timeout is %v, want pending (AsCompleted must not cancel)", slowState)
	}
}

func TestWaitForTimeoutCancelsAndWaitsForUnwinding(t *testing.T) {
	var unwound bool
	var stateAtReturn runtime.State
	var waitErr error
	var elapsed time.Duration
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		slow := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := runtime.Sleep(ctx, time.Hour)
			// Unwinding takes a few more awaits.
			runtime.Sleep(ctx, 5*time.Millisecond)
			runtime.Yield(ctx)
			unwound = true
			return 0, err
		})
		start := time.Now()
		_, waitErr = runtime.WaitFor(ctx, 10*time.Millisecond, slow)
		elapsed = time.Since(start)
		stateAtReturn = slow.State()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(waitErr, runtime.ErrTimeout) || !errors.Is(waitErr, context.DeadlineExceeded) {
		t.Errorf("WaitFor = %v, want ErrTimeout (and DeadlineExceeded)", waitErr)
	}
	if !unwound || stateAtReturn != runtime.Cancelled {
		t.Errorf("when WaitFor returned the task had unwound: %t, state %v; want true, cancelled", unwound, stateAtReturn)
	}
	if elapsed < 10*time.Millisecond {
		t.Errorf("WaitFor returned after %v, before its 10ms timeout", elapsed)
	}
}

func TestWaitForInTime(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(context.Context) (int, error)
		want int
		err  error
	}{
		{"value", yields(2, 5), 5, nil},
		{"error", yieldsFail[int](2, boom), 0, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				return runtime.WaitFor(ctx, time.Hour, runtime.Spawn(ctx, tt.fn))
			})
			if v != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("WaitFor = %d, %v; want %d, %v", v, err, tt.want, tt.err)
			}
		})
	}
}

func TestShieldGivesCancellationAtOnceTaskKeepsRunning(t *testing.T) {
	var shieldErr error
	var innerStateThen runtime.State
	var innerVal int
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		inner := runtime.Spawn(ctx, yields(10, 3))
		outer := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			_, err := runtime.Shield(ctx, inner)
			shieldErr = err
			innerStateThen = inner.State()
			return 0, err
		})
		runtime.Yield(ctx)
		outer.Cancel()
		outer.Await(ctx)
		v, err := inner.Await(ctx)
		innerVal = v
		return 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(shieldErr, runtime.ErrCancelled) {
		t.Errorf("Shield returned %v, want ErrCancelled", shieldErr)
	}
	if innerStateThen != runtime.Pending || innerVal != 3 {
		t.Errorf("shielded task was %v when Shield returned and ended with %d; want pending then 3", innerStateThen, innerVal)
	}
}
