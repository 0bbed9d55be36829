package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Handle is the type-erased view of a task: every *Task[T] is one. Wait,
// CurrentTask, AllTasks and done callbacks deal in Handles. ID, Name, State,
// Done, String and Cancel are safe to call from any goroutine.
type Handle interface {
	ID() uint64
	Name() string
	State() State
	Done() bool
	Cancel(msg ...string) bool
	String() string
}

// taskImpl is what the loop needs of a *Task[T] beyond the shared record.
type taskImpl interface {
	Handle
	runBody(ctx context.Context)
	base() *task
}

// Task is a function scheduled to run on a loop, step by step, between its
// await points: asyncio.Task. Create one with Spawn, SpawnIn or
// Loop.Submit; the zero Task is not usable.
//
// A Task costs one allocation of 288 bytes (a Task[int]) plus, while it is
// suspended, a parked coroutine goroutine (a 2 KiB stack) whose record
// holds where and on what the task waits; finished tasks return their
// coroutine to a pool. The first Sleep or timeout on a coroutine adds a
// 48-byte timer, a task's second concurrent awaiter a list.
type Task[T any] struct {
	task
	fn  func(context.Context) (T, error)
	val T
}

func (t *Task[T]) runBody(ctx context.Context) {
	t.val, t.err = t.fn(ctx)
	t.fn = nil
	if t.err == nil && t.cancelPending {
		// Cancelled and never delivered: it ends Cancelled (asyncio's
		// test_cancel_at_end).
		var zero T
		t.val, t.err = zero, t.takeCancel()
	}
}

func (t *Task[T]) base() *task { return &t.task }

// Await suspends the calling task until t is done and returns t's result.
// Called from a task of t's loop, it suspends only that task. Called from a
// goroutine that is not running a task (ctx carries no task), it blocks that
// goroutine until t is done or ctx is done, like concurrent.futures.
//
// If the awaiting task is cancelled while it waits, t is cancelled too and
// Await returns ErrCancelled once t has ended (use Shield to protect t).
// Awaiting a task that awaits the caller, directly or through others, fails
// at once with an error wrapping ErrAwaitCycle.
//
//go:noinline
func (t *Task[T]) Await(ctx context.Context) (T, error) {
	var zero T
	cur := taskOf(ctx)
	if cur == nil {
		if err := t.task.block(ctx); err != nil {
			return zero, err
		}
		t.retrievedOut.Store(true) // not t.retrieved: that one is the loop's
		return t.val, t.err
	}
	if err := cur.checkRunning("Task.Await"); err != nil {
		return zero, err
	}
	if !t.task.done() {
		if err := cur.awaitTasks(&waiter{ts: []*task{&t.task}, cond: AllCompleted, kind: awaitTask}, true); err != nil {
			return zero, err
		}
	}
	t.markRetrieved()
	return t.val, t.err
}

// Result returns t's result once it is done, and ErrNotDone before. It may
// be called from any goroutine: off the loop it records the retrieval
// atomically only, as Await outside any task does.
func (t *Task[T]) Result() (T, error) {
	var zero T
	if !t.task.done() {
		return zero, ErrNotDone
	}
	if t.loop.onLoop() {
		t.markRetrieved()
	} else {
		t.retrievedOut.Store(true) // not t.retrieved: that one is the loop's
	}
	return t.val, t.err
}

// Done reports whether t has ended (Finished, Failed or Cancelled).
func (t *Task[T]) Done() bool { return t.task.done() }

// Cancelled reports whether t ended Cancelled.
func (t *Task[T]) Cancelled() bool { return State(t.state.Load()) == Cancelled }

// ID returns t's id, unique in the process, never reused.
func (t *Task[T]) ID() uint64 { return t.id }

// Name returns t's name: the one given with Named, or "Task-<id>".
func (t *Task[T]) Name() string { return t.displayName() }

// State returns t's state. Safe from any goroutine.
func (t *Task[T]) State() State { return t.task.stateNow() }

