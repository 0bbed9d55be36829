package runtime

import (
	"math/bits"
	"time"
)

// The loop's clock (Loop.clock) is read once per step, and the monotonic
// clock (time.Since, ~24 ns here: the vDSO reads the CPU's time-stamp
// counter and scales it) was a seventh of a handoff between two tasks.
// Where the kernel itself keeps time with the time-stamp counter
// (tscTrusted), the loop reads the counter (~9 ns) and scales it with
// parameters its watchdog goroutine calibrates against the monotonic clock
// every tick (calibrate): the two agree to within tens of nanoseconds here
// (TestClockTracksMonotonic allows 50 µs), and the loop's clock never
// steps back. Until the first calibration (2 ms after the loop starts),
// without a watchdog (WithSlowStepThreshold(0), recording off), while the
// watchdog sleeps because the loop idles (rest), in a testing/synctest
// bubble (its fake clock must be what the loop records) and where the
// counter is not trusted, the loop reads the monotonic clock.

// tscParams converts time-stamp counter readings to loop-clock readings
// (nanoseconds since the loop's epoch, plus one): n0 at counter t0, mult
// nanoseconds per tick times 2^32. With mult 0 the clock is the monotonic
// one plus n0 instead (the watchdog sleeps: rest). Immutable once
// published (Loop.tsc).
type tscParams struct {
	t0   uint64
	n0   int64
	mult uint64
}

// at returns the loop-clock reading at counter tsc. A counter read before
// t0 (on another CPU, a hair behind) reads n0: the clock never steps back.
func (p *tscParams) at(tsc uint64) int64 {
	if tsc <= p.t0 {
		return p.n0
	}
	hi, lo := bits.Mul64(tsc-p.t0, p.mult)
	return p.n0 + int64(hi<<32|lo>>32)
}

// tscPair is a counter reading and the monotonic loop-clock reading taken
// with it: n was read between counter readings t-w and t+w.
type tscPair struct {
	t, w uint64
	n    int64
}

// tscCal is a loop's calibration state, kept by its watchdog goroutine.
// The zero value has not begun.
type tscCal struct {
	off       bool    // the counter is not used for this loop (a synctest bubble, or not trusted)
	base, mid tscPair // the rate is measured from base; mid becomes base every tscRebase
	checked   int64   // when tscTrusted was last asked (loop clock)
}

const (
	// tscMinSpan is the shortest baseline a rate is measured over: the
	// two readings of a pair are a few tens of nanoseconds apart, so the
	// first rate is within 1e-4 (100 ns per millisecond, made good at the
	// next tick) and each tick's baseline is longer.
	tscMinSpan = int64(time.Millisecond)
	// tscFirst is when the watchdog calibrates first, before its ticks.
	tscFirst = 2 * time.Millisecond
	// tscRebase is how often the baseline moves on, so that a change of
	// the counter's rate (a virtual machine moved to another host) is
	// followed within two of them.
	tscRebase = int64(8 * time.Second)
	// tscRecheck is how often the kernel's clock source is looked at again.
	tscRecheck = int64(time.Second)
)

// monoClock reads the loop's clock from the monotonic clock.
func (l *Loop) monoClock() int64 { return int64(time.Since(l.epoch)) + 1 }

// calibrate is the watchdog's work on the loop's clock, every tick
// (period apart): it measures the counter's rate against the monotonic
// clock and publishes new parameters anchored at this reading. A clock
// that runs ahead of the monotonic one is not stepped back: it runs slower
// until the next tick instead, by what it is ahead (at most half speed).
// One that runs behind steps forward.
func (l *Loop) calibrate(c *tscCal, period time.Duration) {
	if c.off {
		return
	}
	if c.base.t == 0 {
		if !hasTSC || !tscUsable() || inBubble() {
			c.off = true
			return
		}
	}
	p, ok := l.readPair()
	if !ok {
		return
	}
	if p.n-c.checked >= tscRecheck {
		c.checked = p.n
		if !tscTrusted() {
			// The kernel gave the counter up (it found it unstable): so
			// does the loop, stepping back by what the two clocks
			// differed, a microsecond or so.
			c.off = true
			l.tsc.Store(nil)
			return
		}
	}
	if next := c.update(l.tsc.Load(), p, period); next != nil {
		l.tsc.Store(next)
	}
}

// update takes the pair p, read a tick (period) after the last, and
// returns the parameters to publish (nil: keep old, whose clock is read at
// old.at). It needs a baseline of tscMinSpan first.
func (c *tscCal) update(old *tscParams, p tscPair, period time.Duration) *tscParams {
	if c.base.t == 0 {
		c.base, c.mid = p, p
		return nil
	}
	if p.n-c.mid.n >= tscRebase {
		c.base, c.mid = c.mid, p
	}
	span := p.n - c.base.n
	if span < tscMinSpan || p.t <= c.base.t {
		return nil
	}
	rate := float64(span) / float64(p.t-c.base.t) // ns per tick
	next := &tscParams{t0: p.t, n0: p.n}
	if old != nil {
		cur := old.at(p.t)
		if old.mult == 0 {
			// The monotonic clock plus n0 (rest) read n+n0 at most w
			// ticks after t: so much more keeps it from stepping back.
			cur = p.n + old.n0 + int64(float64(p.w)*rate)
		}
		if cur > p.n {
			next.n0 = cur
			rate *= max(0.5, 1-float64(cur-p.n)/float64(period))
		}
	}
	next.mult = uint64(rate * (1 << 32))
	return next
}

// rest has the loop read the monotonic clock while its watchdog sleeps
// (watchdog.sleep) and nothing calibrates the counter: a rate extrapolated
// over an idle hour could be milliseconds off, where the monotonic clock
// cannot be. The clock goes on from where the counter's reading left it
// (what it was ahead of the monotonic clock is kept as an offset): it does
// not step back. The next calibration (c's baseline spans the rest) has
// the loop read the counter again.
func (l *Loop) rest() {
	old := l.tsc.Load()
	if old == nil || old.mult == 0 {
		return
	}
	n := l.monoClock()
	ahead := old.at(rdtsc()) - n // read after n: never less than the clock was
	l.tsc.Store(&tscParams{n0: max(ahead, 0)})
}

// readPair reads the counter and the monotonic clock together: the
// counter's reading is the middle of two around the monotonic one, given
// up if they are far apart (the goroutine was preempted between them).
func (l *Loop) readPair() (tscPair, bool) {
	for range 3 {
		t1 := rdtsc()
		n := l.monoClock()
		t2 := rdtsc()
		if t2 > t1 && t2-t1 < 1<<14 {
			return tscPair{t: t1 + (t2-t1)/2, w: (t2 - t1) / 2, n: n}, true
		}
	}
	return tscPair{}, false
}

// inBubble reports whether the calling goroutine runs in a
// testing/synctest bubble, whose fake clock does not move while code runs:
// the time before and after a spin of a few thousand counter ticks (about
// a microsecond) is the same there, and never elsewhere (the kernel's clock
// source is the counter, with nanosecond resolution, when this is asked).
func inBubble() bool {
	before := time.Now()
	for t0 := rdtsc(); ; {
		if d := rdtsc() - t0; d >= 1<<12 && d < 1<<62 { // (a counter a hair behind on another CPU: spin on)
			break
		}
	}
	return !time.Now().After(before)
}
