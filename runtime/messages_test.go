package runtime_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// TestWaitForAwaitingTextAfterTimeout: while WaitFor waits for a timed-out
// task to finish cancelling, the waiter's repr says so, with the timeout it
// was given (before, it read "wait_for(task 12, 0s)": a 0-second timeout).
func TestWaitForAwaitingTextAfterTimeout(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		released := false
		slow := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			err := runtime.Sleep(ctx, time.Hour) // cancelled by WaitFor
			for !released {                      // a slow unwind
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
			}
			return 0, err
		}, runtime.Named("slow"))
		waiter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return runtime.WaitFor(ctx, 20*time.Millisecond, slow)
		}, runtime.Named("waiter"))
		if err := runtime.Yield(ctx); err != nil {
			return 0, err
		}
		checks := []struct {
			until func() bool
			want  string
		}{
			{func() bool { return true }, fmt.Sprintf("awaiting wait_for(task %d, 20ms)>", slow.ID())},
			{func() bool { return slow.State() == runtime.Cancelling },
				fmt.Sprintf("awaiting wait_for(task %d): timed out after 20ms, waiting for it to finish cancelling>", slow.ID())},
		}
		for _, c := range checks {
			for !c.until() {
				if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
					return 0, err
				}
			}
			if err := runtime.Yield(ctx); err != nil { // let the waiter park
				return 0, err
			}
			if got := waiter.String(); !strings.HasSuffix(got, c.want) {
				t.Errorf("waiter = %s; want it to end with %s", got, c.want)
			}
		}
		released = true
		_, err := waiter.Await(ctx)
		if err != runtime.ErrTimeout {
			t.Errorf("WaitFor = %v; want ErrTimeout", err)
		}
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
}
