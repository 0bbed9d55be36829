package inspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/runtime"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "agent":
		childAgent(os.Getenv(envChildArg))
		return
	case "fake":
		childFake(os.Getenv(envChildArg))
		return
	case "watch":
		childWatch(os.Getenv(envChildArg))
		return
	}
	goleak.VerifyTestMain(m)
}

// startLoop runs a loop named name whose main task calls setup, then waits
// until cancelled. It returns once every task spawned by setup has taken
// its first step; the loop stops at the end of the test.
func startLoop(tb testing.TB, name string, setup func(ctx context.Context)) *runtime.Loop {
	tb.Helper()
	opts := []runtime.Option{runtime.WithName(name), runtime.WithSlowStepThreshold(50 * time.Millisecond)}
	if _, ok := tb.(*testing.B); ok {
		// Benchmarks run on a noisy machine: keep the watchdog's warnings
		// out of their output.
		opts = append(opts, runtime.WithLogger(slog.New(slog.DiscardHandler)))
	}
	l := runtime.NewLoop(opts...)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ctx, func(ctx context.Context) error {
			if setup != nil {
				setup(ctx)
			}
			if err := runtime.Sleep(ctx, 5*time.Millisecond); err != nil {
				return err
			}
			close(ready)
			return runtime.Sleep(ctx, time.Hour)
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		tb.Fatalf("loop %s ended early: %v", name, err)
	case <-time.After(10 * time.Second):
		tb.Fatalf("loop %s did not start", name)
	}
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				tb.Errorf("loop %s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			var live []string
			for _, ti := range l.Snapshot().Tasks {
				live = append(live, fmt.Sprintf("%d %s %s %s", ti.ID, ti.Name, ti.State, ti.Awaiting))
			}
			buf := make([]byte, 1<<20)
			tb.Errorf("loop %s did not stop; live tasks %q\n%s", name, live, buf[:goruntime.Stack(buf, true)])
		}
	})
	return l
}

// listen starts an agent in a fresh directory and a client for it; both
// close at the end of the test.
func listen(tb testing.TB, opts Options) (*Agent, *client.Client) {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir() + "/sock"
	}
	a, err := Listen(opts)
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	c, err := client.DialPath(a.Path())
	if err != nil {
		a.Close()
		tb.Fatalf("DialPath: %v", err)
	}
	tb.Cleanup(func() {
		c.Close()
		if err := a.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return a, c
}

func sleeper(d time.Duration) func(ctx context.Context) (struct{}, error) {
	return func(ctx context.Context) (struct{}, error) { return struct{}{}, runtime.Sleep(ctx, d) }
}

// waitFor polls cond every 10ms for up to 10s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileMode(tb testing.TB, p string) os.FileMode {
	tb.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Mode()
}

// privateDir returns a new directory of mode 0700, as the agent wants it
// (t.TempDir's are 0755).
func privateDir(tb testing.TB) string {
	tb.Helper()
	d := tb.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		tb.Fatal(err)
	}
	return d
}
