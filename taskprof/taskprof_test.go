package taskprof_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/runtime"
	"github.com/taskdump/taskdump/taskprof"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func here() int {
	_, _, line, _ := goruntime.Caller(1)
	return line
}

// workload runs a loop with one task pending on an event (waitLine is its
// Event.Wait call) and one that blocks the loop in time.Sleep (sleepLine),
// and calls inspect once both have happened, while the loop is still live.
func workload(t *testing.T, inspect func()) (waitLine, sleepLine int) {
	t.Helper()
	l := runtime.NewLoop(runtime.WithName("prof"), runtime.WithSlowStepThreshold(20*time.Millisecond),
		runtime.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := runtime.NewEvent()
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			waitLine = here() + 1
			return 0, ev.Wait(ctx)
		}, runtime.Named("waiter-1"))
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			sleepLine = here() + 1
			time.Sleep(150 * time.Millisecond)
			return 0, nil
		}, runtime.Named("sleepy"))
		if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
		if _, err := runtime.ToThread(ctx, func() (struct{}, error) { inspect(); return struct{}{}, nil }); err != nil {
			return err
		}
		ev.Set()
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return waitLine, sleepLine
}

func labelsOf(s *profile.Sample) map[string]string {
	m := map[string]string{}
	for k, v := range s.Label {
		m[k] = strings.Join(v, ",")
	}
	return m
}

func TestTasksProfile(t *testing.T) {
	var buf bytes.Buffer
	waitLine, _ := workload(t, func() {
		if err := taskprof.WriteTasks(&buf); err != nil {
			t.Errorf("WriteTasks: %v", err)
		}
	})
	p, err := profile.Parse(&buf)
	if err != nil {
		t.Fatalf("profile.Parse: %v", err)
	}
	if got, want := p.SampleType[0].Type, "tasks"; got != want {
		t.Errorf("sample type = %q, want %q", got, want)
	}
	var found bool
	for _, s := range p.Sample {
		lb := labelsOf(s)
		if lb["task.name"] != "waiter-1" {
			continue
		}
		found = true
		if s.Value[0] != 1 {
			t.Errorf("waiter-1 count = %d, want 1", s.Value[0])
		}
		if s.Value[1] <= 0 {
			t.Errorf("waiter-1 suspended = %d ns, want > 0", s.Value[1])
		}
		if lb["state"] != "pending" || lb["awaiting"] != "event" || lb["loop"] != "prof" {
			t.Errorf("waiter-1 labels = %v, want state=pending awaiting=event loop=prof", lb)
		}
		top := s.Location[0].Line[0]
		if !strings.HasSuffix(top.Function.Filename, "taskprof_test.go") || top.Line != int64(waitLine) {
			t.Errorf("waiter-1 top frame = %s:%d, want taskprof_test.go:%d", top.Function.Filename, top.Line, waitLine)
		}
	}
	if !found {
		t.Fatalf("no sample for waiter-1 in %d samples", len(p.Sample))
	}
}

func TestBlockingProfile(t *testing.T) {
	var buf bytes.Buffer
	_, sleepLine := workload(t, func() {
		if err := taskprof.WriteBlocking(&buf); err != nil {
			t.Errorf("WriteBlocking: %v", err)
		}
	})
	file := filepath.Join(t.TempDir(), "blocking.pb.gz")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("profile.Parse: %v", err)
	}
	if len(p.Sample) != 1 {
		t.Fatalf("got %d samples, want 1 (one blocking event)", len(p.Sample))
	}
	s := p.Sample[0]
	if got := labelsOf(s)["task.name"]; got != "sleepy" {
		t.Errorf("task.name = %q, want sleepy", got)
	}
	if s.Value[0] < int64(150*time.Millisecond) || s.Value[1] != 1 {
		t.Errorf("values = %v, want >= 150ms blocked and 1 event", s.Value)
	}
	var sawSleep, sawLine bool
	for _, loc := range s.Location {
		ln := loc.Line[0]
		sawSleep = sawSleep || ln.Function.Name == "time.Sleep"
		sawLine = sawLine || (strings.HasSuffix(ln.Function.Filename, "taskprof_test.go") && ln.Line == int64(sleepLine))
	}
	if !sawSleep || !sawLine {
		t.Errorf("stack has time.Sleep=%t and taskprof_test.go:%d=%t, want both", sawSleep, sleepLine, sawLine)
	}

	// The file opens in go tool pprof, which shows time.Sleep and the line.
	out, err := exec.Command("go", "tool", "pprof", "-top", "-lines", file).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	for _, want := range []string{"time.Sleep", "taskprof_test.go:" + strconv.Itoa(sleepLine)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go tool pprof -top -lines output lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteUnknownKind(t *testing.T) {
	err := taskprof.Write(io.Discard, "heap")
	if err == nil || !strings.Contains(err.Error(), `unknown profile kind "heap"`) {
		t.Errorf("Write(heap) error = %v, want unknown profile kind", err)
	}
}

// BenchmarkTasksProfile100k builds and encodes the tasks profile of a loop
// with 100,000 pending tasks (issue 6 asks for ≤ 1 s).
func BenchmarkTasksProfile100k(b *testing.B) {
	l := runtime.NewLoop()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := runtime.NewEvent()
		for range 100_000 {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
		}
		if err := runtime.Yield(ctx); err != nil {
			return err
		}
		_, err := runtime.ToThread(ctx, func() (struct{}, error) {
			for b.Loop() {
				if err := taskprof.WriteTasks(io.Discard); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, nil
		})
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/profile")
		ev.Set()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}
