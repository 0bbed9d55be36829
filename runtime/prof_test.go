//go:build unix

package runtime_test

import (
	"bytes"
	"context"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/taskdump/taskdump/runtime"
)

// burn spins the CPU for d of wall time.
func burn(d time.Duration) int {
	n := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 10_000 {
			n += i * i
		}
	}
	return n
}

// cpuTime returns the CPU time the process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profileRun takes a CPU profile of the process while run runs and
// returns it, parsed; it skips the test if a CPU profile is being taken
// already.
func profileRun(t *testing.T, run func() error) *profile.Profile {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("a CPU profile is already being taken (go test -cpuprofile?): %v", err)
	}
	err := run()
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCPUProfileCarriesTaskLabels takes a real CPU profile of a CPU-busy
// task and checks that its samples carry task.id, task.name and loop.
func TestCPUProfileCarriesTaskLabels(t *testing.T) {
	var id uint64
	p := profileRun(t, func() error {
		_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
			burner := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				// Burn 400ms of CPU time (about 40 samples at 100 Hz), however
				// busy the machine is, yielding every 10ms.
				n := 0
				for start := cpuTime(t); cpuTime(t)-start < 400*time.Millisecond; {
					n += burn(10 * time.Millisecond)
					if err := runtime.Yield(ctx); err != nil {
						return 0, err
					}
				}
				return n, nil
			}, runtime.Named("burner"))
			id = burner.ID()
			return burner.Await(ctx)
		}, runtime.WithName("prof-loop"), runtime.WithSlowStepThreshold(0))
		return err
	})
	var labelled, total int64
	for _, s := range p.Sample {
		total += s.Value[0] // samples with the same stack and labels are merged
		if len(s.Label["task.name"]) == 1 && s.Label["task.name"][0] == "burner" {
			labelled += s.Value[0]
			if got := s.Label["task.id"]; len(got) != 1 || got[0] != strconv.FormatUint(id, 10) {
				t.Errorf("sample of burner has task.id %v, want %d", got, id)
			}
			if got := s.Label["loop"]; len(got) != 1 || got[0] != "prof-loop" {
				t.Errorf("sample of burner has loop %v, want prof-loop", got)
			}
		}
	}
	t.Logf("%d of %d samples labelled task.name=burner", labelled, total)
	if labelled == 0 {
		t.Errorf("no CPU sample carries the task's labels (%d samples in all)", total)
	}
}

// TestExecutionTraceHasTaskNames checks that, while runtime/trace is on,
// tasks show up in the execution trace under their names.
func TestExecutionTraceHasTaskNames(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("an execution trace is already being taken: %v", err)
	}
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		return runtime.Spawn(ctx, yields(3, 1), runtime.Named("traced-task-7f3a")).Await(ctx)
	})
	trace.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("traced-task-7f3a")) {
		t.Error("the execution trace does not name the task")
	}
}

// TestToThreadCarriesNoTaskLabels: the pool's worker goroutines are
// started from a task's goroutine, whose pprof labels a new goroutine
// inherits; a worker clears them, or the CPU of every later ToThread call,
// of any task, would be counted as that task's.
func TestToThreadCarriesNoTaskLabels(t *testing.T) {
	p := profileRun(t, func() error {
		_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
			if err := runtime.Sleep(ctx, 5*time.Millisecond); err != nil { // the loop sees the profile
				return 0, err
			}
			return runtime.ToThread(ctx, func() (int, error) {
				n := 0
				for start := cpuTime(t); cpuTime(t)-start < 300*time.Millisecond; {
					n += burn(10 * time.Millisecond)
				}
				return n, nil
			})
		}, runtime.WithSlowStepThreshold(0))
		return err
	})
	var inBurn, labelled int64
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			if len(loc.Line) > 0 && strings.HasSuffix(loc.Line[0].Function.Name, ".burn") {
				inBurn += s.Value[0]
				if len(s.Label["task.name"]) > 0 {
					labelled += s.Value[0]
				}
				break
			}
		}
	}
	if inBurn == 0 {
		t.Fatal("no sample in the ToThread function")
	}
	if labelled > 0 {
		t.Errorf("%d of the %d samples of a ToThread function carry a task's labels; want none", labelled, inBurn)
	}
}
