package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrCancelled is returned by an await of a task that was cancelled, and
	// by any await in progress in a task when its cancellation is delivered.
	// errors.Is(err, context.Canceled) also holds. Its text is "runtime: task
	// cancelled". Errors that carry a cancel message are *CancelError values
	// that wrap ErrCancelled.
	ErrCancelled error = cancelledError{}

	// ErrTimeout is matched (errors.Is) by the error of a WaitFor or
	// AsCompleted whose time limit passed. Its text is "runtime: timed
	// out"; the errors WaitFor and AsCompleted return say after how long
	// ("runtime: timed out after 1s"). errors.Is(err,
	// context.DeadlineExceeded) also holds.
	ErrTimeout error = timeoutError{}

	// ErrNotDone is returned by Result while a task or future is not done.
	ErrNotDone = errors.New("runtime: not done")

	// ErrNotInTask is returned (wrapped) by an awaiting function called with a
	// context that does not belong to a running task of a loop.
	ErrNotInTask = errors.New("runtime: not called from a task")

	// ErrWrongLoop is returned (wrapped) when a task awaits a task, future or
	// primitive that belongs to another loop.
	ErrWrongLoop = errors.New("runtime: belongs to another loop")

	// ErrLoopClosed is the error of tasks submitted to a loop that has closed.
	ErrLoopClosed = errors.New("runtime: loop closed")

	// ErrAwaitCycle is wrapped by the error of an await that would wait on
	// itself, directly or through other tasks.
	ErrAwaitCycle = errors.New("runtime: await cycle")

	// ErrGoexit is matched (errors.Is) by the error of a task whose function
	// called runtime.Goexit, as t.Fatal and t.FailNow do: the task fails with
	// it, the loop shuts down as when main returns, and Run returns it.
	ErrGoexit = errors.New("runtime: task called runtime.Goexit")

	// ErrQueueFull and ErrQueueEmpty are returned by Queue.PutNowait and
	// Queue.GetNowait.
	ErrQueueFull  = errors.New("runtime: queue full")
	ErrQueueEmpty = errors.New("runtime: queue empty")
)

// timeoutError is ErrTimeout: its own text, and context.DeadlineExceeded
// for errors.Is.
type timeoutError struct{}

func (timeoutError) Error() string { return "runtime: timed out" }

func (timeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout reports true, as context.DeadlineExceeded's does.
func (timeoutError) Timeout() bool { return true }

// timedOutError is the error of a WaitFor or AsCompleted whose limit d
// passed: "runtime: timed out after <d>" (d > 0), else ErrTimeout's text.
// It matches ErrTimeout and context.DeadlineExceeded.
type timedOutError struct{ after time.Duration }

func timeoutAfter(d time.Duration) error {
	if d <= 0 {
		return ErrTimeout // the limit had passed already: "after -1s" says nothing
	}
	return &timedOutError{after: d}
}

func (e *timedOutError) Error() string { return "runtime: timed out after " + e.after.String() }

// Is matches ErrTimeout.
func (e *timedOutError) Is(target error) bool { return target == ErrTimeout }

// Unwrap returns context.DeadlineExceeded.
func (e *timedOutError) Unwrap() error { return context.DeadlineExceeded }

// Timeout reports true, as context.DeadlineExceeded's does.
func (e *timedOutError) Timeout() bool { return true }

// CancelError is the error an await returns when its task is cancelled with
// a message (Task.Cancel("why")). It wraps ErrCancelled, so errors.Is(err,
// ErrCancelled) and errors.Is(err, context.Canceled) hold.
type CancelError struct {
	Msg string // the message given to Cancel; may be empty
}

// Error returns "runtime: task cancelled: <msg>" ("runtime: task cancelled"
// without a message).
func (e *CancelError) Error() string {
	if e.Msg == "" {
		return ErrCancelled.Error()
	}
	return ErrCancelled.Error() + ": " + e.Msg
}

// Unwrap returns ErrCancelled.
func (e *CancelError) Unwrap() error { return ErrCancelled }

// cancelledError is ErrCancelled: its own text, and context.Canceled for
// errors.Is.
type cancelledError struct{}

func (cancelledError) Error() string { return "runtime: task cancelled" }

func (cancelledError) Unwrap() error { return context.Canceled }

func cancelErr(msg string) error {
	if msg == "" {
		return ErrCancelled
	}
	return &CancelError{Msg: msg}
}

// PanicError is the error of a task whose function panicked: the loop
// recovers the panic, fails the task with it and goes on.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, as debug.Stack prints it
}

// Error returns "runtime: task panicked: <value>".
func (e *PanicError) Error() string { return fmt.Sprintf("runtime: task panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

func cycleErr(path []*task) error {
	var b strings.Builder
	for i, t := range path {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%s (id %d)", t.displayName(), t.id)
	}
	return fmt.Errorf("%w: %s", ErrAwaitCycle, b.String())
}

// opError is err, one of this package's errors or one wrapping it, as op
// returned it: "runtime: Gather: not called from a task" (the package's
// prefix once, not "runtime: Gather: runtime: not called from a task").
type opError struct {
	op  string
	err error
}

func opErr(op string, err error) error { return &opError{op: op, err: err} }

func (e *opError) Error() string {
	return "runtime: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "runtime: ")
}

func (e *opError) Unwrap() error { return e.err }

// goexitError is the error of a task whose function called runtime.Goexit.
type goexitError struct {
	name     string
	id       uint64
	inThread bool   // in a function the task ran with ToThread
	what     string // not a task: a callback or Observer method the loop ran
}

func goexitErr(t *task) error { return &goexitError{name: t.displayName(), id: t.id} }

func (e *goexitError) Error() string {
	if e.what != "" {
		return "runtime: " + e.what + " called runtime.Goexit; t.Fatal and t.FailNow do: there, use t.Error and return"
	}
	where := ""
	if e.inThread {
		where = "a ToThread function of "
	}
	return fmt.Sprintf("runtime: %stask %s (id %d) called runtime.Goexit; t.Fatal and t.FailNow do: inside a task, use t.Error and return", where, e.name, e.id)
}

// Is matches ErrGoexit.
func (e *goexitError) Is(target error) bool { return target == ErrGoexit }
