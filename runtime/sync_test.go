package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/taskdump/taskdump/runtime"
)

func TestFuture(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		resolve func(f *runtime.Future[int]) bool
		want    int
		wantErr error
	}{
		{"SetResult", func(f *runtime.Future[int]) bool { return f.SetResult(7) }, 7, nil},
		{"SetError", func(f *runtime.Future[int]) bool { return f.SetError(boom) }, 0, boom},
		{"Cancel", func(f *runtime.Future[int]) bool { return f.Cancel("no more") }, 0, runtime.ErrCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				f := runtime.NewFuture[int](ctx)
				if _, err := f.Result(); !errors.Is(err, runtime.ErrNotDone) || f.Done() {
					t.Errorf("pending future: Result error %v, Done %t; want ErrNotDone, false", err, f.Done())
				}
				// Two waiters both get the outcome.
				var ws []*runtime.Task[int]
				for range 2 {
					ws = append(ws, runtime.Spawn(ctx, f.Await))
				}
				runtime.Yield(ctx)
				if !tt.resolve(f) {
					t.Error("first resolution reported false")
				}
				if f.SetResult(99) || f.SetError(boom) || f.Cancel() {
					t.Error("a second resolution reported true")
				}
				for i, r := range must(runtime.GatherAll(ctx, ws...)) {
					if r.Value != tt.want || !errors.Is(r.Err, tt.wantErr) || (tt.wantErr == nil) != (r.Err == nil) {
						t.Errorf("waiter %d got %d, %v; want %d, %v", i, r.Value, r.Err, tt.want, tt.wantErr)
					}
				}
				if v, err := f.Result(); v != tt.want || !errors.Is(err, tt.wantErr) {
					t.Errorf("Result = %d, %v; want %d, %v", v, err, tt.want, tt.wantErr)
				}
				// Awaiting a done future returns at once.
				if v, err := f.Await(ctx); v != tt.want || !errors.Is(err, tt.wantErr) {
					t.Errorf("Await of a done future = %d, %v", v, err)
				}
				return 0, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFutureResolvedFromAnotherGoroutine(t *testing.T) {
	v, err := runtime.Run(context.Background(), func(ctx context.Context) (string, error) {
		f := runtime.NewFuture[string](ctx)
		l := loopOf(t, ctx)
		go l.CallSoonThreadsafe(func() { f.SetResult("from outside") })
		return f.Await(ctx)
	})
	if v != "from outside" || err != nil {
		t.Errorf("Await = %q, %v; want the value set through CallSoonThreadsafe", v, err)
	}
}

func TestFutureAwaitCancelledLeavesFuturePending(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		f := runtime.NewFuture[int](ctx)
		w := runtime.Spawn(ctx, f.Await)
		runtime.Yield(ctx)
		w.Cancel()
		if _, err := w.Await(ctx); !errors.Is(err, runtime.ErrCancelled) {
			t.Errorf("cancelled waiter returned %v, want ErrCancelled", err)
		}
		if f.Done() {
			t.Error("the future is done after its waiter was cancelled; want it pending")
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEvent(t *testing.T) {
	var log []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ev := runtime.NewEvent()
		var ws []*runtime.Task[int]
		for _, name := range []string{"w1", "w2", "w3"} {
			ws = append(ws, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := ev.Wait(ctx); err != nil {
					return 0, err
				}
				log = append(log, name)
				return 0, nil
			}))
		}
		runtime.Yield(ctx)
		runtime.Yield(ctx)
		if ev.IsSet() || len(log) != 0 {
			t.Errorf("before Set: IsSet %t, woken %v", ev.IsSet(), log)
		}
		ev.Set()
		if !ev.IsSet() {
			t.Error("IsSet after Set = false")
		}
		if _, err := runtime.Gather(ctx, ws...); err != nil {
			return 0, err
		}
		// Set: Wait returns at once, without suspending.
		if err := ev.Wait(ctx); err != nil {
			return 0, err
		}
		ev.Clear()
		if ev.IsSet() {
			t.Error("IsSet after Clear = true")
		}
		var zero runtime.Event // the zero Event is usable
		w := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, zero.Wait(ctx) })
		runtime.Yield(ctx)
		zero.Set()
		return w.Await(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"w1", "w2", "w3"}; !slices.Equal(log, want) {
		t.Errorf("woken in order %v, want %v", log, want)
	}
}

