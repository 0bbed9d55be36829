package runtime_test

// CPython's own asyncio test cases (Lib/test/test_asyncio/test_locks.py,
// test_queues.py, test_waitfor.py, test_tasks.py, 3.12), ported to the Go
// contract, and cases of our own for the same bug elsewhere: a waiter whose
// cancellation is pending when it resumes gets ErrCancelled and never keeps
// the lock, permit, item, slot or result it was woken for (issue 15).
// `await asyncio.sleep(0)` is runtime.Yield; task.cancel() is Cancel.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// compatRun runs body as the main task of a new loop and fails t if it
// returns an error.
func compatRun(t *testing.T, body func(ctx context.Context) error) {
	t.Helper()
	if _, err := runtime.Run(context.Background(), func(ctx context.Context) (struct{}, error) {
		return struct{}{}, body(ctx)
	}, quietLogger()); err != nil {
		t.Fatal(err)
	}
}

// wantCancelled checks that err wraps ErrCancelled.
func wantCancelled(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, runtime.ErrCancelled) {
		t.Errorf("%s: error %v; want one wrapping ErrCancelled", what, err)
	}
}

// yieldN yields n times.
func yieldN(ctx context.Context, n int) error {
	for range n {
		if err := runtime.Yield(ctx); err != nil {
			return err
		}
	}
	return nil
}

// test_locks.py LockTests.test_cancel_race: A holds the lock, B and C wait;
// in one iteration A's release becomes due and B is cancelled. B must end
// cancelled, A must have released, and C must get the lock.
func TestCompatLockCancelRace(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		lock := runtime.NewLock()
		lockit := func(blocker *runtime.Future[int]) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				if err := lock.Lock(ctx); err != nil {
					return 0, err
				}
				defer lock.Unlock()
				if blocker != nil {
					return blocker.Await(ctx)
				}
				return 0, nil
			}
		}
		fa := runtime.NewFuture[int](ctx)
		ta := runtime.Spawn(ctx, lockit(fa))
		runtime.Yield(ctx)
		if !lock.Locked() {
			t.Error("A does not hold the lock")
		}
		tb := runtime.Spawn(ctx, lockit(nil))
		runtime.Yield(ctx)
		tc := runtime.Spawn(ctx, lockit(nil))
		runtime.Yield(ctx)

		// The race.
		fa.SetResult(0)
		tb.Cancel()
		runtime.Yield(ctx)
		if !ta.Done() {
			t.Error("A has not ended")
		}
		if !tb.Cancelled() {
			t.Errorf("B is %v; want cancelled", tb.State())
		}
		if _, err := tc.Await(ctx); err != nil {
			t.Errorf("C: %v", err)
		}
		if lock.Locked() {
			t.Error("the lock is still held after every task ended")
		}
		return nil
	})
}

// test_locks.py LockTests.test_cancel_release_race: tasks t1, t2, t3 wait for
// a held lock; in one callback t1 is cancelled and the lock released. Only
// one lock is taken (by t2), t1 ends cancelled, t3 still waits.
func TestCompatLockCancelReleaseRace(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		lock := runtime.NewLock()
		lockCount, callCount := 0, 0
		lockit := func(ctx context.Context) (int, error) {
			callCount++
			if err := lock.Lock(ctx); err != nil {
				return 0, err
			}
			lockCount++
			return 0, nil
		}
		if err := lock.Lock(ctx); err != nil {
			return err
		}
		t1 := runtime.Spawn(ctx, lockit)
		t2 := runtime.Spawn(ctx, lockit)
		t3 := runtime.Spawn(ctx, lockit)
		runtime.Yield(ctx)
		runtime.CallSoon(ctx, func() {
			t1.Cancel()
			lock.Unlock()
		})
		_, err := t1.Await(ctx)
		wantCancelled(t, "await t1", err)
		if lockCount != 1 || callCount != 3 {
			t.Errorf("locks taken %d, calls %d; want 1, 3", lockCount, callCount)
		}
		if !t1.Cancelled() || !t2.Done() {
			t.Errorf("t1 %v, t2 %v; want t1 cancelled and t2 done", t1.State(), t2.State())
		}
		t3.Cancel()
		runtime.Yield(ctx)
		if !t3.Cancelled() {
			t.Errorf("t3 is %v; want cancelled", t3.State())
		}
		return nil
	})
}

