package runtime

import (
	"context"
	"time"
)

// Observer receives every task lifecycle transition and every blocking
// event of a loop (WithObserver). trace.New returns one that turns them into
// OpenTelemetry spans.
//
// Both methods are called synchronously on the loop goroutine, in the order
// the transitions happen, and must not block: every other task of the loop
// waits while they run. Hand slow work to another goroutine. An Observer
// shared by several loops is called from several goroutines.
//
// A panic in either method is contained: the loop logs one error (with the
// panic value and its stack, at the loop's logger, WithLogger) and goes on
// without the observer, which that loop does not call again. The task whose
// transition was being reported is not affected, and Run's result does not
// change. An OnTask that calls runtime.Goexit (t.Fatal does) ends the loop
// as a task's Goexit does: Run returns an error matching ErrGoexit that
// names the Observer, and the observer is not called again.
type Observer interface {
	// OnTask is called for each transition of a task.
	OnTask(ev TaskEvent)
	// OnBlock is called once for each step that ran longer than the slow-step
	// threshold, when the step ends: always before the OnTask of the task's
	// next transition (the suspension or the end that step led to), whether
	// or not the watchdog saw the step while it blocked.
	OnBlock(ev BlockEvent)
}

// EventKind names a lifecycle transition.
type EventKind uint8

// The lifecycle transitions an Observer sees, in the order a task goes
// through them. Scheduled, Resumed and Suspended repeat for every step.
const (
	TaskCreated         EventKind = iota + 1 // spawned or submitted
	TaskScheduled                            // became ready to run
	TaskStarted                              // first step began
	TaskResumed                              // a later step began
	TaskSuspended                            // a step ended at an await
	TaskCancelRequested                      // a cancel was delivered to it
	TaskFinished                             // ended with a nil error
	TaskFailed                               // ended with an error or a panic
	TaskCancelled                            // ended cancelled
)

var eventNames = [...]string{"", "created", "scheduled", "started", "resumed", "suspended",
	"cancel_requested", "finished", "failed", "cancelled"}

// String returns the transition's snake_case name ("cancel_requested").
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// TaskEvent is one lifecycle transition of a task.
type TaskEvent struct {
	Kind     EventKind
	Time     time.Time
	LoopID   uint64
	LoopName string
	TaskID   uint64
	ParentID uint64 // 0 for a loop's main task and submitted tasks
	TaskName string
	Function string // the task function's full name
	// SpawnedAt is where the task was created (set on every event).
	SpawnedAt Frame
	// SuspendedAt and Awaiting say where a TaskSuspended step stopped and on
	// what; Awaits lists the ids of the tasks it waits on.
	SuspendedAt Frame
	Awaiting    string
	Awaits      []uint64
	// CancelMsg is the message of a TaskCancelRequested or TaskCancelled.
	CancelMsg string
	// Err is the error of a TaskFailed or TaskCancelled.
	Err error
	// Lag is how long the task was ready before a TaskStarted or
	// TaskResumed step began (the loop's lag).
	Lag time.Duration
	// Steps and Busy are the totals so far; Busy is time spent running.
	Steps uint64
	Busy  time.Duration
	// Context is set on TaskCreated: the context the task's values come
	// from (the one given to Spawn, or to Run for a loop's main task), so an
	// observer can find, say, a span that should parent the task's span.
	Context context.Context
}

// taskEvent builds the event for t; only called with an observer installed.
func (l *Loop) taskEvent(t *task, k EventKind) TaskEvent {
	now := l.clock()
	ev := TaskEvent{
		Kind:     k,
		Time:     l.wall(now),
		LoopID:   l.id,
		LoopName: l.name,
		TaskID:   t.id,
		ParentID: t.parentID,
		TaskName: t.displayName(),
	}
	ev.Function = l.frames.funcFrame(t.fnPC).Function
	ev.SpawnedAt = l.frames.frame(t.spawnPC)
	switch k {
	case TaskSuspended:
		if l.stageN > 0 {
			ev.SuspendedAt = l.frames.suspension(l.stageBuf[:l.stageN])
		}
		ev.Awaiting = l.stage.text(l)
		ev.Awaits = l.stage.taskIDs()
	case TaskStarted, TaskResumed:
		if t.readyAt > 0 && now > t.readyAt {
			ev.Lag = time.Duration(now - t.readyAt)
		}
	case TaskCreated:
		ev.Context = t.values
	case TaskCancelRequested:
		ev.CancelMsg = t.cancelMsgLoop()
	case TaskFailed:
		ev.Err = t.err
	case TaskCancelled:
		ev.Err = t.err
		ev.CancelMsg = t.cancelMsgLoop()
	}
	if k >= TaskSuspended {
		l.mu.Lock()
		ev.Steps = t.pub.steps
		ev.Busy = time.Duration(t.pub.busy)
		l.mu.Unlock()
	}
	return ev
}