// Cancel requests cancellation of t with an optional message and reports
// whether the request was made (false if t is already done). It moves t to
// Cancelling at once; the loop delivers the cancellation at t's next
// suspension point, where the await in progress returns an error wrapping
// ErrCancelled (with the message), and t's context is done. A Cancel of a
// task that is Cancelling already keeps the message of the earlier request
// (a later message is used only if the earlier request had none). The
// cancellation wins over whatever that await was woken for meanwhile: a
// lock, permit, queue item or slot handed to t passes to the next waiter,
// and a future or task that ended is not returned. A task cancelled before
// its first step never runs. If t's function returns a nil error while the
// cancellation is still undelivered, t ends Cancelled (asyncio's
// test_cancel_at_end); one that got the cancellation and returns a nil
// error Finishes. Safe from any goroutine.
func (t *Task[T]) Cancel(msg ...string) bool {
	return t.task.requestCancel(strings.Join(msg, " "), "")
}

// String returns an asyncio-like repr, e.g.
// <Task pending name=worker-3 fn=main.fetch suspended at main.go:42 awaiting sleep(1s)>.
// Safe from any goroutine.
func (t *Task[T]) String() string { return t.task.repr() }

// AddDoneCallback arranges for fn to be called on the loop, soon after t is
// done (at once, soon, if it is already done). Call it from the loop (a task
// or a callback of t's loop); from any other goroutine it panics (use
// Loop.CallSoonThreadsafe to get onto the loop first). A panic or
// runtime.Goexit in fn is handled as CallSoon says: the panic is logged
// and the loop goes on; the Goexit ends the loop and Run returns it.
func (t *Task[T]) AddDoneCallback(fn func(Handle)) {
	if !t.loop.onLoop() {
		panic(offLoop("AddDoneCallback", &t.task, "Loop.CallSoonThreadsafe"))
	}
	if t.task.done() {
		h := t.impl
		t.loop.callSoon(func() { fn(h) })
		return
	}
	x := t.more()
	x.callbacks = append(x.callbacks, fn)
}

// task is the record every task shares, whatever its result type. Fields are
// grouped by who may touch them.
type task struct {
	// Laid out by when they are touched: a snapshot copies the first two
	// cache lines (the published record, the state) under loop.mu; a step
	// and a task's end touch those and the next two; what was set at
	// creation and what is rarely used follow.

	// Guarded by loop.mu: what readers (snapshots) see, with co's susp.
	pub     pubRecord
	state   atomic.Uint32 // any goroutine: Pending, Cancelling or a final state; Running is derived
	liveIdx int32         // guarded by loop.mu: position in loop.live

	// Touched by every step and end (loop goroutine; chg also under
	// loop.mu).
	readyAt       int64
	co            *coro  // from its first step until it is retired; written under loop.mu (readers reach co.susp through it)
	chg           change // its place in the loop's change list (changes.go)
	started       bool
	queued        bool
	bodyDone      bool
	retrieved     bool
	cancelPending bool
	goexited      bool // its function called runtime.Goexit
	grant         bool // a Lock, Semaphore or Event handed this task what it waited for
	labelled      bool
	unlinked      bool // guarded by loop.mu
	ended         State
	deadlocked    bool // it is in one of loop.deadlocks (deadlock.go)
	cancelReqs    int32
	visit         uint32
	loop          *Loop // set at creation, then read-only
	impl          taskImpl
	listener      *waiter // the first waiting for this one to end; the others in extra.listeners
	err           error
	endTime       int64 // guarded by loop.mu

	// Set at creation, then read-only.
	id       uint64
	parentID uint64
	name     *string // nil: "Task-<id>" (a pointer: most tasks have no name)
	fnPC     uintptr
	spawnPC  uintptr
	created  int64
	values   context.Context // where the task context's values come from

	// Any goroutine (atomic).
	ctxCancelled atomic.Bool
	retrievedOut atomic.Bool // its result was taken by an Await outside any task, or its error on the loop (markRetrieved)
	doneCh       atomic.Pointer[chan struct{}]

	// Loop goroutine only, rarely.
	extra *taskExtra
}

// taskExtra holds what few tasks need, allocated on first use: a task that
// never suspends pays for none of it (W1's bytes per task).
type taskExtra struct {
	callbacks []func(Handle)
	listeners []*waiter // waiting for the task to end, after task.listener
	trace     traceTask
}

// listen adds w to the waiters notified when t ends (loop goroutine).
func (t *task) listen(w *waiter) {
	if t.listener == nil {
		t.listener = w
		return
	}
	x := t.more()
	x.listeners = append(x.listeners, w)
}

