package runtime

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// Deadlock detection. When a task must wait for a Lock or Semaphore that
// is not free, the loop walks the wait-for graph from what it waits for:
// the holders of that lock or semaphore, what each of them waits for (a
// lock or semaphore held by other tasks, or tasks it awaits), and so on.
// If the walk comes back to the waiting task, the wait closes a cycle that
// nothing inside the loop can break: the loop records a Deadlock, logs it
// once at warning level (at the end of the iteration it formed in, one line
// for the deadlocks of one shape formed there), gives it to an Observer that implements
// DeadlockObserver, and keeps it for Loop.Deadlocks until one of its tasks
// stops waiting (a cancellation, a timeout elsewhere). The wait itself goes
// on as asyncio's would: nothing is cancelled or failed.
//
// A task does not count as stuck when it is ready to run, has a
// cancellation pending, or has a timer (a timeout) that will wake it. A
// task awaiting tasks counts only when its wait ends with all of them
// (Await, Shield, GatherAll, Wait with AllCompleted, TaskGroup.Wait with one
// live child: with more, a failing child aborts the group and cancels the
// rest) or with the one it awaits. A Semaphore counts only when every task holding a
// permit leads back, so a cycle through one of several holders, which the
// others can break by releasing, is not reported; nor is one while a waiter
// that was handed a permit has not resumed yet (it holds one too, and runs).
//
// Cost: nothing on a free lock or permit; a walk of the tasks and
// primitives reachable from the holders (visited once each) when a task
// must actually wait, of at most dlBudget tasks: a check that runs out
// reports nothing (it may miss a deadlock, never invents one), so that n
// tasks queueing for a lock held by a task awaiting k others cost O(n),
// not O(n·k). Only a cycle allocates.

// dlBudget is how many tasks one deadlock check visits at most.
const dlBudget = 4096

// dlEdge is one step of a cycle: t waits for res of kind (nil: for the
// next task).
type dlEdge struct {
	t    *task
	res  *resource
	kind resKind
}

// checkDeadlock looks for a cycle that cur's wait for g closes (loop
// goroutine, in cur's step, before it parks).
func (l *Loop) checkDeadlock(cur *task, g grantor) {
	path := []dlEdge{{cur, g.resource(), g.state().kind}}
	l.dlBudget = dlBudget
	if !l.dlGrantor(g, cur, &path) {
		return
	}
	l.recordDeadlock(path)
}

// checkDeadlockAwait looks for a cycle that cur's wait for the tasks of w
// closes, through a task of w that waits for a lock or semaphore (loop
// goroutine, in cur's step, before it parks).
func (l *Loop) checkDeadlockAwait(cur *task, w *waiter) {
	if !dlEndsWithAll(w) {
		return
	}
	l.dlBudget = dlBudget
	l.gen++
	for _, y := range w.ts {
		if l.dlBudget <= 0 {
			return
		}
		if y.done() || l.waitingGrantor(y) == nil {
			continue
		}
		path := []dlEdge{{cur, nil, resNone}}
		if l.dlTask(y, cur, &path) {
			l.recordDeadlock(path)
			return
		}
	}
}

// dlGrantor reports whether the holders of g lead back to target: its one
// holder (Lock), or every permit holder (Semaphore), appending the cycle
// through the first to path.
func (l *Loop) dlGrantor(g grantor, target *task, path *[]dlEdge) bool {
	hs := g.holders()
	if len(hs) == 0 || g.handedOut() {
		return false // a waiter handed it will run, and may release it
	}
	for i, h := range hs {
		l.gen++
		var p *[]dlEdge
		var scratch []dlEdge
		if i == 0 {
			p = path
		} else {
			p = &scratch
		}
		if !l.dlTask(h, target, p) {
			if i == 0 {
				*path = (*path)[:1]
			}
			return false
		}
	}
	return true
}

