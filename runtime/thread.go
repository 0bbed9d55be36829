package runtime

import (
	"context"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"
)

// ToThread runs fn on a goroutine of the loop's bounded worker pool and
// suspends the calling task until it returns (asyncio.to_thread). The loop
// keeps running other tasks meanwhile: this is where blocking work (file and
// network I/O, CPU-heavy code, time.Sleep) belongs. A panic in fn becomes a
// *PanicError. If the calling task is cancelled, ToThread returns the
// cancellation at once; fn keeps running and its result is dropped (the
// task's context is done, so fn can watch ctx.Done()).
//
// A fn that calls runtime.Goexit (t.Fatal does) ends its worker; ToThread
// returns an error matching ErrGoexit and the loop ends as when a task calls
// Goexit (see Loop.Run).
//
// A call costs a few microseconds: a handoff to a worker and back.
//
//go:noinline
func ToThread[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	pc := callerpc() // the user's call: ToThread is noinline
	var zero T
	cur, err := current(ctx, "ToThread")
	if err != nil {
		return zero, err
	}
	if err := cur.takeCancel(); err != nil {
		return zero, err
	}
	l := cur.loop
	type result struct {
		res     resource // the call's identity (Loop.Resources)
		v       T
		err     error
		done    bool
		waiting bool
	}
	res := &result{waiting: true}
	res.res.initIn(pc, cur)
	l.resID(&res.res)
	l.threads.inflight++
	l.threads.submit(func() {
		var v T
		var err error
		goexit := true
		defer func() {
			// Deferred, so that a fn that called runtime.Goexit (t.Fatal
			// does) still reports: the task gets an error matching
			// ErrGoexit and the loop ends as for a task that called it.
			if goexit {
				err = &goexitError{name: cur.displayName(), id: cur.id, inThread: true}
			}
			l.post(func() {
				l.threads.inflight--
				res.v, res.err, res.done = v, err, true
				if goexit && l.exit == nil {
					l.exit = err
				}
				if res.waiting {
					l.schedule(cur)
				}
			})
		}()
		v, err = runProtected(fn)
		goexit = false
	})
	desc := awaitAt{awaitDesc: waitRes(awaitThread, &res.res)}
	for {
		// A pending cancellation wins, even over work that finished in the
		// same iteration, as in every other await (waitOn, waitGrant).
		if cur.cancelPending {
			res.waiting = false
			return zero, cur.takeCancel()
		}
		if res.done {
			break
		}
		cur.parkAt(&desc)
	}
	res.waiting = false
	return res.v, res.err
}

func runProtected[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// threadPool runs ToThread work on at most max goroutines, started on
// demand; submitting never blocks the loop.
type threadPool struct {
	max      int
	mu       sync.Mutex
	cond     sync.Cond
	jobs     []func()
	workers  int
	idleN    int
	closed   bool
	wg       sync.WaitGroup
	inflight int // loop side: jobs whose completion has not been processed
}

func (p *threadPool) init(l *Loop, max int) {
	if max <= 0 {
		max = min(32, goruntime.NumCPU()+4)
	}
	p.max = max
	p.cond.L = &p.mu
}

func (p *threadPool) submit(job func()) {
	p.mu.Lock()
	p.jobs = append(p.jobs, job)
	if p.idleN == 0 && p.workers < p.max {
		p.workers++
		p.wg.Add(1)
		go p.work()
	} else {
		p.cond.Signal()
	}
	p.mu.Unlock()
}

func (p *threadPool) work() {
	// Started from a task's goroutine, it inherited the task's pprof
	// labels (set while a CPU profile is taken): its jobs are any task's.
	pprof.SetGoroutineLabels(context.Background())
	exited := false
	defer func() {
		if !exited { // a job called runtime.Goexit: this worker is gone
			p.mu.Lock()
			p.workers--
			p.mu.Unlock()
		}
		p.wg.Done()
	}()
	p.mu.Lock()
	for {
		for len(p.jobs) == 0 && !p.closed {
			p.idleN++
			p.cond.Wait()
			p.idleN--
		}
		if len(p.jobs) == 0 {
			p.workers--
			p.mu.Unlock()
			exited = true
			return
		}
		job := p.jobs[0]
		p.jobs[0] = nil
		p.jobs = p.jobs[1:]
		p.mu.Unlock()
		job()
		p.mu.Lock()
	}
}

func (p *threadPool) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *threadPool) idle() bool { return p.inflight == 0 }

func (p *threadPool) wait() { p.wg.Wait() }

// CallSoon schedules fn to run on ctx's loop after the tasks that are ready
// now (loop.call_soon). ctx must belong to a task and CallSoon be called on
// its loop (else it panics); fn must not block.
//
// A panic in fn is logged (one error with the panic value, fn's function
// and its stack) and the loop goes on, as asyncio's call_exception_handler
// does; an fn that calls runtime.Goexit (t.Fatal does) ends the loop, and
// Run returns an error matching ErrGoexit that names fn.
func CallSoon(ctx context.Context, fn func()) {
	t := taskOf(ctx)
	if t == nil {
		panic("runtime: CallSoon called with a context that belongs to no task")
	}
	if !t.loop.onLoop() {
		panic(offLoop("CallSoon", t, "Loop.CallSoonThreadsafe"))
	}
	t.loop.callSoon(fn)
}

// TimerHandle is a callback scheduled with CallLater.
type TimerHandle struct {
	l  *Loop
	tm timer
}

// CallLater schedules fn to run on ctx's loop after d (loop.call_later).
// ctx must belong to a task and CallLater be called on its loop (else it
// panics); fn must not block. A panic or runtime.Goexit in fn is handled
// as CallSoon says.
func CallLater(ctx context.Context, d time.Duration, fn func()) *TimerHandle {
	t := taskOf(ctx)
	if t == nil {
		panic("runtime: CallLater called with a context that belongs to no task")
	}
	if !t.loop.onLoop() {
		panic(offLoop("CallLater", t, "Loop.CallSoonThreadsafe"))
	}
	h := &TimerHandle{l: t.loop}
	h.tm.idx = -1
	h.tm.fn = fn
	t.loop.addTimer(&h.tm, t.loop.clock()+int64(d))
	return h
}

// Cancel unschedules the callback and reports whether it was still pending.
// Call it on the loop goroutine: called from a goroutine that is neither the
// loop nor one of its tasks, it panics at once (use
// Loop.CallSoonThreadsafe from there).
func (h *TimerHandle) Cancel() bool {
	h.l.mustOnLoop("TimerHandle.Cancel")
	if h.tm.idx < 0 {
		return false
	}
	h.l.removeTimer(&h.tm)
	return true
}

// String describes the handle.
func (h *TimerHandle) String() string {
	return fmt.Sprintf("<TimerHandle pending=%t>", h.tm.idx >= 0)
}
