package runtime

import (
	"iter"
	goruntime "runtime"
	"testing"
	"time"
)

// The floors under W1–W4: what the machinery the runtime is built on costs
// before the runtime adds anything. A task is a stackful coroutine
// (iter.Pull: a goroutine with its own stack, switched to directly), so
//
//   - W1 pays at least its record and its clock readings per task, and a
//     coroutine round trip per batch of tasks that end in their first step
//     (FloorTask: the loop runs such a batch on one coroutine);
//   - W2 pays at least one coroutine switch, half a round trip, per
//     handoff (FloorSwitch: the task that suspends resumes the other
//     itself, Loop.drive);
//   - W3 pays a new coroutine for each task that sleeps while others do
//     (FloorNewCoro), since every sleeping task keeps its stack;
//   - W4 pays a parked coroutine per pending task (FloorParkedCoro), plus
//     the task's record (TestTaskRecordSize);
//   - every step pays one clock reading (FloorClock) for the busy, idle
//     and scheduling times the runtime records.
//
// README's Performance section reads them against the workloads.

// BenchmarkFloorSwitch is one coroutine round trip: resume a parked
// coroutine and have it park again. W2's floor per two handoffs.
func BenchmarkFloorSwitch(b *testing.B) {
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for yield(struct{}{}) {
		}
	})
	defer stop()
	for b.Loop() {
		next()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/switch")
}

// BenchmarkFloorClock is one reading of the loop's clock, as each step
// makes.
func BenchmarkFloorClock(b *testing.B) {
	l := NewLoop(quiet()) // never run: its clock needs only its epoch
	var sink int64
	for b.Loop() {
		sink += l.clock()
	}
	if sink == 0 {
		b.Fatal("the clock did not move")
	}
}

// parkCoros starts n coroutines that each park at once, as a task's does
// at its first await, and returns their stop functions.
func parkCoros(n int) []func() {
	stops := make([]func(), n)
	for i := range stops {
		next, stop := iter.Pull(func(yield func(struct{}) bool) {
			for yield(struct{}{}) {
			}
		})
		next()
		stops[i] = stop
	}
	return stops
}

// BenchmarkFloorNewCoro creates and parks 100,000 coroutines, as W3's
// sleeping tasks need: the part of W3 no timer structure can remove.
func BenchmarkFloorNewCoro(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		stops := parkCoros(w3Tasks)
		total += time.Since(start)
		for _, stop := range stops {
			stop()
		}
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*w3Tasks), "ns/coro")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/100k")
}

// BenchmarkFloorParkedCoro reports the memory a parked coroutine holds
// (heap and stack), measured as W4 measures a pending task: W4's floor
// before the task's own record.
func BenchmarkFloorParkedCoro(b *testing.B) {
	var per, stack float64
	for b.Loop() {
		goruntime.GC()
		var m0, m1 goruntime.MemStats
		goruntime.ReadMemStats(&m0)
		stops := parkCoros(w4Tasks)
		goruntime.GC()
		goruntime.ReadMemStats(&m1)
		per = float64((m1.HeapInuse+m1.StackInuse)-(m0.HeapInuse+m0.StackInuse)) / w4Tasks
		stack = float64(m1.StackInuse-m0.StackInuse) / w4Tasks
		for _, stop := range stops {
			stop()
		}
	}
	b.ReportMetric(per, "B/coro")
	b.ReportMetric(stack, "stack-B/coro")
}

// BenchmarkFloorTask is what W1 pays per task before any bookkeeping: its
// record allocated (a Task[int], kept until the end as Gather keeps it),
// its clock readings (one for its step, and its creation's share of one
// read per spawnClockEvery spawns), and one coroutine round trip for all
// of them (the tasks end in their first steps, one after another on one
// coroutine: Loop.chain). W1 per task minus this is the runtime's own
// work.
func BenchmarkFloorTask(b *testing.B) {
	l := NewLoop(quiet())
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for yield(struct{}{}) {
		}
	})
	defer stop()
	ts := make([]*Task[int], w1Tasks)
	for b.Loop() {
		var at int64
		for j := range ts {
			ts[j] = &Task[int]{}
			if j%spawnClockEvery == 0 {
				at = l.clock()
			}
			ts[j].created = at
		}
		next()
		for _, t := range ts {
			t.readyAt = l.clock()
		}
		clear(ts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*w1Tasks), "ns/task")
}