// test_locks.py LockTests.test_finished_waiter_cancelled: the first waiter
// is cancelled and the lock released in the same iteration. The cancelled
// waiter does not keep the lock; the second waiter gets it.
func TestCompatLockFinishedWaiterCancelled(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		lock := runtime.NewLock()
		if err := lock.Lock(ctx); err != nil {
			return err
		}
		tb := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, lock.Lock(ctx) })
		runtime.Yield(ctx)
		tc := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, lock.Lock(ctx) })
		tb.Cancel()
		lock.Unlock()
		runtime.Yield(ctx)
		if !lock.Locked() {
			t.Error("the lock is free; want it taken by the second waiter")
		}
		if !tb.Cancelled() {
			t.Errorf("first waiter is %v; want cancelled", tb.State())
		}
		if _, err := runtime.WaitFor(ctx, time.Minute, tc); err != nil {
			t.Errorf("second waiter: %v", err)
		}
		return nil
	})
}

// test_locks.py LockTests.test_acquire_cancel: a waiter cancelled from a
// callback ends cancelled and leaves no trace in the lock.
func TestCompatLockAcquireCancel(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		lock := runtime.NewLock()
		if err := lock.Lock(ctx); err != nil {
			return err
		}
		task := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, lock.Lock(ctx) })
		runtime.CallSoon(ctx, func() { task.Cancel() })
		_, err := task.Await(ctx)
		wantCancelled(t, "await task", err)
		lock.Unlock()
		if lock.Locked() {
			t.Error("the lock is held after its only holder unlocked it")
		}
		return nil
	})
}

// test_locks.py SemaphoreTests.test_acquire_cancel_before_awoken: t1 and t2
// are cancelled and one permit released in the same iteration: t3 gets it,
// t4 still waits.
func TestCompatSemaphoreAcquireCancelBeforeAwoken(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		sem := runtime.NewSemaphore(0)
		var ts []*runtime.Task[int]
		for range 4 {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, sem.Acquire(ctx) }))
		}
		runtime.Yield(ctx)
		ts[0].Cancel()
		ts[1].Cancel()
		sem.Release()
		yieldN(ctx, 2)
		if !ts[2].Done() || ts[3].Done() {
			t.Errorf("t3 done %t, t4 done %t; want t3 done and t4 waiting", ts[2].Done(), ts[3].Done())
		}
		if _, err := ts[2].Result(); err != nil {
			t.Errorf("t3: %v", err)
		}
		ts[2].Cancel()
		ts[3].Cancel()
		runtime.Yield(ctx)
		if got := sem.Available(); got != 0 {
			t.Errorf("Available = %d; want 0 (t3 holds the one permit)", got)
		}
		return nil
	})
}

// test_locks.py SemaphoreTests.test_acquire_hang: t1 is cancelled and a
// permit released in the same iteration: t2 gets it.
func TestCompatSemaphoreAcquireHang(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		sem := runtime.NewSemaphore(0)
		acquire := func(ctx context.Context) (int, error) { return 0, sem.Acquire(ctx) }
		t1, t2 := runtime.Spawn(ctx, acquire), runtime.Spawn(ctx, acquire)
		runtime.Yield(ctx)
		t1.Cancel()
		sem.Release()
		yieldN(ctx, 2)
		if sem.Available() != 0 {
			t.Errorf("Available = %d; want 0", sem.Available())
		}
		if !t2.Done() || !t1.Cancelled() {
			t.Errorf("t1 %v, t2 %v; want t1 cancelled and t2 done", t1.State(), t2.State())
		}
		return nil
	})
}

