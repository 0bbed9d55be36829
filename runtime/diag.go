package runtime

import "time"

// This file holds the types a diagnosis (taskdump doctor) reads: what a task
// waits for, structured; the awaitables tasks hold and wait on; the loop's
// recent activity; and the deadlocks the loop saw form. The loop keeps all
// of it always, cheaply, and hands out copies from Snapshot, Resources and
// Stats.

// WaitInfo says, structured, what a suspended task waits for. The zero
// WaitInfo means the task waits for nothing (it is ready, running or done).
type WaitInfo struct {
	// Kind is what it awaits, as the first word of TaskInfo.Awaiting names
	// it: "sleep", "yield", "task", "gather", "wait", "as_completed",
	// "wait_for", "shield", "taskgroup", "future", "event", "lock",
	// "semaphore", "queue.get", "queue.put", "queue.join", "to_thread".
	Kind string
	// Resource is the id of the awaitable waited on (a Future, Event, Lock,
	// Semaphore, Queue, TaskGroup or ToThread call; see ResourceInfo), 0 if
	// the task waits on tasks or time only. Tasks waited on are in
	// TaskInfo.Awaits.
	Resource uint64
	// Since is when the task began waiting at this await: the end of the
	// step that first suspended there. A wakeup that finds nothing (a
	// queue item another task took first, a lock handed on) does not
	// change it; the next await call, even at the same line, does.
	Since time.Time
	// External reports whether the wait can end without another task of
	// the loop doing anything: a timer (sleep, a timeout), a ToThread call
	// in flight, a yield (ready at once). A task that waits on a future,
	// event, lock, semaphore, queue or other tasks with no timeout can be
	// woken only by another task (or a callback the loop runs, such as
	// CallSoonThreadsafe's).
	External bool
}

// ResourceInfo is a copy of one awaitable's record: its identity, where it
// was made, and who holds it and waits on it.
type ResourceInfo struct {
	ID   uint64
	Kind string // "future", "event", "lock", "semaphore", "queue", "taskgroup", "to_thread"
	// CreatedAt is the user's call that made it (NewLock, NewQueue,
	// ToThread...); CreatedBy the id of the task that made it, 0 if it was
	// made outside a task (a package variable, a zero value, a goroutine
	// other than the loop's; and everywhere off amd64, where the goroutine
	// running a step cannot be told cheaply); Created the start of the
	// step that made it (zero when made outside the loop, and not kept for
	// a Future, a TaskGroup or a ToThread call: listed only while a task
	// waits on them, whose WaitInfo.Since says since when). A zero Lock or
	// Event has no CreatedAt.
	CreatedAt Frame
	CreatedBy uint64
	Created   time.Time
	// Holders are the tasks that hold it: a Lock's holder, a Semaphore's
	// permit holders (a task that holds two permits appears twice; a
	// Release drops the releasing task's permit, or the oldest when another
	// task or a callback releases; the 64 oldest of them, Cap-Len permits
	// are taken in all), the task that called ToThread, a TaskGroup's
	// owner. A holder may have ended without releasing.
	Holders []uint64
	// Waiters are the tasks waiting on it, in the order they will be
	// served (a Queue's getters; its Join callers are not listed), in task
	// creation order for a Future or TaskGroup; Putters are a Queue's tasks
	// waiting for room.
	Waiters []uint64
	Putters []uint64
	// Len and Cap: a Queue's length and maxsize (0: unbounded); a
	// Semaphore's free permits and initial value.
	Len, Cap int
	// Set: an Event is set, a Lock is locked (or handed to a waiter that
	// has not resumed). A Future is listed only while tasks wait on it,
	// which they do while it is pending: its Set is false (not tracked, to
	// keep a handoff through a future at its cost). LastSet and LastCleared
	// are when an Event was last set and cleared (the start of that step;
	// zero: never).
	Set         bool
	LastSet     time.Time
	LastCleared time.Time
	// LastPut is when an item was last put into a Queue (the start of that
	// step; zero: never), and LastPutBy the task that put it (0: a
	// callback, such as one a thread-safe call ran). A consumer waits in
	// vain if that task has ended and no other puts.
	LastPut   time.Time
	LastPutBy uint64
	// LastTaken is when a Lock or a Semaphore's permit was last acquired,
	// or an item taken from a Queue (the start of that step; zero: never).
	// Waiters of a lock that changes hands queue, and producers waiting on
	// a full queue its consumers drain wait their turn; they are not stuck.
	LastTaken time.Time
}

// LoopStats is a loop's recent activity, as a diagnosis needs it.
type LoopStats struct {
	// LastWork is when the loop last had work: a task became ready, a
	// timer fired, a thread-safe call or a finished ToThread arrived.
	LastWork time.Time
	// Ready is the number of tasks ready to run now; Timers the timers
	// pending (sleeps, timeouts, CallLater); Threads the ToThread calls in
	// flight; Pending the thread-safe calls not yet run.
	Ready, Timers, Threads, Pending int
	// Lag is the recent loop lag: how long tasks that became ready waited
	// to run, smoothed over the last steps.
	Lag time.Duration
	// Window is the span of recent time Busy and TaskInfo.RecentBusy cover;
	// Busy is how long steps ran in it.
	Window time.Duration
	Busy   time.Duration
	// Calls is how many thread-safe calls (CallSoonThreadsafe, Submit) the
	// loop has taken from other goroutines since it was made (its own tasks
	// and callbacks are not counted). A loop that takes them again and
	// again is fed from outside, as a server hands its loop requests.
	Calls uint64
	// Ended is how many of the loop's tasks have ended (retired into the
	// history, if it keeps any) since the loop was made:
	// more than History returns when the history has dropped the oldest.
	Ended uint64
}

// Deadlock is a cycle in the wait-for graph through tasks and the holders
// of locks and semaphores: each task in Tasks waits (at TaskInfo's
// suspension point) on Resources[i], which Tasks[i+1] holds, or awaits
// Tasks[i+1] itself (Resources[i] is 0); the last waits on what the first
// holds. Tasks[0] is the task whose wait closed the cycle. See deadlock.go
// for what counts. The loop reports it once, when it forms:
// logged at warning level and given to an Observer that implements
// DeadlockObserver. It does not change what any task sees.
type Deadlock struct {
	LoopID uint64
	Loop   string
	Time   time.Time
	Tasks  []uint64
	Names  []string
	// Resources[i] is the id of the Lock or Semaphore Tasks[i] waits for,
	// 0 when Tasks[i] awaits the task Tasks[i+1] itself; Kinds[i] is its
	// kind: "lock", "semaphore", or "task" for an awaited task.
	Resources []uint64
	Kinds     []string
	// At is where each task of Tasks waits.
	At []Frame
}

// DeadlockObserver is an Observer that also wants deadlocks as they form.
// OnDeadlock is called synchronously on the loop goroutine, once per
// deadlock, and must not block.
type DeadlockObserver interface {
	Observer
	OnDeadlock(d Deadlock)
}
