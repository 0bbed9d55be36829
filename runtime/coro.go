package runtime

import (
	"context"
	"iter"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync/atomic"
)

// coro is a coroutine (iter.Pull) that runs tasks one after another: a task
// is bound to a coro at its first step and gives it back when it ends, so a
// step costs at most one coroutine round trip (~60 ns, no allocation) and a
// spawn reuses a parked goroutine instead of creating one. A coro whose
// task ended begins the next ready task's first step itself, without the
// round trip (Loop.chain); one whose task suspends steps the next ready
// tasks itself, one switch each, and resumes its own task without any
// (Loop.drive).
type coro struct {
	l       *Loop
	next    func() (struct{}, bool)
	stopFn  func()
	yield   func(struct{}) bool
	t       *task
	stopped bool
	dead    bool    // its task called runtime.Goexit: parked for good (holdGoexit)
	driving bool    // it steps ready tasks in the loop's place (Loop.drive)
	g       uintptr // the coroutine goroutine's identity (getg)

	// Of the task bound to it (task.susp, task.timer, task.waiting):
	susp      suspension // guarded by loop.mu: its published suspension (task.recordLocked)
	win       busyWindow // guarded by loop.mu: its recent busy time (statsView.recent)
	waitingOn *waiter    // what it awaits, while it awaits tasks
	tm        *timer     // its Sleep or await timeout, made at the first one
}

// maxIdleCoros bounds the pool of parked coroutines per loop.
const maxIdleCoros = 512

func (l *Loop) getCoro() *coro {
	if n := len(l.coros); n > 0 {
		c := l.coros[n-1]
		l.coros[n-1] = nil
		l.coros = l.coros[:n-1]
		return c
	}
	c := &coro{l: l}
	c.next, c.stopFn = iter.Pull(c.run)
	return c
}

func (l *Loop) putCoro(c *coro) {
	if len(l.coros) < maxIdleCoros {
		l.coros = append(l.coros, c)
		return
	}
	c.stop()
}

func (c *coro) stop() {
	c.stopped = true
	// Its goroutine ends, and Go may give its identity to a new goroutine:
	// the loop's last step key must not match that one (stepHere).
	c.l.steppingG.CompareAndSwap(c.g, 0)
	c.stopFn()
}

// stopDead stops the coroutine of a task that called runtime.Goexit
// (holdGoexit). holdGoexit unwinds with errGoexitUnwind, which iter.Pull
// re-raises here: recovering it ends the coroutine's Goexit and nothing else.
func (c *coro) stopDead() {
	defer func() {
		if r := recover(); r != nil && r != errGoexitUnwind {
			panic(r)
		}
	}()
	c.stop()
}

// holdGoexit is what the coroutine of a task that called runtime.Goexit does
// instead of dying: called from exec's deferred function while the Goexit
// unwinds, it hands control back to the loop as a finished step and stays
// parked there until the loop stops it at close. A coroutine that simply
// exited would make iter.Pull call runtime.Goexit again on the loop
// goroutine, killing Run's caller.
func (c *coro) holdGoexit() {
	c.dead = true
	c.t = nil
	for c.yield(struct{}{}) {
		// Never resumed: the loop puts a dead coroutine aside, never to reuse.
	}
	// Stopped. Returning would let the Goexit reach iter.Pull, which would
	// re-raise it in stop on the loop goroutine; a panic it recovers there
	// instead (and the Goexit then ends this goroutine) is contained by stop.
	panic(errGoexitUnwind)
}

// run is the coroutine body: run the bound task, hand control back, repeat.
func (c *coro) run(yield func(struct{}) bool) {
	c.yield = yield
	c.g = getg()
	c.l.steppingG.Store(c.l.stepKey(c.t)) // the first step began before c.g was known
	for {
		c.t.exec()
		c.t = nil
		if c.stopped {
			return
		}
		if c.l.chain(c) {
			continue
		}
		if !yield(struct{}{}) {
			return
		}
	}
}