// test_locks.py SemaphoreTests.test_acquire_no_hang: c1 releases the
// semaphore c2 waits for, then cancels c2 before it resumes. c2 ends
// cancelled and the permit is free again.
func TestCompatSemaphoreAcquireNoHang(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		sem := runtime.NewSemaphore(1)
		var t2 *runtime.Task[int]
		c1 := func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			err := runtime.Yield(ctx)
			sem.Release()
			t2.Cancel()
			return 0, err
		}
		c2 := func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			defer sem.Release()
			return 0, errors.New("c2 acquired the semaphore after it was cancelled")
		}
		t1 := runtime.Spawn(ctx, c1)
		t2 = runtime.Spawn(ctx, c2)
		rs, err := runtime.GatherAll(ctx, t1, t2)
		if err != nil {
			return err
		}
		if rs[0].Err != nil {
			t.Errorf("c1: %v", rs[0].Err)
		}
		wantCancelled(t, "c2", rs[1].Err)
		if _, err := runtime.WaitFor(ctx, time.Minute, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, sem.Acquire(ctx)
		})); err != nil {
			t.Errorf("acquire after the race: %v", err)
		}
		return nil
	})
}

// test_locks.py SemaphoreTests.test_acquire_fifo_order: three tasks take the
// semaphore twice each; every second round waits behind the first.
func TestCompatSemaphoreAcquireFIFOOrder(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		sem := runtime.NewSemaphore(1)
		var result []string
		coro := func(tag string) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				for round := 1; round <= 2; round++ {
					if err := sem.Acquire(ctx); err != nil {
						return 0, err
					}
					result = append(result, fmt.Sprintf("%s_%d", tag, round))
					err := runtime.Sleep(ctx, 10*time.Millisecond)
					sem.Release()
					if err != nil {
						return 0, err
					}
				}
				return 0, nil
			}
		}
		if _, err := runtime.Gather(ctx, runtime.Spawn(ctx, coro("c1")), runtime.Spawn(ctx, coro("c2")), runtime.Spawn(ctx, coro("c3"))); err != nil {
			return err
		}
		if want := []string{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}; !slices.Equal(result, want) {
			t.Errorf("order %v; want %v", result, want)
		}
		return nil
	})
}

// test_locks.py SemaphoreTests.test_acquire_fifo_order_2: c2 releases and
// re-acquires while c3 has been handed a permit but not run: c2 queues
// behind c3 (asyncio 3.12's strict FIFO).
func TestCompatSemaphoreAcquireFIFOOrder2(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		sem := runtime.NewSemaphore(1)
		var result []int
		c1 := func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			result = append(result, 1)
			return 0, nil
		}
		c2 := func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			result = append(result, 2)
			sem.Release()
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			result = append(result, 4)
			return 0, nil
		}
		c3 := func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			result = append(result, 3)
			return 0, nil
		}
		t1, t2, t3 := runtime.Spawn(ctx, c1), runtime.Spawn(ctx, c2), runtime.Spawn(ctx, c3)
		runtime.Yield(ctx)
		sem.Release()
		sem.Release()
		if _, err := runtime.Gather(ctx, t1, t2, t3); err != nil {
			return err
		}
		if want := []int{1, 2, 3, 4}; !slices.Equal(result, want) {
			t.Errorf("order %v; want %v", result, want)
		}
		return nil
	})
}

// test_locks.py SemaphoreTests.test_acquire_fifo_order_3: t1 and t2 are
// cancelled and a permit released in the same iteration: t3 gets it.
func TestCompatSemaphoreAcquireFIFOOrder3(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		sem := runtime.NewSemaphore(0)
		var result []string
		c := func(tag string) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				if err := sem.Acquire(ctx); err != nil {
					result = append(result, "cancel")
					return 0, err
				}
				result = append(result, tag)
				return 0, nil
			}
		}
		t1, t2, t3 := runtime.Spawn(ctx, c("1")), runtime.Spawn(ctx, c("2")), runtime.Spawn(ctx, c("3"))
		runtime.Yield(ctx)
		t1.Cancel()
		t2.Cancel()
		sem.Release()
		if _, err := runtime.GatherAll(ctx, t1, t2, t3); err != nil {
			return err
		}
		if want := []string{"cancel", "cancel", "3"}; !slices.Equal(result, want) {
			t.Errorf("got %v; want %v", result, want)
		}
		return nil
	})
}

