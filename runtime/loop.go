package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Loop is an event loop: it runs tasks one step at a time on the goroutine
// that called Run, in the order they became ready, and records every
// lifecycle transition as it goes. Create one with NewLoop (or use Run); the
// zero Loop is not usable. A Loop runs once.
//
// Several loops may run at once, each on its own goroutine; a task belongs to
// one loop. Submit and CallSoonThreadsafe are safe from any goroutine; so are
// Snapshot, History, Blocking and CancelTask, which never wait for the loop
// to yield (they take a mutex the loop holds only for a few hundred
// nanoseconds per step, never while a task runs).
type Loop struct {
	id    uint64
	name  string
	cfg   config
	obs   Observer
	epoch time.Time

	// Loop goroutine only.
	ready         ring
	timers        timerHeap
	timerSeq      uint64
	now           int64
	coros         []*coro
	deadCoros     []*coro // of tasks that called runtime.Goexit, stopped at close
	exit          error   // the first Goexit of a task: Run returns it
	gen           uint32
	dlBudget      int        // tasks the running deadlock check may still visit (deadlock.go)
	dlLog         []Deadlock // deadlocks formed in this iteration, logged at its end (logDeadlocks)
	spawnAt       int64      // the clock spawnClock read last
	spawnLeft     int        // spawns that may still use spawnAt; 0 outside a step's body
	unretr        []*task
	frames        frameCache
	stageBuf      [maxStackPCs]uintptr
	lastStk       []uintptr // the last suspension stack published, shared by the next task suspended at the same place (endLocked)
	stageN        int
	stage         awaitDesc // what the running task awaits, staged by park
	stageSince    int64     // since when it awaits it (parkAt), 0: from this step's end
	grantWaiters  int       // tasks parked on a Lock, Semaphore or Event (deadlock.go)
	last          *task     // task whose step ended and is not yet published
	lastStart     int64
	stepStart     int64 // when the running step began
	batchLeft     int   // entries of this iteration's ready batch not yet popped (iterate, chain)
	chained       int   // first steps a coroutine began right after its task ended (chain), for tests
	driven        int   // steps a coroutine ran in the loop's place (drive), for tests
	drivers       int   // coroutines stepping ready tasks in the loop's place (drive)
	runMain       *task // main, while runUntilDone iterates: only then may a driver begin an iteration
	ending        *task // a task whose end endStep is reporting, until it completes it (completeEnding)
	endingCo      *coro // and the coroutine it gave back
	wakeTimer     *time.Timer
	labels        bool
	stepping      *task          // the task whose step runs now
	steppingG     atomic.Uintptr // the goroutine running it (getg), for checks from any goroutine
	fresh         bool           // l.now was read at this iteration's start and no step ran since
	profiling     bool
	profAt        int64
	inboxN        atomic.Int32
	calls         atomic.Uint64  // thread-safe calls from outside the loop: CallSoonThreadsafe and Submit (LoopStats.Calls)
	caught        atomic.Bool    // the watchdog recorded the running step as blocking
	loopG         atomic.Uintptr // the goroutine running the loop (getg)
	hasAfter      atomic.Bool    // some task context has AfterFuncs registered
	pendingBlocks []BlockEvent
	obsFailed     bool       // the observer panicked: it is not called again
	resNext       uint64     // the loop's block of awaitable ids (resID)
	resEnd        uint64     //
	dirty         []dirtyRes // primitives changed in this step, published at its end
	workAt        int64      // when the loop last ran a callback or drained its inbox

	// Any goroutine.
	tsc       atomic.Pointer[tscParams] // the clock's counter calibration (tsc.go), nil: the monotonic clock
	logFailed atomic.Bool               // the logger panicked or called runtime.Goexit: it is not called again (log)
	logExited atomic.Bool               // the logger called runtime.Goexit (log)
	imu       sync.Mutex
	inbox     []func()
	spare     []func()
	wakeCh    chan struct{}
	status    atomic.Uint32 // loopNew, loopRunning, loopClosed

	// mu guards the published view: the live list, each task's record, the
	// current step, history and blocking events.
	mu         sync.Mutex
	live       []*task // live tasks in creation order; nil where one ended (a hole)
	holes      int
	nlive      int
	cur        *task
	curStart   int64
	curCoro    *coro
	history    []*task
	histNext   int
	histFull   bool
	blocking   []BlockEvent
	blockNext  int
	blockFull  bool
	ongoing    *BlockEvent
	afterFuncs map[*task][]*afterFunc
	started    time.Time
	resReg     map[uint64]dirtyRes  // primitives Resources lists (resource.go)
	resWeak    map[uint64]weakOwner // idle ones a live task made, held weakly (resource.go)
	resSweepAt int
	deadlocks  []Deadlock // deadlocks that hold now (deadlock.go)
	stats      loopStats  // stats.go
	chg        changeLog  // changes.go

	// rfc caches PC resolutions for readers (snapshots) across calls.
	rfcMu   sync.Mutex
	rawPool sync.Pool // *[]rawTask buffers of recent snapshots
	rfc     frameCache

	threads threadPool
	dog     watchdog
}

const (
	loopNew uint32 = iota
	loopRunning
	loopClosed
)

var loopIDs atomic.Uint64

