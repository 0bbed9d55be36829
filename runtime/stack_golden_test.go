package runtime_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// The task functions whose stacks the goldens pin. They come first in this
// file so that editing the tests below moves none of their lines; -update
// rewrites the goldens when they do move.

//go:noinline
func goldenSuspended(ctx context.Context) (int, error) {
	return 0, goldenAwait(ctx)
}

//go:noinline
func goldenAwait(ctx context.Context) error {
	return runtime.Sleep(ctx, time.Hour)
}

//go:noinline
func goldenBlocking(ctx context.Context) (int, error) {
	goldenSleep(3 * goldenThreshold)
	return 0, nil
}

//go:noinline
func goldenSleep(d time.Duration) {
	time.Sleep(d) //taskvet:ignore the step must block the loop
}

//go:noinline
func goldenRunning(in *atomic.Bool, out chan struct{}) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		goldenWait(in, out)
		return 0, nil
	}
}

//go:noinline
func goldenWait(in *atomic.Bool, out chan struct{}) {
	in.Store(true)
	<-out // its step runs on: the loop waits, as it would on a CPU-bound step
}

//go:noinline
func goldenSpawn(ctx context.Context) *runtime.Task[int] {
	return runtime.Spawn(ctx, goldenSuspended, runtime.Named("spawned"))
}

const goldenThreshold = 40 * time.Millisecond

var update = flag.Bool("update", false, "rewrite the golden stacks in testdata/")

// goldenText renders frames one a line: the kind, the function, and for
// user frames (this file) the file:line. Other frames' files and lines
// change with the Go version and the runtime's sources, their kind and
// function do not.
func goldenText(frames []runtime.Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(f.Kind.String())
		b.WriteByte(' ')
		b.WriteString(f.Function)
		if f.Kind == runtime.FrameUser {
			b.WriteString(" " + filepath.Base(f.File) + ":" + strconv.Itoa(f.Line))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// checkGolden compares got to testdata/name, or writes it there with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s: stack\n%s\nwant (%s)\n%s", name, got, path, want)
	}
}

// TestGoldenStacks pins the one shape of every stack the runtime hands out
// (suspension, live, blocking) and the kind of each frame, on real
// captured stacks, as goleak's internal/stack does: on top the call the
// user's code made (runtime.Sleep, time.Sleep) or the user's own running
// line, then the user's frames down to the task's function; no frames of
// how a call parks, no coroutine plumbing under the task.
func TestGoldenStacks(t *testing.T) {
	t.Run("suspended", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := runtime.NewLoop(quietLogger())
			err := l.Run(t.Context(), func(ctx context.Context) error {
				tk := goldenSpawn(ctx)
				if err := runtime.Sleep(ctx, time.Second); err != nil { // tk suspends
					return err
				}
				ti, ok := l.Task(tk.ID())
				if !ok {
					t.Fatal("Task: not found")
				}
				checkGolden(t, "suspended.golden", goldenText(ti.Stack))
				if want := suspensionPoint(ti.Stack); ti.SuspendedAt != want {
					t.Errorf("SuspendedAt = %v, want the stack's first user frame %v", ti.SuspendedAt, want)
				}
				snap := l.Snapshot(runtime.SnapshotOptions{Stacks: true})
				for _, si := range snap.Tasks {
					if si.ID == tk.ID() && goldenText(si.Stack) != goldenText(ti.Stack) {
						t.Errorf("Snapshot's stack differs from Task's:\n%s", goldenText(si.Stack))
					}
				}
				st, err := l.TaskStack(tk.ID())
				if err != nil || goldenText(st) != goldenText(ti.Stack) {
					t.Errorf("TaskStack = %v, %v; want Task's stack", st, err)
				}
				checkGolden(t, "spawn.golden", goldenText([]runtime.Frame{ti.SpawnedAt}))
				tk.Cancel()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("blocking", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := runtime.NewLoop(runtime.WithSlowStepThreshold(goldenThreshold), quietLogger())
			err := l.Run(t.Context(), func(ctx context.Context) error {
				_, err := runtime.Spawn(ctx, goldenBlocking, runtime.Named("blocking")).Await(ctx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			evs := l.Blocking()
			if len(evs) != 1 {
				t.Fatalf("Blocking() = %d events, want 1", len(evs))
			}
			ev := evs[0]
			checkGolden(t, "blocking.golden", goldenText(ev.Stack))
			if want := suspensionPoint(ev.Stack); ev.At != want || ev.Call != "time.Sleep" {
				t.Errorf("At, Call = %v, %q; want %v, time.Sleep", ev.At, ev.Call, want)
			}
		})
	})
	t.Run("running", func(t *testing.T) {
		var in atomic.Bool
		out := make(chan struct{})
		l := runtime.NewLoop(quietLogger())
		var id atomic.Uint64
		done := make(chan error, 1)
		go func() {
			done <- l.Run(context.Background(), func(ctx context.Context) error {
				tk := runtime.Spawn(ctx, goldenRunning(&in, out), runtime.Named("running"))
				id.Store(tk.ID())
				_, err := tk.Await(ctx)
				return err
			})
		}()
		deadline := time.Now().Add(time.Minute)
		for !in.Load() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		st, err := l.TaskStack(id.Load())
		close(out)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("TaskStack: %v", err)
		}
		checkGolden(t, "running.golden", goldenText(st))
	})
}

// suspensionPoint is what the runtime reports as where a stack stands: its
// first user frame.
func suspensionPoint(stack []runtime.Frame) runtime.Frame {
	for _, f := range stack {
		if f.Kind == runtime.FrameUser {
			return f
		}
	}
	return runtime.Frame{}
}

// TestFrameKindText: a kind's name is what the inspect protocol carries,
// and reads back.
func TestFrameKindText(t *testing.T) {
	tests := []struct {
		k    runtime.FrameKind
		want string
	}{
		{0, ""},
		{runtime.FrameUser, "user"},
		{runtime.FrameTaskRuntime, "task-runtime"},
		{runtime.FrameGoRuntime, "go-runtime"},
	}
	for _, tt := range tests {
		got, err := tt.k.MarshalText()
		if err != nil || string(got) != tt.want || tt.k.String() != tt.want {
			t.Errorf("%d: MarshalText = %q, %v; String %q; want %q", tt.k, got, err, tt.k.String(), tt.want)
		}
		var back runtime.FrameKind
		if err := back.UnmarshalText(got); err != nil || back != tt.k {
			t.Errorf("UnmarshalText(%q) = %d, %v; want %d", got, back, err, tt.k)
		}
	}
}
