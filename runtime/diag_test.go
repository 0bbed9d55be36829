package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// settle lets every other task run until it parks, and the loop publish
// their records: a few iterations with a short sleep.
func settle(ctx context.Context) {
	for range 3 {
		_ = runtime.Yield(ctx)
	}
	_ = runtime.Sleep(ctx, time.Millisecond)
	_ = runtime.Yield(ctx)
}

// resourceByID returns the resource id of l, failing the test if l does not
// list it.
func resourceByID(t *testing.T, l *runtime.Loop, id uint64) runtime.ResourceInfo {
	t.Helper()
	for _, r := range l.Resources() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("Resources() lists no resource %d: %+v", id, l.Resources())
	return runtime.ResourceInfo{}
}

// taskByID returns the live task id of a snapshot of l.
func taskByID(t *testing.T, l *runtime.Loop, id uint64) runtime.TaskInfo {
	t.Helper()
	ti, ok := l.Task(id)
	if !ok {
		t.Fatalf("no live task %d", id)
	}
	return ti
}

func forever(ctx context.Context) error {
	return runtime.Sleep(ctx, time.Hour)
}

// TestResourcesIdentityAndState: each kind of awaitable is listed with its
// kind, the user's creation line, the task that made it, and its state.
func TestResourcesIdentityAndState(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		me := runtime.CurrentTask(ctx).ID()
		file := thisFile()

		lock := runtime.NewLock()          // mark:newlock
		sem := runtime.NewSemaphore(2)     // mark:newsem
		q := runtime.NewQueue[int](1)      // mark:newqueue
		empty := runtime.NewQueue[int](0)  // mark:newempty
		ev := runtime.NewEvent()           // mark:newevent
		fut := runtime.NewFuture[int](ctx) // mark:newfuture
		idle := runtime.NewEvent()         // made, never waited on: listed while main lives

		hold := func(acquire func(context.Context) error) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				if err := acquire(ctx); err != nil {
					return 0, err
				}
				return 0, forever(ctx)
			}
		}
		lockHolder := runtime.Spawn(ctx, hold(lock.Lock), runtime.Named("lock-holder"))
		settle(ctx)
		lockWaiter := runtime.Spawn(ctx, hold(lock.Lock), runtime.Named("lock-waiter"))
		semA := runtime.Spawn(ctx, hold(sem.Acquire))
		semB := runtime.Spawn(ctx, hold(sem.Acquire))
		settle(ctx)
		semC := runtime.Spawn(ctx, hold(sem.Acquire))
		if err := q.PutNowait(1); err != nil {
			return 0, err
		}
		putter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, q.Put(ctx, 2) })
		getter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return empty.Get(ctx) })
		ev.Set()
		ev.Clear()
		evWaiter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) })
		futWaiter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return fut.Await(ctx) })
		settle(ctx)

		byID := map[uint64]runtime.ResourceInfo{}
		for _, r := range l.Resources() {
			byID[r.ID] = r
		}
		find := func(kind string, line int) runtime.ResourceInfo {
			t.Helper()
			for _, r := range byID {
				if r.Kind == kind && r.CreatedAt.Line == line {
					return r
				}
			}
			t.Fatalf("Resources() has no %s made at line %d: %+v", kind, line, l.Resources())
			return runtime.ResourceInfo{}
		}
		ids := func(hs ...runtime.Handle) []uint64 {
			var out []uint64
			for _, h := range hs {
				out = append(out, h.ID())
			}
			return out
		}
		checkIDs := func(what string, got, want []uint64) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}

		lr := find("lock", markLine(t, "newlock"))
		checkIDs("lock holders", lr.Holders, ids(lockHolder))
		checkIDs("lock waiters", lr.Waiters, ids(lockWaiter))
		sr := find("semaphore", markLine(t, "newsem"))
		checkIDs("semaphore holders", sr.Holders, ids(semA, semB))
		checkIDs("semaphore waiters", sr.Waiters, ids(semC))
		if sr.Len != 0 || sr.Cap != 2 {
			t.Errorf("semaphore Len, Cap = %d, %d; want 0, 2", sr.Len, sr.Cap)
		}
		qr := find("queue", markLine(t, "newqueue"))
		checkIDs("queue putters", qr.Putters, ids(putter))
		if qr.Len != 1 || qr.Cap != 1 || len(qr.Waiters) != 0 {
			t.Errorf("queue Len, Cap, Waiters = %d, %d, %v; want 1, 1, []", qr.Len, qr.Cap, qr.Waiters)
		}
		er := find("queue", markLine(t, "newempty"))
		checkIDs("empty queue getters", er.Waiters, ids(getter))
		evr := find("event", markLine(t, "newevent"))
		checkIDs("event waiters", evr.Waiters, ids(evWaiter))
		if evr.Set || evr.LastSet.IsZero() || evr.LastCleared.IsZero() || evr.LastCleared.Before(evr.LastSet) {
			t.Errorf("event Set, LastSet, LastCleared = %v, %v, %v; want false, set, cleared after set", evr.Set, evr.LastSet, evr.LastCleared)
		}
		fr := find("future", markLine(t, "newfuture"))
		checkIDs("future waiters", fr.Waiters, ids(futWaiter))

		for _, r := range []runtime.ResourceInfo{lr, sr, qr, er, evr, fr} {
			// A Future's creation time is not kept (see ResourceInfo.Created).
			if r.CreatedBy != me || filepath.Base(r.CreatedAt.File) != filepath.Base(file) || r.Created.IsZero() != (r.Kind == "future") || r.ID == 0 {
				t.Errorf("%s %d: CreatedBy %d at %v (%v), want task %d at %s", r.Kind, r.ID, r.CreatedBy, r.CreatedAt, r.Created, me, filepath.Base(file))
			}
		}
		// The idle event main made is listed; its id is distinct.
		n := 0
		for _, r := range byID {
			if r.Kind == "event" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("Resources() lists %d events, want 2 (one waited on, one made by main)", n)
		}
		_ = idle

		// Each waiting task's WaitInfo names the resource.
		for _, c := range []struct {
			h    runtime.Handle
			kind string
			res  uint64
		}{
			{lockWaiter, "lock", lr.ID}, {semC, "semaphore", sr.ID}, {putter, "queue.put", qr.ID},
			{getter, "queue.get", er.ID}, {evWaiter, "event", evr.ID}, {futWaiter, "future", fr.ID},
			{lockHolder, "sleep", 0},
		} {
			w := taskByID(t, l, c.h.ID()).Wait
			if w.Kind != c.kind || w.Resource != c.res || w.External != (c.kind == "sleep") || w.Since.IsZero() {
				t.Errorf("task %d Wait = %+v, want kind %s resource %d", c.h.ID(), w, c.kind, c.res)
			}
		}
		for _, h := range []runtime.Handle{lockHolder, lockWaiter, semA, semB, semC, putter, getter, evWaiter, futWaiter} {
			h.Cancel()
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWaitInfoKinds: the structured wait of each await kind, and whether
// something outside the loop's tasks can end it.
func TestWaitInfoKinds(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		release := make(chan struct{})
		sleeper := runtime.Spawn(ctx, sleepHour)
		thread := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return runtime.ToThread(ctx, func() (int, error) { <-release; return 1, nil }) // mark:tothread
		})
		awaiter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return sleeper.Await(ctx) })
		waitFor := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return runtime.WaitFor(ctx, time.Hour, sleeper) })
		gatherer := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			_, err := runtime.GatherAll(ctx, sleeper)
			return 0, err
		})
		grouper := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			g, _ := runtime.NewTaskGroup(ctx)
			runtime.SpawnIn(g, sleepHour)
			return 0, g.Wait(ctx)
		})
		settle(ctx)
		for _, c := range []struct {
			h        runtime.Handle
			kind     string
			resource bool
			external bool
		}{
			{sleeper, "sleep", false, true},
			{thread, "to_thread", true, true},
			{awaiter, "task", false, false},
			{waitFor, "wait_for", false, true},
			{gatherer, "gather", false, false},
			{grouper, "taskgroup", true, false},
		} {
			w := taskByID(t, l, c.h.ID()).Wait
			if w.Kind != c.kind || (w.Resource != 0) != c.resource || w.External != c.external || w.Since.IsZero() {
				t.Errorf("%s: Wait = %+v, want kind %s, resource %t, external %t", c.kind, w, c.kind, c.resource, c.external)
			}
			if c.resource {
				r := resourceByID(t, l, w.Resource)
				want := c.kind
				if r.Kind != want {
					t.Errorf("%s: resource %d has kind %q, want %q", c.kind, r.ID, r.Kind, want)
				}
				if c.kind == "to_thread" {
					if !slices.Equal(r.Holders, []uint64{thread.ID()}) || r.CreatedAt.Line != markLine(t, "tothread") {
						t.Errorf("to_thread resource = %+v, want held by %d, made at line %d", r, thread.ID(), markLine(t, "tothread"))
					}
				}
			}
		}
		if st := l.Stats(); st.Threads != 1 || st.Timers < 2 {
			t.Errorf("Stats() Threads, Timers = %d, %d; want 1, ≥ 2", st.Threads, st.Timers)
		}
		close(release)
		for _, h := range []runtime.Handle{sleeper, awaiter, waitFor, gatherer, grouper} {
			h.Cancel()
		}
		_, err := thread.Await(ctx)
		return 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWaitSinceSurvivesSpuriousWakeups: a getter woken for an item that
