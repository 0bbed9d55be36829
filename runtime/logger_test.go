package runtime_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// funcHandler is a slog handler that counts its records and hands each
// to fn.
type funcHandler struct {
	calls *atomic.Int32
	fn    func(slog.Record)
}

func (h funcHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h funcHandler) Handle(_ context.Context, r slog.Record) error {
	h.calls.Add(1)
	h.fn(r)
	return nil
}
func (h funcHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h funcHandler) WithGroup(string) slog.Handler      { return h }

// loggerCases are programs that have the loop log once: from the loop's
// goroutine, from the watchdog's, and as Run ends.
var loggerCases = []struct {
	name string
	main func(ctx context.Context) (int, error)
}{
	{"a callback's panic logged on the loop goroutine", func(ctx context.Context) (int, error) {
		runtime.CallSoon(ctx, func() { panic("callback broken") })
		return 7, runtime.Sleep(ctx, 0)
	}},
	{"a step still blocking after a second, logged by the watchdog", func(ctx context.Context) (int, error) {
		return runtime.Spawn(ctx, func(context.Context) (int, error) {
			time.Sleep(1100 * time.Millisecond) //taskvet:ignore the step must block the loop past stillBlocking
			return 7, nil
		}).Await(ctx)
	}},
	{"an error never retrieved, logged as Run ends", func(ctx context.Context) (int, error) {
		runtime.Spawn(ctx, func(context.Context) (int, error) { return 0, errors.New("never retrieved") })
		return 7, runtime.Sleep(ctx, 0)
	}},
}

// TestLoggerPanicContained: a logger that panics is contained as an
// Observer that panics is: the panic goes to standard error once, the
// logger is not called again, Run returns main's result, and nothing is
// left running (goleak, TestMain). Before, its panic escaped Run and left
// the loop's goroutines behind, or, on the watchdog's goroutine, ended
// the process.
func TestLoggerPanicContained(t *testing.T) {
	for _, tc := range loggerCases {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr := os.Stderr
			os.Stderr = w
			var calls atomic.Int32
			got, runErr := runtime.Run(context.Background(), tc.main,
				runtime.WithLogger(slog.New(funcHandler{&calls, func(slog.Record) { panic("handler broken") }})),
				runtime.WithSlowStepThreshold(20*time.Millisecond))
			os.Stderr = stderr
			w.Close()
			out, _ := io.ReadAll(r)
			r.Close()
			if got != 7 || runErr != nil {
				t.Errorf("Run = %d, %v; want 7, nil", got, runErr)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("the logger was called %d times; want once (not again after it panicked)", n)
			}
			if n := strings.Count(string(out), "the logger panicked"); n != 1 || !strings.Contains(string(out), "handler broken") {
				t.Errorf("standard error:\n%s\nwant the logger's panic reported once", out)
			}
		})
	}
}

// TestLoggerGoexitEndsTheLoop: a logger that calls runtime.Goexit on every
// record (t.Fatal in a test's handler) is called once and ends the loop,
// wherever it was called: Run returns an error matching ErrGoexit that
// names the logger. Before, the shutdown logged the same record again and
// again (the loop spun, calling the logger millions of times), or, from
// the watchdog's goroutine, the watchdog ended and the loop went on.
func TestLoggerGoexitEndsTheLoop(t *testing.T) {
	for _, tc := range loggerCases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			done := make(chan error, 1)
			go func() {
				_, err := runtime.Run(context.Background(), tc.main,
					runtime.WithLogger(slog.New(funcHandler{&calls, func(slog.Record) { goruntime.Goexit() }})),
					runtime.WithSlowStepThreshold(20*time.Millisecond))
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, runtime.ErrGoexit) || !strings.Contains(err.Error(), "logger") {
					t.Errorf("Run = %v; want an error matching ErrGoexit naming the logger", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("Run did not return in 20 s; the logger was called %d times", calls.Load())
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("the logger was called %d times; want once", n)
			}
		})
	}
}

// panicError is an error whose Error method panics.
type panicError struct{}

func (panicError) Error() string { panic("Error broken") }

// TestErrorMethodPanics: a task's error whose Error method panics is shown
// (history, the "never retrieved" log) as a text saying so; it does not
// panic out of Run, nor out of a reader on another goroutine (the inspect
// agent's).
func TestErrorMethodPanics(t *testing.T) {
	log, buf := newLogger()
	l := runtime.NewLoop(runtime.WithLogger(log))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		runtime.Spawn(ctx, func(context.Context) (int, error) { return 0, panicError{} }, runtime.Named("bad-error"))
		return runtime.Sleep(ctx, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	const want = "(the Error method of runtime_test.panicError panicked: Error broken)"
	found := false
	for _, ti := range l.History() {
		if ti.Name == "bad-error" {
			found = true
			if ti.Error != want {
				t.Errorf("history: error %q; want %q", ti.Error, want)
			}
		}
	}
	if !found {
		t.Error("the failed task is not in the history")
	}
	if !strings.Contains(buf.String(), strings.ReplaceAll(want, `"`, `\"`)) {
		t.Errorf("log:\n%s\nwant the never-retrieved error logged as %q", buf.String(), want)
	}
}

// TestLogSource: a record the loop logs has, as its source, the runtime's
// line that logs it (slog's AddSource), as a direct call of the logger
// would, not the wrapper that contains the logger's panics.
func TestLogSource(t *testing.T) {
	var calls atomic.Int32
	var files []string
	var mu sync.Mutex
	h := funcHandler{&calls, func(r slog.Record) {
		f, _ := goruntime.CallersFrames([]uintptr{r.PC}).Next()
		mu.Lock()
		files = append(files, filepath.Base(f.File))
		mu.Unlock()
	}}
	_, err := runtime.Run(context.Background(), loggerCases[1].main, runtime.WithLogger(slog.New(h)), runtime.WithSlowStepThreshold(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(files) == 0 {
		t.Fatal("nothing logged")
	}
	for _, f := range files {
		if f != "watchdog.go" {
			t.Errorf("a record's source is %s; want watchdog.go (the line that logs)", f)
		}
	}
}