// dropListener removes w from t's listeners, if it is there.
func (t *task) dropListener(w *waiter) {
	var rest []*waiter
	if t.extra != nil {
		rest = t.extra.listeners
	}
	if t.listener == w {
		t.listener = nil
		if n := len(rest); n > 0 {
			t.listener, rest[n-1] = rest[n-1], nil
			t.extra.listeners = rest[:n-1]
		}
		return
	}
	for i, y := range rest {
		if y == w {
			last := len(rest) - 1
			rest[i], rest[last] = rest[last], nil
			t.extra.listeners = rest[:last]
			return
		}
	}
}

// timer returns the timer of t, which is running: its coroutine's, made at
// the first Sleep or timeout a task on it awaits (a coroutine that never
// served a sleeper does not carry one). A timer is pending only while its
// task awaits it, so the next task on the coroutine finds it idle.
func (t *task) timer() *timer {
	c := t.co
	if c.tm == nil {
		c.tm = &timer{idx: -1}
	}
	c.tm.t = t
	return c.tm
}

// sleeping reports whether t's timer is pending.
func (t *task) sleeping() bool {
	c := t.co
	return c != nil && c.t == t && c.tm != nil && c.tm.idx >= 0
}

// waiting returns the waiter t is parked on, awaiting other tasks (loop
// goroutine), nil if none.
func (t *task) waiting() *waiter {
	if c := t.co; c != nil && c.t == t {
		return c.waitingOn
	}
	return nil
}

func (t *task) more() *taskExtra {
	if t.extra == nil {
		t.extra = new(taskExtra)
	}
	return t.extra
}

// record is what a reader copies of a task under loop.mu
// (recordLocked): the instrumentation it carries all its life (pubRecord)
// and where it last suspended (suspension).
type record struct {
	pubRecord
	suspension
}

// pubRecord is the published instrumentation a task carries from its
// creation to the end of its history; loop.mu guards it.
type pubRecord struct {
	started   int64 // first step, ns since loop epoch; 0 before
	steps     uint64
	busy      int64
	schedWait int64
	idle      int64
	cancel    *cancelInfo // immutable once published
}

// suspension is where and on what a task last suspended, published with
// its record (loop.mu guards it). It lives in the task's coroutine
// (coro.susp), which a task holds from its first step until it is retired,
// so a task that never suspends does not carry these 72 bytes: a Task[int]
// is 288 bytes, not 384 (W1).
type suspension struct {
	suspended int64 // when it last suspended
	stk       []uintptr
	await     awaitDesc
	since     int64 // since when it waits at this await (loop clock; awaitAt)
}

// recordLocked returns t's published record (under loop.mu). A task that
// has not started has no suspension; one that ended keeps its coroutine's
// (reset only once the next task bound to it takes the lock, after t is
// retired) until it is retired.
func (t *task) recordLocked() record {
	r := record{pubRecord: t.pub}
	if c := t.co; c != nil {
		r.suspension = c.susp
	}
	return r
}

// susp returns t's suspension on the loop goroutine, nil if t has not
// started or has ended (its coroutine may serve another task already).
func (t *task) susp() *suspension {
	if c := t.co; c != nil && c.t == t {
		return &c.susp
	}
	return nil
}

// cancelInfo is the last cancel request's message and who made it, when
// the first request was made (loop clock), and the suspension stack where
// the cancellation was delivered (nil until then).
type cancelInfo struct {
	msg, by string
	at      int64
	stk     []uintptr
}

// message returns the cancel message, "" if none.
func (c *cancelInfo) message() string {
	if c == nil {
		return ""
	}
	return c.msg
}

// requester returns who asked for the cancel, "" if unknown.
func (c *cancelInfo) requester() string {
	if c == nil {
		return ""
	}
	return c.by
}

func (t *task) displayName() string {
	if t.name != nil {
		return *t.name
	}
	return "Task-" + itoa(int(t.id))
}

func (t *task) done() bool { return State(t.state.Load()).Done() }

// stateNow derives Running from the loop's current step.
func (t *task) stateNow() State {
	s := State(t.state.Load())
	if s == Pending && t.loop.isCurrent(t) {
		return Running
	}
	return s
}

// spawnTask creates a task record on loop l and schedules it (Spawn,
// SpawnIn, Run). It panics if called off the loop.
func spawnTask[T any](l *Loop, parent *task, values context.Context, fn func(context.Context) (T, error), pc uintptr, opts []TaskOption) *Task[T] {
	return spawnTaskAs(l, parent, values, fn, 0, pc, opts)
}

