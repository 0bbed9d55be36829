package runtime

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Condition says when Wait returns (asyncio's return_when).
type Condition uint8

// Wait conditions.
const (
	AllCompleted   Condition = iota // when every task is done (the default)
	FirstCompleted                  // when any task is done
	FirstException                  // when any task fails (not cancelled), else when all are done
	gatherCond                      // when any task ends not Finished, else when all are done
)

// WaitOption configures Wait and AsCompleted.
type WaitOption func(*waitConfig)

type waitConfig struct {
	timeout time.Duration
	timed   bool // WithTimeout was given
	cond    Condition
}

// WithTimeout bounds how long Wait or AsCompleted waits. Neither cancels the
// tasks when time runs out. A d ≤ 0 has run out already: the call returns
// (or yields ErrTimeout) at the next loop iteration with what is done by
// then, as asyncio does for timeout=0.
func WithTimeout(d time.Duration) WaitOption {
	return func(c *waitConfig) { c.timeout, c.timed = d, true }
}

// deadline returns the loop-clock deadline of c's timeout, 0 for none.
// The loop clock is never 0, so a timeout ≤ 0 gives a deadline that has
// passed already, never "none".
func (c *waitConfig) deadline(l *Loop) int64 {
	if !c.timed {
		return 0
	}
	return l.clock() + int64(max(c.timeout, 0))
}

// ReturnWhen sets when Wait returns: FirstCompleted, FirstException or
// AllCompleted (the default).
func ReturnWhen(c Condition) WaitOption { return func(w *waitConfig) { w.cond = c } }

func handleTasks(op string, hs []Handle) ([]*task, error) {
	ts := make([]*task, 0, len(hs))
	seen := make(map[*task]bool, len(hs))
	for _, h := range hs {
		ti, ok := h.(taskImpl)
		if !ok || ti == nil {
			return nil, fmt.Errorf("runtime: %s: %T is not a task of this package", op, h)
		}
		t := ti.base()
		if seen[t] {
			continue
		}
		seen[t] = true
		ts = append(ts, t)
	}
	return ts, nil
}

// Wait waits for the tasks until the condition set by ReturnWhen holds
// (AllCompleted by default) or the WithTimeout duration passes, and returns
// the tasks that are done and those still pending, each in argument order
// (asyncio.wait). It never cancels the tasks. Duplicates count once. An
// empty list is an error; so is a cancellation of the calling task.
//
//go:noinline
func Wait(ctx context.Context, tasks []Handle, opts ...WaitOption) (done, pending []Handle, err error) {
	cur, err := current(ctx, "Wait")
	if err != nil {
		return nil, nil, err
	}
	if len(tasks) == 0 {
		return nil, nil, fmt.Errorf("runtime: Wait: no tasks to wait for")
	}
	var cfg waitConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cond > FirstException {
		return nil, nil, fmt.Errorf("runtime: Wait: invalid condition %d", cfg.cond)
	}
	ts, err := handleTasks("Wait", tasks)
	if err != nil {
		return nil, nil, err
	}
	w := &waiter{ts: ts, cond: cfg.cond, kind: awaitWait}
	deadline := cfg.deadline(cur.loop)
	if _, err := cur.awaitTasksUntil(w, false, deadline, cfg.timeout); err != nil {
		return nil, nil, err
	}
	for _, t := range ts {
		if t.done() {
			done = append(done, t.impl)
		} else {
			pending = append(pending, t.impl)
		}
	}
	return done, pending, nil
}

// AsCompleted yields each task's value and error in the order the tasks end
// (asyncio.as_completed); a task given more than once is yielded once. With
// WithTimeout, when time runs out it yields one error matching ErrTimeout
// ("runtime: timed out after 1s") and stops; if the
// calling task is cancelled it yields the cancellation and stops. It never
// cancels the tasks. Range over it from a task of the tasks' loop.
func AsCompleted[T any](ctx context.Context, tasks []*Task[T], opts ...WaitOption) iter.Seq2[T, error] {
	var cfg waitConfig
	for _, o := range opts {
		o(&cfg)
	}
	return func(yield func(T, error) bool) {
		var zero T
		cur, err := current(ctx, "AsCompleted")
		if err != nil {
			yield(zero, err)
			return
		}
		w := &waiter{ts: uniqueTasks(baseTasks(tasks)), cond: AllCompleted, kind: awaitAsCompleted, each: true}
		if err := w.listen(cur, "AsCompleted"); err != nil {
			yield(zero, err)
			return
		}
		defer w.unlisten()
		l := cur.loop
		deadline := cfg.deadline(l)
		desc := awaitAt{awaitDesc: waitTasks(awaitAsCompleted, w, deadline, cfg.timeout)}
		var tm timer
		tm.idx = -1
		tm.t = cur
		if deadline > 0 {
			l.addTimer(&tm, deadline)
			defer l.removeTimer(&tm)
		}
		for delivered := 0; delivered < len(w.ts); {
			if delivered < len(w.order) {
				x := w.order[delivered]
				delivered++
				tt := x.impl.(*Task[T])
				tt.markRetrieved()
				if !yield(tt.val, tt.err) {
					return
				}
				desc.since = 0 // the next item is waited for from here
				continue
			}
			if cur.cancelPending {
				yield(zero, cur.takeCancel())
				return
			}
			if deadline > 0 && tm.idx < 0 {
				yield(zero, timeoutAfter(cfg.timeout))
				return
			}
			c := cur.co
			prev := c.waitingOn
			c.waitingOn = w
			w.parked = true
			cur.parkAt(&desc)
			w.parked = false
			c.waitingOn = prev
		}
	}
}
