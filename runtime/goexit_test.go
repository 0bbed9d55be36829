package runtime_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// TestGoexitInTaskEndsRun: a task that calls runtime.Goexit fails with an
// error naming it and Goexit; the loop cancels what is left, closes and is
// unregistered, and Run returns that error on the goroutine that called it
// (before, the Goexit reached that goroutine: Run never returned).
func TestGoexitInTaskEndsRun(t *testing.T) {
	cases := []struct {
		name string
		main func(ctx context.Context, sibling **runtime.Task[int]) error
		who  string // the task named in the error
	}{
		{"main", func(ctx context.Context, _ **runtime.Task[int]) error {
			if err := runtime.Yield(ctx); err != nil {
				return err
			}
			goruntime.Goexit()
			return nil
		}, "main"},
		{"child awaited", func(ctx context.Context, sibling **runtime.Task[int]) error {
			*sibling = runtime.Spawn(ctx, sleepHour, runtime.Named("sibling"))
			c := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
				goruntime.Goexit()
				return 1, nil
			}, runtime.Named("quitter"))
			_, err := c.Await(ctx)
			return err
		}, "quitter"},
		{"child not awaited", func(ctx context.Context, sibling **runtime.Task[int]) error {
			*sibling = runtime.Spawn(ctx, sleepHour, runtime.Named("sibling"))
			runtime.Spawn(ctx, func(context.Context) (int, error) {
				goruntime.Goexit()
				return 1, nil
			}, runtime.Named("quitter"))
			return runtime.Sleep(ctx, time.Hour)
		}, "quitter"},
		{"ToThread", func(ctx context.Context, sibling **runtime.Task[int]) error {
			*sibling = runtime.Spawn(ctx, sleepHour, runtime.Named("sibling"))
			c := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				return runtime.ToThread(ctx, func() (int, error) {
					goruntime.Goexit()
					return 1, nil
				})
			}, runtime.Named("quitter"))
			_, err := c.Await(ctx)
			return err
		}, "quitter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := runtime.NewLoop(quietLogger())
			var sibling *runtime.Task[int]
			done := make(chan error, 1)
			go func() {
				done <- l.Run(context.Background(), func(ctx context.Context) error { return c.main(ctx, &sibling) })
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return after a task called runtime.Goexit")
			}
			if !errors.Is(err, runtime.ErrGoexit) {
				t.Errorf("Run = %v; want an error matching ErrGoexit", err)
			}
			for _, want := range []string{"task " + c.who + " ", "runtime.Goexit", "t.Fatal"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Run = %v; want it to contain %q", err, want)
				}
			}
			if slices.Contains(runtime.Loops(), l) {
				t.Error("the loop is still registered after Run returned")
			}
			if sibling != nil && !sibling.Cancelled() {
				t.Errorf("sibling = %v; want it cancelled when the loop closed", sibling)
			}
			sub := l.Submit(func(context.Context) error { return nil })
			if _, err := sub.Await(context.Background()); !errors.Is(err, runtime.ErrLoopClosed) {
				t.Errorf("Submit after close: Await = %v; want ErrLoopClosed", err)
			}
		})
	}
}

// TestGoexitTaskCoroutineIsNotReused: after a task called Goexit, the loop
// goes on spawning on healthy coroutines until it closes, and closing stops
// the parked one (goleak in TestMain checks nothing is left).
func TestGoexitTaskCoroutineIsNotReused(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		q := runtime.Spawn(ctx, func(context.Context) (int, error) { goruntime.Goexit(); return 0, nil })
		for i := range 20 {
			runtime.Spawn(ctx, yields(2, i))
		}
		_, err := q.Await(ctx)
		return 0, err
	}, quietLogger())
	if !errors.Is(err, runtime.ErrGoexit) {
		t.Fatalf("Run = %v; want ErrGoexit", err)
	}
}

// TestFatalInTaskFailsTheTest runs tests that call t.Fatal inside a task in
// a child process: each must fail, report the message and what Run or Await
// returned, and end promptly (before, the Goexit killed the goroutine that
// ran the loop: a test awaiting a submitted task hung).
func TestFatalInTaskFailsTheTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child test processes")
	}
	for _, mode := range []string{"run", "submit", "thread", "callback"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperFatalInTask$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "TASKDUMP_HELPER_FATAL_IN_TASK="+mode)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the child test hung (killed after 60 s); output:\n%s", out)
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("child: %v; want it to exit with a failure; output:\n%s", err, out)
			}
			what := "task "
			if mode == "callback" {
				what = "callback "
			}
			for _, want := range []string{"--- FAIL: TestHelperFatalInTask", "fatal inside the task", "returned: runtime: ", what, "called runtime.Goexit"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("child output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestHelperFatalInTask is run by TestFatalInTaskFailsTheTest in a child
// process; it does nothing otherwise. With TASKDUMP_HELPER_FATAL_IN_TASK=run
// the test goroutine runs the loop; with =thread the t.Fatal is in a
// ToThread function; with =submit it submits the task to a loop running on
// another goroutine and awaits it; with =callback the t.Fatal is in a
// callback the loop runs (CallSoon), on the loop's own goroutine.
func TestHelperFatalInTask(t *testing.T) {
	fatal := func(ctx context.Context) error {
		runtime.Spawn(ctx, sleepHour)
		if err := runtime.Yield(ctx); err != nil {
			return err
		}
		t.Fatal("fatal inside the task")
		return nil
	}
	switch os.Getenv("TASKDUMP_HELPER_FATAL_IN_TASK") {
	case "run":
		err := runtime.NewLoop(quietLogger()).Run(context.Background(), fatal)
		t.Logf("Run returned: %v", err)
	case "thread":
		err := runtime.NewLoop(quietLogger()).Run(context.Background(), func(ctx context.Context) error {
			_, err := runtime.ToThread(ctx, func() (int, error) {
				t.Fatal("fatal inside the task")
				return 0, nil
			})
			return err
		})
		t.Logf("Run returned: %v", err)
	case "callback":
		err := runtime.NewLoop(quietLogger()).Run(context.Background(), func(ctx context.Context) error {
			runtime.CallSoon(ctx, func() { t.Fatal("fatal inside the task's callback") })
			return runtime.Sleep(ctx, time.Hour)
		})
		t.Logf("Run returned: %v", err)
	case "submit":
		b := startLoop(t, quietLogger())
		_, err := b.L.Submit(fatal).Await(context.Background())
		t.Logf("Await returned: %v", err)
		t.Logf("Run returned: %v", b.Stop())
	default:
		t.Skip("helper of TestFatalInTaskFailsTheTest")
	}
}
