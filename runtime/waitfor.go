package runtime

import (
	"context"
	"time"
)

// WaitFor waits for t for at most d (asyncio.wait_for) and returns t's
// value and error. When d passes, t is cancelled and WaitFor waits for it
// to finish unwinding: if t ends Cancelled WaitFor returns an error
// matching ErrTimeout ("runtime: timed out after 1s"); if t
// catches the cancellation and returns a value, WaitFor returns it; if t
// returns another error while unwinding, that error reaches the caller.
// A d ≤ 0 has passed already: a t that is done gives its result, any other
// is cancelled at once (one not yet started never runs), as asyncio 3.12
// does. If the calling task is cancelled, t is cancelled too and WaitFor
// returns the cancellation once t has ended.
//
//go:noinline
func WaitFor[T any](ctx context.Context, d time.Duration, t *Task[T]) (T, error) {
	var zero T
	cur, err := current(ctx, "WaitFor")
	if err != nil {
		return zero, err
	}
	if !t.task.done() {
		ts := []*task{&t.task}
		timedOut := true
		if d > 0 {
			w := &waiter{ts: ts, kind: awaitWaitFor}
			timedOut, err = cur.awaitTasksUntil(w, true, cur.loop.clock()+int64(d), d)
		} else {
			err = cur.checkAwaitOne("WaitFor", &t.task)
		}
		if err != nil {
			return zero, err
		}
		if timedOut {
			t.task.cancelNow("WaitFor timeout after "+d.String(), "WaitFor in task "+itoa(int(cur.id)))
			// Wait for t to unwind. A cancellation of the caller, pending or
			// arriving meanwhile, is returned once t has ended.
			if _, err := cur.awaitTasksUntil(&waiter{ts: ts, kind: awaitWaitFor, unwinding: true}, true, 0, d); err != nil {
				return zero, err
			}
			t.markRetrieved()
			switch State(t.state.Load()) {
			case Finished:
				return t.val, nil
			case Failed:
				return zero, t.err
			}
			return zero, timeoutAfter(d)
		}
	}
	t.markRetrieved()
	return t.val, t.err
}

// Shield waits for t like Await, but a cancellation of the calling task is
// not passed on to t: the caller gets the cancellation at once and t keeps
// running (asyncio.shield).
//
//go:noinline
func Shield[T any](ctx context.Context, t *Task[T]) (T, error) {
	var zero T
	cur, err := current(ctx, "Shield")
	if err != nil {
		return zero, err
	}
	if !t.task.done() {
		if err := cur.awaitTasks(&waiter{ts: []*task{&t.task}, kind: awaitShield}, false); err != nil {
			return zero, err
		}
	}
	t.markRetrieved()
	return t.val, t.err
}