// TestHandedThenCancelled is our own: the resource is handed to the first
// waiter (Unlock, Release) and only then, before it resumes, is that
// waiter cancelled — the order test_cancel_race does not cover. The waiter
// gets ErrCancelled; the second waiter gets the resource.
func TestHandedThenCancelled(t *testing.T) {
	tests := []struct {
		name string
		// setup returns acquire and release on a resource held by the caller.
		setup func(ctx context.Context) (acquire func(context.Context) error, release func(), held func() bool)
	}{
		{"Lock", func(ctx context.Context) (func(context.Context) error, func(), func() bool) {
			m := runtime.NewLock()
			must(0, m.Lock(ctx))
			return m.Lock, m.Unlock, m.Locked
		}},
		{"Semaphore", func(ctx context.Context) (func(context.Context) error, func(), func() bool) {
			s := runtime.NewSemaphore(1)
			must(0, s.Acquire(ctx))
			return s.Acquire, s.Release, func() bool { return s.Available() == 0 }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compatRun(t, func(ctx context.Context) error {
				acquire, release, held := tt.setup(ctx)
				kept := 0
				waiter := func(ctx context.Context) (int, error) {
					if err := acquire(ctx); err != nil {
						return 0, err
					}
					kept++
					return 0, nil
				}
				first, second := runtime.Spawn(ctx, waiter), runtime.Spawn(ctx, waiter)
				runtime.Yield(ctx)
				release()
				first.Cancel()
				rs, err := runtime.GatherAll(ctx, first, second)
				if err != nil {
					return err
				}
				wantCancelled(t, "first waiter", rs[0].Err)
				if rs[1].Err != nil {
					t.Errorf("second waiter: %v", rs[1].Err)
				}
				if kept != 1 || !held() {
					t.Errorf("acquired %d times, held %t; want 1, true (by the second waiter)", kept, held())
				}
				release()
				if held() {
					t.Error("still held after the second waiter's release")
				}
				return nil
			})
		})
	}
}

// TestCancelledWaitersNeverKeepTheLock is our own stress case: tasks take a
// semaphore and then a lock in turn while the main task cancels them at
// every point of the handoffs. A task cancelled while it waits never
// acquires; no two tasks ever hold the lock at once, nor three the
// semaphore of 2; at the end every task has ended and both are free.
func TestCancelledWaitersNeverKeepTheLock(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		lock := runtime.NewLock()
		sem := runtime.NewSemaphore(2)
		holders, semHolders := 0, 0
		const n = 60
		waiting := make([]bool, n)          // the task is parked in Acquire or Lock
		cancelledWaiting := make([]bool, n) // it was cancelled there
		acquire := func(ctx context.Context, i int, f func(context.Context) error) error {
			waiting[i] = true
			err := f(ctx)
			waiting[i] = false
			if err == nil && cancelledWaiting[i] {
				t.Errorf("task %d acquired after it was cancelled while it waited", i)
			}
			return err
		}
		var ts []*runtime.Task[int]
		for i := range n {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				if err := acquire(ctx, i, sem.Acquire); err != nil {
					return 0, err
				}
				semHolders++
				if semHolders > 2 {
					t.Errorf("%d tasks hold a semaphore of 2", semHolders)
				}
				defer func() { semHolders--; sem.Release() }()
				if err := acquire(ctx, i, lock.Lock); err != nil {
					return 0, err
				}
				holders++
				if holders > 1 {
					t.Errorf("%d tasks hold the lock", holders)
				}
				err := yieldN(ctx, i%3)
				holders--
				lock.Unlock()
				return 0, err
			}))
		}
		hits := 0
		for i := 0; i < 2*n; i++ {
			j := (i * 7) % n
			if i%3 == 0 && ts[j].Cancel() && waiting[j] {
				cancelledWaiting[j] = true
				hits++
			}
			if err := yieldN(ctx, i%2); err != nil {
				return err
			}
		}
		if hits == 0 {
			t.Error("no task was cancelled while it waited: the test exercises nothing")
		}
		rs, err := runtime.GatherAll(ctx, ts...)
		if err != nil {
			return err
		}
		for i, r := range rs {
			if r.Err != nil && !errors.Is(r.Err, runtime.ErrCancelled) {
				t.Errorf("task %d: %v", i, r.Err)
			}
		}
		if lock.Locked() || sem.Available() != 2 {
			t.Errorf("after every task ended: Locked %t, Available %d; want false, 2", lock.Locked(), sem.Available())
		}
		return nil
	})
}

