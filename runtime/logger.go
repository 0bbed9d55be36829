package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
)

// log logs msg at level through the loop's logger (WithLogger), from any
// goroutine. A logger that panics is contained as an Observer that panics
// is: the panic and its stack go to standard error, once, and the loop
// goes on without a logger (before, the panic escaped Run and left the
// loop's goroutines behind, or, on the watchdog's goroutine, ended the
// process). A logger that calls runtime.Goexit ends the loop (see
// runContained), as before.
func (l *Loop) log(level slog.Level, msg string, args ...any) {
	if l.logFailed.Load() {
		return
	}
	defer func() {
		if r := recover(); r != nil && l.logFailed.CompareAndSwap(false, true) {
			fmt.Fprintf(os.Stderr, "runtime: loop %s: the logger panicked; the loop goes on without it: %v\n%s", l.name, r, debug.Stack())
		}
	}()
	l.cfg.logger.Log(context.Background(), level, msg, args...)
}
