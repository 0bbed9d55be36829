package runtime

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestLockSemaphorePublishIsConstant checks that a change to a Lock or a
// Semaphore does not publish its waiters' ids (copying every one at each
// change made n tasks that queue one step after another O(n²)), and that
// Resources still lists its waiters, in the order they are served (the
// order they began to wait, not creation order).
func TestLockSemaphorePublishIsConstant(t *testing.T) {
	type prim struct {
		res     *resource
		publish func(*resPub)
		acquire func(context.Context) error
		release func()
	}
	tests := []struct {
		name string
		make func() prim
	}{
		{"lock", func() prim {
			m := NewLock()
			return prim{&m.res, m.publish, m.Lock, m.Unlock}
		}},
		{"semaphore", func() prim {
			s := NewSemaphore(1)
			return prim{&s.res, s.publish, s.Acquire, s.Release}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLoop(quiet())
			err := l.Run(context.Background(), func(ctx context.Context) error {
				p := tt.make()
				if err := p.acquire(ctx); err != nil {
					return err
				}
				waitAfter := func(yields int) func(ctx context.Context) (int, error) {
					return func(ctx context.Context) (int, error) {
						for range yields {
							if err := Yield(ctx); err != nil {
								return 0, err
							}
						}
						if err := p.acquire(ctx); err != nil {
							return 0, err
						}
						p.release()
						return 0, nil
					}
				}
				late := Spawn(ctx, waitAfter(2))
				early := Spawn(ctx, waitAfter(0))
				for range 4 {
					if err := Yield(ctx); err != nil {
						return err
					}
				}
				var pub resPub
				p.publish(&pub)
				if len(pub.waiters) != 0 {
					t.Errorf("publish copied %d waiters, want 0 (Resources reads them from the task records)", len(pub.waiters))
				}
				var got []uint64
				found := false
				for _, r := range l.Resources() {
					if r.ID == p.res.id {
						got, found = r.Waiters, true
					}
				}
				if !found {
					t.Errorf("Resources lists no %s %d", tt.name, p.res.id)
				}
				if want := []uint64{early.ID(), late.ID()}; !slices.Equal(got, want) {
					t.Errorf("%s waiters = %v, want %v", tt.name, got, want)
				}
				p.release()
				_, err := Gather(ctx, late, early)
				return err
			})
			if err != nil {
				t.Fatalf("runtime: Run: %v", err)
			}
		})
	}
}

// TestListenErrorLeavesNoListener checks that an await that fails its
// checks part-way through its tasks (here a cycle through the second)
// leaves no registration on the tasks it checked first: listen checks and
// registers in one pass and must undo what it did.
func TestListenErrorLeavesNoListener(t *testing.T) {
	var x, a, b *Task[int]
	var gotErr error
	var left int
	_, _ = Run(context.Background(), func(ctx context.Context) (int, error) {
		x = Spawn(ctx, func(ctx context.Context) (int, error) { return 0, Sleep(ctx, 50*time.Millisecond) })
		fut := NewFuture[int](ctx)
		a = Spawn(ctx, func(ctx context.Context) (int, error) {
			if _, err := fut.Await(ctx); err != nil {
				return 0, err
			}
			_, gotErr = Gather(ctx, x, b)
			if x.listener != nil {
				left++
			}
			if x.extra != nil {
				left += len(x.extra.listeners)
			}
			return 0, gotErr
		})
		b = Spawn(ctx, func(ctx context.Context) (int, error) { return a.Await(ctx) })
		if err := Sleep(ctx, 0); err != nil { // x, a and b start: b awaits a
			return 0, err
		}
		fut.SetResult(1)
		if err := Sleep(ctx, 0); err != nil { // a runs its Gather
			return 0, err
		}
		_, _ = GatherAll(ctx, x, a, b)
		return 0, nil
	})
	if !errors.Is(gotErr, ErrAwaitCycle) {
		t.Fatalf("Gather(x, b) in a, with b awaiting a = %v, want ErrAwaitCycle", gotErr)
	}
	if left != 0 {
		t.Errorf("after the failed Gather, x has %d listeners, want 0", left)
	}
}