// test_queues.py test_get_cancel_drop_many_pending_readers: two items are
// put and the first reader is cancelled in the same iteration; the other
// two readers get one item each.
func TestCompatQueueGetCancelDropManyPendingReaders(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		q := runtime.NewQueue[int](0)
		r1, r2, r3 := runtime.Spawn(ctx, q.Get), runtime.Spawn(ctx, q.Get), runtime.Spawn(ctx, q.Get)
		runtime.Yield(ctx)
		q.PutNowait(1)
		q.PutNowait(2)
		r1.Cancel()
		_, err := r1.Await(ctx)
		wantCancelled(t, "reader1", err)
		v3, err := runtime.WaitFor(ctx, time.Minute, r3)
		if err != nil {
			return fmt.Errorf("reader3: %w", err)
		}
		v2, err := r2.Result()
		if err != nil {
			return fmt.Errorf("reader2: %w", err)
		}
		if got := []int{min(v2, v3), max(v2, v3)}; !slices.Equal(got, []int{1, 2}) {
			t.Errorf("readers got %d and %d; want 1 and 2", v2, v3)
		}
		return nil
	})
}

// test_queues.py test_get_cancel_drop_one_pending_reader: the only reader is
// cancelled in the iteration items arrive; item 1 is not dropped.
func TestCompatQueueGetCancelDropOnePendingReader(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		q := runtime.NewQueue[int](0)
		reader := runtime.Spawn(ctx, q.Get)
		runtime.Yield(ctx)
		q.PutNowait(1)
		q.PutNowait(2)
		reader.Cancel()
		v, err := reader.Await(ctx)
		if errors.Is(err, runtime.ErrCancelled) {
			v, err = runtime.Spawn(ctx, q.Get).Await(ctx)
		}
		if v != 1 || err != nil {
			t.Errorf("got %d, %v; want 1 (2 means 1 was dropped)", v, err)
		}
		return nil
	})
}

// test_queues.py test_put_cancel_drop: a writer blocked on a full queue is
// cancelled in the iteration a slot frees up; retried, its item is the only
// one left.
func TestCompatQueuePutCancelDrop(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		q := runtime.NewQueue[int](1)
		q.PutNowait(1)
		put2 := func(ctx context.Context) (int, error) { return 0, q.Put(ctx, 2) }
		writer := runtime.Spawn(ctx, put2)
		runtime.Yield(ctx)
		if v, err := q.GetNowait(); v != 1 || err != nil {
			t.Errorf("GetNowait = %d, %v; want 1", v, err)
		}
		writer.Cancel()
		if _, err := writer.Await(ctx); errors.Is(err, runtime.ErrCancelled) {
			must(runtime.Spawn(ctx, put2).Await(ctx))
		}
		if v, err := q.GetNowait(); v != 2 || err != nil {
			t.Errorf("GetNowait = %d, %v; want 2", v, err)
		}
		if q.Len() != 0 {
			t.Errorf("Len = %d; want 0", q.Len())
		}
		return nil
	})
}

