package runtime

import "testing"

// TestCaptureBudget: after a capture that took d, the watchdog makes none
// for (captureShare-1)·d, so captures take at most 1/captureShare of a
// core however often steps block.
func TestCaptureBudget(t *testing.T) {
	const ms = int64(1e6)
	var b captureBudget
	if !b.allow(0) {
		t.Fatal("the zero budget refuses the first capture")
	}
	b.spent(100*ms, 195*ms) // 95 ms: 100,000 goroutines
	for _, tc := range []struct {
		now  int64
		want bool
	}{
		{195 * ms, false},
		{1000 * ms, false},
		{195*ms + 19*95*ms - 1, false},
		{195*ms + 19*95*ms, true},
		{5000 * ms, true},
	} {
		if got := b.allow(tc.now); got != tc.want {
			t.Errorf("allow(%d ms) after a 95 ms capture ending at 195 ms = %v, want %v", tc.now/ms, got, tc.want)
		}
	}
	b.spent(5000*ms, 5000*ms+100_000) // 100 µs: a small process
	if got, want := b.allow(5002*ms), true; got != want {
		t.Errorf("allow 2 ms after a 100 µs capture = %v, want %v", got, want)
	}
}
