package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

func TestTaskGroupAllSucceed(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		g, _ := runtime.NewTaskGroup(ctx)
		a := runtime.SpawnIn(g, yields(3, 1))
		b := runtime.SpawnIn(g, yields(1, 2))
		if err := g.Wait(ctx); err != nil {
			t.Errorf("Wait = %v, want nil", err)
		}
		for _, tk := range []*runtime.Task[int]{a, b} {
			if tk.State() != runtime.Finished {
				t.Errorf("child %s is %v after Wait, want finished", tk.Name(), tk.State())
			}
		}
		if a.Done() {
			v, _ := a.Result()
			if v != 1 {
				t.Errorf("child result = %d, want 1", v)
			}
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTaskGroupFailureCancelsSiblingsAndParent(t *testing.T) {
	boom := errors.New("boom")
	var (
		sleepErr    error
		waitErr     error
		sibling     *runtime.Task[int]
		failed      *runtime.Task[int]
		groupDone   bool
		stateAfter  runtime.State
		sleepsAfter error
		parentID    uint64
	)
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		parentID = runtime.CurrentTask(ctx).ID()
		g, gctx := runtime.NewTaskGroup(ctx)
		sibling = runtime.SpawnIn(g, sleepHour, runtime.Named("sibling"))
		failed = runtime.SpawnIn(g, yieldsFail[int](2, boom), runtime.Named("failing"))
		// The parent is not in Wait yet: the failure cancels it too.
		sleepErr = runtime.Sleep(ctx, time.Hour)
		waitErr = g.Wait(ctx)
		select {
		case <-gctx.Done():
			groupDone = true
		default:
		}
		stateAfter = runtime.CurrentTask(ctx).State()
		// The cancellation was absorbed: the parent goes on normally.
		sleepsAfter = runtime.Sleep(ctx, time.Millisecond)
		return 0, nil
	})
	if err != nil {
		t.Fatalf("Run = %v: the group's cancellation of its parent leaked out", err)
	}
	if !errors.Is(sleepErr, runtime.ErrCancelled) {
		t.Errorf("parent's Sleep during the failure = %v, want ErrCancelled", sleepErr)
	}
	if !errors.Is(waitErr, boom) || errors.Is(waitErr, runtime.ErrCancelled) {
		t.Errorf("Wait = %v, want the failure only (the parent's cancellation absorbed)", waitErr)
	}
	if sibling.State() != runtime.Cancelled || failed.State() != runtime.Failed {
		t.Errorf("sibling %v, failing child %v; want cancelled, failed", sibling.State(), failed.State())
	}
	if !groupDone {
		t.Error("the group's context is not done after a failure")
	}
	if stateAfter != runtime.Running || sleepsAfter != nil {
		t.Errorf("parent after Wait: state %v, Sleep %v; want running and nil", stateAfter, sleepsAfter)
	}
	if s := sibling.String(); !strings.Contains(s, "taskgroup") {
		t.Logf("sibling repr: %s", s)
	}
	_ = parentID
}

func TestTaskGroupJoinsEveryFailure(t *testing.T) {
	e1, e2 := errors.New("first"), errors.New("second")
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		g, _ := runtime.NewTaskGroup(ctx)
		runtime.SpawnIn(g, yieldsFail[int](1, e1))
		// Cancelled by the first failure, this one fails while unwinding.
		runtime.SpawnIn(g, func(ctx context.Context) (int, error) {
			runtime.Sleep(ctx, time.Hour)
			return 0, e2
		})
		runtime.SpawnIn(g, sleepHour)
		return 0, g.Wait(ctx)
	})
	if !errors.Is(err, e1) || !errors.Is(err, e2) {
		t.Errorf("Wait = %v, want errors.Join of both failures", err)
	}
	if err != nil && errors.Is(err, runtime.ErrCancelled) {
		t.Errorf("Wait = %v: a cancelled sibling counted as a failure", err)
	}
}

func TestTaskGroupParentCancelledFromOutside(t *testing.T) {
	var children []*runtime.Task[int]
	var waitErr error
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		owner := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			g, _ := runtime.NewTaskGroup(ctx)
			children = append(children, runtime.SpawnIn(g, sleepHour), runtime.SpawnIn(g, sleepHour))
			waitErr = g.Wait(ctx)
			return 0, waitErr
		})
		runtime.Yield(ctx)
		owner.Cancel("outside")
		owner.Await(ctx)
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(waitErr, runtime.ErrCancelled) {
		t.Errorf("Wait in a cancelled owner = %v, want the cancellation", waitErr)
	}
	for i, c := range children {
		if c.State() != runtime.Cancelled {
			t.Errorf("child %d is %v, want cancelled with its owner", i, c.State())
		}
	}
}

func TestTaskGroupSpawnAfterAbortAndMisuse(t *testing.T) {
	boom := errors.New("boom")
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		g, _ := runtime.NewTaskGroup(ctx)
		child := runtime.SpawnIn(g, yieldsFail[int](0, boom))
		if child.Done() {
			t.Error("SpawnIn ran the child at once")
		}
		waitErr := g.Wait(ctx)
		if !errors.Is(waitErr, boom) {
			t.Errorf("Wait = %v, want boom", waitErr)
		}
		ran := false
		late := runtime.SpawnIn(g, func(ctx context.Context) (int, error) { ran = true; return 0, nil })
		late.Await(ctx)
		if ran || late.State() != runtime.Cancelled {
			t.Errorf("task spawned in a finished group: ran %t, state %v; want cancelled before it runs", ran, late.State())
		}
		other := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			g2, _ := runtime.NewTaskGroup(ctx)
			runtime.SpawnIn(g2, yields(1, 0))
			stranger := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, g2.Wait(ctx) })
			_, err := stranger.Await(ctx)
			if err == nil || !strings.HasPrefix(err.Error(), "runtime: ") {
				t.Errorf("Wait from a task that does not own the group = %v, want an error", err)
			}
			return 0, g2.Wait(ctx)
		})
		_, err := other.Await(ctx)
		return 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
}