// spawnTaskAs is spawnTask for a task whose function, as readers show it,
// is at fnPC (0: fn's own): Loop.Run's main runs through a wrapper. It is
// set before the task is linked, where snapshots may read it.
func spawnTaskAs[T any](l *Loop, parent *task, values context.Context, fn func(context.Context) (T, error), fnPC, pc uintptr, opts []TaskOption) *Task[T] {
	if fn == nil {
		panic("runtime: Spawn of a nil function")
	}
	if !l.onLoop() {
		panic(offLoop("Spawn", parent, "Loop.Submit"))
	}
	t := newTask(l, parent, values, fn, pc, opts)
	t.created = l.spawnClock()
	if fnPC != 0 {
		t.fnPC = fnPC
	}
	l.link(&t.task)
	l.emit(&t.task, TaskCreated)
	l.schedule(&t.task)
	return t
}

func newTask[T any](l *Loop, parent *task, values context.Context, fn func(context.Context) (T, error), pc uintptr, opts []TaskOption) *Task[T] {
	t := &Task[T]{fn: fn}
	t.loop = l
	t.impl = t
	t.id = nextTaskID()
	if len(opts) > 0 {
		// Only here: an option is a call the compiler cannot see through,
		// so the config it fills is on the heap (W1 paid 16 B and an
		// allocation per task for it with no option at all).
		tc := new(taskConfig)
		for _, o := range opts {
			o(tc)
		}
		if tc.name != "" {
			t.name = &tc.name
		}
	}
	if t.name == nil && l.obs != nil {
		name := "Task-" + itoa(int(t.id)) // observers see the name on every event: build it once
		t.name = &name
	}
	t.spawnPC = pc
	t.fnPC = funcPC(fn)
	t.values = values
	if parent != nil {
		t.parentID = parent.id
	}
	t.liveIdx = -1
	return t
}

// Spawn schedules fn to run as a new task on ctx's loop and returns the task
// (asyncio.create_task). fn does not start until the calling task suspends:
// ready tasks run in FIFO order. The new task's context carries ctx's
// values; its parent is ctx's task.
//
// Call Spawn on the loop: from one of its tasks or from a callback it runs.
// It panics at once, with a message naming Loop.Submit, if ctx belongs to no
// task, or if it is called from any other goroutine (a task's context passed
// to a goroutine, a ToThread function, a context.AfterFunc, another loop):
// Spawn does not hand the new task over to the loop, it schedules it in
// place, which only the loop's own goroutines may do. Use Loop.Submit from
// other goroutines. The check costs one comparison of goroutine identities.
//
// Spawn costs about one allocation of the task record and a few hundred ns;
// see the package documentation for measured figures.
//
//go:noinline
func Spawn[T any](ctx context.Context, fn func(context.Context) (T, error), opts ...TaskOption) *Task[T] {
	pc := callerpc()
	cur := taskOf(ctx)
	if cur == nil {
		panic("runtime: Spawn called with a context that belongs to no task; use Loop.Submit from other goroutines")
	}
	return spawnTask(cur.loop, cur, valuesOf(ctx), fn, pc, opts)
}

// onLoop reports whether the calling goroutine may touch the loop's own
// state: it runs the loop's current step, or the loop itself (callbacks,
// Run). Where goroutine identity is unavailable (getg returns 0) it reports
// true: the check is skipped. It costs an atomic load and two comparisons.
func (l *Loop) onLoop() bool {
	g := getg()
	return g == 0 || l.isLoopG(g)
}

// isLoopG reports whether goroutine g runs the loop or its current step.
func (l *Loop) isLoopG(g uintptr) bool {
	return g == l.steppingG.Load() || g == l.loopG.Load()
}

// offLoop is the panic message of op, about task t, called from a goroutine
// that runs neither t's loop nor one of its tasks; use says what to call
// instead.
func offLoop(op string, t *task, use string) string {
	return "runtime: " + op + " called for task " + t.displayName() + " (" + t.loop.name +
		") from a goroutine that runs neither that loop nor one of its tasks (was a task's context passed to another goroutine?); use " +
		use + " from other goroutines"
}

// mustOnLoop panics at once, naming op and Loop.CallSoonThreadsafe, unless
// the calling goroutine may touch l's state (onLoop): the methods of
// futures and primitives that change them (Future.SetResult, Event.Set,
// Lock.Unlock, Queue.PutNowait...) would race with the loop otherwise. A
// nil l (a primitive no task has made or used yet) is not checked, nor is a
// loop that has closed and whose goroutine is gone (Run has returned or is
// returning): nothing runs on it any more to race with. It costs what onLoop
// does.
func (l *Loop) mustOnLoop(op string) {
	if l != nil && !l.onLoop() && !l.gone() {
		panic(offLoopOp(op, l))
	}
}

