package runtime

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// The await machinery shared by every awaiting function: what a suspended
// task awaits (awaitKind, awaitDesc), the waiter that parks a task on other
// tasks, and the await-cycle check. The APIs live in their own files:
// sleep.go (Sleep, Yield), gather.go (Gather, GatherAll), wait.go (Wait,
// AsCompleted), waitfor.go (WaitFor, Shield), future.go, sync.go, queue.go,
// taskgroup.go and thread.go.
//
// Why the awaiting functions (Sleep, Await, Lock.Lock, Queue.Get...) are
// //go:noinline: park finds the suspension point from return addresses
// (a frame-pointer walk), and with the awaiting function a real frame the
// user's await call is a return address of its own, in the user's frame,
// while the awaiting function stays the frame taskStack keeps on top. If
// one were inlined into the user's function, the user's line would live
// only in the inline tree of a PC inside that frame: found only as long as
// frameCache.expand expands every inlined call of a PC (it must pass
// CallersFrames a PC followed by a 0: the last PC of a slice is expanded
// only to its innermost call, which loses the outer ones). The directives
// keep the stack's shape independent of what the inliner or PGO decides
// (today's inliner would not inline them anyway: they are over its budget).
// The directive is required, not a precaution, on every function that calls
// callerpc (Spawn, SpawnIn, Run, Loop.Run, Loop.Submit, ToThread, NewFuture,
// NewEvent, NewLock, NewSemaphore, NewQueue, NewTaskGroup): callerpc reads
// the return address saved in its caller's frame, so inlined into the
// user's function that caller would record the line of the user's caller.

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
	numAwaitKinds
)

// awaitKindInfo is what the loop knows of one awaitKind.
type awaitKindInfo struct {
	// name is the first word of TaskInfo.Awaiting and WaitInfo.Kind.
	name string
	// external: the wait ends without another task doing anything (a timer
	// fires, a ToThread call returns, a yield is ready at once). Any kind
	// with a timeout is external too (awaitDesc.external).
	external bool
	// resource: the task waits on an awaitable with an id (awaitDesc.rsc).
	resource bool
	// tasks: the task waits on other tasks (awaitDesc.wt).
	tasks bool
	// res is the kind of the awaitable waited on, for resource kinds.
	res resKind
}

// awaitKinds is the one table of await kinds, indexed by awaitKind.
var awaitKinds = [numAwaitKinds]awaitKindInfo{
	awaitNone:        {},
	awaitSleep:       {name: "sleep", external: true},
	awaitYield:       {name: "yield", external: true},
	awaitTask:        {name: "task", tasks: true},
	awaitGather:      {name: "gather", tasks: true},
	awaitWait:        {name: "wait", tasks: true},
	awaitAsCompleted: {name: "as_completed", tasks: true},
	awaitWaitFor:     {name: "wait_for", tasks: true},
	awaitShield:      {name: "shield", tasks: true},
	awaitTaskGroup:   {name: "taskgroup", tasks: true, resource: true, res: resTaskGroup},
	awaitFuture:      {name: "future", resource: true, res: resFuture},
	awaitEvent:       {name: "event", resource: true, res: resEvent},
	awaitLock:        {name: "lock", resource: true, res: resLock},
	awaitSemaphore:   {name: "semaphore", resource: true, res: resSemaphore},
	awaitQueueGet:    {name: "queue.get", resource: true, res: resQueue},
	awaitQueuePut:    {name: "queue.put", resource: true, res: resQueue},
	awaitQueueJoin:   {name: "queue.join", resource: true, res: resQueue},
	awaitThread:      {name: "to_thread", external: true, resource: true, res: resThread},
}

// String returns the kind's name ("sleep", "queue.get"), "" for awaitNone.
func (k awaitKind) String() string { return awaitKinds[k].name }

// awaitDesc describes what a task awaits; published with its record. It
// stays at four words: a struct that size is copied with plain moves (and
// one write barrier), one bigger with typedmemmove, which a handoff
// through a future would pay twice (park, and publishing the step).
type awaitDesc struct {
	kind  awaitKind
	d     int64 // sleep or timeout duration
	until int64 // loop clock deadline, 0 if none
	// ref is the *waiter of the tasks awaited for task-waiting kinds
	// (awaitKindInfo.tasks), else the *resource waited on for resource
	// kinds, else nil: read it with wt and rsc.
	ref unsafe.Pointer
}

