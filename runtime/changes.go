package runtime

import "time"

// The change list: each loop numbers the changes it publishes to task
// records (a step starts or ends, a task appears, is asked to cancel, or
// ends) with a sequence number, and keeps its live tasks in a doubly linked
// list ordered by the number of their last change, so "what changed since
// N" is a walk from the list's tail that stops at the first task not
// changed since N: it costs what changed, not how many tasks there are.
// Ended tasks go to a bounded ring. Everything here is guarded by loop.mu.
//
// A loop nobody has walked this way keeps nothing: the list is built from
// the live tasks by the first EachTaskSince (once, O(tasks)), and kept from
// then on. A program without an agent pays one branch per change.

// endedRingSize is how many ended tasks the loop remembers for
// EachTaskSince: a reader that falls further behind is told (Lost) and
// takes a full picture instead.
const endedRingSize = 8192

// change is a task's place in its loop's change list.
type change struct {
	seq  uint64 // the loop's sequence number at the task's last change
	born uint64 // at its creation
	prev *task  // changed before it
	next *task  // changed after it
}

// changeLog is a loop's change list and ring of ended tasks.
type changeLog struct {
	on         bool // someone walks it: keep the list and the ring
	seq        uint64
	head, tail *task // least and most recently changed live tasks
	// ring holds the last ended tasks, allocated by the first
	// EachTaskSince; lost is the sequence number of the newest change the
	// ring does not cover (an ended task overwritten, or its allocation).
	ring     []endedEntry
	ringNext int
	lost     uint64
	lastN    int // the number of tasks the last walk copied: a size hint
}

type endedEntry struct {
	t   *task
	seq uint64
}

// changedLocked records a change to t's published record: t gets the next
// sequence number and moves to the list's tail. O(1), a few stores.
func (l *Loop) changedLocked(t *task) {
	c := &l.chg
	if !c.on {
		return
	}
	c.seq++
	tc := &t.chg
	tc.seq = c.seq
	if c.tail == t {
		return
	}
	c.unlink(t)
	tc.prev = c.tail
	if c.tail != nil {
		c.tail.chg.next = t
	} else {
		c.head = t
	}
	c.tail = t
}

// bornLocked records t's creation (link).
func (l *Loop) bornLocked(t *task) {
	l.changedLocked(t)
	t.chg.born = t.chg.seq
}

// endedLocked records t's end (retireLocked): it leaves the list and, when
// someone watches, enters the ring.
func (l *Loop) endedLocked(t *task) {
	c := &l.chg
	if !c.on {
		return
	}
	c.seq++
	c.unlink(t)
	t.chg.seq = c.seq
	e := &c.ring[c.ringNext]
	if e.t != nil {
		c.lost = e.seq
	}
	*e = endedEntry{t: t, seq: c.seq}
	c.ringNext++
	if c.ringNext == len(c.ring) {
		c.ringNext = 0
	}
}

// startChangesLocked starts keeping the change list: every live task
// enters it with the current sequence number (so a walk since it visits
// none), and the ring starts empty.
func (l *Loop) startChangesLocked() {
	c := &l.chg
	c.on = true
	c.seq++
	c.ring = make([]endedEntry, endedRingSize)
	c.lost = c.seq
	for _, t := range l.live {
		if t == nil {
			continue
		}
		t.chg = change{seq: c.seq, born: c.seq, prev: c.tail}
		if c.tail != nil {
			c.tail.chg.next = t
		} else {
			c.head = t
		}
		c.tail = t
	}
}

// unlink takes t out of the list, if it is in it.
func (c *changeLog) unlink(t *task) {
	tc := &t.chg
	if tc.prev != nil {
		tc.prev.chg.next = tc.next
	} else if c.head == t {
		c.head = tc.next
	}
	if tc.next != nil {
		tc.next.chg.prev = tc.prev
	} else if c.tail == t {
		c.tail = tc.prev
	}
	tc.prev, tc.next = nil, nil
}

// TaskEnd is a task that ended, as Changes lists it.
type TaskEnd struct {
	ID       uint64
	Name     string
	State    State // Finished, Failed or Cancelled
	Finished time.Time
	Error    string // for Failed and Cancelled
}

// Changes is what EachTaskSince found: the loop's header (as a snapshot's,
// without Tasks), the sequence number to pass to the next call, and the
// tasks that ended since.
type Changes struct {
	LoopSnapshot
	// Seq is the loop's change sequence number at the walk: everything up
	// to it has been reported. Pass it to the next EachTaskSince.
	Seq uint64
	// Live is the number of live tasks.
	Live int
	// Ended are the tasks that ended after the since the call was given
	// (and up to Seq), in the order they ended.
	Ended []TaskEnd
	// Lost is set when more tasks ended than the loop remembers (8192)
	// since the call's since, or since is not a number this loop gave:
	// Ended is then incomplete and the caller should start over from a
	// full walk (since 0).
	Lost bool
}

