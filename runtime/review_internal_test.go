package runtime

import (
	"context"
	"slices"
	"testing"
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
