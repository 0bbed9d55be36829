package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// TestCancelRequestedAndDelivered checks the two facts doctor's
// cancel-ignored reads: when the cancel was asked for, and the await where
// the task got it (and, here, swallowed it).
func TestCancelRequestedAndDelivered(t *testing.T) {
	file := thisFile()
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := loopOf(t, ctx)
		stubborn := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := runtime.Sleep(ctx, time.Hour) // mark:swallowed
			if !errors.Is(err, runtime.ErrCancelled) {
				return 0, err
			}
			return 0, runtime.Sleep(context.WithoutCancel(ctx), 50*time.Millisecond) // mark:goes-on
		}, runtime.Named("stubborn"))
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		ti, _ := findInfo(l.Snapshot(), stubborn.ID())
		if !ti.CancelRequested.IsZero() || !ti.CancelAt.IsZero() {
			t.Errorf("before any cancel: CancelRequested %v, CancelAt %v; want zero", ti.CancelRequested, ti.CancelAt)
		}
		before := time.Now()
		stubborn.Cancel("stop")
		ti, _ = findInfo(l.Snapshot(), stubborn.ID())
		if ti.CancelRequested.Before(before.Add(-time.Millisecond)) || ti.CancelRequested.After(time.Now()) {
			t.Errorf("CancelRequested = %v, want between %v and now", ti.CancelRequested, before)
		}
		if !ti.CancelAt.IsZero() {
			t.Errorf("CancelAt = %v before delivery, want zero", ti.CancelAt)
		}
		requested := ti.CancelRequested
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		ti, _ = findInfo(l.Snapshot(), stubborn.ID())
		if ti.State != runtime.Cancelling {
			t.Fatalf("state = %v, want cancelling", ti.State)
		}
		if want := markLine(t, "swallowed"); ti.CancelAt.File != file || ti.CancelAt.Line != want {
			t.Errorf("CancelAt = %v, want %s:%d (the await that got the cancellation)", ti.CancelAt, file, want)
		}
		if want := markLine(t, "goes-on"); ti.SuspendedAt.Line != want {
			t.Errorf("SuspendedAt = %v, want line %d", ti.SuspendedAt, want)
		}
		stubborn.Cancel("again")
		ti, _ = findInfo(l.Snapshot(), stubborn.ID())
		if !ti.CancelRequested.Equal(requested) {
			t.Errorf("a second cancel moved CancelRequested from %v to %v; want the first request's time", requested, ti.CancelRequested)
		}
		if _, err := stubborn.Await(ctx); !errors.Is(err, runtime.ErrCancelled) {
			t.Errorf("the second cancel: Await = %v, want ErrCancelled", err)
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
