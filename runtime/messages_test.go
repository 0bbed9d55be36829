package runtime_test

import (
	"context"
	"errors"
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
		if !errors.Is(err, runtime.ErrTimeout) {
			t.Errorf("WaitFor = %v; want ErrTimeout", err)
		}
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestCancelErrorText: the cancellation's text reads "runtime: task
// cancelled[: msg]" (not "runtime: cancelled: context canceled: msg"), and
// errors.Is holds for ErrCancelled and context.Canceled.
func TestCancelErrorText(t *testing.T) {
	cases := []struct {
		msgs []string // one Cancel per entry; "" is a Cancel without a message
		want string
	}{
		{[]string{""}, "runtime: task cancelled"},
		{[]string{"bye now"}, "runtime: task cancelled: bye now"},
		// A second cancel without a message keeps the first one's.
		{[]string{"bye now", ""}, "runtime: task cancelled: bye now"},
		// The first request's message stays while the task is cancelling.
		{[]string{"bye now", "later"}, "runtime: task cancelled: bye now"},
		// A later message is used when the first request had none.
		{[]string{"", "later"}, "runtime: task cancelled: later"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.msgs, "+"), func(t *testing.T) {
			var repr, msg string
			got, err := runtime.Run(context.Background(), func(ctx context.Context) (error, error) {
				victim := runtime.Spawn(ctx, func(ctx context.Context) (error, error) {
					err := runtime.Sleep(ctx, time.Hour)
					return err, err // the error the await returned, and ends Cancelled
				})
				if err := runtime.Yield(ctx); err != nil {
					return nil, err
				}
				for _, m := range c.msgs {
					if m == "" {
						victim.Cancel()
					} else {
						victim.Cancel(m)
					}
				}
				awaited, _ := victim.Await(ctx)
				repr = victim.String()
				for _, ti := range runtime.LoopOf(ctx).History() {
					if ti.ID == victim.ID() {
						msg = ti.CancelMsg
					}
				}
				return awaited, nil
			}, quietLogger())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got == nil || got.Error() != c.want {
				t.Errorf("Sleep returned %v; want %q", got, c.want)
			}
			if !errors.Is(got, runtime.ErrCancelled) || !errors.Is(got, context.Canceled) {
				t.Errorf("errors.Is(%v, ErrCancelled / context.Canceled) = false; want true", got)
			}
			wantMsg := strings.TrimPrefix(strings.TrimPrefix(c.want, "runtime: task cancelled"), ": ")
			if msg != wantMsg {
				t.Errorf("history's cancel message = %q; want %q", msg, wantMsg)
			}
			if wantMsg != "" && !strings.Contains(repr, fmt.Sprintf("msg=%q", wantMsg)) {
				t.Errorf("repr = %s; want msg=%q", repr, wantMsg)
			}
		})
	}
	if got := runtime.ErrCancelled.Error(); got != "runtime: task cancelled" {
		t.Errorf("ErrCancelled = %q; want %q", got, "runtime: task cancelled")
	}
}

// TestTimeoutErrorText: a timeout reads "runtime: timed out", and WaitFor's
// and AsCompleted's say after how long (before, every one read "runtime:
// timeout: context deadline exceeded"); errors.Is holds for ErrTimeout and
// context.DeadlineExceeded.
func TestTimeoutErrorText(t *testing.T) {
	cases := []struct {
		name string
		get  func(ctx context.Context) error
		want string
	}{
		{"ErrTimeout", func(context.Context) error { return runtime.ErrTimeout }, "runtime: timed out"},
		{"WaitFor", func(ctx context.Context) error {
			_, err := runtime.WaitFor(ctx, 5*time.Millisecond, runtime.Spawn(ctx, sleeper(time.Hour)))
			return err
		}, "runtime: timed out after 5ms"},
		{"WaitFor 0", func(ctx context.Context) error {
			_, err := runtime.WaitFor(ctx, 0, runtime.Spawn(ctx, sleeper(time.Hour)))
			return err
		}, "runtime: timed out"},
		{"AsCompleted", func(ctx context.Context) error {
			for _, err := range runtime.AsCompleted(ctx, []*runtime.Task[int]{runtime.Spawn(ctx, sleeper(time.Hour))}, runtime.WithTimeout(3*time.Millisecond)) {
				return err
			}
			return nil
		}, "runtime: timed out after 3ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			_, runErr := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				err = c.get(ctx)
				return 0, nil
			}, quietLogger())
			if runErr != nil {
				t.Fatalf("Run: %v", runErr)
			}
			if err == nil || err.Error() != c.want {
				t.Errorf("err = %v; want %q", err, c.want)
			}
			if !errors.Is(err, runtime.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v; want it to match ErrTimeout and context.DeadlineExceeded", err)
			}
		})
	}
}

// sleeper returns a task function that sleeps for d.
func sleeper(d time.Duration) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) { return 0, runtime.Sleep(ctx, d) }
}
