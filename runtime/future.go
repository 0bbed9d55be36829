package runtime

import (
	"context"
	"strings"
)

// Future is a value that some code on the loop will set later
// (asyncio.Future). Tasks Await it. Create one with NewFuture; its methods
// must be called on the loop goroutine (from tasks or callbacks of its
// loop): use Loop.CallSoonThreadsafe to resolve one from another goroutine.
// A Future costs one allocation; awaiting it does not allocate once its
// waiter list has grown.
type Future[T any] struct {
	// err and val last: with them right after res, one build's W2 ran
	// ~10% slower (the load of val after the waiter resumed stalled), and
	// this order or any padding cured it. Builds before it ran as fast
	// with either order: a layout effect, not pinned down.
	res     resource // res.by is the task that made it: its loop is f's
	waiters waitq
	buf     [1]*task
	err     error
	val     T
}

// NewFuture returns a pending future bound to ctx's loop. It panics if ctx
// belongs to no task. It records where it was called and by which task
// (Loop.Resources), which costs about a nanosecond.
//
//go:noinline
func NewFuture[T any](ctx context.Context) *Future[T] {
	pc := callerpc() // needs the noinline above: the caller's return address
	t := taskOf(ctx)
	if t == nil {
		panic("runtime: NewFuture called with a context that belongs to no task")
	}
	f := &Future[T]{res: resource{pc: pc, by: t}}
	f.waiters.ts = f.buf[:0]
	return f
}

// SetResult resolves f with v and wakes its waiters. It reports false, and
// does nothing, if f is already done. Call it on f's loop (from a task or a
// callback of that loop): from any other goroutine it panics at once, with
// a message naming Loop.CallSoonThreadsafe, which is how to resolve f from
// there. SetError and Cancel are checked the same way.
func (f *Future[T]) SetResult(v T) bool {
	f.res.loopOf(nil).mustOnLoop("Future.SetResult")
	return f.resolve(v, nil)
}

// SetError resolves f with err. It reports false if f is already done.
func (f *Future[T]) SetError(err error) bool {
	f.res.loopOf(nil).mustOnLoop("Future.SetError")
	var zero T
	return f.resolve(zero, err)
}

// Cancel resolves f with a cancellation (ErrCancelled with the optional
// message). It reports false if f is already done.
func (f *Future[T]) Cancel(msg ...string) bool {
	f.res.loopOf(nil).mustOnLoop("Future.Cancel")
	var zero T
	return f.resolve(zero, cancelErr(strings.Join(msg, " ")))
}

func (f *Future[T]) resolve(v T, err error) bool {
	if f.err != nil {
		return false
	}
	if err == nil {
		err = errResolved
	}
	f.val, f.err = v, err
	f.waiters.wakeAll(f.res.by.loop)
	return true
}

// Done reports whether f is resolved.
func (f *Future[T]) Done() bool { return f.err != nil }

// errResolved is the err of a Future resolved with a nil error: a non-nil
// err marks a Future done, which spares it a bool (and 16 bytes). Its type
// is its own, so that telling it apart is one comparison of type words
// (comparing two errors calls the runtime).
var errResolved error = resolvedErr{}

type resolvedErr struct{}

func (resolvedErr) Error() string { return "runtime: future resolved" }

// result returns f's value and error once it is done.
func (f *Future[T]) result() (T, error) {
	if _, ok := f.err.(resolvedErr); ok { //nolint:errorlint // the package's own sentinel, stored as is and never wrapped
		return f.val, nil
	}
	return f.val, f.err
}

// Result returns f's value and error once it is done, ErrNotDone before.
func (f *Future[T]) Result() (T, error) {
	if f.err == nil {
		var zero T
		return zero, ErrNotDone
	}
	return f.result()
}

// Await suspends the calling task until f is resolved and returns its value
// and error; it returns at once if f is done. If the calling task is
// cancelled while it waits, Await returns an error wrapping ErrCancelled —
// even if f was resolved meanwhile, before the task resumed — and f is left
// as it is.
//
//go:noinline
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	var zero T
	cur, err := current(ctx, "Future.Await")
	if err != nil {
		return zero, err
	}
	if f.res.by.loop != cur.loop {
		return zero, opErr("Future.Await", ErrWrongLoop)
	}
	if err := cur.waitOn(&f.waiters, awaitFuture, &f.res, nil, func() bool { return f.err != nil }); err != nil {
		return zero, err
	}
	return f.result()
}

// waitq is a FIFO of parked tasks.
type waitq struct {
	ts []*task
}

// grantq is the waitq of a primitive that hands what it guards to its
// waiters (Lock, Semaphore, Event: waitGrant).
type grantq struct {
	waitq
	handed int // waiters handed what they waited for that have not resumed yet (grant)
}

func (q *waitq) add(t *task) { q.ts = append(q.ts, t) }

func (q *waitq) remove(t *task) {
	for i, x := range q.ts {
		if x == t {
			q.removeAt(i)
			return
		}
	}
}

func (q *waitq) removeAt(i int) {
	copy(q.ts[i:], q.ts[i+1:])
	q.ts[len(q.ts)-1] = nil
	q.ts = q.ts[:len(q.ts)-1]
}

func (q *waitq) len() int { return len(q.ts) }