// another task takes first parks again; its wait began when it first
// parked, and WaitInfo.Since says so.
func TestWaitSinceSurvivesSpuriousWakeups(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		q := runtime.NewQueue[int](0)
		getter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return q.Get(ctx) })
		settle(ctx)
		first := taskByID(t, l, getter.ID())
		for range 3 {
			_ = runtime.Sleep(ctx, 5*time.Millisecond)
			// The getter is woken for the item, and main takes it back
			// before the getter runs: the getter wakes to an empty queue.
			if err := q.PutNowait(1); err != nil {
				return 0, err
			}
			if _, err := q.GetNowait(); err != nil {
				return 0, err
			}
			settle(ctx)
		}
		again := taskByID(t, l, getter.ID())
		if again.Steps <= first.Steps {
			t.Fatalf("the getter did not wake: steps %d then %d", first.Steps, again.Steps)
		}
		if !again.Wait.Since.Equal(first.Wait.Since) || again.Wait.Kind != "queue.get" {
			t.Errorf("Wait after spurious wakeups = %+v, want Since %v as before", again.Wait, first.Wait.Since)
		}
		if !again.Suspended.After(first.Wait.Since) {
			t.Errorf("Suspended %v not after Since %v: the test did not wake the getter", again.Suspended, first.Wait.Since)
		}
		// A new await starts a new wait.
		if err := q.PutNowait(1); err != nil {
			return 0, err
		}
		getter.Cancel()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoopStats: the loop's recent activity, in Stats and in snapshots.