// NewLoop returns a loop configured by opts, ready to Run. It starts nothing.
func NewLoop(opts ...Option) *Loop {
	cfg := newConfig(opts)
	l := &Loop{cfg: cfg, obs: cfg.observer, wakeCh: make(chan struct{}, 1)}
	l.id = loopIDs.Add(1)
	l.name = cfg.name
	if l.name == "" {
		l.name = "loop-" + itoa(int(l.id))
	}
	l.epoch = time.Now()
	l.frames = make(frameCache)
	l.labels = cfg.record
	l.threads.init(l, cfg.threadWorkers)
	return l
}

// ID returns the loop's id, unique in the process.
func (l *Loop) ID() uint64 { return l.id }

// Name returns the loop's name (WithName, or "loop-<id>").
func (l *Loop) Name() string { return l.name }

// clock returns nanoseconds since the loop's epoch (plus one: 0 is
// "never"), from the CPU's time-stamp counter calibrated against the
// monotonic clock (~10 ns) or from the monotonic clock itself (~24 ns;
// tsc.go says when). Every time the loop records comes from here.
func (l *Loop) clock() int64 {
	if p := l.tsc.Load(); p != nil {
		if p.mult != 0 {
			return p.at(rdtsc())
		}
		return l.monoClock() + p.n0
	}
	return l.monoClock()
}

// Run runs the loop on the calling goroutine: it schedules main as the first
// task (named "main"), runs until main is done, then cancels every task still pending, runs
// until they have ended, waits for ToThread work in flight, and closes the
// loop (asyncio.run). It returns main's error. If ctx is cancelled, main is
// cancelled. Failed tasks whose error nobody retrieved are logged.
//
// A task whose function calls runtime.Goexit (t.Fatal and t.FailNow do, in
// a test) fails with an error matching ErrGoexit that names it, and ends
// the loop as asyncio's SystemExit does: main and every other task left are
// cancelled and awaited, the loop closes, and Run returns that error (the
// first one, if several tasks called Goexit). The goroutine that called Run
// goes on. A callback the loop runs (CallSoon, CallLater, AddDoneCallback,
// CallSoonThreadsafe) or an Observer that calls runtime.Goexit ends the
// loop the same way, and Run returns an error matching ErrGoexit that names
// it: the loop runs on a coroutine of its own, not on the goroutine that
// called Run, which the Goexit cannot reach. A panic in a callback is
// logged and the loop goes on.
//
// Run may be called once per loop.
//
//go:noinline
func (l *Loop) Run(ctx context.Context, main func(context.Context) error) error {
	pc := callerpc()
	if err := l.begin(&ctx); err != nil {
		return err
	}
	t := spawnTaskAs(l, nil, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, main(ctx) }, funcPC(main), pc, []TaskOption{Named("main")})
	t.retrieved = true // Run returns main's error: it is not "never retrieved"
	l.runContained(ctx, &t.task)
	if l.exit != nil {
		return l.exit
	}
	return t.err
}

// Run creates a loop with opts, runs main on it as Loop.Run does, and
// returns main's result (the zero T and the error if a task called
// runtime.Goexit).
//
//go:noinline
func Run[T any](ctx context.Context, main func(context.Context) (T, error), opts ...Option) (T, error) {
	pc := callerpc()
	l := NewLoop(opts...)
	if err := l.begin(&ctx); err != nil {
		var zero T
		return zero, err
	}
	t := spawnTask(l, nil, ctx, main, pc, []TaskOption{Named("main")})
	t.retrieved = true // Run returns main's error: it is not "never retrieved"
	l.runContained(ctx, &t.task)
	if l.exit != nil {
		var zero T
		return zero, l.exit
	}
	return t.val, t.err
}

// begin moves the loop to running and starts its watchdog.
func (l *Loop) begin(ctx *context.Context) error {
	if !l.status.CompareAndSwap(loopNew, loopRunning) {
		return errors.New("runtime: Run: the loop has already run")
	}
	if *ctx == nil {
		*ctx = context.Background()
	}
	l.mu.Lock()
	l.started = time.Now()
	l.mu.Unlock()
	l.loopG.Store(getg())
	register(l)
	l.dog.start(l)
	l.now = l.clock()
	return nil
}

// runUntilDone iterates until main is done, then shuts the loop down.
func (l *Loop) runUntilDone(ctx context.Context, main *task) {
	stop := context.AfterFunc(ctx, func() { main.requestCancel("context done", "Run's context") })
	defer stop()
	l.runMain = main
	defer func() { l.runMain = nil }() // also when a Goexit unwinds it (runContained)
	for !main.done() && l.exit == nil {
		l.iterate()
	}
	l.runMain = nil // shutdown's iterations are its own: no driver begins one (driveIteration)
	l.shutdown()
}

