package runtime

import (
	"context"
	"iter"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
)

// coro is a coroutine (iter.Pull) that runs tasks one after another: a task
// is bound to a coro at its first step and gives it back when it ends, so a
// switch costs one coroutine round trip (~75 ns, no allocation) and a spawn
// reuses a parked goroutine instead of creating one.
type coro struct {
	l       *Loop
	next    func() (struct{}, bool)
	stopFn  func()
	yield   func(struct{}) bool
	t       *task
	stopped bool
	g       uintptr // the coroutine goroutine's identity (getg)
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
	c.stopFn()
}

// run is the coroutine body: run the bound task, hand control back, repeat.
func (c *coro) run(yield func(struct{}) bool) {
	c.yield = yield
	c.g = getg()
	c.l.steppingG.Store(c.l.stepKey(c.t)) // the first step began before c.g was known
	for {
		c.t.exec()
		c.t = nil
		if c.stopped || !yield(struct{}{}) {
			return
		}
	}
}

// exec runs the task's function on the coroutine, recovering a panic into a
// *PanicError.
func (t *task) exec() {
	defer func() {
		if r := recover(); r != nil {
			if r == errStopped {
				t.err = ErrLoopClosed
			} else {
				t.err = &PanicError{Value: r, Stack: debug.Stack()}
			}
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
	if t.labelled {
		pprof.SetGoroutineLabels(context.Background())
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

// park suspends the running task t until the loop resumes it. It records
// where t is suspended (a frame-pointer walk, ~10 ns) and what it awaits.
func (t *task) park(what awaitDesc) {
	l := t.loop
	if l.cfg.record {
		l.stage = what
		l.stageN = fpwalk(l.stageBuf[:])
	}
	if !t.co.yield(struct{}{}) {
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
	return cancelErr(t.cancelMsgLoop())
}