func TestLoopStats(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		spin := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for range 3 {
				end := time.Now().Add(10 * time.Millisecond)
				for time.Now().Before(end) {
				}
				if err := runtime.Yield(ctx); err != nil {
					return 0, err
				}
			}
			return 0, forever(ctx)
		}, runtime.Named("spin"))
		sleeper := runtime.Spawn(ctx, sleepHour)
		settle(ctx)
		snap := l.Snapshot()
		st := snap.Stats
		if st.LastWork.IsZero() || st.LastWork.After(snap.Taken) {
			t.Errorf("LastWork = %v, want set and not after %v", st.LastWork, snap.Taken)
		}
		if st.Window <= 0 || st.Busy < 30*time.Millisecond || st.Busy > st.Window {
			t.Errorf("Window, Busy = %v, %v; want Busy ≥ 30ms and ≤ Window", st.Window, st.Busy)
		}
		if st.Timers < 2 || st.Threads != 0 || st.Lag < 0 {
			t.Errorf("Timers, Threads, Lag = %d, %d, %v; want ≥ 2, 0, ≥ 0", st.Timers, st.Threads, st.Lag)
		}
		var spinBusy, sleeperBusy time.Duration
		for _, ti := range snap.Tasks {
			switch ti.ID {
			case spin.ID():
				spinBusy = ti.RecentBusy
			case sleeper.ID():
				sleeperBusy = ti.RecentBusy
			}
		}
		if spinBusy < 30*time.Millisecond || spinBusy > st.Busy || sleeperBusy >= spinBusy {
			t.Errorf("RecentBusy spin %v, sleeper %v, loop %v: want spin ≥ 30ms, ≤ loop, more than sleeper", spinBusy, sleeperBusy, st.Busy)
		}
		spin.Cancel()
		sleeper.Cancel()
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoopStatsCalls: Calls counts the thread-safe calls a loop took from
// other goroutines (CallSoonThreadsafe, Submit), not those its own tasks
// make, nor its ToThread calls.
func TestLoopStatsCalls(t *testing.T) {
	l := runtime.NewLoop(quietLogger())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(context.Background(), func(ctx context.Context) error {
			l.CallSoonThreadsafe(func() {}) // from the loop's own task: not counted
			fed := make(chan struct{})
			go func() { // a server's handler, say
				defer close(fed)
				for range 3 {
					l.CallSoonThreadsafe(func() {})
				}
				for range 2 {
					_, _ = l.Submit(func(context.Context) error { return nil }).Await(context.Background())
				}
			}()
			_, err := runtime.ToThread(ctx, func() (int, error) { <-fed; return 0, nil })
			return err
		})
	}()
	<-done
	want := uint64(5)
	if goruntime.GOARCH != "amd64" {
		want = 6 // no goroutine identity there (fp_other.go): every call counts
	}
	if got := l.Stats().Calls; got != want {
		t.Errorf("Calls = %d after 3 CallSoonThreadsafe and 2 Submit from another goroutine, one from a task and a ToThread; want %d", got, want)
	}
}

