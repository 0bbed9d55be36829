package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"time"
)

// log logs msg at level through the loop's logger (WithLogger), from any
// goroutine, with log's caller as the record's source (as a direct call of
// the logger would have). A logger that panics is contained as an Observer
// that panics is: the panic and its stack go to standard error, once, and
// the loop goes on without a logger; the panic neither escapes Run nor
// ends the watchdog. A logger that calls runtime.Goexit (t.Fatal in a
// test's handler) is not called again either, and ends the loop: Run
// returns an error matching ErrGoexit (runContained on the loop's
// goroutine, endIfLoggerExited for the watchdog's).
func (l *Loop) log(level slog.Level, msg string, args ...any) {
	var pcs [1]uintptr
	goruntime.Callers(2, pcs[:]) // log's caller
	l.logAt(pcs[0], level, msg, args...)
}

// logAside is log on a goroutine of its own, for the watchdog: a logger
// that calls runtime.Goexit there ends that goroutine, not the watchdog
// (the loop ends instead, at the blocked step's end: endIfLoggerExited).
func (l *Loop) logAside(level slog.Level, msg string, args ...any) {
	var pcs [1]uintptr
	goruntime.Callers(2, pcs[:])
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.logAt(pcs[0], level, msg, args...)
	}()
	<-done
}

// logAt is log with the record's source at pc.
func (l *Loop) logAt(pc uintptr, level slog.Level, msg string, args ...any) {
	if l.logFailed.Load() {
		return
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		r := recover()
		first := l.logFailed.CompareAndSwap(false, true)
		if r == nil { // runtime.Goexit: it goes on
			l.logExited.Store(true)
			return
		}
		if first {
			fmt.Fprintf(os.Stderr, "runtime: loop %s: the logger panicked; the loop goes on without it: %v\n%s", l.name, r, debug.Stack())
		}
	}()
	ctx := context.Background()
	if h := l.cfg.logger.Handler(); h.Enabled(ctx, level) {
		r := slog.NewRecord(time.Now(), level, msg, pc)
		r.Add(args...)
		_ = h.Handle(ctx, r)
	}
	returned = true
}

// endIfLoggerExited ends the loop, on its goroutine, as a logger that
// called runtime.Goexit there would have, when one did so on the
// watchdog's goroutine (logAside).
func (l *Loop) endIfLoggerExited() {
	if l.logExited.Load() {
		l.goexitOnLoop(&goexitError{what: "the loop's logger"})
	}
}