func TestLockIsFIFOAndExclusive(t *testing.T) {
	var log []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		var m runtime.Lock // the zero Lock is usable
		if err := m.Lock(ctx); err != nil {
			return 0, err
		}
		holders := 0
		var ws []*runtime.Task[int]
		for i := range 4 {
			ws = append(ws, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := m.Lock(ctx); err != nil {
					return 0, err
				}
				holders++
				if holders != 1 {
					t.Errorf("%d tasks hold the lock at once", holders)
				}
				log = append(log, fmt.Sprint("in", i))
				runtime.Yield(ctx)
				log = append(log, fmt.Sprint("out", i))
				holders--
				m.Unlock()
				return 0, nil
			}))
		}
		runtime.Yield(ctx)
		if !m.Locked() {
			t.Error("Locked() = false while main holds it")
		}
		m.Unlock()
		if _, err := runtime.Gather(ctx, ws...); err != nil {
			return 0, err
		}
		if m.Locked() {
			t.Error("Locked() = true after every holder unlocked")
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Unlock of an unlocked Lock did not panic")
				}
			}()
			m.Unlock()
		}()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"in0", "out0", "in1", "out1", "in2", "out2", "in3", "out3"}
	if !slices.Equal(log, want) {
		t.Errorf("lock holders %v, want %v (FIFO)", log, want)
	}
}

func TestLockWaiterCancelled(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		m := runtime.NewLock()
		m.Lock(ctx)
		w := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, m.Lock(ctx) })
		next := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := m.Lock(ctx); err != nil {
				return 0, err
			}
			m.Unlock()
			return 2, nil
		})
		runtime.Yield(ctx)
		w.Cancel()
		if _, err := w.Await(ctx); !errors.Is(err, runtime.ErrCancelled) {
			t.Errorf("cancelled Lock returned %v, want ErrCancelled", err)
		}
		m.Unlock()
		v, err := next.Await(ctx)
		if v != 2 || err != nil {
			t.Errorf("next waiter got %d, %v; want the lock", v, err)
		}
		if m.Locked() {
			t.Error("the cancelled waiter holds the lock")
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSemaphoreBoundsHoldersFIFO(t *testing.T) {
	var order []int
	maxHeld := 0
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		s := runtime.NewSemaphore(2)
		held := 0
		var ws []*runtime.Task[int]
		for i := range 6 {
			ws = append(ws, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := s.Acquire(ctx); err != nil {
					return 0, err
				}
				order = append(order, i)
				held++
				maxHeld = max(maxHeld, held)
				for range 3 {
					runtime.Yield(ctx)
				}
				held--
				s.Release()
				return 0, nil
			}))
		}
		if _, err := runtime.Gather(ctx, ws...); err != nil {
			return 0, err
		}
		if s.Available() != 2 {
			t.Errorf("Available after all released = %d, want 2", s.Available())
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if maxHeld != 2 {
		t.Errorf("at most %d tasks held the semaphore, want 2", maxHeld)
	}
	if want := []int{0, 1, 2, 3, 4, 5}; !slices.Equal(order, want) {
		t.Errorf("acquired in order %v, want %v", order, want)
	}
}

func TestNewSemaphoreNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewSemaphore(-1) did not panic")
		}
	}()
	runtime.NewSemaphore(-1)
}

func TestQueueMaxsizeBlocksPut(t *testing.T) {
	var log []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		q := runtime.NewQueue[int](2)
		prod := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for i := range 5 {
				if err := q.Put(ctx, i); err != nil {
					return 0, err
				}
				log = append(log, fmt.Sprint("put", i))
			}
			return 0, nil
		})
		runtime.Yield(ctx)
		runtime.Yield(ctx)
		if !q.Full() || q.Len() != 2 {
			t.Errorf("after the producer ran: Full %t, Len %d; want a full queue of 2", q.Full(), q.Len())
		}
		log = append(log, "consume")
		for range 5 {
			v, err := q.Get(ctx)
			if err != nil {
				return 0, err
			}
			log = append(log, fmt.Sprint("got", v))
		}
		if !q.Empty() {
			t.Error("Empty() = false after every item was taken")
		}
		return prod.Await(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The producer stops at two items; each Get frees a slot.
	want := []string{"put0", "put1", "consume", "got0", "got1", "put2", "put3", "got2", "got3", "put4", "got4"}
	if !slices.Equal(log, want) {
		t.Errorf("ran %v\nwant %v", log, want)
	}
}

