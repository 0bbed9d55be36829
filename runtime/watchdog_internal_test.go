package runtime

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

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

// TestLateStack: a capture that finishes after its step ended gives its
// stack to the event recorded at the step's end, and to no other.
func TestLateStack(t *testing.T) {
	l := NewLoop(quiet())
	at := Frame{Function: "main.work", File: "/x/main.go", Line: 12, Kind: FrameUser}
	sleep := Frame{Function: "time.Sleep", File: "/go/time.go", Line: 1, Kind: FrameGoRuntime}
	t0 := l.wall(1)
	l.blocking = []BlockEvent{
		{LoopID: l.id, TaskID: 7, Started: t0},
		{LoopID: l.id, TaskID: 7, Started: t0.Add(time.Second)},
		{LoopID: l.id, TaskID: 8, Started: t0.Add(time.Second)},
	}
	l.mu.Lock()
	l.lateStackLocked(BlockEvent{LoopID: l.id, TaskID: 7, Started: t0.Add(time.Second), Stack: []Frame{sleep, at}, At: at, Call: "time.Sleep"})
	l.mu.Unlock()
	for i, want := range []bool{false, true, false} {
		e := l.blocking[i]
		if got := len(e.Stack) > 0 && e.At == at && e.Call == "time.Sleep"; got != want {
			t.Errorf("event %d (task %d at %v) got the late stack: %v, want %v", i, e.TaskID, e.Started.Sub(t0), got, want)
		}
	}
}

// TestDeadlockStringLongCycle: a cycle of 1,000 tasks is described by its
// first and last tasks and how many lie between, on one short line.
func TestDeadlockStringLongCycle(t *testing.T) {
	const n = 1000
	d := Deadlock{}
	for i := range n {
		d.Tasks = append(d.Tasks, uint64(i+1))
		d.Names = append(d.Names, fmt.Sprint("ring-", i+1))
		d.Resources = append(d.Resources, uint64(5000+i))
		d.Kinds = append(d.Kinds, "lock")
	}
	s := d.String()
	for _, want := range []string{`task 1 "ring-1" waits for lock 5000 (held by task 2 "ring-2")`, "… 992 more tasks, each waiting for the next …",
		`task 1000 "ring-1000" waits for lock 5999 (held by task 1 "ring-1")`} {
		if !strings.Contains(s, want) {
			t.Errorf("String lacks %q:\n%s", want, s)
		}
	}
	if len(s) > 1000 || strings.Contains(s, "ring-500\"") {
		t.Errorf("String is %d bytes, names the middle of the cycle:\n%s", len(s), s)
	}
}

func deepAwait(ctx context.Context, n int, f *Future[int]) error {
	if n == 0 {
		_, err := f.Await(ctx)
		return err
	}
	return deepAwait(ctx, n-1, f)
}