// deadlockObserver counts the deadlocks it is given.
type deadlockObserver struct {
	mu sync.Mutex
	ds []runtime.Deadlock
}

func (o *deadlockObserver) OnTask(runtime.TaskEvent)   {}
func (o *deadlockObserver) OnBlock(runtime.BlockEvent) {}
func (o *deadlockObserver) OnDeadlock(d runtime.Deadlock) {
	o.mu.Lock()
	o.ds = append(o.ds, d)
	o.mu.Unlock()
}

func (o *deadlockObserver) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ds)
}

var _ runtime.DeadlockObserver = (*deadlockObserver)(nil)

// lockThen returns a task that takes first, yields so the others take
// theirs, then takes second; it releases both when it returns.
func lockThen(first, second *runtime.Lock) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		if err := first.Lock(ctx); err != nil {
			return 0, err
		}
		defer first.Unlock()
		if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
			return 0, err
		}
		if err := second.Lock(ctx); err != nil { // mark:second
			return 0, err
		}
		second.Unlock()
		return 1, nil
	}
}

// TestDeadlocks: cycles through lock holders, and through awaited tasks,
// are reported once when they form (log and Observer) and listed while
// they hold; a cancellation breaks them and they are dropped. Nothing of
// the tasks' waits changes.
func TestDeadlocks(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(map[int]string{2: "lock order", 3: "three-way"}[n], func(t *testing.T) {
			logger, logs := newLogger()
			obs := &deadlockObserver{}
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				l := runtime.LoopOf(ctx)
				locks := make([]*runtime.Lock, n)
				for i := range locks {
					locks[i] = runtime.NewLock()
				}
				tasks := make([]*runtime.Task[int], n)
				for i := range tasks {
					tasks[i] = runtime.Spawn(ctx, lockThen(locks[i], locks[(i+1)%n]))
				}
				settle(ctx)
				settle(ctx)
				ds := l.Deadlocks()
				if len(ds) != 1 {
					t.Fatalf("Deadlocks() = %+v, want one", ds)
				}
				d := ds[0]
				var want []uint64
				for _, tk := range tasks {
					want = append(want, tk.ID())
				}
				got := slices.Clone(d.Tasks)
				slices.Sort(got)
				if !slices.Equal(got, want) || len(d.Resources) != n || len(d.At) != n || len(d.Names) != n {
					t.Fatalf("deadlock = %+v, want tasks %v, %d resources and frames", d, want, n)
				}
				for i := range d.Tasks {
					if d.At[i].Line != markLine(t, "second") || d.Kinds[i] != "lock" || d.Resources[i] == 0 {
						t.Errorf("deadlock task %d waits for %s %d at %v, want a lock at line %d", d.Tasks[i], d.Kinds[i], d.Resources[i], d.At[i], markLine(t, "second"))
					}
					// Tasks[i] waits for what Tasks[i+1] holds.
					r := resourceByID(t, l, d.Resources[i])
					if !slices.Equal(r.Holders, []uint64{d.Tasks[(i+1)%n]}) {
						t.Errorf("lock %d held by %v, want task %d", r.ID, r.Holders, d.Tasks[(i+1)%n])
					}
				}
				tasks[0].Cancel()
				for _, tk := range tasks {
					if _, err := tk.Await(ctx); err != nil && !errors.Is(err, runtime.ErrCancelled) {
						return 0, err
					}
				}
				if ds := l.Deadlocks(); len(ds) != 0 {
					t.Errorf("Deadlocks() after a cancellation broke it = %+v, want none", ds)
				}
				return 0, nil
			}, runtime.WithLogger(logger), runtime.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			if c := strings.Count(logs.String(), "runtime: deadlock: task "); c != 1 {
				t.Errorf("logged %d deadlocks, want 1:\n%s", c, logs.String())
			}
			if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), "waits for lock ") {
				t.Errorf("log = %s, want a warning naming the lock", logs.String())
			}
			if obs.count() != 1 {
				t.Errorf("Observer got %d deadlocks, want 1", obs.count())
			}
		})
	}

	t.Run("through an awaited task", func(t *testing.T) {
		for _, lockFirst := range []bool{true, false} {
			logger, logs := newLogger()
			_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
				l := runtime.LoopOf(ctx)
				lock := runtime.NewLock()
				var b *runtime.Task[int]
				a := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					if err := lock.Lock(ctx); err != nil {
						return 0, err
					}
					defer lock.Unlock()
					b = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						if err := lock.Lock(ctx); err != nil {
							return 0, err
						}
						lock.Unlock()
						return 1, nil
					})
					if !lockFirst {
						_ = runtime.Sleep(ctx, time.Millisecond) // b waits for the lock first
					}
					return b.Await(ctx)
				})
				settle(ctx)
				settle(ctx)
				ds := l.Deadlocks()
				if len(ds) != 1 || !slices.Contains(ds[0].Kinds, "task") || !slices.Contains(ds[0].Kinds, "lock") {
					t.Fatalf("lock first %t: Deadlocks() = %+v, want one through a task and a lock", lockFirst, ds)
				}
				a.Cancel()
				_, _ = a.Await(ctx)
				_, _ = b.Await(ctx)
				if ds := l.Deadlocks(); len(ds) != 0 {
					t.Errorf("Deadlocks() after cancel = %+v, want none", ds)
				}
				return 0, nil
			}, runtime.WithLogger(logger))
			if err != nil {
				t.Fatal(err)
			}
			if c := strings.Count(logs.String(), "runtime: deadlock: "); c != 1 {
				t.Errorf("lock first %t: logged %d deadlocks, want 1:\n%s", lockFirst, c, logs.String())
			}
		}
	})
}