// gone reports whether l has closed and its goroutine no longer runs it:
// nothing it ran is left (shutdown cleared loopG after the last callback).
func (l *Loop) gone() bool {
	return l.status.Load() == loopClosed && l.loopG.Load() == 0
}

// offLoopOp is the panic message of mustOnLoop.
//
//go:noinline
func offLoopOp(op string, l *Loop) string {
	return "runtime: " + op + " called from a goroutine that runs neither loop " + l.name +
		" nor one of its tasks (was it called from another goroutine, a ToThread function or a context.AfterFunc?); use Loop.CallSoonThreadsafe from other goroutines"
}

// loopOf returns the loop of a future or primitive: the one it is bound to,
// else the one of the task that made it (nil if neither is known).
func (r *resource) loopOf(bound *Loop) *Loop {
	if bound != nil {
		return bound
	}
	if r.by != nil {
		return r.by.loop
	}
	return nil
}

// CurrentTask returns the task ctx belongs to, or nil outside any task.
func CurrentTask(ctx context.Context) Handle {
	if t := taskOf(ctx); t != nil {
		return t.impl
	}
	return nil
}

// AllTasks returns the tasks of ctx's loop that are not done, in creation
// order (the current task included), or nil outside any task.
func AllTasks(ctx context.Context) []Handle {
	t := taskOf(ctx)
	if t == nil {
		return nil
	}
	return t.loop.liveHandles()
}

// checkRunning verifies that an awaiting function runs in the step of t.
func (t *task) checkRunning(op string) error {
	// Only the goroutine running a step may await; on it, the loop's own
	// fields may be read, since the loop is parked in that step.
	l := t.loop
	g := getg()
	if g == 0 {
		g = uintptr(unsafe.Pointer(t))
	}
	if l.steppingG.Load() != g || l.stepping != t {
		return opErr(op, fmt.Errorf("%w (task %s is not running: was its context passed to another goroutine?)", ErrNotInTask, t.displayName()))
	}
	return nil
}

// requestCancel is Cancel for any goroutine: the loop delivers it when it
// next drains its inbox.
func (t *task) requestCancel(msg, by string) bool {
	if !t.markCancel(msg, by) {
		return false
	}
	l := t.loop
	if g := getg(); g != 0 && (g == l.steppingG.Load() || g == l.loopG.Load()) {
		// Called from a task or callback of t's own loop: deliver now, so a
		// task already in this iteration's ready batch sees it.
		l.deliverCancel(t, msg)
		return true
	}
	l.post(func() { l.deliverCancel(t, msg) })
	return true
}

// cancelNow is Cancel on the loop goroutine: delivered at once.
func (t *task) cancelNow(msg, by string) bool {
	if !t.markCancel(msg, by) {
		return false
	}
	t.loop.deliverCancel(t, msg)
	return true
}

// markCancel moves t to Cancelling and records the message. While t is
// Cancelling already, the first request's message (and requester) stays: a
// later request replaces it only if it had none.
func (t *task) markCancel(msg, by string) bool {
	again := false
	for {
		s := State(t.state.Load())
		if s.Done() {
			return false
		}
		if s == Cancelling {
			again = true
			break
		}
		if t.state.CompareAndSwap(uint32(s), uint32(Cancelling)) {
			break
		}
	}
	l := t.loop
	l.mu.Lock()
	if !again || t.pub.cancel.message() == "" {
		c := &cancelInfo{msg: msg, by: by, at: l.clock()}
		if again && t.pub.cancel != nil {
			c.at, c.stk = t.pub.cancel.at, t.pub.cancel.stk
		}
		t.pub.cancel = c
	}
	l.changedLocked(t)
	l.mu.Unlock()
	return true
}

// doneChan returns the channel of the task context's Done.
func (t *task) doneChan() <-chan struct{} {
	if ch := t.doneCh.Load(); ch != nil {
		return *ch
	}
	l := t.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch := t.doneCh.Load(); ch != nil {
		return *ch
	}
	ch := make(chan struct{})
	if t.ctxCancelled.Load() {
		close(ch)
	}
	t.doneCh.Store(&ch)
	return ch
}

