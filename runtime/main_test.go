package runtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/internal/syncbuf"
	"github.com/taskdump/taskdump/runtime"
)

// TestMain checks that no goroutine the runtime starts (coroutines, the
// watchdog, ToThread workers) outlives the loops that started it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a buffer safe for a logger on the loop goroutine and a
// reader on the test goroutine.
type syncBuffer struct{ syncbuf.Buffer }

// records decodes the JSON log lines written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// newLogger returns a logger writing JSON lines to the returned buffer.
func newLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, nil)), buf
}

// quietLogger discards what the loop logs.
func quietLogger() runtime.Option {
	return runtime.WithLogger(slog.New(slog.NewTextHandler(discard{}, nil)))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// line returns the line of its call.
func line() int {
	_, _, l, _ := goruntime.Caller(1)
	return l
}

// thisFile returns the absolute path of the calling test file.
func thisFile() string {
	_, f, _, _ := goruntime.Caller(1)
	return f
}

var markRE = regexp.MustCompile(`(?://|/\*) mark:([\w.-]+)`)

var marks struct {
	sync.Mutex
	m map[string]int // "file.go:name" → line, for every _test.go file
}

// markLine returns the line of the test file that holds a comment
// "// mark:<name>" (or "/* mark:<name> */"), so tests can name a line inside a closure. Marks are
// looked up in every _test.go file of this directory.
func markLine(t *testing.T, name string) int {
	t.Helper()
	_, self, _, _ := goruntime.Caller(0)
	marks.Lock()
	defer marks.Unlock()
	if marks.m == nil {
		marks.m = make(map[string]int)
		files, err := filepath.Glob(filepath.Join(filepath.Dir(self), "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range strings.Split(string(src), "\n") {
				for _, m := range markRE.FindAllStringSubmatch(l, -1) {
					marks.m[m[1]] = i + 1
				}
			}
		}
	}
	n, ok := marks.m[name]
	if !ok {
		t.Fatalf("no line marked %q", name)
	}
	return n
}

// waitUntil polls cond every millisecond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// bgLoop is a loop running on its own goroutine until Stop.
type bgLoop struct {
	L    *runtime.Loop
	stop *runtime.Event
	done chan error
	once sync.Once
	err  error
}

// startLoop runs a new loop on another goroutine; its main task waits until
// Stop (called at the latest by the test's cleanup).
func startLoop(t *testing.T, opts ...runtime.Option) *bgLoop {
	t.Helper()
	b := &bgLoop{L: runtime.NewLoop(opts...), stop: runtime.NewEvent(), done: make(chan error, 1)}
	go func() {
		b.done <- b.L.Run(context.Background(), func(ctx context.Context) error {
			return b.stop.Wait(ctx)
		})
	}()
	waitUntil(t, "the loop is registered", func() bool {
		for _, l := range runtime.Loops() {
			if l == b.L {
				return true
			}
		}
		return false
	})
	t.Cleanup(func() { b.Stop() })
	return b
}

// Stop ends the loop's main task and waits for Run to return.
func (b *bgLoop) Stop() error {
	b.once.Do(func() {
		b.L.CallSoonThreadsafe(b.stop.Set)
		b.err = <-b.done
	})
	return b.err
}

// loopOf returns the loop the task of ctx runs on.
func loopOf(t *testing.T, ctx context.Context) *runtime.Loop {
	t.Helper()
	l, ok := runtime.FindTask(runtime.CurrentTask(ctx).ID())
	if !ok {
		t.Fatal("FindTask: the current task's loop is not registered")
	}
	return l
}

// yields returns a task function that yields n times and then returns v.
func yields[T any](n int, v T) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		for range n {
			if err := runtime.Yield(ctx); err != nil {
				var zero T
				return zero, err
			}
		}
		return v, nil
	}
}

// yieldsFail returns a task function that yields n times and then fails.
func yieldsFail[T any](n int, err error) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		var zero T
		for range n {
			if err := runtime.Yield(ctx); err != nil {
				return zero, err
			}
		}
		return zero, err
	}
}

// sleepSecond sleeps one second (or until cancelled).
func sleepSecond(ctx context.Context) (int, error) {
	return 0, runtime.Sleep(ctx, time.Second) // mark:sleepSecond
}

// sleepHour sleeps an hour (or until cancelled).
func sleepHour(ctx context.Context) (int, error) {
	return 0, runtime.Sleep(ctx, time.Hour) // mark:sleepHour
}
