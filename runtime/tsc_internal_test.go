package runtime

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// TestTSCParamsAt: the conversion from counter ticks to the loop clock,
// and its clamp for a counter read before the anchor.
func TestTSCParamsAt(t *testing.T) {
	p := &tscParams{t0: 1000, n0: 5000, mult: 1 << 31} // half a nanosecond per tick
	for _, tc := range []struct {
		tsc  uint64
		want int64
	}{
		{1000, 5000},
		{999, 5000}, // before the anchor (another CPU): never earlier
		{0, 5000},
		{1002, 5001},
		{1000 + 2_000_000_000, 5000 + 1_000_000_000},
		{1000 + 1<<62, 5000 + 1<<61}, // no overflow in the product
	} {
		if got := p.at(tc.tsc); got != tc.want {
			t.Errorf("at(%d) = %d; want %d", tc.tsc, got, tc.want)
		}
	}
}

// TestTSCCalUpdate: the calibration a watchdog tick publishes from a pair
// (counter, monotonic) read then. The counter here ticks 3 times per
// nanosecond.
func TestTSCCalUpdate(t *testing.T) {
	const period = 25 * time.Millisecond
	ms := int64(time.Millisecond)
	pair := func(n int64) tscPair { return tscPair{t: uint64(3 * n), n: n} }
	var c tscCal
	if p := c.update(nil, pair(ms), period); p != nil {
		t.Fatalf("first pair published %+v; want only the baseline", p)
	}
	if p := c.update(nil, pair(ms+ms/2), period); p != nil {
		t.Fatalf("a 0.5 ms baseline published %+v; want none before %d ns", p, tscMinSpan)
	}
	p := c.update(nil, pair(26*ms), period)
	if p == nil {
		t.Fatal("a 25 ms baseline published nothing")
	}
	for _, n := range []int64{26 * ms, 51 * ms, 26*ms + 7} {
		if got := p.at(uint64(3 * n)); got < n-1 || got > n+1 {
			t.Errorf("at the counter of %d ns: %d", n, got)
		}
	}

	t.Run("ahead", func(t *testing.T) {
		// The published clock reads 10 µs ahead at the next tick: it is
		// not stepped back, and it runs slower so as to meet the
		// monotonic clock a period later.
		c := c
		ahead := &tscParams{t0: p.t0, n0: p.n0 + 10_000, mult: p.mult}
		next := c.update(ahead, pair(51*ms), period)
		if got, want := next.at(uint64(3*51*ms)), ahead.at(uint64(3*51*ms)); got != want || want < 51*ms+9_999 {
			t.Errorf("at the tick: %d; want %d (no step back)", got, want)
		}
		if got, want := next.at(uint64(3*76*ms)), 76*ms; got < want-10 || got > want+10 {
			t.Errorf("a period later: %d; want %d", got, want)
		}
	})
	t.Run("far ahead", func(t *testing.T) {
		c := c
		ahead := &tscParams{t0: p.t0, n0: p.n0 + int64(time.Second), mult: p.mult}
		next := c.update(ahead, pair(51*ms), period)
		if got, want := next.at(uint64(3*61*ms))-next.at(uint64(3*51*ms)), 5*ms; got < want-10 || got > want+10 {
			t.Errorf("10 ms later it moved %d ns; want %d (half speed at most)", got, want)
		}
	})
	t.Run("rested", func(t *testing.T) {
		// While the watchdog slept the loop read the monotonic clock, 30
		// ns ahead (rest): the counter is read again from there, as from
		// the latest moment the pair's monotonic reading may have been
		// taken (300 ticks, 100 ns after the middle).
		c := c
		rested := &tscParams{n0: 30}
		p := pair(3600_000 * ms)
		p.w = 300
		next := c.update(rested, p, period)
		if got, want := next.at(uint64(3*3600_000*ms)), 3600_000*ms+30+100; got != want {
			t.Errorf("at the tick: %d; want %d (no step back)", got, want)
		}
		if got, want := next.at(uint64(3*3600_025*ms)), 3600_025*ms; got < want-1 || got > want+1 {
			t.Errorf("a period later: %d; want %d", got, want)
		}
	})
	t.Run("behind", func(t *testing.T) {
		c := c
		behind := &tscParams{t0: p.t0, n0: p.n0 - 10_000, mult: p.mult}
		next := c.update(behind, pair(51*ms), period)
		if got, want := next.at(uint64(3*51*ms)), 51*ms; got != want {
			t.Errorf("at the tick: %d; want %d (stepped forward)", got, want)
		}
	})
	t.Run("rate change", func(t *testing.T) {
		// The counter ticks 4 times per ns from 1 s on: two rebases later
		// the rate is the new one.
		c := c
		var last *tscParams
		for n := 2 * tscRebase; n <= 4*tscRebase+ms; n += int64(period) {
			last = c.update(last, tscPair{t: uint64(3*ms + 4*(n-ms)), n: n}, period)
		}
		n := 4*tscRebase + ms
		if got := last.at(uint64(3*ms+4*(n+ms-ms))) - last.at(uint64(3*ms+4*(n-ms))); got < ms-1000 || got > ms+1000 {
			t.Errorf("a millisecond of the new rate reads %d ns", got)
		}
	})
}

// TestClockTracksMonotonic: once the watchdog has calibrated it, the
// loop's clock reads the counter and stays within a few microseconds of
// the monotonic clock, never stepping back; also with a threshold whose
// quarter is longer than the watchdog's longest tick (maxTick).
func TestClockTracksMonotonic(t *testing.T) {
	if !hasTSC || !tscUsable() {
		t.Skip("the kernel does not keep time with the time-stamp counter here")
	}
	for _, threshold := range []time.Duration{4 * time.Millisecond, 20 * time.Second} {
		t.Run(threshold.String(), func(t *testing.T) {
			l := NewLoop(quiet(), WithSlowStepThreshold(threshold))
			err := l.Run(context.Background(), func(ctx context.Context) error {
				deadline := time.Now().Add(10 * time.Second)
				for l.tsc.Load() == nil {
					if time.Now().After(deadline) {
						return errors.New("the clock was not calibrated in 10 s")
					}
					if err := Sleep(ctx, time.Millisecond); err != nil {
						return err
					}
				}
				for range 50 {
					if err := Sleep(ctx, 10*time.Millisecond); err != nil {
						return err
					}
					var worst int64
					prev := l.clock()
					for range 1000 {
						before := l.monoClock()
						c := l.clock()
						after := l.monoClock()
						if c < prev {
							return fmt.Errorf("the clock stepped back from %d to %d", prev, c)
						}
						prev = c
						worst = max(worst, before-c, c-after)
					}
					if worst > int64(50*time.Microsecond) {
						return fmt.Errorf("the clock was %v away from the monotonic clock", time.Duration(worst))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClockInBubble: in a testing/synctest bubble the loop keeps to the
// fake clock: its watchdog never calibrates the counter.
func TestClockInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLoop(quiet(), WithSlowStepThreshold(4*time.Millisecond))
		start := time.Now()
		err := l.Run(t.Context(), func(ctx context.Context) error {
			for range 100 {
				if err := Sleep(ctx, time.Millisecond); err != nil {
					return err
				}
				if l.tsc.Load() != nil {
					t.Fatal("the counter was calibrated in a bubble")
				}
			}
			if got, want := l.wall(l.clock()), start.Add(100*time.Millisecond); !got.Equal(want) {
				t.Errorf("the loop's clock reads %v; want the fake %v", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