// TestQueuePutCancelledPassesSlot is our own: two writers wait on a full
// queue; a slot frees up and the first writer is cancelled in the same
// iteration. It puts nothing; the second writer gets the slot.
func TestQueuePutCancelledPassesSlot(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		q := runtime.NewQueue[string](1)
		q.PutNowait("first")
		w1 := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, q.Put(ctx, "cancelled") })
		w2 := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, q.Put(ctx, "second") })
		runtime.Yield(ctx)
		must(q.GetNowait())
		w1.Cancel()
		if _, err := runtime.WaitFor(ctx, time.Minute, w2); err != nil {
			return fmt.Errorf("second writer: %w", err)
		}
		_, err := w1.Result()
		wantCancelled(t, "first writer", err)
		var got []string
		for q.Len() > 0 {
			got = append(got, must(q.GetNowait()))
		}
		if want := []string{"second"}; !slices.Equal(got, want) {
			t.Errorf("queue holds %q; want %q", got, want)
		}
		return nil
	})
}

// TestQueueFreedSlotsWakeEveryWriter is our own: two writers wait on a full
// queue of 2 and two items are taken in one iteration; both writers put
// (the second is woken by the first, not left waiting for a third Get).
func TestQueueFreedSlotsWakeEveryWriter(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		q := runtime.NewQueue[int](2)
		q.PutNowait(1)
		q.PutNowait(2)
		put := func(v int) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) { return 0, q.Put(ctx, v) }
		}
		w3, w4 := runtime.Spawn(ctx, put(3)), runtime.Spawn(ctx, put(4))
		runtime.Yield(ctx)
		must(q.GetNowait())
		must(q.GetNowait())
		yieldN(ctx, 3)
		if !w3.Done() || !w4.Done() {
			t.Fatalf("writers done: %t, %t; want both", w3.Done(), w4.Done())
		}
		got := []int{must(q.GetNowait()), must(q.GetNowait())}
		if want := []int{3, 4}; !slices.Equal(got, want) {
			t.Errorf("queue holds %v; want %v", got, want)
		}
		return nil
	})
}

// TestEventWaitCancelledWhenSet is our own: the event is set and one of two
// waiters cancelled in the same iteration. The cancelled one gets
// ErrCancelled (as asyncio's Event.wait raises CancelledError), the other
// nil.
func TestEventWaitCancelledWhenSet(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		ev := runtime.NewEvent()
		wait := func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) }
		w1, w2 := runtime.Spawn(ctx, wait), runtime.Spawn(ctx, wait)
		runtime.Yield(ctx)
		ev.Set()
		w1.Cancel()
		rs := must(runtime.GatherAll(ctx, w1, w2))
		wantCancelled(t, "cancelled waiter", rs[0].Err)
		if rs[1].Err != nil {
			t.Errorf("other waiter: %v", rs[1].Err)
		}
		if !ev.IsSet() {
			t.Error("the event was cleared")
		}
		return nil
	})
}

// TestFutureAwaitCancelledWhenResolved is our own: the future is resolved
// and one of two waiters cancelled in the same iteration. The cancelled one
// gets ErrCancelled, the other the value; the future keeps it.
func TestFutureAwaitCancelledWhenResolved(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		f := runtime.NewFuture[int](ctx)
		w1, w2 := runtime.Spawn(ctx, f.Await), runtime.Spawn(ctx, f.Await)
		runtime.Yield(ctx)
		f.SetResult(7)
		w1.Cancel()
		rs := must(runtime.GatherAll(ctx, w1, w2))
		wantCancelled(t, "cancelled waiter", rs[0].Err)
		if rs[1].Value != 7 || rs[1].Err != nil {
			t.Errorf("other waiter = %d, %v; want 7, nil", rs[1].Value, rs[1].Err)
		}
		if v, err := f.Result(); v != 7 || err != nil {
			t.Errorf("Result = %d, %v; want 7, nil", v, err)
		}
		return nil
	})
}

