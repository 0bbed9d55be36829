// Package runtime is an asyncio-style event loop for Go that records every
// task lifecycle transition, cheaply and always.
//
// A task is an ordinary Go function, func(ctx context.Context) (T, error),
// scheduled on a Loop with Spawn. Tasks run one at a time on the loop's
// goroutine and suspend only at await points: Sleep, Yield, Task.Await,
// Gather, Wait, AsCompleted, WaitFor, Shield, TaskGroup.Wait, Future.Await,
// Event.Wait, Lock.Lock, Semaphore.Acquire, Queue.Put/Get/Join and
// ToThread. Ready tasks run FIFO, one step at a time, in the order they
// became ready, so a program's output is deterministic.
//
//	res, err := runtime.Run(ctx, func(ctx context.Context) (int, error) {
//		a := runtime.Spawn(ctx, fetch, runtime.Named("fetch-a"))
//		b := runtime.Spawn(ctx, fetch, runtime.Named("fetch-b"))
//		vs, err := runtime.Gather(ctx, a, b) // results in argument order
//		...
//	})
//
// The semantics are asyncio's (Python 3.12): Run cancels the tasks left when
// main returns; Cancel moves a task to Cancelling and the await in progress
// returns an error wrapping ErrCancelled (and context.Canceled); cancelling
// a task that awaits a task, Gather or WaitFor cancels what it awaits (not
// through Shield, Wait or AsCompleted); a panic fails only its task, with a
// *PanicError; a panic in a callback (CallSoon, CallLater, AddDoneCallback,
// Loop.CallSoonThreadsafe) is logged and the loop goes on
// (call_exception_handler); an await cycle fails at once. A task, callback
// or Observer that calls runtime.Goexit (t.Fatal does) ends the loop, and
// Run returns an error matching ErrGoexit (asyncio's SystemExit). Misuse is
// a clear error, never a hang or a crash: awaiting functions called off
// their loop return an error wrapping ErrNotInTask, and Spawn, CallSoon,
// CallLater, AddDoneCallback and the methods that change a Future, Event,
// Lock, Semaphore or Queue (SetResult, Set, Unlock, Release, PutNowait...)
// called from a goroutine that is not running the loop panic naming
// Loop.Submit or Loop.CallSoonThreadsafe.
//
// # Where tasks run
//
// Each task runs on a coroutine (iter.Pull): switching between the loop and
// a task is a coroutine switch, not a channel handoff. Coroutines are taken
// at a task's first step and returned to a per-loop pool when it ends, so a
// spawn does not create a goroutine. A suspended task holds one parked
// goroutine (its stack, 2–8 KiB). Blocking calls inside a task (time.Sleep,
// file or network I/O, CPU-heavy loops) block every task of the loop: move
// them to ToThread, which runs them on a bounded pool of goroutines.
//
// # Instrumentation
//
// Every task keeps a record: id, name, parent, function, spawn site, state,
// created/started times, steps, busy time, scheduled-wait time (ready but
// not running: the loop's lag), idle time, the suspension point (the user's
// own await call; frames inside this package are never reported as one),
// what it awaits and the cancel message. Recording a suspension costs a
// frame-pointer walk of the task's stack (about 10 ns: PCs are stored and
// resolved to file:line only when read).
//
// Loop.Snapshot copies every live task's record from any goroutine, at any
// moment — including while a task blocks the loop, which is when people
// look — and never waits for the loop to yield: the loop takes a mutex for a
// few hundred nanoseconds per step and never while a task runs. Runs of
// Loop.History keep the last finished tasks (WithHistorySize, default 1000).
// Loops lists the running loops of the process; the inspect package serves
// them over a Unix socket to the taskdump command.
//
// A watchdog goroutine per loop looks at the running step a few times per
// threshold (WithSlowStepThreshold, default 100 ms). When a step runs
// longer, it captures the stack of the goroutine running it while it is
// still blocked, records a BlockEvent (Loop.Blocking), and, when the step
// ends, logs one warning through log/slog naming the task, the duration and
// the user's file:line, and hands the event to the Observer:
//
//	task "sleepy-1" blocked the loop for 301ms at main.go:17 (time.Sleep); move blocking work to runtime.ToThread
//
// An Observer (WithObserver) receives every lifecycle transition
// synchronously on the loop goroutine; the trace package turns them into
// OpenTelemetry spans.
//
// # Diagnosis
//
// The loop also keeps, always, what taskdump doctor needs to say what is
// wrong. Each task record says, structured (TaskInfo.Wait), what it waits
// for, the id of the awaitable, since when it has waited at this await
// (unchanged by wakeups that find nothing), and whether something outside
// the loop's tasks ends the wait (a timer, a timeout, a ToThread call).
// Every Future, Event, Lock, Semaphore, Queue, TaskGroup and ToThread call
// has an id, a kind, the user's file:line that made it and the task that
// did; Loop.Resources lists those that live tasks hold, wait on or made,
// with a Lock's holder, a Semaphore's holders, a Queue's length and
// waiters, an Event's last set and clear. LoopSnapshot.Stats says when the
// loop last had work, what could wake it (ready tasks, timers, ToThread
// calls, thread-safe calls), its lag and its busy time over the last 5 to
// 10 seconds, and TaskInfo.RecentBusy each task's share of it. When a task
// starts waiting for a Lock or Semaphore (or awaits a task that does) and
// so closes a cycle of tasks waiting for each other, the loop logs the
// deadlock once at warning level, hands it to an Observer that implements
// DeadlockObserver, and lists it in Loop.Deadlocks while it holds; it
// changes nothing of the waits.
//
// The cost is a few stores per step, under the lock the loop takes then
// anyway, about 5 ns per primitive made (its creation site and task), and
// 24 bytes per primitive; a primitive whose state changes is copied for
// readers once per step. The deadlock walk runs only when a task must
// actually wait for a Lock or Semaphore.
//
// While a CPU profile is being taken, each task's goroutine carries the
// pprof labels task.id, task.name and loop, so `go tool pprof
// -tagfocus task.name=NAME` splits a profile per task. (Building a label
// set costs ~500 ns, so the loop sets them only while profiling, once per
// task.) While runtime/trace is on, each task is a runtime/trace task.
//
// # Costs
//
// Measured with the benchmarks in bench_test.go on a 2-core machine (see the
// README's Performance section for the current figures and the comparison
// with Python asyncio and Node.js): a spawn+gather of a trivial task costs
// well under a microsecond and one allocation (its 288-byte record), and no
// coroutine switch when tasks that end in their first step are ready one
// after another (the coroutine that ran one runs the next); a
// handoff between two tasks through a future under 200 ns and one
// allocation (the new future), of which one coroutine switch (half a round
// trip, about 30 ns: the coroutine of the task that suspends resumes the
// other itself) is the floor; a pending task about 3.3 KB, of which its parked
// coroutine (a 2 KiB stack and its goroutine) is about 2.75 KB.
// floor_bench_test.go measures the floors.
package runtime