// shutdown cancels and drains every task left, then closes the loop. It
// may be called again after a runtime.Goexit in a callback it ran ended it
// midway (shutdownContained): it goes on from where it was.
//
// Callbacks queued as the last tasks end (their done callbacks, main's, a
// CallSoon made while unwinding) run, as asyncio runs them before it
// closes: the loop iterates while it has some, up to shutdownRounds
// iterations once no task is left (a callback that queues itself again
// would never end); drainClosed runs those left after that, once.
func (l *Loop) shutdown() {
	rounds := 0
	for {
		l.flush()
		live := l.liveTasks()
		if len(live) == 0 {
			if l.ready.len() == 0 || rounds >= shutdownRounds || l.status.Load() == loopClosed {
				break // (closed: a shutdown going on after a Goexit; drainClosed runs them)
			}
			rounds++
			l.iterate() // runs the callbacks queued: they may spawn tasks
			continue
		}
		for _, t := range live {
			// Every task but one whose cancellation is on its way: also
			// one that caught an earlier cancellation and went on (it is
			// still Cancelling), as asyncio.run cancels every task left.
			if !t.cancelPending {
				t.requestCancel("loop closing", "Run")
			}
		}
		for {
			// A task that just ended is retired by flush; without it the
			// loop would idle-wait for a task that is already done.
			l.flush()
			if !l.hasLive() {
				break
			}
			l.iterate()
		}
	}
	l.threads.close()
	for !l.threads.idle() {
		l.iterate()
	}
	l.threads.wait()
	l.flush()
	if len(l.dlLog) > 0 {
		l.logDeadlocks() // an iteration a Goexit cut short
	}
	if l.status.Load() != loopClosed {
		l.dog.stop()
		for _, c := range l.coros {
			c.stop()
		}
		l.coros = nil
		for _, c := range l.deadCoros {
			c.stopDead()
		}
		l.deadCoros = nil
		if l.wakeTimer != nil {
			l.wakeTimer.Stop()
		}
		l.status.Store(loopClosed)
		// The coroutines' goroutines have ended and their identities may
		// be reused: no goroutine may pass for the loop's any more (onLoop).
		l.steppingG.Store(0)
		unregister(l)
	}
	// Anything posted before close that the loop did not run: fail
	// submitted tasks, run the rest here, still as the loop (onLoop).
	l.drainClosed()
	l.loopG.Store(0)
	for _, t := range l.unretr {
		if !t.retrieved && !t.retrievedOut.Load() && (l.exit == nil || !errors.Is(t.err, ErrGoexit)) {
			l.log(slog.LevelError, "runtime: task error was never retrieved", "task", t.repr(), "error", t.err)
		}
	}
	l.unretr = nil
}

// shutdownRounds bounds the iterations shutdown runs for callbacks once no
// task is left.
const shutdownRounds = 100

// drainClosed runs the callbacks queued that the loop did not run (those
// in its ready queue at that time, then those posted before close), one at
// a time, so that a runtime.Goexit in one leaves the others for the
// shutdown that goes on after it (shutdownContained).
func (l *Loop) drainClosed() {
	for n := l.ready.len(); n > 0 && l.ready.len() > 0; n-- {
		if e := l.ready.pop(); e.t == nil && e.fn != nil {
			l.runCallback(e.fn)
		}
	}
	for {
		l.imu.Lock()
		if len(l.inbox) == 0 {
			l.inbox = nil
			l.imu.Unlock()
			return
		}
		fn := l.inbox[0]
		l.inbox[0] = nil
		l.inbox = l.inbox[1:]
		l.imu.Unlock()
		l.runCallback(fn)
	}
}

// Submit schedules fn as a new task on l from any goroutine
// (asyncio.run_coroutine_threadsafe) and returns it at once. Its parent is
// none. If the loop has closed, the task is returned already Failed with
// ErrLoopClosed. Await it from another goroutine with a context that carries
// no task to block until it is done. opts name the task (Named).
//
//go:noinline
func (l *Loop) Submit(fn func(context.Context) error, opts ...TaskOption) *Task[struct{}] {
	pc := callerpc()
	l.countCall()
	body := func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) }
	t := newTask(l, nil, context.Background(), body, pc, opts)
	t.created = l.clock() // any goroutine: not spawnClock, which is the loop's
	t.fnPC = funcPC(fn)   // the user's function, not the wrapper
	if l.status.Load() == loopClosed {
		l.failClosed(&t.task)
		return t
	}
	l.link(&t.task)
	posted := l.post(func() {
		if l.status.Load() == loopClosed {
			// Run at close (drainClosed): shutdown may have cancelled it
			// already (it was linked), and its waiters may have read it.
			if !t.task.done() {
				l.failClosed(&t.task)
			}
			return
		}
		l.emit(&t.task, TaskCreated)
		l.schedule(&t.task)
	})
	if !posted { // the loop closed since the check above
		l.failClosed(&t.task)
	}
	return t
}

func (l *Loop) failClosed(t *task) {
	t.err = ErrLoopClosed
	t.retrieved = true
	l.mu.Lock()
	l.unlinkLocked(t)
	t.ended = Failed
	l.mu.Unlock()
	t.state.Store(uint32(Failed))
}

// LoopOf returns the loop ctx's task belongs to, or nil outside any task.
func LoopOf(ctx context.Context) *Loop {
	if t := taskOf(ctx); t != nil {
		return t.loop
	}
	return nil
}

// CallSoonThreadsafe schedules fn to run on the loop goroutine, from any
// goroutine (loop.call_soon_threadsafe). fn must not block. Calls made after
// the loop closed are dropped. A panic or runtime.Goexit in fn is handled
// as CallSoon says: the panic is logged (one error with the panic value,
// fn's function and its stack) and the loop goes on; the Goexit ends the
// loop and Run returns an error matching ErrGoexit that names fn.
func (l *Loop) CallSoonThreadsafe(fn func()) {
	l.countCall()
	l.post(fn)
}

