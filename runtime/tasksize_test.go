package runtime

import (
	"context"
	"testing"
	"unsafe"
)

// TestTaskRecordSize pins the bytes a task costs that never suspends: a
// Task[int] fits the 384-byte size class (it was 448): its timer is made
// at its first Sleep or timeout, listeners beyond the first live out of
// line.
func TestTaskRecordSize(t *testing.T) {
	if got, max := unsafe.Sizeof(Task[int]{}), uintptr(384); got > max {
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
