package runtime

import (
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// TaskInfo is a copy of one task's record, as a snapshot or the history
// holds it.
type TaskInfo struct {
	ID       uint64
	ParentID uint64 // 0 when the task has no parent task
	Name     string
	LoopID   uint64
	Loop     string
	State    State
	Running  bool   // its step is executing now
	Function string // the task function's full name
	// SpawnedAt is where Spawn was called; SuspendedAt is the user's await
	// call where the task is suspended (zero before its first step or while
	// it runs).
	SpawnedAt   Frame
	SuspendedAt Frame
	// ResumedFrom is, for a task whose step runs now, the await call that
	// step resumed from: where in its code it runs (zero on its first
	// step, and for a task that does not run).
	ResumedFrom Frame
	// Awaiting says what the task waits for ("sleep(1s)", "task 7",
	// "queue.get"); Awaits lists the ids of the tasks it waits on.
	Awaiting string
	Awaits   []uint64
	// Wait says, structured, what the task waits for and since when.
	Wait WaitInfo
	// Until is when a sleep or timeout the task waits on ends (zero if none).
	Until     time.Time
	Created   time.Time
	Started   time.Time // zero before the first step
	Suspended time.Time // when it last suspended
	Steps     uint64
	Busy      time.Duration // running
	SchedWait time.Duration // ready but not yet running: the loop's lag
	Idle      time.Duration // suspended, waiting for what it awaits
	// RecentBusy is how long its steps ran in the loop's recent window
	// (LoopStats.Window): its share of the loop is RecentBusy/Stats.Busy.
	RecentBusy time.Duration
	CancelMsg  string
	CancelBy   string
	// CancelRequested is when the first cancel request the task has not
	// yet ended from was made (zero if none); CancelAt is the user's await
	// call where the cancellation was delivered to it (zero until then):
	// a task still running long after is where it swallowed it.
	CancelRequested time.Time
	CancelAt        Frame
	// Retrieved is set, for a failed task of the history, when its error
	// was taken (Await, Result, Gather, a TaskGroup...): one failed and
	// never retrieved is an error nobody will see.
	Retrieved bool
	// Stack is the suspension stack, innermost first, when asked for: the
	// awaiting function the user called on top (Sleep, (*Task).Await), then
	// the user's frames down to the task's function, each frame with its
	// Kind; the frames of how it parks and the coroutine plumbing under the
	// task's function are left out. Live stacks (TaskStack) and blocking
	// stacks (BlockEvent.Stack) have the same shape. Tasks suspended at the
	// same place share one slice: do not modify it.
	Stack []Frame
	// Finished and Error are set for ended tasks (history).
	Finished time.Time
	Error    string
}

// LoopSnapshot is a consistent copy of one loop's tasks at one moment.
type LoopSnapshot struct {
	ID      uint64
	Name    string
	Started time.Time
	Taken   time.Time
	// Current is the task whose step is running, 0 if none; CurrentFor is how
	// long that step has run so far.
	Current    uint64
	CurrentFor time.Duration
	Tasks      []TaskInfo // live tasks in creation order
	// Blocking is the ongoing blocking event, if a step is blocking now.
	Blocking *BlockEvent
	// Stats is the loop's recent activity.
	Stats LoopStats
}

// SnapshotOptions says what a snapshot includes.
type SnapshotOptions struct {
	// Stacks fills TaskInfo.Stack for every task (a few µs per task more).
	Stacks bool
}

// rawTask is what the snapshot copies under the lock; resolution of PCs to
// frames happens after the lock is released.
type rawTask struct {
	t     *task
	state State
	rec   record // stk points into the snapshot's arena
	run   bool
	// runFor is how long its step has run so far, when run: its busy
	// time counts it (rawLocked).
	runFor int64
	// recent is the task's busy time in the loop's recent window.
	recent time.Duration
}

// snapshotRaw copies the live tasks under the lock: the loop's only pause.
func (l *Loop) snapshotRaw() ([]rawTask, LoopSnapshot, time.Duration) {
	// Allocate outside the lock: the loop must not wait for the allocator
	// (or a GC assist it triggers).
	l.mu.Lock()
	n := l.nlive
	l.mu.Unlock()
	n += n/8 + 16
	raws := l.getRaws(n)
	l.mu.Lock()
	now := l.clock()
	t0 := now
	snap, sv := l.headerLocked(now)
	live := l.live
	for i, t := range live {
		prefetchRecords(live, i)
		if t == nil {
			continue
		}
		st := State(t.state.Load())
		if st.Done() {
			continue // ended; retired at the loop's next step
		}
		// Published stacks are immutable: sharing the slice is safe.
		raws = append(raws, l.rawLocked(t, st, now, sv))
	}
	// Await texts read waiter lists, which are immutable once published.
	held := time.Duration(l.clock() - t0)
	l.mu.Unlock()
	return raws, snap, held
}

// rawLocked copies t's record for a reader at now (under loop.mu), with
// its share of the window sv sees. A task whose step runs has its busy time
// so far counted: a step that blocks the loop for seconds is that long
// busy while it runs, not 0 until it ends.
func (l *Loop) rawLocked(t *task, st State, now int64, sv statsView) rawTask {
	r := rawTask{t: t, state: st, rec: t.recordLocked(), recent: sv.recent(t)}
	if t == l.cur {
		r.run, r.runFor = true, now-l.curStart
	}
	return r
}

// Prefetch distances of prefetchRecords, in entries of the live list.
const (
	prefetchTaskAhead = 16
	prefetchCoroAhead = 8
)

// prefetchRecords asks the CPU to load, while the copy of live[i] goes on,
// the record of the task prefetchTaskAhead entries ahead and the coroutine
// (its suspension) of the one prefetchCoroAhead ahead, whose record was
// asked for earlier: a snapshot's pause is its memory traffic (100,000
// records, two places each, far more than the caches hold).
func prefetchRecords(live []*task, i int) {
	if j := i + prefetchTaskAhead; j < len(live) && live[j] != nil {
		prefetch(uintptr(unsafe.Pointer(live[j])))
	}
	if j := i + prefetchCoroAhead; j < len(live) && live[j] != nil {
		if c := live[j].co; c != nil {
			prefetch(uintptr(unsafe.Pointer(&c.susp)))
		}
	}
}

// Snapshot returns a consistent copy of the loop's live tasks. Safe from
// any goroutine at any moment, including while a task blocks the loop: it
// never waits for the loop to yield. The loop pauses only while the raw
// records are copied (about 70 ns per task: 7 ms for 100,000); frames are
// resolved after, outside the lock.
func (l *Loop) Snapshot(opts ...SnapshotOptions) LoopSnapshot {
	var o SnapshotOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	var tasks []TaskInfo
	snap := l.walk(o, func(n int) { tasks = make([]TaskInfo, 0, n) }, func(ti *TaskInfo) bool {
		tasks = append(tasks, *ti)
		return true
	})
	snap.Tasks = tasks
	return snap
}

// EachTask takes the same consistent copy as Snapshot and calls fn with
// each live task's record, in creation order, until fn returns false. ti is
// reused between calls: copy what you keep (Stack and Awaits may be kept).
// It returns the snapshot's header, with no Tasks. Unlike Snapshot it
// allocates almost nothing per task, so polling a process with many tasks
// makes little garbage (and so few GC cycles, which must scan every
// suspended task's stack). Safe from any goroutine, like Snapshot; fn holds
// no lock of the loop's and may call its other methods (Task, Resources...).
func (l *Loop) EachTask(opts SnapshotOptions, fn func(ti *TaskInfo) bool) LoopSnapshot {
	return l.walk(opts, nil, fn)
}

// walk copies the raw records (the loop's only pause), calls start with
// their number, then resolves each into one reused TaskInfo for fn.
func (l *Loop) walk(opts SnapshotOptions, start func(n int), fn func(ti *TaskInfo) bool) LoopSnapshot {
	raws, snap, _ := l.snapshotRaw()
	defer l.putRaws(raws)
	if start != nil {
		start(len(raws))
	}
	var sc stackCache
	if opts.Stacks {
		sc = make(stackCache)
	}
	var ti TaskInfo
	for i := range raws {
		l.infoLocked(&ti, &raws[i], sc)
		if !fn(&ti) {
			break
		}
	}
	return snap
}

// infoLocked is info with the reader frame cache locked around it only, so
// that fn, called after, may call the loop's other readers (Task,
// Snapshot...) and a slow fn does not stall them.
func (l *Loop) infoLocked(ti *TaskInfo, r *rawTask, sc stackCache) {
	fc := l.readerFrames()
	defer l.rfcMu.Unlock()
	l.info(ti, r, fc, sc)
}

// getRaws returns an empty buffer for at least n raw records, reusing the
// last snapshot's when it is big enough; its pages are touched here, not
// under the lock.
func (l *Loop) getRaws(n int) []rawTask {
	if p, ok := l.rawPool.Get().(*[]rawTask); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	raws := make([]rawTask, n)
	clear(raws)
	return raws[:0]
}

// putRaws keeps a snapshot's buffer for the next one, without the pointers
// it held.
func (l *Loop) putRaws(raws []rawTask) {
	clear(raws)
	l.rawPool.Put(&raws)
}

// readerFrames locks and returns the loop's frame cache for readers: PCs
// resolve once per loop, not once per snapshot. The caller unlocks rfcMu.
func (l *Loop) readerFrames() frameCache {
	l.rfcMu.Lock()
	if l.rfc == nil || len(l.rfc) > 1<<16 {
		l.rfc = make(frameCache)
	}
	return l.rfc
}

// stackCache shares the resolved stack of tasks suspended at the same
// sequence of PCs (100,000 tasks parked at one await resolve once).
type stackCache map[string][]Frame

func (sc stackCache) get(fc frameCache, pcs []uintptr) []Frame {
	if len(pcs) == 0 {
		return nil
	}
	key := unsafe.String((*byte)(unsafe.Pointer(&pcs[0])), len(pcs)*int(unsafe.Sizeof(pcs[0])))
	if st, ok := sc[key]; ok {
		return st
	}
	raw := fc.stack(pcs)
	st := cutIfFull(taskStack(raw), raw, len(pcs), maxStackPCs)
	sc[strings.Clone(key)] = st
	return st
}

// info fills ti from a raw record; with sc non-nil it resolves the full
// stack too (shared between tasks with the same stack: do not modify).
func (l *Loop) info(ti *TaskInfo, r *rawTask, fc frameCache, sc stackCache) {
	t := r.t
	rec := &r.rec
	*ti = TaskInfo{
		ID: t.id, ParentID: t.parentID, Name: t.displayName(), LoopID: l.id, Loop: l.name,
		State: r.state, Running: r.run,
		Function:  fc.funcFrame(t.fnPC).Function,
		SpawnedAt: fc.frame(t.spawnPC),
		Created:   l.wall(t.created), Started: l.wall(rec.started),
		Steps: rec.steps, Busy: time.Duration(rec.busy + r.runFor), SchedWait: time.Duration(rec.schedWait),
		Idle:      time.Duration(rec.idle),
		CancelMsg: rec.cancel.message(), CancelBy: rec.cancel.requester(),
		RecentBusy: r.recent,
	}
	if c := rec.cancel; c != nil && r.state == Cancelling {
		ti.CancelRequested = l.wall(c.at)
		ti.CancelAt = fc.suspension(c.stk)
	}
	if r.run && ti.State == Pending {
		ti.State = Running
	}
	if r.run && len(rec.stk) > 0 {
		ti.ResumedFrom = fc.suspension(rec.stk)
	}
	if rec.started != 0 && !r.run && !ti.State.Done() {
		ti.Suspended = l.wall(rec.suspended)
		ti.SuspendedAt = fc.suspension(rec.stk)
		ti.Awaiting = rec.await.text(l)
		ti.Awaits = rec.await.taskIDs()
		ti.Wait = rec.await.info(l, rec.since)
		if rec.await.until > 0 {
			ti.Until = l.wall(rec.await.until)
		}
		if sc != nil {
			ti.Stack = sc.get(fc, rec.stk)
		}
	}
}

// Task returns the record of the live task id, with its full stack.
func (l *Loop) Task(id uint64) (TaskInfo, bool) {
	l.mu.Lock()
	var r rawTask
	found := false
	for _, t := range l.live {
		if t == nil {
			continue
		}
		if t.id == id {
			now := l.clock()
			_, sv := l.statsLocked(now)
			r = l.rawLocked(t, State(t.state.Load()), now, sv)
			found = true
			break
		}
	}
	l.mu.Unlock()
	if !found {
		return TaskInfo{}, false
	}
	var ti TaskInfo
	fc := l.readerFrames()
	defer l.rfcMu.Unlock()
	l.info(&ti, &r, fc, make(stackCache))
	return ti, true
}

// TaskStack returns the stack of the live task id, innermost first: the
// suspension stack if it is suspended, or the live stack of the goroutine
// running it if its step is executing now (that capture stops the world
// briefly, as runtime.Stack does).
func (l *Loop) TaskStack(id uint64) ([]Frame, error) {
	l.mu.Lock()
	var running, found *task
	for _, t := range l.live {
		if t == nil {
			continue
		}
		if t.id == id {
			found = t
			if t == l.cur {
				running = t
			}
			break
		}
	}
	l.mu.Unlock()
	if found == nil {
		return nil, fmt.Errorf("runtime: no live task %d in loop %s", id, l.name)
	}
	if running != nil {
		if st := liveStack(running); st != nil {
			return st, nil
		}
	}
	ti, ok := l.Task(id)
	if !ok {
		return nil, fmt.Errorf("runtime: no live task %d in loop %s", id, l.name)
	}
	return ti.Stack, nil
}

// History returns the most recently finished tasks of the loop, oldest
// first, with how each ended (at most WithHistorySize).
func (l *Loop) History() []TaskInfo {
	l.mu.Lock()
	var ts []*task
	var recs []record
	if l.histFull {
		ts = append(ts, l.history[l.histNext:]...)
	}
	ts = append(ts, l.history[:l.histNext]...)
	recs = make([]record, len(ts))
	ends := make([]int64, len(ts))
	for i, t := range ts {
		recs[i] = record{pubRecord: t.pub} // an ended task has no suspension
		ends[i] = t.endTime
	}
	l.mu.Unlock()
	fc := l.readerFrames()
	defer l.rfcMu.Unlock()
	out := make([]TaskInfo, len(ts))
	for i, t := range ts {
		r := rawTask{t: t, state: State(t.state.Load()), rec: recs[i]}
		l.info(&out[i], &r, fc, nil)
		out[i].Finished = l.wall(ends[i])
		if out[i].State == Failed || out[i].State == Cancelled {
			out[i].Error = t.errText()
		}
		out[i].Retrieved = out[i].State == Failed && t.retrievedOut.Load()
	}
	return out
}

// CancelTask requests cancellation of the live task id with a message and
// who asked (shown by taskdump). It is safe from any goroutine and does not
// wait: the loop delivers the cancel when it regains control. It reports an
// error if there is no such live task.
func (l *Loop) CancelTask(id uint64, msg, by string) error {
	l.mu.Lock()
	var target *task
	for _, t := range l.live {
		if t == nil {
			continue
		}
		if t.id == id {
			target = t
			break
		}
	}
	l.mu.Unlock()
	if target == nil {
		return fmt.Errorf("runtime: no live task %d in loop %s", id, l.name)
	}
	if !target.requestCancel(msg, by) {
		return fmt.Errorf("runtime: task %d already finished", id)
	}
	return nil
}

// Snapshot returns a snapshot of every running loop in the process.
func Snapshot(opts ...SnapshotOptions) []LoopSnapshot {
	loops := Loops()
	out := make([]LoopSnapshot, len(loops))
	for i, l := range loops {
		out[i] = l.Snapshot(opts...)
	}
	return out
}