// TestAwaitTaskCancelledWhenDone is our own: the awaited task ends and the
// awaiting one is cancelled in the same iteration; the cancellation wins,
// as in asyncio (the awaiting task's _must_cancel).
func TestAwaitTaskCancelledWhenDone(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		f := runtime.NewFuture[int](ctx)
		inner := runtime.Spawn(ctx, f.Await)
		outer := runtime.Spawn(ctx, inner.Await)
		runtime.Yield(ctx)
		f.SetResult(1)
		runtime.Yield(ctx) // inner ends; outer is woken
		outer.Cancel()
		_, err := outer.Await(ctx)
		wantCancelled(t, "outer", err)
		if v, err := inner.Result(); v != 1 || err != nil {
			t.Errorf("inner = %d, %v; want 1, nil", v, err)
		}
		return nil
	})
}

// test_waitfor.py test_wait_for_timeout_less_then_0_or_0: a started task
// given a timeout of 0 or less is cancelled; WaitFor returns ErrTimeout once
// it has unwound.
func TestCompatWaitForTimeoutLessThen0Or0(t *testing.T) {
	for _, timeout := range []time.Duration{0, -time.Second, -time.Hour} {
		t.Run(timeout.String(), func(t *testing.T) {
			compatRun(t, func(ctx context.Context) error {
				running := false
				started := runtime.NewFuture[int](ctx)
				fut := runtime.Spawn(ctx, func(ctx context.Context) (string, error) {
					running = true
					started.SetResult(0)
					defer func() { running = false }()
					if err := runtime.Sleep(ctx, 10*time.Second); err != nil {
						return "", err
					}
					return "done", nil
				})
				must(started.Await(ctx))
				_, err := runtime.WaitFor(ctx, timeout, fut)
				if !errors.Is(err, runtime.ErrTimeout) {
					t.Errorf("WaitFor error %v; want ErrTimeout", err)
				}
				if !fut.Cancelled() || running {
					t.Errorf("task %v, still running %t; want cancelled and unwound", fut.State(), running)
				}
				return nil
			})
		})
	}
}

// test_waitfor.py test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started:
// a task not yet started, given a timeout of 0, never runs.
func TestCompatWaitForTimeout0NotStarted(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		started := false
		task := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { started = true; return 1, nil })
		if _, err := runtime.WaitFor(ctx, 0, task); !errors.Is(err, runtime.ErrTimeout) {
			t.Errorf("WaitFor error %v; want ErrTimeout", err)
		}
		if started || !task.Cancelled() {
			t.Errorf("started %t, state %v; want a task that never ran, cancelled", started, task.State())
		}
		return nil
	})
}

// test_waitfor.py test_wait_for_timeout_less_then_0_or_0_future_done: a done
// task gives its result whatever the timeout.
func TestCompatWaitForTimeout0FutureDone(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		task := runtime.Spawn(ctx, func(ctx context.Context) (string, error) { return "done", nil })
		runtime.Yield(ctx)
		if v, err := runtime.WaitFor(ctx, 0, task); v != "done" || err != nil {
			t.Errorf("WaitFor = %q, %v; want done, nil", v, err)
		}
		return nil
	})
}

// test_waitfor.py test_wait_for_reraises_exception_during_cancellation: an
// error the task returns while unwinding from the timeout's cancellation
// reaches the caller.
func TestCompatWaitForReraisesExceptionDuringCancellation(t *testing.T) {
	errFoo := errors.New("FooException")
	for _, timeout := range []time.Duration{10 * time.Millisecond, 0} {
		t.Run(timeout.String(), func(t *testing.T) {
			compatRun(t, func(ctx context.Context) error {
				foo := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					runtime.Sleep(ctx, 200*time.Millisecond)
					return 0, errFoo
				})
				runtime.Yield(ctx) // started, so that it unwinds
				if _, err := runtime.WaitFor(ctx, timeout, foo); !errors.Is(err, errFoo) {
					t.Errorf("WaitFor error %v; want FooException", err)
				}
				return nil
			})
		})
	}
}