// dlTask reports whether h waits, directly or through others, for target,
// appending the edges from h on to path.
func (l *Loop) dlTask(h, target *task, path *[]dlEdge) bool {
	if h == target {
		return true
	}
	if l.dlBudget--; l.dlBudget < 0 {
		return false // out of budget: this path counts as not leading back
	}
	if h.done() || h.cancelPending || h.queued || h.visit == l.gen || h.sleeping() {
		return false
	}
	h.visit = l.gen
	n := len(*path)
	if g := l.waitingGrantor(h); g != nil {
		if g.free() || g.handedOut() {
			// It will be handed what it waits for, or a waiter that was
			// handed it (a holder not in holders) will run and may
			// release it.
			return false
		}
		*path = append(*path, dlEdge{h, g.resource(), g.state().kind})
		hs := g.holders()
		if len(hs) == 1 || isLock(g) {
			if len(hs) == 1 && l.dlTask(hs[0], target, path) {
				return true
			}
			*path = (*path)[:n]
			return false
		}
		// A semaphore with several holders: each must lead back. (A holder
		// visited already in this walk counts as not leading back: the
		// check may miss a deadlock, never report a false one.)
		for i, x := range hs {
			var scratch []dlEdge
			p := &scratch
			if i == 0 {
				p = path
			}
			if !l.dlTask(x, target, p) {
				*path = (*path)[:n]
				return false
			}
		}
		return true
	}
	w := h.waiting()
	if w == nil || !w.parked || w.unwinding || !dlEndsWithAll(w) {
		return false
	}
	for _, y := range w.ts {
		if l.dlBudget <= 0 {
			return false
		}
		if y.done() {
			continue
		}
		*path = append(*path, dlEdge{h, nil, resNone})
		if l.dlTask(y, target, path) {
			return true
		}
		*path = (*path)[:n]
	}
	return false
}

// dlEndsWithAll reports whether the wait w ends only when each of its tasks
// has ended, so that one stuck task keeps it waiting. A TaskGroup.Wait with
// more than one live child does not count: a failing child aborts the group
// and cancels the others, the stuck one included (as FirstException would).
func dlEndsWithAll(w *waiter) bool {
	if w.each || (len(w.ts) > 1 && w.cond != AllCompleted) {
		return false
	}
	if w.kind == awaitTaskGroup {
		live := 0
		for _, y := range w.ts {
			if !y.done() {
				live++
			}
		}
		return live <= 1
	}
	return true
}

// waitingGrantor returns the Lock or Semaphore the parked task h waits
// for, nil if none: read from h's published record (the loop publishes a
// step's end before the next step runs, so in a step every other parked
// task's record is current) and the registry, which lists every primitive
// a task waits on. With recording off (no records), it finds none.
func (l *Loop) waitingGrantor(h *task) grantor {
	s := h.susp()
	if s == nil {
		return nil
	}
	a := &s.await
	r := a.rsc()
	if (a.kind != awaitLock && a.kind != awaitSemaphore) || r == nil {
		return nil
	}
	if d, ok := l.registered(r.id); ok {
		g, _ := d.o.(grantor)
		return g
	}
	return nil
}

func isLock(g grantor) bool {
	_, ok := g.(*Lock)
	return ok
}

// recordDeadlock publishes and reports the cycle path and queues it for
// the log (loop goroutine, in the step of path[0].t, which has not parked
// yet).
func (l *Loop) recordDeadlock(path []dlEdge) {
	d := Deadlock{LoopID: l.id, Loop: l.name, Time: l.wall(l.clock())}
	fc := l.frames
	var here [64]uintptr
	n := fpwalk(here[:], bodyReturn.Load())
	for i, e := range path {
		t := e.t
		t.deadlocked = true
		d.Tasks = append(d.Tasks, t.id)
		d.Names = append(d.Names, t.displayName())
		var id uint64
		kind := "task"
		if e.res != nil {
			id = l.resID(e.res)
			kind = e.kind.String()
		}
		d.Resources = append(d.Resources, id)
		d.Kinds = append(d.Kinds, kind)
		if i == 0 {
			d.At = append(d.At, fc.suspension(here[:n]))
		} else {
			var stk []uintptr
			if s := t.susp(); s != nil {
				stk = s.stk
			}
			d.At = append(d.At, fc.suspension(stk))
		}
	}
	l.mu.Lock()
	l.deadlocks = append(l.deadlocks, d)
	l.mu.Unlock()
	l.dlLog = append(l.dlLog, d)
	if dob, ok := l.obs.(DeadlockObserver); ok && !l.obsFailed {
		func() {
			defer l.recoverObserver("OnDeadlock", "deadlock")
			dob.OnDeadlock(d)
		}()
	}
}