// countCall counts a thread-safe call made from outside the loop (not by
// its own tasks and callbacks): LoopStats.Calls. Where goroutine identity
// is unavailable (getg returns 0), every call counts.
func (l *Loop) countCall() {
	if g := getg(); g == 0 || !l.isLoopG(g) {
		l.calls.Add(1)
	}
}

// post appends fn to the inbox and wakes the loop. It reports false, and
// drops fn, if the loop has closed.
func (l *Loop) post(fn func()) bool {
	l.imu.Lock()
	closed := l.status.Load() == loopClosed
	if !closed {
		l.inbox = append(l.inbox, fn)
		l.inboxN.Store(int32(len(l.inbox)))
	}
	l.imu.Unlock()
	if closed {
		return false
	}
	select {
	case l.wakeCh <- struct{}{}:
	default:
	}
	return true
}

// spawnClockEvery is how many tasks created one after another in a step
// share one clock reading (spawnClock).
const spawnClockEvery = 64

// spawnClock is the creation time of a task spawned on the loop goroutine.
// Within the body of a step the watchdog watches, up to spawnClockEvery
// spawns in a row share one clock reading, so that a loop spawning 200,000
// tasks reads the clock 3,125 times, not 200,000 (~20 ns each here, 5% of
// W1). Such a task's created time is early by what ran since that reading:
// at most the time of a step too short to be caught blocking, since a
// block the watchdog caught starts a new reading (so about the slow-step
// threshold), and never before its step began. Elsewhere (callbacks,
// Observer calls around a step, a loop without a watchdog) every spawn
// reads the clock.
func (l *Loop) spawnClock() int64 {
	if l.spawnLeft > 0 && !l.caught.Load() {
		l.spawnLeft--
		return l.spawnAt
	}
	l.spawnAt = l.clock()
	if l.stepping != nil && l.cfg.slowStep > 0 && l.cfg.record {
		l.spawnLeft = spawnClockEvery - 1
	}
	return l.spawnAt
}

// maxStackPCs is how many return addresses a task's suspension stack
// keeps: the innermost; a deeper stack ends with cutFrame.
const maxStackPCs = 64

// prefetchAhead is how many ready entries ahead of the one it steps the
// loop asks the CPU to load the task record of (prefetch).
const prefetchAhead = 2

// iterate runs one loop iteration: inbox, due timers, then every entry that
// was ready when it began.
func (l *Loop) iterate() {
	drained := false
	if l.inboxN.Load() != 0 {
		l.drainInbox()
		drained = true
	}
	l.startIteration()
	if drained {
		l.workAt = l.now
	}
	n := l.ready.len()
	if n == 0 {
		l.flush()
		// What the inbox ran may have ended the caller's wait (the last
		// ToThread completion at shutdown, say): let it check before idling.
		if !drained {
			l.publishIdle()
			l.idleWait()
		}
		return
	}
	for l.batchLeft = n; l.batchLeft > 0; {
		l.batchLeft--
		l.prefetchNext()
		e := l.ready.pop()
		if e.t != nil {
			l.step(e.t)
		} else {
			l.flush()
			l.workAt = l.now
			l.runCallback(e.fn)
			l.fresh = false
		}
	}
	if len(l.dlLog) > 0 {
		l.logDeadlocks()
	}
}

// startIteration reads the clock for the iteration that begins, checks
// whether a CPU profile is being taken (at most once a millisecond), and
// makes the tasks whose timers are due ready. It runs no callback (those of
// due timers are queued): a driving coroutine runs it too (driveIteration).
func (l *Loop) startIteration() {
	l.now = l.clock()
	l.fresh = true
	if l.labels && l.now-l.profAt > int64(time.Millisecond) {
		l.profAt = l.now
		l.profiling = cpuProfiling()
	}
	l.fireTimers()
}

func (l *Loop) drainInbox() {
	l.imu.Lock()
	in := l.inbox
	l.inbox = l.spare[:0]
	l.inboxN.Store(0)
	l.imu.Unlock()
	for i, fn := range in {
		l.runCallback(fn)
		in[i] = nil
	}
	l.spare = in[:0]
}

// idleWait blocks until something is posted or the next timer is due. The
// watchdog may sleep meanwhile (watchdog.sleep); the loop wakes it.
func (l *Loop) idleWait() {
	if len(l.timers) == 0 {
		l.dog.idle.Store(true)
		<-l.wakeCh
		l.dog.loopWakes()
		return
	}
	d := time.Duration(l.timers[0].when - l.clock())
	if d <= 0 {
		return
	}
	if l.wakeTimer == nil {
		l.wakeTimer = time.NewTimer(d)
	} else {
		l.wakeTimer.Reset(d)
	}
	l.dog.idle.Store(true)
	select {
	case <-l.wakeCh:
		l.wakeTimer.Stop()
	case <-l.wakeTimer.C:
	}
	l.dog.loopWakes()
}

// schedule makes t ready (once).
func (l *Loop) schedule(t *task) {
	if t.queued {
		return
	}
	t.queued = true
	t.readyAt = l.now
	l.ready.push(entry{t: t})
	if l.obs != nil {
		l.emit(t, TaskScheduled)
	}
}

