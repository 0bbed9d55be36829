package runtime

import (
	"context"
	"fmt"
	"strings"
)

// Future is a value that some code on the loop will set later
// (asyncio.Future). Tasks Await it. Create one with NewFuture; its methods
// must be called on the loop goroutine (from tasks or callbacks of its
// loop): use Loop.CallSoonThreadsafe to resolve one from another goroutine.
// A Future costs one allocation; awaiting it does not allocate once its
// waiter list has grown.
type Future[T any] struct {
	loop    *Loop
	done    bool
	val     T
	err     error
	waiters waitq
	buf     [1]*task
}

// NewFuture returns a pending future bound to ctx's loop. It panics if ctx
// belongs to no task.
func NewFuture[T any](ctx context.Context) *Future[T] {
	t := taskOf(ctx)
	if t == nil {
		panic("runtime: NewFuture called with a context that belongs to no task")
	}
	f := &Future[T]{loop: t.loop}
	f.waiters.ts = f.buf[:0]
	return f
}

// SetResult resolves f with v and wakes its waiters. It reports false, and
// does nothing, if f is already done.
func (f *Future[T]) SetResult(v T) bool { return f.resolve(v, nil) }

// SetError resolves f with err. It reports false if f is already done.
func (f *Future[T]) SetError(err error) bool {
	var zero T
	return f.resolve(zero, err)
}

// Cancel resolves f with a cancellation (ErrCancelled with the optional
// message). It reports false if f is already done.
func (f *Future[T]) Cancel(msg ...string) bool {
	var zero T
	return f.resolve(zero, cancelErr(strings.Join(msg, " ")))
}

func (f *Future[T]) resolve(v T, err error) bool {
	if f.done {
		return false
	}
	f.done, f.val, f.err = true, v, err
	f.waiters.wakeAll(f.loop)
	return true
}

// Done reports whether f is resolved.
func (f *Future[T]) Done() bool { return f.done }

// Result returns f's value and error once it is done, ErrNotDone before.
func (f *Future[T]) Result() (T, error) {
	if !f.done {
		var zero T
		return zero, ErrNotDone
	}
	return f.val, f.err
}

// Await suspends the calling task until f is resolved and returns its value
// and error. A cancellation of the calling task returns the cancellation and
// leaves f pending.
//
//go:noinline
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	var zero T
	cur, err := current(ctx, "Future.Await")
	if err != nil {
		return zero, err
	}
	if f.loop != cur.loop {
		return zero, fmt.Errorf("runtime: Future.Await: %w", ErrWrongLoop)
	}
	if err := cur.waitOn(&f.waiters, awaitFuture, func() bool { return f.done }); err != nil {
		return zero, err
	}
	return f.val, f.err
}

// waitq is a FIFO of parked tasks.
type waitq struct {
	ts []*task
}

func (q *waitq) add(t *task) { q.ts = append(q.ts, t) }

func (q *waitq) remove(t *task) {
	for i, x := range q.ts {
		if x == t {
			copy(q.ts[i:], q.ts[i+1:])
			q.ts[len(q.ts)-1] = nil
			q.ts = q.ts[:len(q.ts)-1]
			return
		}
	}
}

func (q *waitq) len() int { return len(q.ts) }

// popFront removes and returns the first task.
func (q *waitq) popFront() *task {
	t := q.ts[0]
	copy(q.ts, q.ts[1:])
	q.ts[len(q.ts)-1] = nil
	q.ts = q.ts[:len(q.ts)-1]
	return t
}

// wakeAll schedules every task and empties the queue, keeping its capacity.
func (q *waitq) wakeAll(l *Loop) {
	for i, t := range q.ts {
		l.schedule(t)
		q.ts[i] = nil
	}
	q.ts = q.ts[:0]
}

// waitOn parks cur on q until ready() holds or a cancel is delivered, in
// which case cur leaves q and the cancellation is returned.
func (cur *task) waitOn(q *waitq, kind awaitKind, ready func() bool) error {
	if ready() {
		return nil
	}
	q.add(cur)
	for !ready() {
		if cur.cancelPending {
			q.remove(cur)
			return cur.takeCancel()
		}
		cur.park(awaitDesc{kind: kind})
	}
	q.remove(cur)
	return nil
}

// waitGrant parks cur on q until something hands it what it waits for
// (cur.grant), or a cancel is delivered first.
func (cur *task) waitGrant(q *waitq, kind awaitKind) error {
	cur.grant = false
	q.add(cur)
	for !cur.grant {
		if cur.cancelPending {
			q.remove(cur)
			return cur.takeCancel()
		}
		cur.park(awaitDesc{kind: kind})
	}
	cur.grant = false
	return nil
}

// bind ties a primitive to the loop of its first user.
func bind(p **Loop, cur *task, op string) error {
	if *p == nil {
		*p = cur.loop
		return nil
	}
	if *p != cur.loop {
		return fmt.Errorf("runtime: %s: %w", op, ErrWrongLoop)
	}
	return nil
}