// exec runs the task's function on the coroutine, recovering a panic into a
// *PanicError.
//
// A function that calls runtime.Goexit (t.Fatal and t.FailNow do) fails the
// task with an error wrapping ErrGoexit; its coroutine goroutine cannot
// survive the Goexit, so it is parked until the loop closes (holdGoexit).
func (t *task) exec() {
	returned := false
	defer func() {
		r := recover()
		if t.labelled {
			// However it ended: what the coroutine runs next (the loop's
			// end of this step, the next task's first) is not this task's.
			pprof.SetGoroutineLabels(context.Background())
		}
		switch {
		case r == errStopped:
			t.err = ErrLoopClosed
		case r != nil:
			t.err = &PanicError{Value: r, Stack: debug.Stack()}
		case !returned: // runtime.Goexit: recover reports nothing
			t.err = goexitErr(t)
			t.goexited = true
			t.bodyDone = true
			t.co.holdGoexit()
		}
		t.bodyDone = true
	}()
	l := t.loop
	if l.profiling {
		t.setLabels()
	}
	if trace.IsEnabled() {
		ctx, tt := trace.NewTask(context.Background(), t.displayName())
		_ = ctx
		t.more().trace.end = tt.End
	}
	t.impl.runBody(taskCtx{t})
	returned = true
}

// bodyReturn is the return address in (*task).exec of its call to the
// task's function, 0 until the first suspension stack is walked
// (learnBodyReturn). Suspension stacks end there: the frames below it, the
// coroutine's own (run, iter.Pull, goexit), are the same for every task
// and every stack handed out drops them (taskStack), so the walk stops
// there (half of a typical suspension's frames).
var bodyReturn atomic.Uintptr

// learnBodyReturn finds bodyReturn among the return addresses of a
// suspension stack walked whole.
func learnBodyReturn(pcs []uintptr) {
	exec := goruntime.FuncForPC(funcPC((*task).exec)).Entry()
	for _, pc := range pcs {
		if f := goruntime.FuncForPC(pc - 1); f != nil && f.Entry() == exec {
			bodyReturn.Store(pc)
			return
		}
	}
}

// setLabels puts the task's pprof labels (task.id, task.name, loop) on the
// goroutine running it, so a CPU profile can be split per task. Building
// the label set costs ~500 ns, so the loop does it only while a CPU profile
// is being taken (cpuProfiling), once per task.
func (t *task) setLabels() {
	if t.labelled {
		return
	}
	t.labelled = true
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(
		"task.id", strconv.FormatUint(t.id, 10), "task.name", t.displayName(), "loop", t.loop.name)))
}

// traceTask holds the runtime/trace task of a task while tracing is on.
type traceTask struct{ end func() }

type stopSignal struct{}

// errStopped unwinds a task whose coroutine is stopped at loop close.
var errStopped any = stopSignal{}

type goexitUnwind struct{}

// errGoexitUnwind ends the parked coroutine of a task that called
// runtime.Goexit, when the loop stops it (holdGoexit).
var errGoexitUnwind any = goexitUnwind{}

// park suspends the running task t until the loop resumes it. It records
// where t is suspended (a frame-pointer walk, ~10 ns) and what it awaits,
// from the end of this step on.
func (t *task) park(what awaitDesc) { t.parkSince(what, 0) }

// parkSince is park for a wait that began at since (loop clock; 0: at the
// end of this step). See parkAt.
func (t *task) parkSince(what awaitDesc, since int64) {
	l := t.loop
	if l.cfg.record {
		l.stage = what
		l.stageSince = since
		stop := bodyReturn.Load()
		l.stageN = fpwalk(l.stageBuf[:], stop)
		if stop == 0 {
			learnBodyReturn(l.stageBuf[:l.stageN])
		}
	}
	if !l.drive(t) && !t.co.yield(struct{}{}) {
		t.co.stopped = true
		panic(errStopped)
	}
	if l.profiling && !t.labelled {
		t.setLabels()
	}
}

// takeCancel consumes a delivered cancellation and returns its error.
func (t *task) takeCancel() error {
	if !t.cancelPending {
		return nil
	}
	t.cancelPending = false
	return cancelErr(t.cancelDelivered())
}

// cancelDelivered reads the cancel message (loop side) and records where
// the cancellation reached the task: its published suspension stack.
func (t *task) cancelDelivered() string {
	l := t.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	c := t.pub.cancel
	if c == nil {
		return ""
	}
	if s := t.susp(); c.stk == nil && s != nil && s.stk != nil {
		d := *c
		d.stk = s.stk
		t.pub.cancel = &d
		l.changedLocked(t)
	}
	return c.msg
}