// callSoon queues fn behind the ready tasks.
func (l *Loop) callSoon(fn func()) { l.ready.push(entry{fn: fn}) }

// step runs one step of t: until it suspends or ends. The step may run
// further tasks' first steps on the same coroutine before it comes back
// (chain), and its coroutine further tasks' steps (drive).
func (l *Loop) step(t *task) {
	if !l.runStep(t) {
		return
	}
	switch {
	case l.stepping != nil:
		l.endStep(false)
	case l.caught.Load():
		// The coroutine ended its last step itself (chain, drive) and the
		// watchdog caught that step meanwhile: report it from here.
		l.caught.Store(false)
		l.flush()
	}
}

// runStep begins a step of t, popped from the ready queue, and runs it
// until its coroutine hands control back; it reports false if t does not
// run (it ended, or was cancelled before its first step: then it ends
// now). The caller ends the step (l.stepping, if the coroutine did not).
func (l *Loop) runStep(t *task) bool {
	t.queued = false
	if t.bodyDone || t.done() {
		return false
	}
	if !t.started && t.cancelPending {
		// Cancelled before its first step: it never runs.
		t.bodyDone = true
		t.err = cancelErr(t.cancelMsgLoop())
		l.publishEnd(t, l.now)
		return false
	}
	var c *coro
	if !t.started {
		c = l.getCoro()
	}
	l.beginStep(t, c)
	t.co.next()
	return true
}

// beginStep publishes that a step of t begins; c is the free coroutine its
// first step runs on (nil for a later step: it has one).
func (l *Loop) beginStep(t *task, c *coro) {
	now := l.now
	if !l.fresh {
		now = l.clock()
		l.now = now
	}
	first := !t.started
	if first {
		t.started = true
		c.t = t
	}
	l.mu.Lock()
	if l.last != nil {
		l.endLocked(l.last, now)
		l.last = nil
	}
	if first {
		// Under the lock, after the last step's task was retired (if that
		// task ended, c may be the coroutine it gave back): readers reach
		// the suspension through t.co.
		t.co = c
		c.susp, c.win = suspension{}, busyWindow{}
	}
	l.cur = t
	l.curStart = now
	l.curCoro = t.co
	r := &t.pub
	if first {
		r.started = now
	} else if s := t.co.susp.suspended; s != 0 && t.readyAt > s {
		r.idle += t.readyAt - s
	}
	r.steps++
	if t.readyAt != 0 && now > t.readyAt {
		r.schedWait += now - t.readyAt
	}
	l.statsStepLocked(now, t.readyAt)
	l.changedLocked(t)
	l.mu.Unlock()
	if len(l.pendingBlocks) > 0 {
		l.reportBlocks()
	}
	if l.obs != nil {
		if first {
			l.emit(t, TaskStarted)
		} else {
			l.emit(t, TaskResumed)
		}
	}
	l.stageN = 0
	l.stepping = t
	l.stepStart = now
	l.steppingG.Store(l.stepKey(t))
}

// endStep ends the step of l.stepping, which has suspended or ended. The
// coroutine of a task that ended goes back to the pool, before anything
// (an Observer) hears of the end; keep instead returns it, for the caller
// to run the next first step on (nil if the task suspended or its
// coroutine is dead).
func (l *Loop) endStep(keep bool) *coro {
	t, now, c := l.stepping, l.stepStart, l.stepping.co
	// steppingG keeps the last step's key: only the goroutine of a running
	// step can match it, and l.stepping tells which task that is.
	l.stepping = nil
	l.spawnLeft = 0 // the reading spawns shared ends with the body (spawnClock)
	l.fresh = false
	l.last = t
	l.lastStart = now
	if t.bodyDone && !t.goexited {
		// Completed below, or by the shutdown if what flush reports
		// calls runtime.Goexit (completeEnding).
		l.ending, l.endingCo = t, c
	}
	if !keep && (l.caught.Load() || l.obs != nil && l.cfg.slowStep > 0 && l.clock()-now >= int64(l.cfg.slowStep)) {
		// The step blocked (the watchdog caught it, or it ended past the
		// threshold before the watchdog looked): publish and report it now,
		// so the Observer sees its OnBlock before the task's next transition.
		// One clock reading per step, only with an Observer. (A chain, keep,
		// reports nothing: it gives up and leaves that to the loop.)
		l.caught.Store(false)
		l.flush()
	}
	if !t.bodyDone {
		if l.obs != nil {
			l.emit(t, TaskSuspended)
		}
		return nil
	}
	// t keeps its coroutine until it is retired (retireLocked; the flush
	// above may have done it already), for readers of its suspension.
	switch {
	case t.goexited:
		l.goexited(t, c)
		c = nil
	case !keep:
		l.putCoro(c)
		c = nil
	}
	l.ending, l.endingCo = nil, nil
	l.complete(t)
	return c
}

