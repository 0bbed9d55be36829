package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/taskdump/taskdump/runtime"
)

// TestOffLoopPrimitiveCallsPanicAtOnce calls the methods that change a
// future or a primitive from a goroutine that is not the loop's: each
// panics at once with a message naming it and Loop.CallSoonThreadsafe, and
// the future or primitive is unchanged (before, each raced with the loop on
// its state, as -race reports).
func TestOffLoopPrimitiveCallsPanicAtOnce(t *testing.T) {
	type prims struct {
		f   *runtime.Future[int]
		e   *runtime.Event
		m   *runtime.Lock
		s   *runtime.Semaphore
		q   *runtime.Queue[int]
		set *runtime.Event // set already, for Clear
	}
	calls := []struct {
		op   string
		call func(p prims)
		same func(p prims) bool // the call changed nothing
	}{
		{"Future.SetResult", func(p prims) { p.f.SetResult(1) }, func(p prims) bool { return !p.f.Done() }},
		{"Future.SetError", func(p prims) { p.f.SetError(context.Canceled) }, func(p prims) bool { return !p.f.Done() }},
		{"Future.Cancel", func(p prims) { p.f.Cancel("why") }, func(p prims) bool { return !p.f.Done() }},
		{"Event.Set", func(p prims) { p.e.Set() }, func(p prims) bool { return !p.e.IsSet() }},
		{"Event.Clear", func(p prims) { p.set.Clear() }, func(p prims) bool { return p.set.IsSet() }},
		{"Lock.Unlock", func(p prims) { p.m.Unlock() }, func(p prims) bool { return p.m.Locked() }},
		{"Semaphore.Release", func(p prims) { p.s.Release() }, func(p prims) bool { return p.s.Available() == 0 }},
		{"Queue.PutNowait", func(p prims) { _ = p.q.PutNowait(2) }, func(p prims) bool { return p.q.Len() == 1 }},
		{"Queue.GetNowait", func(p prims) { _, _ = p.q.GetNowait() }, func(p prims) bool { return p.q.Len() == 1 }},
	}
	for _, c := range calls {
		t.Run(c.op, func(t *testing.T) {
			var got string
			var same bool
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				p := prims{
					f: runtime.NewFuture[int](ctx), e: runtime.NewEvent(), m: runtime.NewLock(),
					s: runtime.NewSemaphore(1), q: runtime.NewQueue[int](0), set: runtime.NewEvent(),
				}
				p.set.Set()
				if err := p.m.Lock(ctx); err != nil {
					return 0, err
				}
				if err := p.s.Acquire(ctx); err != nil {
					return 0, err
				}
				if err := p.q.PutNowait(1); err != nil {
					return 0, err
				}
				ch := make(chan string)
				go func() { ch <- panicText(func() { c.call(p) }) }()
				got = <-ch
				same = c.same(p)
				// On the loop, the same calls work.
				p.f.SetResult(3)
				p.e.Set()
				p.m.Unlock()
				p.s.Release()
				if v, err := p.q.GetNowait(); err != nil || v != 1 {
					t.Errorf("GetNowait on the loop = %d, %v; want 1, nil", v, err)
				}
				return p.f.Await(ctx)
			}, quietLogger())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			for _, want := range []string{"runtime: " + c.op + " called from a goroutine", "use Loop.CallSoonThreadsafe"} {
				if !strings.Contains(got, want) {
					t.Errorf("panic = %q; want it to contain %q", got, want)
				}
			}
			if !same {
				t.Errorf("%s from another goroutine changed its state; want it unchanged", c.op)
			}
		})
	}
}

// TestPrimitiveCallsFromCallSoonThreadsafe: the way the panic message
// names works, from a plain goroutine.
func TestPrimitiveCallsFromCallSoonThreadsafe(t *testing.T) {
	got, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		f := runtime.NewFuture[int](ctx)
		l := runtime.LoopOf(ctx)
		go l.CallSoonThreadsafe(func() { f.SetResult(7) })
		return f.Await(ctx)
	}, quietLogger())
	if err != nil || got != 7 {
		t.Fatalf("Run = %d, %v; want 7, nil", got, err)
	}
}
