package runtime

import (
	goruntime "runtime"
	"testing"
)

// TestRingFIFO: the ready ring gives back entries in the order they were
// pushed, however pushes and pops interleave across its chunks, and
// allocates one chunk per ringChunkN entries held at once, not a doubling
// array with copies (issue 14: W1's bytes per task).
func TestRingFIFO(t *testing.T) {
	tasks := make([]task, 3*ringChunkN+7)
	var r ring
	next, want := 0, 0
	for _, burst := range []int{1, ringChunkN - 1, 1, 2 * ringChunkN, 3, len(tasks)} {
		for range burst {
			if next < len(tasks) {
				r.push(entry{t: &tasks[next]})
				next++
			}
		}
		for k := 0; k < burst/2+1 && r.len() > 0; k++ {
			if got := r.pop().t; got != &tasks[want] {
				t.Fatalf("pop %d returned task %p, want %p", want, got, &tasks[want])
			}
			want++
		}
	}
	for r.len() > 0 {
		if got := r.pop().t; got != &tasks[want] {
			t.Fatalf("pop %d returned task %p, want %p", want, got, &tasks[want])
		}
		want++
	}
	if want != len(tasks) {
		t.Fatalf("popped %d entries, want %d", want, len(tasks))
	}

	// Bytes: a fresh ring holding n entries at once allocates ~16 B per
	// entry (one chunk per ringChunkN); a doubling array allocated ~51.
	const n = 40 * ringChunkN
	var ms0, ms1 goruntime.MemStats
	goruntime.ReadMemStats(&ms0)
	big := new(ring)
	for i := range n {
		big.push(entry{t: &tasks[i%len(tasks)]})
	}
	goruntime.ReadMemStats(&ms1)
	if per := float64(ms1.TotalAlloc-ms0.TotalAlloc) / n; per > 20 {
		t.Errorf("a ring holding %d entries allocated %.1f B per entry, want at most 20", n, per)
	}
	for big.len() > 0 {
		big.pop()
	}
}