// chain is what coroutine c does when its task's step has ended the task:
// if the next entry of this iteration's ready batch is a task's first step,
// it ends this step and begins that one on c itself, so that a task that
// ends in its first step costs no coroutine round trip (W1's spawned tasks
// run one after another on one coroutine). It reports whether it began
// one; otherwise c hands control back to the loop goroutine, which ends
// the step (unless c ended it: then the loop only goes on with its batch).
//
// Only the loop's own code runs here, never the user's (an Observer, the
// logger a block is reported to): code that called runtime.Goexit would
// end the coroutine with a task bound to it half begun. So there is no
// chain with an Observer, nor after a step that blocked.
func (l *Loop) chain(c *coro) bool {
	if l.batchLeft == 0 || l.obs != nil || l.caught.Load() || len(l.pendingBlocks) > 0 ||
		len(l.coros) >= maxIdleCoros || !l.chainable() {
		return false
	}
	if l.endStep(true) != c {
		return false // cannot be: the task ended without Goexit
	}
	// Read the clock for the next step here, to tell whether this one was
	// slow (or the watchdog caught it since the check above): its report
	// goes to the logger, from the loop goroutine.
	if l.caught.Load() || !l.chainable() || !l.stepClock() {
		l.putCoro(c) // the pool is not full: checked above
		return false
	}
	l.chained++
	l.batchLeft--
	l.prefetchNext()
	t := l.ready.pop().t
	t.queued = false
	l.beginStep(t, c)
	return true
}

// drive is what the coroutine of the running task me does when me
// suspends, rather than hand control back to whoever resumed it (the loop
// goroutine, or a coroutine driving, which would then resume the next
// ready task: two coroutine switches per step). It ends me's step and steps
// the ready tasks itself, as the loop would, in the same order: each with
// one switch to its coroutine, which may drive in turn, and back. It stops
// when me is the next to run — it begins me's step and reports true: me
// resumes without any switch — or when the next thing to do is not its to
// do: a task whose coroutine drives (it called this one, or its caller
// did; it goes on when this one hands control back), a callback, the
// inbox, an idle wait, a step that blocked, an Observer, the end of the
// loop's iteration outside runUntilDone. Then it reports false and me
// hands control back, its step ended. Two tasks handing values to each
// other (futures, queues, locks) cost one switch per handoff, not two.
//
// Only the loop's own code runs on a driver, never the user's (as in
// chain). At most maxDrivers coroutines drive at once (each waits in a
// switch to the next).
func (l *Loop) drive(me *task) bool {
	if l.drivers >= maxDrivers || !l.canDrive() {
		return false
	}
	c := me.co
	l.endStep(true) // me suspends: it gives no coroutine back
	c.driving = true
	l.drivers++
	resumed := false
	for l.canDrive() && (l.batchLeft > 0 || l.driveIteration()) {
		t := l.ready.peekTask(0)
		if t == nil || t != me && t.co != nil && t.co.driving || !l.stepClock() {
			break // a callback (the user's code), a driver's task, or the last step blocked
		}
		l.batchLeft--
		l.prefetchNext()
		l.ready.pop()
		if t == me {
			t.queued = false
			l.beginStep(me, nil)
			resumed = true
			break
		}
		l.driven++
		// The step's end: as step's, but a block caught is left to the
		// loop goroutine (canDrive, then step).
		if l.runStep(t) && l.stepping != nil {
			if c := l.endStep(true); c != nil {
				l.putCoro(c)
			}
		}
	}
	c.driving = false
	l.drivers--
	return resumed
}

// maxDrivers bounds how many coroutines drive at once (drive).
const maxDrivers = 64

// canDrive reports whether a coroutine may go on stepping tasks in the
// loop's place (drive): nothing it would have to report is pending, and no
// CPU profile is being taken (a driver's goroutine carries its task's
// pprof labels: the loop's work would be counted as that task's).
func (l *Loop) canDrive() bool {
	return l.obs == nil && !l.profiling && !l.cfg.noDrive && !l.caught.Load() && len(l.pendingBlocks) == 0
}

// driveIteration begins the loop's next iteration on a driver, as iterate
// does, when that runs none of the user's code and the loop would begin
// one: in runUntilDone, main not done, no Goexit, no deadlock to log,
// nothing in the inbox. It reports false, and does nothing, otherwise or
// if no entry is ready.
func (l *Loop) driveIteration() bool {
	if m := l.runMain; m == nil || m.done() || l.exit != nil || len(l.dlLog) > 0 ||
		l.inboxN.Load() != 0 || l.ready.len() == 0 {
		return false
	}
	l.startIteration()
	l.batchLeft = l.ready.len()
	return true
}

// stepClock reads the clock for the next step on a coroutine (chain,
// drive) once per step, as beginStep would (not if this iteration's
// reading is fresh), and reports whether the last step ended within the
// slow-step threshold by that reading: one that did not is reported when
// the next step begins (endLocked), to the logger, which runs on the loop
// goroutine. It keeps the reading for that step only if it reports true.
func (l *Loop) stepClock() bool {
	now := l.now
	if !l.fresh {
		now = l.clock()
	}
	if l.cfg.slowStep > 0 && l.last != nil && now-l.lastStart >= int64(l.cfg.slowStep) {
		return false
	}
	l.now, l.fresh = now, true
	return true
}

// chainable reports whether the next ready entry is the first step of a
// task that will run (step's checks).
func (l *Loop) chainable() bool {
	t := l.ready.peekTask(0)
	return t != nil && !t.started && !t.cancelPending && !t.bodyDone && !t.done()
}

// prefetchNext asks the CPU to load the records of the ready tasks the loop
// is about to step.
func (l *Loop) prefetchNext() {
	if t := l.ready.peekTask(prefetchAhead); t != nil {
		prefetch(uintptr(unsafe.Pointer(t)))
	}
	if t := l.ready.peekTask(1); t != nil && t.co != nil && t.co.g != 0 {
		prefetch(t.co.g)
	}
}