// waitTasks describes a wait of kind on the tasks of w.
func waitTasks(kind awaitKind, w *waiter, until int64, d time.Duration) awaitDesc {
	return awaitDesc{kind: kind, d: int64(d), until: until, ref: unsafe.Pointer(w)}
}

// waitRes describes a wait of kind on the awaitable r.
func waitRes(kind awaitKind, r *resource) awaitDesc {
	return awaitDesc{kind: kind, ref: unsafe.Pointer(r)}
}

// wt returns the tasks awaited, nil for kinds that await no tasks.
func (a *awaitDesc) wt() *waiter {
	if awaitKinds[a.kind].tasks {
		return (*waiter)(a.ref)
	}
	return nil
}

// rsc returns the awaitable waited on, nil if none.
func (a *awaitDesc) rsc() *resource {
	k := &awaitKinds[a.kind]
	switch {
	case k.tasks:
		if w := (*waiter)(a.ref); w != nil {
			return w.res
		}
		return nil
	case k.resource:
		return (*resource)(a.ref)
	}
	return nil
}

// awaitAt is one await in progress: what it awaits and since when it has
// waited there (loop clock; 0 until the loop publishes the first
// suspension, which sets it to that step's end: parkAt).
type awaitAt struct {
	awaitDesc
	since int64
}

// info returns the structured description, WaitInfo, of a wait that began
// at since (loop clock).
func (a *awaitDesc) info(l *Loop, since int64) WaitInfo {
	if a.kind == awaitNone {
		return WaitInfo{}
	}
	w := WaitInfo{Kind: a.kind.String(), Since: l.wall(since), External: a.external()}
	if r := a.rsc(); r != nil {
		w.Resource = r.id
	}
	return w
}

// external reports whether the wait can end without another task: see
// awaitKindInfo.external; a timeout makes any wait external.
func (a *awaitDesc) external() bool { return awaitKinds[a.kind].external || a.until > 0 }

// parkAt parks t like park, for one await that may wake and park again
// (a spurious wakeup, a handoff to someone else): at.since, 0 at the
// await's first park, is set from the first publication of the suspension,
// so WaitInfo.Since stays the moment the task began waiting here.
func (t *task) parkAt(at *awaitAt) {
	t.parkSince(at.awaitDesc, at.since)
	if at.since == 0 {
		at.since = t.co.susp.since // written by the loop before this task resumed
	}
}

// text renders the description ("sleep(1s)", "task 7", "gather(3 tasks)").
func (a awaitDesc) text(l *Loop) string {
	w := a.wt()
	switch a.kind {
	case awaitNone:
		return ""
	case awaitSleep:
		return "sleep(" + time.Duration(a.d).String() + ")"
	case awaitTask, awaitShield:
		if w != nil && len(w.ts) == 1 {
			s := "task " + itoa(int(w.ts[0].id))
			if a.kind == awaitShield {
				return "shield(" + s + ")"
			}
			return s
		}
	case awaitWaitFor:
		if w != nil && len(w.ts) == 1 {
			if w.unwinding {
				after := "after " + time.Duration(a.d).String()
				if a.d <= 0 {
					after = "at once (timeout " + time.Duration(a.d).String() + ")"
				}
				return fmt.Sprintf("wait_for(task %d): timed out %s, waiting for it to finish cancelling", w.ts[0].id, after)
			}
			return fmt.Sprintf("wait_for(task %d, %s)", w.ts[0].id, time.Duration(a.d))
		}
	case awaitGather, awaitWait, awaitAsCompleted, awaitTaskGroup:
		if w != nil {
			var b strings.Builder
			b.WriteString(a.kind.String())
			b.WriteString("(")
			b.WriteString(itoa(len(w.ts)))
			b.WriteString(" tasks")
			if a.d > 0 {
				b.WriteString(", timeout ")
				b.WriteString(time.Duration(a.d).String())
			}
			b.WriteString(")")
			return b.String()
		}
	}
	return a.kind.String()
}