// TestDeadlockLog: deadlocks of one shape that form in one iteration
// (pairs of tasks taking two locks in opposite orders, many pairs at once)
// are one log line that counts the others; Loop.Deadlocks and the
// Observer still have each, and a deadlock of another shape has its own
// line.
func TestDeadlockLog(t *testing.T) {
	const pairs = 50
	logger, logs := newLogger()
	obs := &deadlockObserver{}
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		// Every task takes its first lock and waits for go; Set wakes them
		// all in one batch, so every deadlock forms in one iteration.
		start := runtime.NewEvent()
		locker := func(first, second *runtime.Lock) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				if err := first.Lock(ctx); err != nil {
					return 0, err
				}
				if err := start.Wait(ctx); err != nil {
					return 0, err
				}
				return 0, second.Lock(ctx)
			}
		}
		var ts []*runtime.Task[int]
		for range pairs {
			a, b := runtime.NewLock(), runtime.NewLock()
			ts = append(ts, runtime.Spawn(ctx, locker(a, b)), runtime.Spawn(ctx, locker(b, a)))
		}
		// Another shape: a three-way cycle.
		three := []*runtime.Lock{runtime.NewLock(), runtime.NewLock(), runtime.NewLock()}
		for i := range three {
			ts = append(ts, runtime.Spawn(ctx, locker(three[i], three[(i+1)%3])))
		}
		settle(ctx)
		start.Set()
		settle(ctx)
		if got := len(l.Deadlocks()); got != pairs+1 {
			t.Errorf("Deadlocks() has %d, want %d", got, pairs+1)
		}
		// Logged at the end of the iteration they formed in, while the
		// loop runs on, not at its close.
		if got := strings.Count(logs.String(), "runtime: deadlock: "); got != 2 {
			t.Errorf("while the loop runs: logged %d deadlock lines, want 2", got)
		}
		for _, tk := range ts {
			tk.Cancel()
		}
		return 0, nil
	}, runtime.WithLogger(logger), runtime.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if got := strings.Count(out, "runtime: deadlock: "); got != 2 {
		t.Errorf("logged %d deadlock lines, want 2 (one per shape):\n%s", got, out)
	}
	if want := fmt.Sprintf("(and %d more like it, at the same lines", pairs-1); !strings.Contains(out, want) {
		t.Errorf("log does not count the pairs alike (%q):\n%s", want, out)
	}
	if obs.count() != pairs+1 {
		t.Errorf("Observer got %d deadlocks, want %d", obs.count(), pairs+1)
	}
}

