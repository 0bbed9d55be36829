package runtime

import (
	"context"
	"fmt"
	"iter"
	"strings"
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

// awaitKind says what a suspended task awaits.
type awaitKind uint8

const (
	awaitNone awaitKind = iota
	awaitSleep
	awaitYield
	awaitTask
	awaitGather
	awaitWait
	awaitAsCompleted
	awaitWaitFor
	awaitShield
	awaitTaskGroup
	awaitFuture
	awaitEvent
	awaitLock
	awaitSemaphore
	awaitQueueGet
	awaitQueuePut
	awaitQueueJoin
	awaitThread
)

var awaitNames = [...]string{"", "sleep", "yield", "task", "gather", "wait", "as_completed", "wait_for",
	"shield", "taskgroup", "future", "event", "lock", "semaphore", "queue.get", "queue.put", "queue.join", "to_thread"}

// awaitDesc describes what a task awaits; published with its record.
type awaitDesc struct {
	kind  awaitKind
	d     int64   // sleep or timeout duration
	until int64   // loop clock deadline, 0 if none
	w     *waiter // the tasks awaited, for task-waiting kinds
}

// text renders the description ("sleep(1s)", "task 7", "gather(3 tasks)").
func (a awaitDesc) text(l *Loop) string {
	switch a.kind {
	case awaitNone:
		return ""
	case awaitSleep:
		return "sleep(" + time.Duration(a.d).String() + ")"
	case awaitTask, awaitShield:
		if a.w != nil && len(a.w.ts) == 1 {
			s := "task " + itoa(int(a.w.ts[0].id))
			if a.kind == awaitShield {
				return "shield(" + s + ")"
			}
			return s
		}
	case awaitWaitFor:
		if a.w != nil && len(a.w.ts) == 1 {
			if a.w.unwinding {
				after := "after " + time.Duration(a.d).String()
				if a.d <= 0 {
					after = "at once (timeout " + time.Duration(a.d).String() + ")"
				}
				return fmt.Sprintf("wait_for(task %d): timed out %s, waiting for it to finish cancelling", a.w.ts[0].id, after)
			}
			return fmt.Sprintf("wait_for(task %d, %s)", a.w.ts[0].id, time.Duration(a.d))
		}
	case awaitGather, awaitWait, awaitAsCompleted, awaitTaskGroup:
		if a.w != nil {
			var b strings.Builder
			b.WriteString(awaitNames[a.kind])
			b.WriteString("(")
			b.WriteString(itoa(len(a.w.ts)))
			b.WriteString(" tasks")
			if a.d > 0 {
				b.WriteString(", timeout ")
				b.WriteString(time.Duration(a.d).String())
			}
			b.WriteString(")")
			return b.String()
		}
	}
	return awaitNames[a.kind]
}

// taskIDs returns the ids of the tasks awaited.
func (a awaitDesc) taskIDs() []uint64 {
	if a.w == nil || len(a.w.ts) == 0 {
		return nil
	}
	ids := make([]uint64, len(a.w.ts))
	for i, t := range a.w.ts {
		ids[i] = t.id
	}
	return ids
}

// waiter is one task waiting for some tasks to end. Its ts never changes
// once the wait starts, so readers may walk it.
type waiter struct {
	t         *task
	ts        []*task
	cond      Condition
	kind      awaitKind
	remaining int
	parked    bool
	failed    *task   // first task to end not Finished (gather) or Failed (FirstException)
	order     []*task // completion order, for AsCompleted
	each      bool
	notifyCh  chan struct{} // for goroutines blocked in Await outside the loop
	group     *TaskGroup    // for a TaskGroup watching its children
	unwinding bool          // wait_for timed out: waiting for the task to finish cancelling
}

// notify is called on the loop when x, one of w.ts, ends.
func (w *waiter) notify(l *Loop, x *task) {
	if w.notifyCh != nil {
		close(w.notifyCh)
		return
	}
	if w.group != nil {
		w.group.childDone(x)
		return
	}
	w.remaining--
	wake := w.remaining == 0
	st := State(x.state.Load())
	switch w.cond {
	case FirstCompleted:
		wake = true
	case FirstException:
		if st == Failed && w.failed == nil {
			w.failed = x
			wake = true
		}
	case gatherCond:
		if st != Finished && w.failed == nil {
			w.failed = x
			wake = true
		}
	}
	if w.each {
		w.order = append(w.order, x)
		wake = true
	}
	if wake && w.parked {
		l.schedule(w.t)
	}
}

func (w *waiter) satisfied() bool {
	switch {
	case w.each:
		return false
	case w.remaining == 0:
		return true
	case w.cond == FirstCompleted:
		return w.remaining < len(w.ts)
	case w.cond == FirstException, w.cond == gatherCond:
		return w.failed != nil
	}
	return false
}

// listen registers w on every task of w.ts that has not ended and records
// the ones that have.
func (w *waiter) listen() {
	w.remaining = len(w.ts)
	for _, x := range w.ts {
		if x.done() {
			w.remaining--
			st := State(x.state.Load())
			if w.failed == nil && ((w.cond == gatherCond && st != Finished) || (w.cond == FirstException && st == Failed)) {
				w.failed = x
			}
			if w.each {
				w.order = append(w.order, x)
			}
			continue
		}
		x.listeners = append(x.listeners, w)
	}
}

// unlisten removes w from the tasks still running.
func (w *waiter) unlisten() {
	for _, x := range w.ts {
		if x.done() {
			continue
		}
		for i, y := range x.listeners {
			if y == w {
				last := len(x.listeners) - 1
				x.listeners[i] = x.listeners[last]
				x.listeners[last] = nil
				x.listeners = x.listeners[:last]
				break
			}
		}
	}
}

// current returns the task ctx belongs to and checks that it is running.
func current(ctx context.Context, op string) (*task, error) {
	t := taskOf(ctx)
	if t == nil {
		return nil, fmt.Errorf("runtime: %s: %w", op, ErrNotInTask)
	}
	if err := t.checkRunning(op); err != nil {
		return nil, err
	}
	return t, nil
}

// checkLoop verifies that every task of w belongs to cur's loop and that
// waiting on them makes no cycle.
func (cur *task) checkAwait(op string, ts []*task) error {
	for _, x := range ts {
		if x.loop != cur.loop {
			return fmt.Errorf("runtime: %s: task %s: %w", op, x.displayName(), ErrWrongLoop)
		}
		if x.done() {
			continue
		}
		if path := cur.loop.cycle(cur, x); path != nil {
			return fmt.Errorf("runtime: %s: %w", op, cycleErr(path))
		}
	}
	return nil
}

// cycle returns cur → x → … → cur if x waits, directly or not, on cur.
// The common answer, no, costs a walk of what x awaits and no allocation.
func (l *Loop) cycle(cur, x *task) []*task {
	l.gen++
	if !l.reaches(x, cur) {
		return nil
	}
	l.gen++
	path := []*task{cur}
	l.path(x, cur, &path)
	return path
}

// path appends to *p the tasks from "from" to target through what each
// awaits, and reports whether it found target.
func (l *Loop) path(from, target *task, p *[]*task) bool {
	*p = append(*p, from)
	if from == target {
		return true
	}
	if from.visit != l.gen {
		from.visit = l.gen
		if w := from.waitingOn; w != nil {
			for _, y := range w.ts {
				if !y.done() && l.path(y, target, p) {
					return true
				}
			}
		}
	}
	*p = (*p)[:len(*p)-1]
	return false
}

// reaches reports whether target can be reached from "from" through what
// each task awaits.
func (l *Loop) reaches(from, target *task) bool {
	if from == target {
		return true
	}
	if from.visit == l.gen {
		return false
	}
	from.visit = l.gen
	if w := from.waitingOn; w != nil {
		for _, y := range w.ts {
			if !y.done() && l.reaches(y, target) {
				return true
			}
		}
	}
	return false
}

// awaitTasks parks cur until w is satisfied, the deadline (loop clock, 0 for
// none) passes, or a cancel is delivered. With propagate, a cancel is passed
// on to every task still running, and awaitTasks returns the cancellation
// once they have all ended.
func (cur *task) awaitTasks(w *waiter, propagate bool) error {
	_, err := cur.awaitTasksUntil(w, propagate, 0, 0)
	return err
}

// d is the time limit the caller asked for (shown as is in reprs).
func (cur *task) awaitTasksUntil(w *waiter, propagate bool, deadline int64, d time.Duration) (timedOut bool, err error) {
	if err := cur.checkAwait(awaitNames[w.kind], w.ts); err != nil {
		return false, err
	}
	w.t = cur
	w.listen()
	if w.satisfied() {
		return false, nil
	}
	l := cur.loop
	prev := cur.waitingOn
	cur.waitingOn = w
	defer func() {
		cur.waitingOn = prev
		w.unlisten()
	}()
	if deadline > 0 {
		cur.tm.t = cur
		l.addTimer(&cur.tm, deadline)
		defer l.removeTimer(&cur.tm)
	}
	desc := awaitDesc{kind: w.kind, w: w, until: deadline, d: int64(d)}
	for {
		// A pending cancellation wins, even over tasks that ended meanwhile.
		if cur.cancelPending {
			err := cur.takeCancel()
			if propagate {
				cur.cancelAll(w.ts)
				w.cond = AllCompleted
				for w.remaining > 0 {
					w.parked = true
					cur.park(desc)
					w.parked = false
					cur.cancelPending = false // already cancelling
				}
			}
			return false, err
		}
		if w.satisfied() {
			return false, nil
		}
		if deadline > 0 && cur.tm.idx < 0 { // the timer fired
			return true, nil
		}
		w.parked = true
		cur.park(desc)
		w.parked = false
	}
}

// cancelAll cancels, from the loop, every task of ts still running.
func (cur *task) cancelAll(ts []*task) {
	for _, x := range ts {
		if !x.done() {
			x.cancelNow(cur.cancelMsgLoop(), "awaiting task "+itoa(int(cur.id)))
		}
	}
}

// Sleep suspends the calling task for d (asyncio.sleep). It returns nil
// when d has passed and an error wrapping ErrCancelled if the task is
// cancelled first. d <= 0 yields (Yield). Sleep costs one timer-heap
// insertion; it does not allocate.
//
//go:noinline
func Sleep(ctx context.Context, d time.Duration) error {
	cur, err := current(ctx, "Sleep")
	if err != nil {
		return err
	}
	if d <= 0 {
		return cur.yieldNow()
	}
	if err := cur.takeCancel(); err != nil {
		return err
	}
	l := cur.loop
	cur.tm.t = cur
	l.addTimer(&cur.tm, l.clock()+int64(d))
	desc := awaitDesc{kind: awaitSleep, d: int64(d), until: cur.tm.when}
	for cur.tm.idx >= 0 { // until the timer fires
		cur.park(desc)
		if cur.cancelPending {
			l.removeTimer(&cur.tm)
			return cur.takeCancel()
		}
	}
	return nil
}

// Yield suspends the calling task and lets every other ready task run one
// step first (asyncio.sleep(0)).
//
//go:noinline
func Yield(ctx context.Context) error {
	cur, err := current(ctx, "Yield")
	if err != nil {
		return err
	}
	return cur.yieldNow()
}

func (cur *task) yieldNow() error {
	if err := cur.takeCancel(); err != nil {
		return err
	}
	cur.loop.schedule(cur)
	cur.park(awaitDesc{kind: awaitYield})
	return cur.takeCancel()
}

// Result is one task's outcome, as GatherAll returns it.
type Result[T any] struct {
	Value T
	Err   error
}

func baseTasks[T any](tasks []*Task[T]) []*task {
	ts := make([]*task, len(tasks))
	for i, t := range tasks {
		ts[i] = &t.task
	}
	return ts
}

// uniqueTasks drops the repeats of ts in place, keeping first occurrences
// in order.
func uniqueTasks(ts []*task) []*task {
	if len(ts) <= 16 {
		out := ts[:0]
	next:
		for _, t := range ts {
			for _, u := range out {
				if u == t {
					continue next
				}
			}
			out = append(out, t)
		}
		return out
	}
	seen := make(map[*task]struct{}, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if _, ok := seen[t]; !ok {
			seen[t] = struct{}{}
			out = append(out, t)
		}
	}
	clear(ts[len(out):])
	return out
}

// Gather waits for every task and returns their results in argument order
// (asyncio.gather). The first task to fail or be cancelled makes Gather
// return that task's error at once; the other tasks keep running. If the
// calling task is cancelled, every task still running is cancelled and
// Gather returns the cancellation once they have ended.
//
//go:noinline
func Gather[T any](ctx context.Context, tasks ...*Task[T]) ([]T, error) {
	cur, err := current(ctx, "Gather")
	if err != nil {
		return nil, err
	}
	w := &waiter{ts: baseTasks(tasks), cond: gatherCond, kind: awaitGather}
	if err := cur.awaitTasks(w, true); err != nil {
		return nil, err
	}
	for _, t := range tasks {
		t.retrieved = true
	}
	if w.failed != nil {
		return nil, w.failed.err
	}
	out := make([]T, len(tasks))
	for i, t := range tasks {
		out[i] = t.val
	}
	return out, nil
}

// GatherAll waits for every task and returns each one's value and error in
// argument order (asyncio.gather with return_exceptions=True). Its own error
// is non-nil only if the calling task is cancelled (every task still running
// is cancelled too) or the call is misused.
//
//go:noinline
func GatherAll[T any](ctx context.Context, tasks ...*Task[T]) ([]Result[T], error) {
	cur, err := current(ctx, "GatherAll")
	if err != nil {
		return nil, err
	}
	w := &waiter{ts: baseTasks(tasks), cond: AllCompleted, kind: awaitGather}
	if err := cur.awaitTasks(w, true); err != nil {
		return nil, err
	}
	out := make([]Result[T], len(tasks))
	for i, t := range tasks {
		t.retrieved = true
		out[i] = Result[T]{Value: t.val, Err: t.err}
	}
	return out, nil
}

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
// WithTimeout, when time runs out it yields one ErrTimeout and stops; if the
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
		if err := cur.checkAwait("AsCompleted", w.ts); err != nil {
			yield(zero, err)
			return
		}
		w.t = cur
		w.listen()
		defer w.unlisten()
		l := cur.loop
		deadline := cfg.deadline(l)
		desc := awaitDesc{kind: awaitAsCompleted, w: w, until: deadline, d: int64(cfg.timeout)}
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
				tt.retrieved = true
				if !yield(tt.val, tt.err) {
					return
				}
				continue
			}
			if cur.cancelPending {
				yield(zero, cur.takeCancel())
				return
			}
			if deadline > 0 && tm.idx < 0 {
				yield(zero, ErrTimeout)
				return
			}
			prev := cur.waitingOn
			cur.waitingOn = w
			w.parked = true
			cur.park(desc)
			w.parked = false
			cur.waitingOn = prev
		}
	}
}

// WaitFor waits for t for at most d (asyncio.wait_for) and returns t's
// value and error. When d passes, t is cancelled and WaitFor waits for it
// to finish unwinding: if t ends Cancelled WaitFor returns ErrTimeout; if t
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
			err = cur.checkAwait("WaitFor", ts)
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
			t.retrieved = true
			switch State(t.state.Load()) {
			case Finished:
				return t.val, nil
			case Failed:
				return zero, t.err
			}
			return zero, ErrTimeout
		}
	}
	t.retrieved = true
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
	t.retrieved = true
	return t.val, t.err
}
