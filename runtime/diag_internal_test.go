package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"testing"
	"time"
)

// TestToThreadCancelWinsOverResult: a task cancelled while its ToThread
// work finishes in the same iteration gets the cancellation, not the
// result, as every other await does (a pending cancellation wins).
func TestToThreadCancelWinsOverResult(t *testing.T) {
	release := make(chan struct{})
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		var got int
		var gotErr error
		caller := Spawn(ctx, func(ctx context.Context) (int, error) {
			got, gotErr = ToThread(ctx, func() (int, error) { <-release; return 42, nil })
			return got, gotErr
		})
		if err := Yield(ctx); err != nil { // the caller submits its work and parks
			return err
		}
		close(release)
		// Block the loop until the work's completion is in the inbox, so
		// that it and the cancel below reach the caller in one iteration.
		deadline := time.Now().Add(20 * time.Second)
		for l.inboxN.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the ToThread work never posted its completion")
			}
			time.Sleep(100 * time.Microsecond)
		}
		caller.Cancel("stop")
		_, _ = caller.Await(ctx)
		if !errors.Is(gotErr, ErrCancelled) || got != 0 {
			t.Errorf("ToThread of a task cancelled as its work finished = %d, %v; want 0, ErrCancelled", got, gotErr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestResourceRegistryStaysBounded: a long-running loop whose tasks each
// make and use primitives and end keeps a registry about the size of what
// live tasks hold, not of everything ever made.
func TestResourceRegistryStaysBounded(t *testing.T) {
	var before, after goruntime.MemStats
	l := NewLoop(quiet())
	err := l.Run(context.Background(), func(ctx context.Context) error {
		shared := NewLock()
		for i := range 20000 {
			tk := Spawn(ctx, func(ctx context.Context) (int, error) {
				q := NewQueue[int](1)
				ev := NewEvent()
				sem := NewSemaphore(1)
				if err := sem.Acquire(ctx); err != nil {
					return 0, err
				}
				defer sem.Release()
				if err := shared.Lock(ctx); err != nil {
					return 0, err
				}
				defer shared.Unlock()
				ev.Set()
				if err := q.Put(ctx, 1); err != nil {
					return 0, err
				}
				return q.Get(ctx)
			})
			if _, err := tk.Await(ctx); err != nil {
				return err
			}
			if i == 1000 {
				goruntime.GC()
				goruntime.ReadMemStats(&before)
			}
		}
		l.flush()
		l.mu.Lock()
		n := len(l.resReg)
		l.mu.Unlock()
		if n > 1024 {
			t.Errorf("the registry holds %d primitives after 20,000 short tasks, want at most 1024", n)
		}
		if rs := l.Resources(); len(rs) > 1024 {
			t.Errorf("Resources() lists %d primitives, want at most 1024", len(rs))
		}
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
			t.Errorf("the heap grew by %d bytes over 19,000 tasks, want under 4 MiB", grown)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