// logDeadlocks logs the deadlocks formed in this iteration (dlLog), one
// line per shape: deadlocks whose tasks wait at the same lines for the same
// kinds (a bug in code many tasks run, 1,000 pairs deadlocked at once) are
// one warning that counts the others, not 1,000 lines. Loop.Deadlocks, the
// Observer and taskdump doctor still have each of them.
func (l *Loop) logDeadlocks() {
	type shape struct {
		first Deadlock
		more  int
	}
	var order []string
	byKey := map[string]*shape{}
	for _, d := range l.dlLog {
		k := d.shape()
		if s := byKey[k]; s != nil {
			s.more++
			continue
		}
		byKey[k] = &shape{first: d}
		order = append(order, k)
	}
	clear(l.dlLog)
	l.dlLog = l.dlLog[:0]
	for _, k := range order {
		s := byKey[k]
		msg := s.first.String()
		if s.more > 0 {
			msg += fmt.Sprintf(" (and %d more like it, at the same lines: Loop.Deadlocks and taskdump doctor list them all)", s.more)
		}
		l.log(slog.LevelWarn, msg, "loop", l.name)
	}
}

// shape identifies what d's tasks wait for and where, whichever task
// closed the cycle: the sorted list of each task's wait kind and line.
func (d Deadlock) shape() string {
	parts := make([]string, len(d.Tasks))
	for i := range d.Tasks {
		var kind string
		var at Frame
		if i < len(d.Kinds) {
			kind = d.Kinds[i]
		}
		if i < len(d.At) {
			at = d.At[i]
		}
		parts[i] = kind + "\x00" + at.Function + "\x00" + at.File + "\x00" + strconv.Itoa(at.Line)
	}
	slices.Sort(parts)
	return strings.Join(parts, "\x01")
}

// maxCycleShown is how many tasks of a cycle String names: a cycle of
// 1,000 tasks would make a line of ~90 KB.
const maxCycleShown = 8

// String describes d in one line: for each task, what it waits for, who
// holds it, and where it waits ("runtime: deadlock: task 3 "a" waits for
// lock 7 (held by task 4 "b") at x.go:12; task 4 "b" waits for ...").
func (d Deadlock) String() string {
	var b strings.Builder
	b.WriteString("runtime: deadlock: ")
	for i, id := range d.Tasks {
		skip := len(d.Tasks) - maxCycleShown
		if skip > 0 && i > maxCycleShown/2 && i < maxCycleShown/2+skip {
			continue
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if skip > 0 && i == maxCycleShown/2 {
			// A long cycle: its first and last few, and how many between.
			s := "s"
			if skip == 1 {
				s = ""
			}
			fmt.Fprintf(&b, "… %d more task%s, each waiting for the next …", skip, s)
			continue
		}
		next := (i + 1) % len(d.Tasks)
		fmt.Fprintf(&b, "task %d %q ", id, d.Names[i])
		if d.Resources[i] != 0 {
			kind := "resource"
			if i < len(d.Kinds) {
				kind = d.Kinds[i]
			}
			fmt.Fprintf(&b, "waits for %s %d (held by task %d %q)", kind, d.Resources[i], d.Tasks[next], d.Names[next])
		} else {
			fmt.Fprintf(&b, "awaits task %d %q", d.Tasks[next], d.Names[next])
		}
		if i < len(d.At) && !d.At[i].IsZero() {
			b.WriteString(" at ")
			b.WriteString(d.At[i].Short())
		}
	}
	return b.String()
}

// clearDeadlocks drops the deadlocks t is in: t stopped waiting (loop
// goroutine).
func (l *Loop) clearDeadlocks(t *task) {
	l.mu.Lock()
	var keep []Deadlock
	var dropped []Deadlock
	for _, d := range l.deadlocks {
		if slices.Contains(d.Tasks, t.id) {
			dropped = append(dropped, d)
		} else {
			keep = append(keep, d)
		}
	}
	l.deadlocks = keep
	l.mu.Unlock()
	t.deadlocked = false
	// The other tasks of a dropped deadlock stay marked only if another
	// deadlock still holds them.
	for _, d := range dropped {
		for _, id := range d.Tasks {
			if id == t.id || l.inDeadlock(keep, id) {
				continue
			}
			if x := l.liveTask(id); x != nil {
				x.deadlocked = false
			}
		}
	}
}

func (l *Loop) inDeadlock(ds []Deadlock, id uint64) bool {
	for _, d := range ds {
		if slices.Contains(d.Tasks, id) {
			return true
		}
	}
	return false
}

// liveTask returns the live task id (loop goroutine).
func (l *Loop) liveTask(id uint64) *task {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.live {
		if t != nil && t.id == id {
			return t
		}
	}
	return nil
}

// Deadlocks returns the deadlocks the loop saw form that still hold (their
// tasks still wait), oldest first. Safe from any goroutine.
func (l *Loop) Deadlocks() []Deadlock {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.deadlocks)
}
