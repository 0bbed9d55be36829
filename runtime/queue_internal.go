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
	when int64 // loop clock ns
	seq  uint64
	idx  int // position in the heap, -1 when not in it
	t    *task
	fn   func()
}

// timerHeap is a binary min-heap on (when, seq).
type timerHeap []*timer

func (h timerHeap) less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// addTimer schedules tm at when.
func (l *Loop) addTimer(tm *timer, when int64) {
	if tm.idx >= 0 {
		l.removeTimer(tm)
	}
	l.timerSeq++
	tm.when = when
	tm.seq = l.timerSeq
	tm.idx = len(l.timers)
	l.timers = append(l.timers, tm)
	l.timers.up(tm.idx)
}

// removeTimer unschedules tm if it is scheduled.
func (l *Loop) removeTimer(tm *timer) {
	i := tm.idx
	if i < 0 {
		return
	}
	h := l.timers
	last := len(h) - 1
	if i != last {
		h.swap(i, last)
	}
	h[last] = nil
	l.timers = h[:last]
	tm.idx = -1
	if i != last {
		l.timers.down(i)
		l.timers.up(i)
	}
}

// fireTimers runs every timer due by l.now.
func (l *Loop) fireTimers() {
	for len(l.timers) > 0 && l.timers[0].when <= l.now {
		tm := l.timers[0]
		l.removeTimer(tm)
		if tm.t != nil {
			l.schedule(tm.t)
		} else if tm.fn != nil {
			l.callSoon(tm.fn)
		}
	}
}