// goexited sets aside the coroutine of t, whose function called
// runtime.Goexit (it is parked for good, see holdGoexit), and makes the loop
// end: Run returns the first such error.
func (l *Loop) goexited(t *task, c *coro) {
	l.deadCoros = append(l.deadCoros, c)
	if l.exit == nil {
		l.exit = t.err
		t.retrieved = true // Run returns it
	}
}

// stepKey identifies the running step for checkRunning: the goroutine of
// t's coroutine, or t itself where goroutine identity is unavailable.
func (l *Loop) stepKey(t *task) uintptr {
	if t.co != nil && t.co.g != 0 {
		return t.co.g
	}
	return uintptr(unsafe.Pointer(t))
}

// flush publishes the step that just ended, if any.
func (l *Loop) flush() {
	if l.last == nil {
		return
	}
	now := l.clock()
	l.now = now
	l.mu.Lock()
	l.endLocked(l.last, now)
	l.last = nil
	l.mu.Unlock()
	if len(l.pendingBlocks) > 0 {
		l.reportBlocks()
	}
}

// endLocked publishes what the step of t that ended at end left behind:
// busy time, the suspension stack and what it awaits, or how it ended.
func (l *Loop) endLocked(t *task, end int64) {
	start := l.lastStart
	busy := end - start
	t.pub.busy += busy
	l.addBusyLocked(t, busy, end)
	if len(l.dirty) > 0 {
		l.publishResLocked()
	}
	if l.cur == t {
		l.cur = nil
		l.curCoro = nil
	}
	if l.cfg.slowStep > 0 && busy >= int64(l.cfg.slowStep) {
		l.blockedLocked(t, start, end)
	}
	if t.bodyDone {
		l.retireLocked(t, end)
		return
	}
	l.changedLocked(t)
	s := &t.co.susp
	s.suspended = end
	s.await = l.stage
	s.since = l.stageSince
	if s.since == 0 {
		s.since = end // the first suspension of this await (parkAt)
	}
	if n := l.stageN; n > 0 && !slices.Equal(s.stk, l.stageBuf[:n]) {
		// Published stacks are immutable, so snapshots copy only the slice
		// header under the lock; a task suspended where it was last time
		// (the common case, in a loop) keeps its slice, and one suspended
		// where the previous task was (many tasks of one function) shares
		// that one's: 100,000 sleepers hold one stack, not 100,000.
		if slices.Equal(l.lastStk, l.stageBuf[:n]) {
			s.stk = l.lastStk
		} else {
			s.stk = slices.Clone(l.stageBuf[:n])
			l.lastStk = s.stk
		}
	}
}

// publishEnd publishes t's end outside a step (cancelled before it ran).
func (l *Loop) publishEnd(t *task, now int64) {
	if l.last != nil && !l.fresh {
		now = l.clock() // the last step's end: it may have blocked
		l.now = now
	}
	l.mu.Lock()
	if l.last != nil {
		l.endLocked(l.last, now)
		l.last = nil
	}
	l.retireLocked(t, now)
	l.mu.Unlock()
	if len(l.pendingBlocks) > 0 {
		l.reportBlocks() // the last step's, before t's end
	}
	l.completeNotify(t)
}

// retireLocked moves an ended task from the live list to history and
// publishes its final state.
func (l *Loop) retireLocked(t *task, end int64) {
	if t.unlinked {
		return
	}
	st := t.endState()
	t.ended = st
	t.endTime = end
	if c := t.co; c != nil {
		// Its coroutine goes on to another task or to the pool: it must
		// not keep t, or what t awaited, alive (its suspension's waiter,
		// its timer's task).
		c.susp = suspension{}
		if c.tm != nil {
			c.tm.t = nil
		}
		t.co = nil
	}
	l.unlinkLocked(t)
	l.endedLocked(t)
	l.stats.ended++
	if l.cfg.historySize > 0 {
		if l.history == nil {
			l.history = make([]*task, l.cfg.historySize)
		}
		l.history[l.histNext] = t
		l.histNext++
		if l.histNext == len(l.history) {
			l.histNext = 0
			l.histFull = true
		}
	}
	t.state.Store(uint32(st))
}

// complete finishes a task whose body returned: its final state is
// published at once (waiters check it); the rest of its record (busy time,
// history) at the loop's next lock, with the next clock reading.
func (l *Loop) complete(t *task) {
	t.state.Store(uint32(t.endState()))
	l.completeNotify(t)
}

