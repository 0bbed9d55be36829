package runtime_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// panicHandler is a slog handler that panics on every record.
type panicHandler struct{ calls *atomic.Int32 }

func (h panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h panicHandler) Handle(context.Context, slog.Record) error {
	h.calls.Add(1)
	panic("handler broken")
}
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicHandler) WithGroup(string) slog.Handler      { return h }

// TestLoggerPanicContained: a logger that panics is contained as an
// Observer that panics is: the panic goes to standard error once, the
// logger is not called again, Run returns main's result, and nothing is
// left running (goleak, TestMain). Before, its panic escaped Run and left
// the loop's goroutines behind, or, on the watchdog's goroutine, ended
// the process.
func TestLoggerPanicContained(t *testing.T) {
	for _, tc := range []struct {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr := os.Stderr
			os.Stderr = w
			var calls atomic.Int32
			got, runErr := runtime.Run(context.Background(), tc.main,
				runtime.WithLogger(slog.New(panicHandler{&calls})), runtime.WithSlowStepThreshold(20*time.Millisecond))
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