// TestNoFalseDeadlocks: contended locks and semaphores that will be
// released are not deadlocks.
func TestNoFalseDeadlocks(t *testing.T) {
	logger, logs := newLogger()
	obs := &deadlockObserver{}
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		lock := runtime.NewLock()
		var ts []*runtime.Task[int]
		for range 5 {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for range 3 {
					if err := lock.Lock(ctx); err != nil {
						return 0, err
					}
					err := runtime.Sleep(ctx, time.Millisecond)
					lock.Unlock()
					if err != nil {
						return 0, err
					}
				}
				return 1, nil
			}))
		}
		// A semaphore held by a task stuck on a lock and by one that will
		// release: the waiter on the semaphore is not deadlocked.
		sem := runtime.NewSemaphore(2)
		l2 := runtime.NewLock()
		c := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := l2.Lock(ctx); err != nil {
				return 0, err
			}
			defer l2.Unlock()
			_ = runtime.Sleep(ctx, 2*time.Millisecond)
			return 0, sem.Acquire(ctx)
		})
		a := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			defer sem.Release()
			_ = runtime.Sleep(ctx, time.Millisecond)
			return 0, l2.Lock(ctx)
		})
		b := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			defer sem.Release()
			return 0, runtime.Sleep(ctx, 20*time.Millisecond)
		})
		_, err := runtime.GatherAll(ctx, append(ts, a, b, c)...)
		if ds := l.Deadlocks(); len(ds) != 0 {
			t.Errorf("Deadlocks() = %+v, want none", ds)
		}
		return 0, err
	}, runtime.WithLogger(logger), runtime.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "deadlock") || obs.count() != 0 {
		t.Errorf("a contended lock was reported as a deadlock: %s", logs.String())
	}
}

// TestRunningStepIsBusy: while a step runs (here, blocks the loop), its
// time so far counts as busy: the task's Busy and RecentBusy, the loop's
// Busy, and the change walk visits the task each time. Before, a step that
// blocked for seconds read as 0 busy until it ended.
func TestRunningStepIsBusy(t *testing.T) {
	l := runtime.NewLoop(quietLogger())
	var release atomic.Bool
	defer release.Store(true)
	done := make(chan error, 1)
	go func() {
		done <- l.Run(context.Background(), func(ctx context.Context) error {
			_, err := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				deadline := time.Now().Add(20 * time.Second)
				for !release.Load() && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond) // blocks the loop (misuse, on purpose)
				}
				return 0, nil
			}, runtime.Named("blocker")).Await(ctx)
			return err
		})
	}()
	var snap runtime.LoopSnapshot
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		snap = l.Snapshot()
		if snap.Current != 0 && snap.CurrentFor >= 60*time.Millisecond {
			break
		}
	}
	first := l.EachTaskSince(0, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { return true })
	var visited []uint64
	l.EachTaskSince(first.Seq, runtime.SnapshotOptions{}, func(ti *runtime.TaskInfo, _ bool) bool {
		visited = append(visited, ti.ID)
		return true
	})
	release.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var b runtime.TaskInfo
	for _, ti := range snap.Tasks {
		if ti.ID == snap.Current {
			b = ti
		}
	}
	if b.Name != "blocker" || b.Busy < 60*time.Millisecond || b.RecentBusy < 60*time.Millisecond || snap.Stats.Busy < 60*time.Millisecond {
		t.Errorf("while %q ran for %v: its Busy %v, RecentBusy %v, the loop's Busy %v; want each ≥ 60ms",
			b.Name, snap.CurrentFor, b.Busy, b.RecentBusy, snap.Stats.Busy)
	}
	if !slices.Contains(visited, snap.Current) {
		t.Errorf("a change walk while the step runs visited %v, want the running task %d", visited, snap.Current)
	}
}

