package runtime

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimerHeapOrder adds, re-adds (a timer still in the heap moves),
// removes and fires timers at random and checks that they fire in (when,
// seq) order — ties in the order they were last added — that fireTimers
// runs exactly those due, and that each timer's idx always names its slot.
func TestTimerHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		l := &Loop{}
		type want struct {
			when int64
			seq  int
			tm   *timer
		}
		var live []want
		var fired []*timer
		seq := 0
		check := func() {
			t.Helper()
			for i, s := range l.timers {
				if s.tm.idx != i {
					t.Fatalf("round %d: timer at slot %d has idx %d", round, i, s.tm.idx)
				}
				if p := (i - 1) / 4; i > 0 && s.before(&l.timers[p]) {
					t.Fatalf("round %d: slot %d is before its parent %d", round, i, p)
				}
			}
		}
		sorted := func() {
			slices.SortFunc(live, func(a, b want) int {
				return cmp.Or(cmp.Compare(a.when, b.when), cmp.Compare(a.seq, b.seq))
			})
		}
		for range 2000 {
			switch op := rng.IntN(12); {
			case op < 5: // add, with many equal deadlines
				tm := &timer{idx: -1}
				tm.fn = func() { fired = append(fired, tm) }
				seq++
				w := want{when: rng.Int64N(50), seq: seq, tm: tm}
				l.addTimer(tm, w.when)
				live = append(live, w)
			case op < 7 && len(live) > 0: // re-add one still in the heap
				i := rng.IntN(len(live))
				seq++
				live[i].when, live[i].seq = rng.Int64N(50), seq
				l.addTimer(live[i].tm, live[i].when)
			case op < 8 && len(live) > 0: // fire those due by now
				l.now = rng.Int64N(50)
				sorted()
				n := 0
				for n < len(live) && live[n].when <= l.now {
					n++
				}
				l.fireTimers()
				if got := l.ready.len(); got != n {
					t.Fatalf("round %d: fireTimers at %d queued %d callbacks, want %d", round, l.now, got, n)
				}
				fired = fired[:0]
				for range n {
					l.ready.pop().fn()
				}
				for i, w := range live[:n] {
					if fired[i] != w.tm || w.tm.idx != -1 {
						t.Fatalf("round %d: fired #%d is not the timer due #%d, or it is still in the heap (idx %d)", round, i, i, w.tm.idx)
					}
				}
				live = live[n:]
			case op < 10 && len(live) > 0: // remove one at random
				i := rng.IntN(len(live))
				l.removeTimer(live[i].tm)
				if live[i].tm.idx != -1 {
					t.Fatalf("round %d: removed timer has idx %d", round, live[i].tm.idx)
				}
				live = slices.Delete(live, i, i+1)
			case len(live) > 0: // pop the first
				sorted()
				if got := l.timers[0].tm; got != live[0].tm {
					t.Fatalf("round %d: first timer is %+v, want %+v", round, l.timers[0], live[0])
				}
				l.removeTimer(live[0].tm)
				live = live[1:]
			}
			check()
			if len(l.timers) != len(live) {
				t.Fatalf("round %d: heap holds %d timers, want %d", round, len(l.timers), len(live))
			}
		}
	}
}

// BenchmarkTimerHeap adds 100,000 timers at random deadlines and pops them
// all, as W3 does.
func BenchmarkTimerHeap(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	tms := make([]*timer, w3Tasks)
	for i := range tms {
		tms[i] = &timer{idx: -1}
	}
	l := &Loop{}
	for b.Loop() {
		for _, tm := range tms {
			l.addTimer(tm, rng.Int64N(100e6))
		}
		for len(l.timers) > 0 {
			l.removeTimer(l.timers[0].tm)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*w3Tasks), "ns/timer")
}
