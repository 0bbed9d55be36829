package runtime

// entry is one item of the ready queue: a task to step or a callback.
type entry struct {
	t  *task
	fn func()
}

// ring is a FIFO of entries that grows by doubling.
type ring struct {
	buf  []entry
	head int
	n    int
}

func (r *ring) len() int { return r.n }

func (r *ring) push(e entry) {
	if r.n == len(r.buf) {
		nb := make([]entry, max(16, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf = nb
		r.head = 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
}

func (r *ring) pop() entry {
	e := r.buf[r.head]
	r.buf[r.head] = entry{}
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
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