func (l *Loop) completeNotify(t *task) {
	st := State(t.state.Load())
	if st == Failed {
		if len(l.unretr) >= 1024 && len(l.unretr) == cap(l.unretr) {
			// A long-running loop: forget the failures that were looked at,
			// so the list holds only errors nobody has retrieved yet.
			l.unretr = slices.DeleteFunc(l.unretr, func(x *task) bool { return x.retrieved || x.retrievedOut.Load() })
		}
		l.unretr = append(l.unretr, t)
	}
	if l.hasAfter.Load() {
		// Contexts derived from the task's that were never cancelled.
		l.mu.Lock()
		delete(l.afterFuncs, t)
		l.mu.Unlock()
	}
	if t.extra != nil && t.extra.trace.end != nil {
		t.extra.trace.end()
	}
	if l.obs != nil {
		switch st {
		case Finished:
			l.emit(t, TaskFinished)
		case Failed:
			l.emit(t, TaskFailed)
		default:
			l.emit(t, TaskCancelled)
		}
	}
	if w := t.listener; w != nil {
		t.listener = nil
		w.notify(l, t)
	}
	if t.extra != nil {
		ws := t.extra.listeners
		t.extra.listeners = nil
		for _, w := range ws {
			w.notify(l, t)
		}
	}
	if t.extra != nil {
		for _, cb := range t.extra.callbacks {
			h := t.impl
			l.callSoon(func() { cb(h) })
		}
		t.extra.callbacks = nil
	}
}

// deliverCancel runs on the loop when a cancel request arrives.
func (l *Loop) deliverCancel(t *task, msg string) {
	if t.bodyDone || t.done() {
		return
	}
	t.cancelPending = true
	t.cancelReqs++
	if l.obs != nil {
		l.emit(t, TaskCancelRequested)
	}
	t.closeCtx()
	if !t.started {
		// It is queued already; step() ends it without running it.
		if !t.queued {
			l.schedule(t)
		}
		return
	}
	if l.stepping != t && t.co != nil && !t.bodyDone {
		l.schedule(t)
	}
}

// cancelMsgLoop reads the cancel message (loop side).
func (t *task) cancelMsgLoop() string {
	t.loop.mu.Lock()
	defer t.loop.mu.Unlock()
	return t.pub.cancel.message()
}

// isCurrent reports whether t's step is executing now.
func (l *Loop) isCurrent(t *task) bool {
	l.mu.Lock()
	c := l.cur == t
	l.mu.Unlock()
	return c
}

// link appends t to the live list.
func (l *Loop) link(t *task) {
	l.mu.Lock()
	t.liveIdx = int32(len(l.live))
	if len(l.live) == cap(l.live) {
		// Double: append grows a large slice by 1.25×, which allocates
		// about five times the final list over its growth (40 B per task
		// in W1), doubling twice (16 B).
		live := make([]*task, len(l.live), max(64, 2*cap(l.live)))
		copy(live, l.live)
		l.live = live
	}
	l.live = append(l.live, t)
	l.nlive++
	l.bornLocked(t)
	l.mu.Unlock()
}

// unlinkLocked removes t from the live list, leaving a hole; the list is
// compacted when holes are more than half of it (amortized O(1)). A slice,
// not a linked list, so that a snapshot's loads do not wait on each other.
func (l *Loop) unlinkLocked(t *task) {
	if t.unlinked {
		return
	}
	t.unlinked = true
	if t.liveIdx < 0 {
		return // never linked (submitted to a closed loop)
	}
	l.live[t.liveIdx] = nil
	l.nlive--
	l.holes++
	if l.holes > 64 && l.holes > len(l.live)/2 {
		j := 0
		for _, x := range l.live {
			if x != nil {
				x.liveIdx = int32(j)
				l.live[j] = x
				j++
			}
		}
		clear(l.live[j:])
		l.live = l.live[:j]
		l.holes = 0
	}
}

func (l *Loop) liveTasks() []*task {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*task, 0, l.nlive)
	for _, t := range l.live {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

func (l *Loop) hasLive() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nlive > 0
}

func (l *Loop) liveHandles() []Handle {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Handle, 0, l.nlive)
	for _, t := range l.live {
		if t != nil {
			out = append(out, t.impl)
		}
	}
	return out
}

// emit hands a lifecycle event to the observer, unless it has panicked. An
// observer that calls runtime.Goexit ends the loop: Run returns an error
// matching ErrGoexit that names it (see runContained).
func (l *Loop) emit(t *task, k EventKind) {
	if l.obs == nil || l.obsFailed {
		return
	}
	returned := false
	defer func() {
		if !returned {
			if r := recover(); r != nil {
				l.observerPanicked("OnTask", k.String(), r)
			} else { // runtime.Goexit: not called again while the loop shuts down
				l.obsFailed = true
				l.goexitOnLoop(&goexitError{what: "the loop's Observer (OnTask, " + k.String() + ")"})
			}
		}
	}()
	l.obs.OnTask(l.taskEvent(t, k))
	returned = true
}

// recoverObserver, deferred around a call of the observer, contains its
// panic: the loop logs it once and stops calling the observer.
func (l *Loop) recoverObserver(method, event string) {
	if r := recover(); r != nil {
		l.observerPanicked(method, event, r)
	}
}

// observerPanicked logs the observer's panic r and stops calling it.
func (l *Loop) observerPanicked(method, event string, r any) {
	l.obsFailed = true
	l.log(slog.LevelError, "runtime: the loop's Observer panicked; the loop goes on without it",
		"loop", l.name, "method", method, "event", event, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// funcPC returns the entry PC of a func value.
func funcPC[F any](fn F) uintptr {
	// A func value is a pointer to a closure whose first word is the code pointer.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&fn))
	if p == nil {
		return 0
	}
	return *(*uintptr)(p)
}

// String describes the loop.
func (l *Loop) String() string { return fmt.Sprintf("<Loop %s id=%d>", l.name, l.id) }
