package runtime

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// runCallback runs fn, a callback the loop runs on its own goroutine
// (CallSoon, CallLater, AddDoneCallback, Loop.CallSoonThreadsafe), and
// contains its failure as asyncio's call_exception_handler does: a panic is
// logged once (the panic value, the callback's function and its stack) and
// the loop goes on; a runtime.Goexit (t.Fatal in a callback) ends the loop,
// and Run returns an error matching ErrGoexit that names the callback
// (runContained). The deferred check costs a nanosecond or two.
func (l *Loop) runCallback(fn func()) {
	returned := false
	defer func() {
		if !returned {
			l.callbackFailed(recover())
		}
	}()
	fn()
	returned = true
}

// callbackFailed handles r, what recover returned in runCallback's deferred
// function: nil for a runtime.Goexit.
func (l *Loop) callbackFailed(r any) {
	name, at := failingCallback()
	if r == nil {
		l.goexitOnLoop(&goexitError{what: "callback " + name + " (" + at + ")"})
		return
	}
	l.log(slog.LevelError, "runtime: a callback the loop ran panicked; the loop goes on",
		"loop", l.name, "callback", name, "at", at, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// goexitOnLoop records err, about a runtime.Goexit on the loop's goroutine
// (in a callback or an Observer method), as what Run returns, unless an
// earlier Goexit was recorded.
func (l *Loop) goexitOnLoop(err error) {
	if l.exit == nil {
		l.exit = err
	}
}

// pkgPrefix is this package's import path and a dot, the prefix of its
// functions' names.
const pkgPrefix = "github.com/taskdump/taskdump/runtime."

// failingCallback names the callback whose panic or Goexit is unwinding
// now, called from runCallback's deferred function: the function
// runCallback called, or, when that is one of the loop's own wrappers
// (AddDoneCallback's), the first function outside this package that the
// wrapper called. at is its file:line where it failed (or was defined).
func failingCallback() (name, at string) {
	pcs := make([]uintptr, 256)
	n := goruntime.Callers(3, pcs)
	frames := goruntime.CallersFrames(pcs[:n])
	var inner []goruntime.Frame // innermost first, up to runCallback
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*Loop).runCallback") {
			break
		}
		inner = append(inner, f)
		if !more {
			break
		}
	}
	for i := len(inner) - 1; i >= 0; i-- {
		f := inner[i]
		if strings.HasPrefix(f.Function, pkgPrefix) {
			continue // the loop's own wrapper
		}
		return f.Function, f.File + ":" + strconv.Itoa(f.Line)
	}
	return "unknown", "unknown"
}

// runContained runs the loop until main is done and then shuts it down
// (runUntilDone), on a coroutine rather than on Run's goroutine itself, so
// that a runtime.Goexit there (a callback or an Observer method calling
// t.Fatal) does not kill Run's caller: the coroutine shuts the loop down
// while the Goexit unwinds it, hands control back, and Run returns the
// error that names the callback (ErrGoexit). A panic that escapes the loop
// is re-raised on Run's goroutine. It costs one coroutine per Run (~1 µs).
func (l *Loop) runContained(ctx context.Context, main *task) {
	goexited := false
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		l.loopG.Store(getg())
		finished := false
		defer func() {
			if finished {
				return
			}
			if r := recover(); r != nil {
				panic(r) // iter.Pull re-raises it on Run's goroutine
			}
			// runtime.Goexit on the loop's goroutine: it cannot be stopped,
			// so the loop is shut down here, while it unwinds. Callbacks and
			// OnTask named themselves (l.exit); what did not is an Observer's
			// OnBlock or OnDeadlock, or the loop's logger. The observer is
			// not called again: a second Goexit would end Run's caller.
			if l.exit == nil {
				l.obsFailed = true
				l.exit = &goexitError{what: "the loop's Observer (OnBlock or OnDeadlock) or its logger"}
			}
			goexited = true
			l.completeEnding()
			l.shutdownContained()
			for yield(struct{}{}) {
				// Never resumed: Run stops this coroutine (stopDead).
			}
			panic(errGoexitUnwind)
		}()
		l.runUntilDone(ctx, main)
		finished = true
	})
	next()
	if goexited {
		stopUnwound(stop)
		return
	}
	stop()
}

// completeEnding completes the task whose end endStep was reporting when
// a runtime.Goexit there (the logger's, an Observer's OnBlock) cut it
// short, and pools its coroutine: its awaiters would wait for it for
// ever, and the coroutine would outlive the loop. The observer is not
// called again by then.
func (l *Loop) completeEnding() {
	t, c := l.ending, l.endingCo
	if t == nil {
		return
	}
	l.ending, l.endingCo = nil, nil
	l.putCoro(c) // stopped with the others at close
	l.complete(t)
}

// shutdownContained shuts the loop down (after a runtime.Goexit on its
// coroutine) on coroutines of its own, so that another Goexit in a callback
// shutdown runs (a done callback of a task it cancels, one left in the
// inbox) ends that coroutine only, not Run's caller (a Goexit on the
// coroutine of iter.Pull is re-raised on the goroutine that resumed it):
// shutdown then goes on from where it was on a fresh one.
func (l *Loop) shutdownContained() {
	for l.goexitContained(l.shutdown) {
	}
}

// goexitContained runs fn as the loop on a coroutine and reports whether fn
// called runtime.Goexit. A panic in fn is re-raised on the caller.
func (l *Loop) goexitContained(fn func()) (goexited bool) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		l.loopG.Store(getg())
		finished := false
		defer func() {
			if finished {
				return
			}
			if r := recover(); r != nil {
				panic(r) // iter.Pull re-raises it on the caller
			}
			goexited = true
			for yield(struct{}{}) {
				// Never resumed: stopUnwound stops this coroutine.
			}
			panic(errGoexitUnwind)
		}()
		fn()
		finished = true
	})
	next()
	if goexited {
		stopUnwound(stop)
		return true
	}
	stop()
	return false
}

// stopUnwound stops the loop's coroutine after a runtime.Goexit on it
// (runContained), which unwinds with errGoexitUnwind: iter.Pull re-raises
// it here, and recovering it ends that coroutine and nothing else.
func stopUnwound(stop func()) {
	defer func() {
		if r := recover(); r != nil && r != errGoexitUnwind {
			panic(r)
		}
	}()
	stop()
}