func TestQueueGetWaitsFIFO(t *testing.T) {
	var got []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		var q runtime.Queue[string] // the zero Queue is unbounded
		var ws []*runtime.Task[int]
		for _, name := range []string{"g1", "g2", "g3"} {
			ws = append(ws, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				v, err := q.Get(ctx)
				got = append(got, name+"="+v)
				return 0, err
			}))
		}
		runtime.Yield(ctx)
		for _, v := range []string{"x", "y", "z"} {
			if err := q.PutNowait(v); err != nil {
				return 0, err
			}
		}
		_, err := runtime.Gather(ctx, ws...)
		return 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"g1=x", "g2=y", "g3=z"}; !slices.Equal(got, want) {
		t.Errorf("getters got %v, want %v", got, want)
	}
}

func TestQueueNowaitErrors(t *testing.T) {
	q := runtime.NewQueue[int](1)
	if _, err := q.GetNowait(); !errors.Is(err, runtime.ErrQueueEmpty) {
		t.Errorf("GetNowait on an empty queue = %v, want ErrQueueEmpty", err)
	}
	if err := q.PutNowait(1); err != nil {
		t.Fatalf("PutNowait = %v", err)
	}
	if err := q.PutNowait(2); !errors.Is(err, runtime.ErrQueueFull) {
		t.Errorf("PutNowait on a full queue = %v, want ErrQueueFull", err)
	}
	if v, err := q.GetNowait(); v != 1 || err != nil {
		t.Errorf("GetNowait = %d, %v; want 1, nil", v, err)
	}
}

func TestQueueTaskDoneAndJoin(t *testing.T) {
	var log []string
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		q := runtime.NewQueue[int](0)
		for i := range 3 {
			q.PutNowait(i)
		}
		worker := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				v, err := q.Get(ctx)
				if err != nil {
					return 0, err
				}
				runtime.Yield(ctx)
				log = append(log, fmt.Sprint("done", v))
				q.TaskDone()
			}
		})
		if err := q.Join(ctx); err != nil {
			return 0, err
		}
		log = append(log, "joined")
		worker.Cancel()
		worker.Await(ctx)
		func() {
			defer func() {
				if recover() == nil {
					t.Error("TaskDone called once too often did not panic")
				}
			}()
			q.TaskDone()
		}()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"done0", "done1", "done2", "joined"}; !slices.Equal(log, want) {
		t.Errorf("ran %v, want %v", log, want)
	}
}

func TestQueueStaysFIFOAcrossCompaction(t *testing.T) {
	q := runtime.NewQueue[int](0)
	next, want := 0, 0
	for round := range 50 {
		for range 3 {
			if err := q.PutNowait(next); err != nil {
				t.Fatal(err)
			}
			next++
		}
		for range 2 + round%2 {
			v, err := q.GetNowait()
			if err != nil {
				t.Fatal(err)
			}
			if v != want {
				t.Fatalf("GetNowait = %d, want %d (FIFO)", v, want)
			}
			want++
		}
	}
	if q.Len() != next-want {
		t.Errorf("Len = %d, want %d", q.Len(), next-want)
	}
}

// TestSemaphoreHoldersListed: Loop.Resources lists a semaphore's 64
// oldest holders, in the order they took their permits, as holders
// release from the front (the O(1) path) and from the middle; Cap-Len
// counts them all.
func TestSemaphoreHoldersListed(t *testing.T) {
	const n = 100
	l := runtime.NewLoop()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		s := runtime.NewSemaphore(n)
		holders := make([]*runtime.Task[int], n)
		release := make([]*runtime.Event, n)
		for i := range holders {
			release[i] = runtime.NewEvent()
			holders[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := s.Acquire(ctx); err != nil {
					return 0, err
				}
				defer s.Release()
				return 0, release[i].Wait(ctx)
			})
		}
		check := func(what string, live []int) {
			t.Helper()
			if err := runtime.Yield(ctx); err != nil {
				t.Fatal(err)
			}
			var want []uint64
			for _, i := range live[:min(len(live), 64)] {
				want = append(want, holders[i].ID())
			}
			for _, r := range l.Resources() {
				if r.Kind != "semaphore" {
					continue
				}
				if !slices.Equal(r.Holders, want) || r.Cap-r.Len != len(live) {
					t.Errorf("%s: holders %v (Cap-Len %d), want %v (%d)", what, r.Holders, r.Cap-r.Len, want, len(live))
				}
				return
			}
			t.Errorf("%s: no semaphore in Resources", what)
		}
		var live []int
		for i := range n {
			live = append(live, i)
		}
		check("all hold", live)
		for _, i := range []int{0, 1, 2, 50} { // the oldest three, then one in the middle
			release[i].Set()
			live = slices.DeleteFunc(live, func(j int) bool { return j == i })
			check(fmt.Sprintf("after %d released", i), live)
		}
		for _, e := range release {
			e.Set()
		}
		_, err := runtime.Gather(ctx, holders...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