// TestWaitNegativeTimeout is our own, for the same clock bug as
// test_wait_for_timeout_less_then_0_or_0: Wait and AsCompleted with a
// timeout ≤ 0 time out at once (at the next iteration) instead of never.
func TestWaitNegativeTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, -time.Hour} {
		t.Run(timeout.String(), func(t *testing.T) {
			compatRun(t, func(ctx context.Context) error {
				slow := runtime.Spawn(ctx, sleepHour)
				fast := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, nil })
				runtime.Yield(ctx)
				done, pending, err := runtime.Wait(ctx, []runtime.Handle{slow, fast}, runtime.WithTimeout(timeout))
				if err != nil || len(done) != 1 || done[0] != runtime.Handle(fast) || len(pending) != 1 {
					t.Errorf("Wait = done %v, pending %v, %v; want [fast], [slow]", done, pending, err)
				}
				var got []error
				for v, err := range runtime.AsCompleted(ctx, []*runtime.Task[int]{slow, fast}, runtime.WithTimeout(timeout)) {
					if err == nil && v != 1 {
						t.Errorf("AsCompleted yielded %d; want 1", v)
					}
					got = append(got, err)
				}
				if len(got) != 2 || got[0] != nil || !errors.Is(got[1], runtime.ErrTimeout) {
					t.Errorf("AsCompleted yielded errors %v; want [nil, ErrTimeout]", got)
				}
				if slow.Done() {
					t.Error("the slow task was cancelled; Wait and AsCompleted never cancel")
				}
				slow.Cancel()
				return nil
			})
		})
	}
}

// test_tasks.py test_cancel_at_end: a task that cancels itself and returns
// without reaching another await ends Cancelled, and its awaiter gets
// ErrCancelled. A task that catches its cancellation and returns a value
// still Finishes, and one that returns another error Fails.
func TestCompatCancelAtEnd(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		body    func(ctx context.Context, self *runtime.Task[int]) (int, error)
		want    runtime.State
		wantErr error
	}{
		{"cancel then return", func(ctx context.Context, self *runtime.Task[int]) (int, error) {
			self.Cancel("at end")
			return 12, nil
		}, runtime.Cancelled, runtime.ErrCancelled},
		{"cancel then fail", func(ctx context.Context, self *runtime.Task[int]) (int, error) {
			self.Cancel()
			return 0, boom
		}, runtime.Failed, boom},
		{"cancel caught then return", func(ctx context.Context, self *runtime.Task[int]) (int, error) {
			self.Cancel()
			runtime.Yield(ctx) // delivered here, and ignored
			return 12, nil
		}, runtime.Finished, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compatRun(t, func(ctx context.Context) error {
				var task *runtime.Task[int]
				task = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return tt.body(ctx, task) })
				v, err := task.Await(ctx)
				if task.State() != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("state %v, Await = %d, %v; want %v, %v", task.State(), v, err, tt.want, tt.wantErr)
				}
				if tt.want == runtime.Cancelled && v != 0 {
					t.Errorf("a cancelled task's value is %d; want 0", v)
				}
				return nil
			})
		})
	}
}

// test_tasks.py test_as_completed_duplicate_coroutines: a task given twice
// is yielded once.
func TestCompatAsCompletedDuplicateCoroutines(t *testing.T) {
	compatRun(t, func(ctx context.Context) error {
		coro := func(s string) func(context.Context) (string, error) {
			return func(context.Context) (string, error) { return s, nil }
		}
		c := runtime.Spawn(ctx, coro("ham"))
		var result []string
		for v, err := range runtime.AsCompleted(ctx, []*runtime.Task[string]{c, c, runtime.Spawn(ctx, coro("spam"))}) {
			if err != nil {
				return err
			}
			result = append(result, v)
		}
		slices.Sort(result)
		if want := []string{"ham", "spam"}; !slices.Equal(result, want) {
			t.Errorf("yielded %v; want %v", result, want)
		}
		return nil
	})
}
