package runtime

import (
	"context"
	"testing"
	"time"
	"unsafe"
)

// TestTaskRecordSize pins the bytes a task costs that never suspends: a
// Task[int] fits the 288-byte size class (it was 448, then 384): its
// suspension, timer and the waiter it parks on live in the coroutine it
// runs on, listeners beyond the first out of line.
func TestTaskRecordSize(t *testing.T) {
	if got, max := unsafe.Sizeof(Task[int]{}), uintptr(288); got > max {
		t.Errorf("Task[int] is %d bytes, want at most %d", got, max)
	}
}

// TestTaskListeners: a task awaited from many places at once (Await,
// Gather, Wait) notifies each of them when it ends, including
// after some stopped listening (a timeout), and a task's timer serves one
// Sleep after another.
func TestTaskListeners(t *testing.T) {
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := NewEvent()
		target := Spawn(ctx, func(ctx context.Context) (int, error) { return 7, ev.Wait(ctx) })
		var awaiters []*Task[int]
		for i := range 5 {
			awaiters = append(awaiters, Spawn(ctx, func(ctx context.Context) (int, error) {
				if i == 2 { // stops listening after a timeout, then listens again
					if done, _, err := Wait(ctx, []Handle{target}, WithTimeout(1)); err != nil || len(done) != 0 {
						t.Errorf("Wait with a timeout = %v, %v; want nothing done, nil", done, err)
					}
				}
				if i%2 == 0 {
					r, err := Gather(ctx, target)
					if err != nil {
						return 0, err
					}
					return r[0], nil
				}
				return target.Await(ctx)
			}))
		}
		for range 3 {
			if err := Sleep(ctx, 1); err != nil {
				return err
			}
		}
		ev.Set()
		got, err := Gather(ctx, awaiters...)
		if err != nil {
			return err
		}
		for i, v := range got {
			if v != 7 {
				t.Errorf("awaiter %d got %d, want 7", i, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSpawnAllocs: a Spawn without options allocates the task record and
// nothing else (growing the ready ring and the live list is amortized away
// over the runs); a name costs one more.
func TestSpawnAllocs(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []TaskOption
		want float64
	}{
		{"no options", nil, 1},
		{"Named", []TaskOption{Named("worker")}, 2},
	} {
		l := NewLoop(quiet())
		var got float64
		err := l.Run(context.Background(), func(ctx context.Context) error {
			trivial := func(context.Context) (int, error) { return 0, nil }
			got = testing.AllocsPerRun(1000, func() { Spawn(ctx, trivial, tt.opts...) })
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: Spawn allocates %v times, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSuspensionStackShared: tasks suspended at the same place publish one
// stack between them (100,000 sleepers hold one, not 100,000), and a task
// suspended elsewhere gets its own.
func TestSuspensionStackShared(t *testing.T) {
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := NewEvent()
		wait := func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) }
		other := func(ctx context.Context) (int, error) { return 0, Sleep(ctx, time.Hour) }
		a, b, c := Spawn(ctx, wait), Spawn(ctx, wait), Spawn(ctx, other)
		if err := Yield(ctx); err != nil {
			return err
		}
		l.mu.Lock()
		sa, sb, sc := a.recordLocked().stk, b.recordLocked().stk, c.recordLocked().stk
		l.mu.Unlock()
		if len(sa) == 0 || len(sc) == 0 {
			t.Fatalf("no suspension stacks published: %d, %d frames", len(sa), len(sc))
		}
		if got, want := unsafe.SliceData(sb) == unsafe.SliceData(sa), true; got != want {
			t.Errorf("two tasks waiting at one line share their stack = %v, want %v", got, want)
		}
		if got, want := unsafe.SliceData(sc) == unsafe.SliceData(sa), false; got != want {
			t.Errorf("a task sleeping elsewhere shares the waiters' stack = %v, want %v", got, want)
		}
		c.Cancel()
		ev.Set()
		_, err := GatherAll(ctx, a, b, c)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
