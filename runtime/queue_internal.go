package runtime

// entry is one item of the ready queue: a task to step or a callback.
type entry struct {
	t  *task
	fn func()
}

// ring is the FIFO of entries: a list of fixed chunks, so that it grows
// without copying what it holds and allocates 16 bytes per entry it has
// ever held at once, not twice or more that (a loop that spawns 200,000
// tasks in one step: 16 B per task, was 40). One emptied chunk is kept for
// reuse.
type ring struct {
	head, tail *ringChunk
	hi, ti     int // next pop in head, next push in tail
	n          int
	spare      *ringChunk
}

// ringChunkN fills a ringChunk to 4,088 bytes: the 4 KiB size class.
const ringChunkN = 255

type ringChunk struct {
	e    [ringChunkN]entry
	next *ringChunk
}

func (r *ring) len() int { return r.n }

func (r *ring) chunk() *ringChunk {
	if c := r.spare; c != nil {
		r.spare = nil
		return c
	}
	return new(ringChunk)
}

func (r *ring) push(e entry) {
	switch {
	case r.tail == nil:
		r.head = r.chunk()
		r.tail = r.head
	case r.ti == ringChunkN:
		c := r.chunk()
		r.tail.next = c
		r.tail, r.ti = c, 0
	}
	r.tail.e[r.ti] = e
	r.ti++
	r.n++
}

// peekTask returns the task k entries after the next pop, if that entry is
// a task; nil otherwise.
func (r *ring) peekTask(k int) *task {
	if k >= r.n {
		return nil
	}
	c, i := r.head, r.hi+k
	for i >= ringChunkN { // past the head chunk: in the next ones
		c, i = c.next, i-ringChunkN
	}
	return c.e[i].t
}

// pop removes the first entry; the ring must not be empty.
func (r *ring) pop() entry {
	if r.hi == ringChunkN {
		c := r.head
		r.head, r.hi = c.next, 0
		c.next = nil
		r.spare = c // every entry of it was cleared as it was popped
	}
	e := r.head.e[r.hi]
	r.head.e[r.hi] = entry{}
	r.hi++
	r.n--
	if r.n == 0 {
		r.hi, r.ti = 0, 0 // head == tail: start it over
	}
	return e
}

// timer is a sleep, a timeout or a CallLater callback.
type timer struct {
	when int64 // loop clock ns, while in the heap
	idx  int   // position in the heap, -1 when not in it
	t    *task
	fn   func()
}

// timerHeap is a 4-ary min-heap on (when, seq) that keeps each timer's keys
// beside its pointer: sifting compares entries in the heap's own array,
// four children to a cache line and a half, and dereferences only the
// timers it moves (to update idx). 100,000 timers: 9 levels, not 17, and
// no pointer chased per comparison (W3).
type timerHeap []timerSlot

type timerSlot struct {
	when int64 // loop clock ns
	seq  uint64
	tm   *timer
}

func (a *timerSlot) before(b *timerSlot) bool {
	return a.when < b.when || a.when == b.when && a.seq < b.seq
}

// up moves the entry at i towards the root until its parent is before it.
func (h timerHeap) up(i int) {
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		h[i].tm.idx = i
		i = p
	}
	h[i] = e
	e.tm.idx = i
}

// down moves the entry at i towards the leaves until it is before each of
// its children.
func (h timerHeap) down(i int) {
	n := len(h)
	e := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k, end := c+1, min(c+4, n); k < end; k++ {
			if h[k].before(&h[m]) {
				m = k
			}
		}
		if !h[m].before(&e) {
			break
		}
		h[i] = h[m]
		h[i].tm.idx = i
		i = m
	}
	h[i] = e
	e.tm.idx = i
}

// addTimer schedules tm at when.
func (l *Loop) addTimer(tm *timer, when int64) {
	if tm.idx >= 0 {
		l.removeTimer(tm)
	}
	l.timerSeq++
	tm.when = when
	if len(l.timers) == cap(l.timers) {
		// Double, as the live list does (link): append grows a large
		// slice by 1.25×, which allocates about five times the final heap
		// over its growth (120 B per timer for 100,000 sleepers, W3).
		h := make(timerHeap, len(l.timers), max(64, 2*cap(l.timers)))
		copy(h, l.timers)
		l.timers = h
	}
	l.timers = append(l.timers, timerSlot{when: when, seq: l.timerSeq, tm: tm})
	l.timers.up(len(l.timers) - 1)
}

// removeTimer unschedules tm if it is scheduled.
func (l *Loop) removeTimer(tm *timer) {
	i := tm.idx
	if i < 0 {
		return
	}
	h := l.timers
	last := len(h) - 1
	tm.idx = -1
	if i != last {
		h[i] = h[last]
	}
	h[last] = timerSlot{}
	l.timers = h[:last]
	if i != last {
		l.timers.down(i)
		l.timers.up(i)
	}
}

// fireTimers runs every timer due by l.now.
func (l *Loop) fireTimers() {
	for len(l.timers) > 0 && l.timers[0].when <= l.now {
		tm := l.timers[0].tm
		l.removeTimer(tm)
		if tm.t != nil {
			l.schedule(tm.t)
		} else if tm.fn != nil {
			l.callSoon(tm.fn)
		}
	}
}