// busy reports whether a newcomer must queue behind earlier waiters to
// keep the order FIFO: some waiter whose cancellation is not pending is
// parked, or was handed the resource and has not resumed yet.
func (q *grantq) busy() bool {
	if q.handed > 0 {
		return true
	}
	for _, t := range q.ts {
		if !t.cancelPending {
			return true
		}
	}
	return false
}

// grantFirst hands what q's waiters wait for to the first one whose
// cancellation is not pending, takes it off q and schedules it; it reports
// false if there is no such waiter. A waiter being cancelled is passed
// over: it leaves q itself when it resumes.
func (q *grantq) grantFirst(l *Loop) bool {
	for i, t := range q.ts {
		if t.cancelPending {
			continue
		}
		q.removeAt(i)
		t.grant = true
		q.handed++
		l.schedule(t)
		return true
	}
	return false
}

// wakeAll schedules every task and empties the queue, keeping its capacity.
func (q *waitq) wakeAll(l *Loop) {
	for i, t := range q.ts {
		l.schedule(t)
		q.ts[i] = nil
	}
	q.ts = q.ts[:0]
}

// grantAll hands every waiter what it waits for (an Event's set flag) and
// empties the queue.
func (q *grantq) grantAll(l *Loop) {
	for _, t := range q.ts {
		t.grant = true
	}
	q.handed += len(q.ts)
	q.wakeAll(l)
}

// The await machinery for the primitives. One rule holds for every waiter:
// when it resumes with a cancellation pending, the cancellation wins. It
// gets ErrCancelled and never keeps what it was woken for — a lock, permit,
// queue item or slot handed to it at release time passes to the next
// waiter (asyncio's test_cancel_race, test_finished_waiter_cancelled,
// test_acquire_cancel_before_awoken, test_get_cancel_drop_many_pending_readers).
//
// Each wait names the primitive's resource (its id is in the task's
// WaitInfo) and, for primitives that publish their waiters (o non-nil),
// marks it changed when the task joins or leaves its queue.

// waitOn parks cur on q until ready() holds or a cancel is delivered. ready
// is checked at once, without suspending. Once parked, a pending
// cancellation wins over ready: cur leaves q, wakes the next waiter of q if
// ready() still holds (the item or slot cur was woken for is theirs), and
// returns the cancellation.
func (cur *task) waitOn(q *waitq, kind awaitKind, r *resource, o resOwner, ready func() bool) error {
	if ready() {
		return nil
	}
	l := cur.loop
	desc := awaitAt{awaitDesc: waitRes(kind, r)}
	l.resID(r)
	q.add(cur)
	if o != nil {
		l.touch(r, o)
	}
	for {
		if cur.cancelPending {
			q.remove(cur)
			if o != nil {
				l.touch(r, o)
			}
			if q.len() > 0 && ready() {
				l.schedule(q.ts[0])
			}
			return cur.takeCancel()
		}
		if ready() {
			break
		}
		cur.parkAt(&desc)
	}
	q.remove(cur)
	if o != nil {
		l.touch(r, o)
	}
	return nil
}

// grantor is a primitive that hands what it guards to one waiter at a time
// (Lock, Semaphore), for waitGrant.
type grantor interface {
	resOwner
	// giveBack returns what a waiter was handed but will not keep.
	giveBack()
	// pass hands what is free to the first waiters of the queue.
	pass()
	// resource returns its identity.
	resource() *resource
	// holders returns the tasks that hold it now (loop goroutine), for the
	// deadlock check.
	holders() []*task
	// free reports whether it can be handed to a waiter now.
	free() bool
	// handedOut reports whether a waiter was handed it and has not resumed
	// yet: that waiter holds it too, though holders does not list it.
	handedOut() bool
}

// waitGrant parks cur on q until something hands it what it waits for
// (grantFirst or grantAll set cur.grant), or a cancel is delivered. If the
// cancellation is pending when cur resumes, it wins even over a grant: what
// cur was handed goes back to g (nil for an Event, which hands nothing
// exclusive), g passes it to the next waiter, and the cancellation is
// returned. Otherwise g passes on whatever is still free, so waiters queued
// behind a handoff in flight are served in order.
//
// Before a Lock or Semaphore waiter parks, the loop looks for a deadlock
// the wait closes (deadlock.go); it changes nothing of the wait.
func (cur *task) waitGrant(q *grantq, kind awaitKind, g grantor, r *resource, o resOwner) error {
	l := cur.loop
	cur.grant = false
	l.resID(r)
	q.add(cur)
	l.touch(r, o)
	desc := awaitAt{awaitDesc: waitRes(kind, r)}
	if g != nil && !g.free() {
		l.checkDeadlock(cur, g)
	}
	l.grantWaiters++
	for !cur.grant && !cur.cancelPending {
		cur.parkAt(&desc)
	}
	l.grantWaiters--
	if cur.deadlocked {
		l.clearDeadlocks(cur)
	}
	granted := cur.grant
	cur.grant = false
	if granted {
		q.handed--
	} else {
		q.remove(cur)
	}
	l.touch(r, o)
	if cur.cancelPending {
		if g != nil {
			if granted {
				g.giveBack()
			}
			g.pass()
		}
		return cur.takeCancel()
	}
	if g != nil {
		g.pass()
	}
	return nil
}

// bind ties a primitive to the loop of its first user.
func bind(p **Loop, cur *task, op string) error {
	if *p == nil {
		*p = cur.loop
		return nil
	}
	if *p != cur.loop {
		return opErr(op, ErrWrongLoop)
	}
	return nil
}