// closeCtx marks the task context cancelled and closes its Done channel.
func (t *task) closeCtx() {
	l := t.loop
	l.mu.Lock()
	if t.ctxCancelled.Load() {
		l.mu.Unlock()
		return
	}
	t.ctxCancelled.Store(true)
	if ch := t.doneCh.Load(); ch != nil {
		close(*ch)
	}
	fns := l.afterFuncs[t]
	delete(l.afterFuncs, t)
	l.mu.Unlock()
	for _, f := range fns {
		go f.f()
	}
}

type afterFunc struct {
	f func()
}

func (t *task) afterFunc(f func()) func() bool {
	l := t.loop
	l.mu.Lock()
	if t.ctxCancelled.Load() {
		l.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	af := &afterFunc{f: f}
	if l.afterFuncs == nil {
		l.afterFuncs = make(map[*task][]*afterFunc)
		l.hasAfter.Store(true)
	}
	l.afterFuncs[t] = append(l.afterFuncs[t], af)
	l.mu.Unlock()
	return func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		fs := l.afterFuncs[t]
		for i, x := range fs {
			if x == af {
				l.afterFuncs[t] = append(fs[:i], fs[i+1:]...)
				if len(l.afterFuncs[t]) == 0 {
					delete(l.afterFuncs, t)
				}
				return true
			}
		}
		return false
	}
}

// block waits, on a goroutine that runs no task, until t is done or ctx is.
func (t *task) block(ctx context.Context) error {
	if t.done() {
		return nil
	}
	ch := make(chan struct{})
	l := t.loop
	posted := l.post(func() {
		if t.done() {
			close(ch)
			return
		}
		t.listen(&waiter{notifyCh: ch})
	})
	if !posted {
		// The loop has closed: its tasks have ended, or (submitted just
		// before the close) are being failed with ErrLoopClosed right now.
		for !t.done() {
			time.Sleep(10 * time.Microsecond)
		}
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runtime: Await: %w", ctx.Err())
	}
}

// endState classifies how a task's function ended.
func (t *task) endState() State {
	switch {
	case t.err == nil:
		return Finished
	case errors.Is(t.err, ErrCancelled):
		return Cancelled
	case t.cancelReqs > 0 && errors.Is(t.err, context.Canceled):
		return Cancelled
	default:
		return Failed
	}
}

// repr renders the asyncio-like representation.
func (t *task) repr() string {
	var b strings.Builder
	st := t.stateNow()
	fc := frameCache(nil)
	b.WriteString("<Task ")
	b.WriteString(st.String())
	b.WriteString(" name=")
	b.WriteString(t.displayName())
	b.WriteString(" fn=")
	b.WriteString(shortFunc(fc.funcFrame(t.fnPC).Function))
	l := t.loop
	l.mu.Lock()
	rec := t.recordLocked()
	started := rec.started != 0
	stk := append([]uintptr(nil), rec.stk...)
	aw := rec.await
	msg := rec.cancel.message()
	l.mu.Unlock()
	switch {
	case st.Done():
		if st == Failed { // t.err was written before the final state was published
			fmt.Fprintf(&b, " error=%q", t.errText())
		}
		if st == Cancelled && msg != "" {
			fmt.Fprintf(&b, " msg=%q", msg)
		}
	case st == Running:
	case !started:
		b.WriteString(" created at ")
		b.WriteString(fc.frame(t.spawnPC).Short())
	default:
		at := suspensionPoint(fc.stack(stk))
		b.WriteString(" suspended at ")
		b.WriteString(at.Short())
		if s := aw.text(l); s != "" {
			b.WriteString(" awaiting ")
			b.WriteString(s)
		}
	}
	b.WriteString(">")
	return b.String()
}

func (t *task) errText() (text string) {
	if t.err == nil {
		return ""
	}
	// Snapshots call it on other goroutines (the inspect agent's, its
	// flight recorder's): an Error method that panics must not end them,
	// nor the process.
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("(the Error method of %T panicked: %v)", t.err, r)
		}
	}()
	return t.err.Error()
}

var taskIDs atomic.Uint64

func nextTaskID() uint64 { return taskIDs.Add(1) }

// wall converts a loop-clock reading (clock, never 0) to wall time; 0, the
// zero reading of "never", becomes the zero Time.
func (l *Loop) wall(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return l.epoch.Add(time.Duration(ns - 1))
}