// taskIDs returns the ids of the tasks awaited.
func (a awaitDesc) taskIDs() []uint64 {
	w := a.wt()
	if w == nil || len(w.ts) == 0 {
		return nil
	}
	ids := make([]uint64, len(w.ts))
	for i, t := range w.ts {
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
	res       *resource     // the TaskGroup waited on (TaskGroup.Wait)
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

// listen registers w, for cur, on every task of w.ts that has not ended
// and records the ones that have. It first checks each task with
// checkAwaitOne, in the same pass (one walk of the tasks, not two: W1 gathers
// 200,000 of them); on an error it leaves no registration behind.
func (w *waiter) listen(cur *task, op string) error {
	w.t = cur
	w.remaining = len(w.ts)
	for i, x := range w.ts {
		if err := cur.checkAwaitOne(op, x); err != nil {
			w.unlistenFirst(i)
			return err
		}
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
		x.listen(w)
	}
	return nil
}

// unlisten removes w from the tasks still running. When every task w
// counts has ended, each one dropped w as it ended, and there is nothing
// to walk.
func (w *waiter) unlisten() {
	if w.remaining == 0 && w.group == nil && w.notifyCh == nil {
		return
	}
	w.unlistenFirst(len(w.ts))
}

// unlistenFirst removes w from the first n tasks of w.ts still running.
func (w *waiter) unlistenFirst(n int) {
	for _, x := range w.ts[:n] {
		if x.done() {
			continue
		}
		x.dropListener(w)
	}
}

// current returns the task ctx belongs to and checks that it is running.
func current(ctx context.Context, op string) (*task, error) {
	t := taskOf(ctx)
	if t == nil {
		return nil, opErr(op, ErrNotInTask)
	}
	if err := t.checkRunning(op); err != nil {
		return nil, err
	}
	return t, nil
}

// checkAwaitOne verifies that x belongs to cur's loop and that waiting on
// it makes no cycle.
func (cur *task) checkAwaitOne(op string, x *task) error {
	if x.loop != cur.loop {
		return opErr(op+": task "+x.displayName(), ErrWrongLoop)
	}
	if x.done() || !x.started {
		return nil // a task that has not run awaits nothing: no cycle goes through it
	}
	if path := cur.loop.cycle(cur, x); path != nil {
		return opErr(op, cycleErr(path))
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
		if w := from.waiting(); w != nil {
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
	if w := from.waiting(); w != nil {
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
	if err := w.listen(cur, w.kind.String()); err != nil {
		return false, err
	}
	if w.satisfied() {
		return false, nil
	}
	l := cur.loop
	c := cur.co
	prev := c.waitingOn
	c.waitingOn = w
	defer func() {
		c.waitingOn = prev
		w.unlisten()
		if cur.deadlocked {
			l.clearDeadlocks(cur)
		}
	}()
	if deadline > 0 {
		tm := cur.timer()
		l.addTimer(tm, deadline)
		defer l.removeTimer(tm)
	}
	desc := awaitAt{awaitDesc: waitTasks(w.kind, w, deadline, d)}
	if w.res != nil {
		l.resID(w.res)
	}
	if l.grantWaiters > 0 && deadline == 0 {
		// Awaiting a task that waits for a lock may close a deadlock
		// (A holds L and awaits B; B waits for L).
		w.parked = true // as it will be: the check reads it
		l.checkDeadlockAwait(cur, w)
		w.parked = false
	}
	for {
		// A pending cancellation wins, even over tasks that ended meanwhile.
		if cur.cancelPending {
			err := cur.takeCancel()
			if propagate {
				cur.cancelAll(w.ts)
				w.cond = AllCompleted
				for w.remaining > 0 {
					w.parked = true
					cur.parkAt(&desc)
					w.parked = false
					cur.cancelPending = false // already cancelling
				}
			}
			return false, err
		}
		if w.satisfied() {
			return false, nil
		}
		if deadline > 0 && c.tm.idx < 0 { // the timer fired
			return true, nil
		}
		w.parked = true
		cur.parkAt(&desc)
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