// TestQueueLastPut: a queue's record says when an item was last put and by
// which task (0 from a callback), and when one was last taken: the doctor
// tells consumers whose last producer has ended, and producers waiting on
// a queue its consumers drain.
func TestQueueLastPut(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		q := runtime.NewQueue[int](0)
		consumer := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				if _, err := q.Get(ctx); err != nil {
					return 0, err
				}
			}
		})
		producer := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, q.Put(ctx, 1) })
		if _, err := producer.Await(ctx); err != nil {
			return 0, err
		}
		settle(ctx)
		find := func() runtime.ResourceInfo {
			for _, r := range l.Resources() {
				if r.Kind == "queue" {
					return r
				}
			}
			return runtime.ResourceInfo{}
		}
		if r := find(); r.LastPutBy != producer.ID() || r.LastPut.IsZero() {
			t.Errorf("after the producer's put: LastPutBy %d, LastPut %v; want %d and a time", r.LastPutBy, r.LastPut, producer.ID())
		}
		if r := find(); r.LastTaken.IsZero() || r.LastTaken.Before(r.LastPut) {
			t.Errorf("after the consumer took the item: LastTaken %v; want a time, not before LastPut %v", r.LastTaken, r.LastPut)
		}
		runtime.CallSoon(ctx, func() { _ = q.PutNowait(2) })
		settle(ctx)
		if r := find(); r.LastPutBy != 0 {
			t.Errorf("after a callback's put: LastPutBy %d, want 0", r.LastPutBy)
		}
		consumer.Cancel()
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
}

// TestLastTaken: a Lock's and a Semaphore's records say when they were
// last acquired, directly or handed to a waiter: the doctor tells waiters
// that queue for a primitive changing hands from stuck ones.
func TestLastTaken(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		lk, sem := runtime.NewLock(), runtime.NewSemaphore(1)
		taken := func(kind string) time.Time {
			for _, r := range l.Resources() {
				if r.Kind == kind {
					return r.LastTaken
				}
			}
			return time.Time{}
		}
		settle(ctx)
		if !taken("lock").IsZero() || !taken("semaphore").IsZero() {
			t.Errorf("never acquired: LastTaken %v, %v; want zero", taken("lock"), taken("semaphore"))
		}
		before := time.Now()
		if err := lk.Lock(ctx); err != nil {
			return 0, err
		}
		if err := sem.Acquire(ctx); err != nil {
			return 0, err
		}
		waiter := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := sem.Acquire(ctx); err != nil {
				return 0, err
			}
			sem.Release()
			return 0, nil
		})
		settle(ctx)
		first := taken("semaphore")
		if lt := taken("lock"); lt.Before(before.Add(-time.Second)) || first.IsZero() {
			t.Errorf("after Lock and Acquire: LastTaken %v and %v, want times from %v on", lt, first, before)
		}
		lk.Unlock()
		sem.Release() // handed to the waiter: taken again
		if _, err := waiter.Await(ctx); err != nil {
			return 0, err
		}
		settle(ctx)
		if again := taken("semaphore"); !again.After(first) {
			t.Errorf("after the handoff: LastTaken %v, want later than %v", again, first)
		}
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatsEnded: the loop counts the tasks that ended, beyond what its
// history keeps (the doctor tells a history that dropped tasks by it).
func TestStatsEnded(t *testing.T) {
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := runtime.LoopOf(ctx)
		before := l.Stats().Ended
		for range 5 {
			if _, err := runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, nil }).Await(ctx); err != nil {
				return 0, err
			}
		}
		settle(ctx)
		if got := l.Stats().Ended - before; got != 5 {
			t.Errorf("Stats().Ended grew by %d over 5 tasks, want 5", got)
		}
		if n := len(l.History()); uint64(n) > l.Stats().Ended || n != 2 {
			t.Errorf("History() has %d tasks and Ended is %d; want the history's 2 at most", n, l.Stats().Ended)
		}
		return 0, nil
	}, quietLogger(), runtime.WithHistorySize(2))
	if err != nil {
		t.Fatal(err)
	}
}