// EachTaskSince calls fn with the record of each live task whose record
// changed after the change sequence number since (a step started or ended,
// it appeared, or a cancel was asked of it), oldest change first, until fn
// returns false; isNew says the task appeared after since. since 0 visits
// every live task, in creation order. It returns the loop's header, the
// sequence number to pass next time, and the tasks that ended after since.
//
// Time alone changes nothing: a task parked at an await for an hour is not
// visited again (its Idle grows from Suspended). The task whose step runs
// is visited at every walk: its Busy counts the step so far. ti is reused between calls,
// as in EachTask. Safe from any goroutine, including while a step blocks
// the loop; fn holds no lock of the loop's and may call its other methods.
//
// Cost: the loop pauses while the changed records are copied (about 70 ns
// each, as Snapshot's); a loop where nothing changed pauses for a few
// loads whatever its number of tasks, so a quiet loop of 100,000 idle tasks
// costs almost nothing to watch. The first call also builds the change
// list (the loop pauses about as long as for a Snapshot's copy); from then
// on, keeping it costs the loop a few stores per change.
func (l *Loop) EachTaskSince(since uint64, opts SnapshotOptions, fn func(ti *TaskInfo, isNew bool) bool) Changes {
	l.mu.Lock()
	hint := l.chg.lastN
	if since == 0 {
		hint = l.nlive
	}
	l.mu.Unlock()
	raws := l.getRaws(hint + hint/8 + 16)
	defer func() { l.putRaws(raws) }()
	var borns []uint64 // of raws, when since > 0
	if since != 0 {
		borns = make([]uint64, 0, cap(raws))
	}
	var ended []*task
	var ch Changes

	l.mu.Lock()
	now := l.clock()
	c := &l.chg
	if !c.on {
		l.startChangesLocked()
	}
	ch.Seq = c.seq
	ch.Live = l.nlive
	var sv statsView
	ch.LoopSnapshot, sv = l.headerLocked(now)
	if since == 0 {
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
			raws = append(raws, l.rawLocked(t, st, now, sv))
		}
	} else {
		if since < c.lost || since > c.seq {
			ch.Lost = true
		}
		for t := c.tail; t != nil && t.chg.seq > since; t = t.chg.prev {
			st := State(t.state.Load())
			if st.Done() {
				continue // ended; reported once retired
			}
			raws = append(raws, l.rawLocked(t, st, now, sv))
			borns = append(borns, t.chg.born)
		}
		if t := l.cur; t != nil && t.chg.seq <= since && !State(t.state.Load()).Done() {
			// A running step changes its task's busy time every moment:
			// the task is visited at every walk while it runs.
			raws = append(raws, l.rawLocked(t, State(t.state.Load()), now, sv))
			borns = append(borns, t.chg.born)
		}
		// The ring, newest first, back to since.
		for i, n := 0, len(c.ring); i < n; i++ {
			e := c.ring[(c.ringNext-1-i+2*n)%n]
			if e.t == nil || e.seq <= since {
				break
			}
			ended = append(ended, e.t)
		}
	}
	c.lastN = len(raws)
	l.mu.Unlock()

	if since != 0 {
		// Oldest change first.
		for i, j := 0, len(raws)-1; i < j; i, j = i+1, j-1 {
			raws[i], raws[j] = raws[j], raws[i]
			borns[i], borns[j] = borns[j], borns[i]
		}
	}
	for i := len(ended) - 1; i >= 0; i-- {
		t := ended[i]
		e := TaskEnd{ID: t.id, Name: t.displayName(), State: State(t.state.Load()), Finished: l.wall(t.endTime)}
		if e.State == Failed || e.State == Cancelled {
			e.Error = t.errText()
		}
		ch.Ended = append(ch.Ended, e)
	}
	var sc stackCache
	if opts.Stacks {
		sc = make(stackCache)
	}
	var ti TaskInfo
	for i := range raws {
		isNew := since == 0 || borns[i] > since
		l.infoLocked(&ti, &raws[i], sc)
		if !fn(&ti, isNew) {
			break
		}
	}
	return ch
}

// headerLocked returns the loop's snapshot header at now: who runs, the
// ongoing block, the stats, and the view of the stats its tasks' shares
// are read against (under loop.mu).
func (l *Loop) headerLocked(now int64) (LoopSnapshot, statsView) {
	snap := LoopSnapshot{ID: l.id, Name: l.name, Started: l.started, Taken: l.wall(now)}
	var sv statsView
	snap.Stats, sv = l.statsLocked(now)
	if l.cur != nil {
		snap.Current = l.cur.id
		snap.CurrentFor = time.Duration(now - l.curStart)
	}
	if l.ongoing != nil {
		ev := *l.ongoing
		ev.Duration = time.Duration(now - l.curStart)
		snap.Blocking = &ev
	}
	return snap, sv
}