// TestStackCut: a task suspended under 200 frames of its own recursion
// has its innermost frames and a last frame saying the rest was not
// captured; one suspended 3 deep has its whole stack and no such frame.
func TestStackCut(t *testing.T) {
	_, err := Run(context.Background(), func(ctx context.Context) (int, error) {
		f := NewFuture[int](ctx)
		deep := Spawn(ctx, func(ctx context.Context) (int, error) { return 0, deepAwait(ctx, 200, f) })
		shallow := Spawn(ctx, func(ctx context.Context) (int, error) { return 0, deepAwait(ctx, 3, f) })
		if err := Yield(ctx); err != nil {
			return 0, err
		}
		l := taskOf(ctx).loop
		for _, tc := range []struct {
			id  uint64
			cut bool
		}{{deep.task.id, true}, {shallow.task.id, false}} {
			ti, _ := l.Task(tc.id)
			st := ti.Stack
			last := st[len(st)-1]
			if got := strings.Contains(last.Function, "deeper frames not captured"); got != tc.cut {
				t.Errorf("task %d: %d frames, last %q: cut %v, want %v", tc.id, len(st), last.Function, got, tc.cut)
			}
			if tc.cut && len(st) < maxStackPCs-8 {
				t.Errorf("task %d: only %d frames kept", tc.id, len(st))
			}
		}
		f.SetResult(1)
		_, err := Gather(ctx, deep, shallow)
		return 0, err
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchdogSleepsWhileLoopIdles: while the loop waits for a timer the
// watchdog sleeps, the loop's clock going on from the monotonic clock
// (never stepping back, never straying from it); a step that blocks after
// the loop wakes is still caught while it runs, and the clock reads the
// counter again.
func TestWatchdogSleepsWhileLoopIdles(t *testing.T) {
	l := NewLoop(quiet(), WithSlowStepThreshold(4*time.Millisecond))
	tscOK := hasTSC && tscUsable()
	var asleep, stop atomic.Bool
	var clockErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// Another goroutine watches the watchdog, and reads the loop's
		// clock as snapshots do, throughout.
		defer wg.Done()
		prev := l.clock()
		for !stop.Load() {
			if l.dog.asleep.Load() {
				asleep.Store(true)
			}
			before := l.monoClock()
			c := l.clock()
			after := l.monoClock()
			switch {
			case c < prev:
				clockErr = fmt.Errorf("the clock stepped back from %d to %d", prev, c)
				return
			case max(before-c, c-after) > int64(50*time.Microsecond):
				clockErr = fmt.Errorf("the clock read %d between monotonic %d and %d", c, before, after)
				return
			}
			prev = c
			time.Sleep(50 * time.Microsecond)
		}
	}()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		for round := range 3 {
			asleep.Store(false)
			if err := Sleep(ctx, 60*time.Millisecond); err != nil {
				return err
			}
			if !asleep.Load() {
				return fmt.Errorf("round %d: the watchdog did not sleep while the loop idled 60 ms", round)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !blockedNowInternal(l) { // the misuse the watchdog is for
				if time.Now().After(deadline) {
					return fmt.Errorf("round %d: the watchdog did not see a step that blocked 10 s", round)
				}
				time.Sleep(time.Millisecond)
			}
			if p := l.tsc.Load(); tscOK && (p == nil || p.mult == 0) {
				return fmt.Errorf("round %d: the clock does not read the counter again after the watchdog woke", round)
			}
		}
		return nil
	})
	stop.Store(true)
	wg.Wait()
	if err = errors.Join(err, clockErr); err != nil {
		t.Fatal(err)
	}
}

// blockedNowInternal reports whether the watchdog has reported a step that
// is still running.
func blockedNowInternal(l *Loop) bool {
	evs := l.Blocking()
	return len(evs) > 0 && evs[len(evs)-1].Ongoing
}

// TestWatchdogCatchesSpinAfterIdle: on one P, a step that spins from the
// moment the loop wakes lets the watchdog run only when the scheduler
// preempts it; the watchdog, woken by the loop, looks at the step then,
// and catches it while it runs, with its stack. Waiting for its next tick
// instead took a second preemption: 25 ms spins after an idle went
// uncaught (0 of 30), where a watchdog that never slept caught 29 or 30.
func TestWatchdogCatchesSpinAfterIdle(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	l := NewLoop(quiet(), WithSlowStepThreshold(4*time.Millisecond))
	const rounds = 30
	caught := 0
	err := l.Run(context.Background(), func(ctx context.Context) error {
		for range rounds {
			if err := Sleep(ctx, 20*time.Millisecond); err != nil {
				return err
			}
			for s := time.Now(); time.Since(s) < 25*time.Millisecond; { //nolint:revive // the misuse: a step that spins
			}
			if err := Yield(ctx); err != nil {
				return err
			}
			if evs := l.Blocking(); len(evs) > 0 && len(evs[len(evs)-1].Stack) > 0 {
				caught++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if caught < rounds/2 {
		t.Errorf("%d of %d spins after an idle were caught while they ran; want most", caught, rounds)
	}
}

// TestWatchdogAwakeWhileCallbackRuns: a callback that runs long between
// two steps, with no idle wait around it, is no step: the watchdog must
// not sleep then (the loop is not idle), and catches the step after it.
func TestWatchdogAwakeWhileCallbackRuns(t *testing.T) {
	l := NewLoop(quiet(), WithSlowStepThreshold(2*time.Millisecond))
	err := l.Run(context.Background(), func(ctx context.Context) error {
		for round := range 20 {
			CallSoon(ctx, func() {
				for s := time.Now(); time.Since(s) < 5*time.Millisecond; { //nolint:revive // keeps the loop busy outside any step
				}
			})
			if err := Yield(ctx); err != nil { // the callback runs, then main: no idle between
				return err
			}
			deadline := time.Now().Add(time.Second)
			for !blockedNowInternal(l) {
				if time.Now().After(deadline) {
					return fmt.Errorf("round %d: a step blocking for a second was not caught", round)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchdogSleepsInBubble: in a testing/synctest bubble, a loop waiting
// for what only the outside can do leaves its watchdog asleep after its
// first tick, so the bubble's goroutines are all durably blocked with no
// timer left (a watchdog that ticked kept synctest's clock going: a test
// whose loop waited for nothing hung until -timeout, where synctest now
// reports the deadlock).
func TestWatchdogSleepsInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLoop(quiet(), WithSlowStepThreshold(4*time.Millisecond))
		ev := NewEvent()
		done := make(chan error)
		go func() {
			done <- l.Run(t.Context(), func(ctx context.Context) error { return ev.Wait(ctx) })
		}()
		time.Sleep(10 * time.Millisecond) // ten of the watchdog's periods, in fake time
		synctest.Wait()
		if !l.dog.asleep.Load() {
			t.Error("the watchdog does not sleep while the loop waits for nothing")
		}
		l.CallSoonThreadsafe(func() { ev.Set() })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
