package runtime

import (
	"math"
	"time"
)

// statsBucket is the length of one bucket of recent busy time. The recent
// window (LoopStats.Window) is the current bucket and the one before it: 4
// to 8 seconds. A task's busy time in a bucket fits a uint32 of ns.
const statsBucket = int64(4 * time.Second)

// loopStats is the loop's recent activity as published (guarded by
// loop.mu). The loop updates it in the locked section it runs anyway at
// each step's start and end, and when it goes idle: a few stores per step,
// no clock reading of its own.
type loopStats struct {
	lastWork               int64 // loop clock
	ready, timers, threads int
	lag                    int64 // moving average of the schedule lag (weight 1/8)
	winStart               int64 // start of the current bucket (loop clock, ≥ 1)
	winGen                 uint32
	busyCur, busyPrev      int64
	ended                  uint64 // tasks retired (LoopStats.Ended): last, as the step touches the others
}

// statsStepLocked records a step's start at now of a task that became
// ready at readyAt (under loop.mu).
func (l *Loop) statsStepLocked(now, readyAt int64) {
	s := &l.stats
	s.lastWork = now
	s.ready = l.ready.len()
	s.timers = len(l.timers)
	s.threads = l.threads.inflight
	if readyAt != 0 {
		s.lag += (max(now-readyAt, 0) - s.lag) / 8
	}
}

// rotateLocked moves the buckets on to the one that holds now.
func (s *loopStats) rotateLocked(now int64) {
	if now-s.winStart < statsBucket && s.winStart != 0 {
		return // the common case: no division
	}
	if s.winStart == 0 {
		s.winStart = 1
	}
	k := (now - s.winStart) / statsBucket
	if k <= 0 {
		return
	}
	if k == 1 {
		s.busyPrev = s.busyCur
	} else {
		s.busyPrev = 0
	}
	s.busyCur = 0
	s.winStart += k * statsBucket
	s.winGen += uint32(min(k, 2))
}

// addBusyLocked adds a step of t that ran busy ns, ending at end, to the
// loop's and t's current buckets (under loop.mu).
func (l *Loop) addBusyLocked(t *task, busy, end int64) {
	s := &l.stats
	s.rotateLocked(end)
	s.busyCur += busy
	w := &t.co.win // t has stepped: it has its coroutine until it is retired
	if w.gen != s.winGen {
		if w.gen+1 == s.winGen {
			w.prev = w.cur
		} else {
			w.prev = 0
		}
		w.cur = 0
		w.gen = s.winGen
	}
	w.cur = uint32(min(int64(w.cur)+busy, math.MaxUint32)) // saturates at 4.29 s
}

// busyWindow is a task's busy time in the loop's two most recent stats
// buckets (the doctor's hog finding). It lives in the task's coroutine
// (coro.win), like its suspension: a task that never ran has none.
type busyWindow struct {
	gen       uint32 // the stats bucket cur belongs to
	cur, prev uint32 // busy ns in bucket gen and in the one before it (< 4.3 s)
}

// statsView is the loop's buckets as seen at one reading.
type statsView struct {
	gen uint32 // the generation of the bucket that holds now
	// cur is the task whose step runs at the reading, and curWin how long
	// that step has run within the window: counted as busy already, for
	// the loop and the task, though the step has not ended.
	cur    *task
	curWin int64
}

// recent returns how long the steps of t ran in the window v sees (under
// loop.mu).
func (v statsView) recent(t *task) time.Duration {
	c := t.co
	if c == nil {
		return 0
	}
	w := &c.win
	var run int64
	if t == v.cur {
		run = v.curWin
	}
	switch v.gen - w.gen {
	case 0:
		return time.Duration(int64(w.cur) + int64(w.prev) + run)
	case 1:
		return time.Duration(int64(w.cur) + run)
	}
	return time.Duration(run)
}

// statsLocked returns the loop's stats at now (under loop.mu).
func (l *Loop) statsLocked(now int64) (LoopStats, statsView) {
	s := l.stats
	if s.winStart == 0 {
		s.winStart = 1
	}
	cur, prev := s.busyCur, s.busyPrev
	gen := s.winGen
	if k := (now - s.winStart) / statsBucket; k > 0 {
		if k == 1 {
			prev = cur
		} else {
			prev = 0
		}
		cur = 0
		gen += uint32(min(k, 2))
		s.winStart += k * statsBucket
	}
	start := max(s.winStart-statsBucket, 1)
	sv := statsView{gen: gen}
	if l.cur != nil {
		// The running step is busy time too: a step that blocks the loop
		// for seconds is the loop at 100%, not idle until it ends.
		sv.cur, sv.curWin = l.cur, max(now-max(l.curStart, start), 0)
	}
	return LoopStats{
		LastWork: l.wall(max(s.lastWork, 0)),
		Ready:    s.ready, Timers: s.timers, Threads: s.threads,
		Pending: int(l.inboxN.Load()),
		Lag:     time.Duration(s.lag),
		Window:  time.Duration(now - start),
		Busy:    time.Duration(min(cur+prev+sv.curWin, now-start)),
		Calls:   l.calls.Load(),
		Ended:   s.ended,
	}, sv
}

// Stats returns the loop's recent activity (as Snapshot's Stats). Safe
// from any goroutine, including while a step blocks the loop.
func (l *Loop) Stats() LoopStats {
	l.mu.Lock()
	st, _ := l.statsLocked(l.clock())
	l.mu.Unlock()
	return st
}

// publishIdle publishes, as the loop goes idle, what changed since its
// last step: primitives, and the counts of timers and ToThread calls.
func (l *Loop) publishIdle() {
	l.mu.Lock()
	if len(l.dirty) > 0 {
		l.publishResLocked()
	}
	s := &l.stats
	s.ready = l.ready.len()
	s.timers = len(l.timers)
	s.threads = l.threads.inflight
	s.lastWork = max(s.lastWork, l.workAt)
	l.mu.Unlock()
}
