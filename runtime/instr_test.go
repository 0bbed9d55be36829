package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// hasFrame reports whether stack has a frame at file:line.
func hasFrame(stack []runtime.Frame, file string, line int) bool {
	for _, f := range stack {
		if f.File == file && f.Line == line {
			return true
		}
	}
	return false
}

// findInfo returns the record of task id in snap.
func findInfo(snap runtime.LoopSnapshot, id uint64) (runtime.TaskInfo, bool) {
	for _, ti := range snap.Tasks {
		if ti.ID == id {
			return ti, true
		}
	}
	return runtime.TaskInfo{}, false
}

func groupWait(ctx context.Context) error {
	g, _ := runtime.NewTaskGroup(ctx)
	runtime.SpawnIn(g, sleepHour)
	return g.Wait(ctx) // mark:await-taskgroup
}

func asCompletedFirst(ctx context.Context, t *runtime.Task[int]) error {
	for _, err := range runtime.AsCompleted(ctx, []*runtime.Task[int]{t}) { // mark:await-ascompleted
		return err
	}
	return nil
}

// TestSuspensionPointsAndSpawnSites checks that every kind of await is
// recorded at the user's own call (this file's file:line), with what it
// awaits, and that spawn sites point at the Spawn call.
func TestSuspensionPointsAndSpawnSites(t *testing.T) {
	file := thisFile()
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		l := loopOf(t, ctx)
		main := runtime.CurrentTask(ctx)
		ev := runtime.NewEvent()
		var lock runtime.Lock
		lock.Lock(ctx)
		sem := runtime.NewSemaphore(0)
		getQ := runtime.NewQueue[int](0)
		putQ := runtime.NewQueue[int](1)
		putQ.PutNowait(0)
		joinQ := runtime.NewQueue[int](0)
		joinQ.PutNowait(0)
		fut := runtime.NewFuture[int](ctx)
		blocker := runtime.Spawn(ctx, sleepHour, runtime.Named("blocker"))
		release := make(chan struct{})
		defer close(release)
		bid := blocker.ID()
		type awaitCase struct {
			name   string
			mark   string
			await  func(ctx context.Context) error
			want   string
			awaits []uint64
		}
		cases := []awaitCase{
			{"sleep", "await-sleep", func(ctx context.Context) error { return runtime.Sleep(ctx, time.Hour) /* mark:await-sleep */ }, "sleep(1h0m0s)", nil},
			{"task", "await-task", func(ctx context.Context) error { _, err := blocker.Await(ctx); /* mark:await-task */ return err }, fmt.Sprintf("task %d", bid), []uint64{bid}},
			{"gather", "await-gather", func(ctx context.Context) error {
				_, err := runtime.Gather(ctx, blocker) /* mark:await-gather */
				return err
			}, "gather(1 tasks)", []uint64{bid}},
			{"wait", "await-wait", func(ctx context.Context) error {
				_, _, err := runtime.Wait(ctx, []runtime.Handle{blocker}) /* mark:await-wait */
				return err
			}, "wait(1 tasks)", []uint64{bid}},
			{"wait with timeout", "await-wait-timeout", func(ctx context.Context) error {
				_, _, err := runtime.Wait(ctx, []runtime.Handle{blocker}, runtime.WithTimeout(time.Hour)) // mark:await-wait-timeout
				return err
			}, "wait(1 tasks, timeout 1h0m0s)", []uint64{bid}},
			{"wait_for", "await-waitfor", func(ctx context.Context) error {
				_, err := runtime.WaitFor(ctx, time.Hour, blocker) /* mark:await-waitfor */
				return err
			}, fmt.Sprintf("wait_for(task %d, 1h0m0s)", bid), []uint64{bid}},
			{"shield", "await-shield", func(ctx context.Context) error {
				_, err := runtime.Shield(ctx, blocker) /* mark:await-shield */
				return err
			}, fmt.Sprintf("shield(task %d)", bid), []uint64{bid}},
			{"as_completed", "await-ascompleted", func(ctx context.Context) error { return asCompletedFirst(ctx, blocker) }, "as_completed(1 tasks)", []uint64{bid}},
			{"taskgroup", "await-taskgroup", groupWait, "taskgroup(1 tasks)", nil},
			{"future", "await-future", func(ctx context.Context) error { _, err := fut.Await(ctx); /* mark:await-future */ return err }, "future", nil},
			{"event", "await-event", func(ctx context.Context) error { return ev.Wait(ctx) /* mark:await-event */ }, "event", nil},
			{"lock", "await-lock", func(ctx context.Context) error { return lock.Lock(ctx) /* mark:await-lock */ }, "lock", nil},
			{"semaphore", "await-semaphore", func(ctx context.Context) error { return sem.Acquire(ctx) /* mark:await-semaphore */ }, "semaphore", nil},
			{"queue.get", "await-get", func(ctx context.Context) error { _, err := getQ.Get(ctx); /* mark:await-get */ return err }, "queue.get", nil},
			{"queue.put", "await-put", func(ctx context.Context) error { return putQ.Put(ctx, 1) /* mark:await-put */ }, "queue.put", nil},
			{"queue.join", "await-join", func(ctx context.Context) error { return joinQ.Join(ctx) /* mark:await-join */ }, "queue.join", nil},
			{"ToThread", "await-thread", func(ctx context.Context) error {
				_, err := runtime.ToThread(ctx, func() (int, error) { <-release; return 0, nil }) // mark:await-thread
				return err
			}, "to_thread", nil},
		}
		tasks := make([]*runtime.Task[int], len(cases))
		for i, c := range cases {
			tasks[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, c.await(ctx) }, runtime.Named(c.name)) // mark:spawn-awaiters
		}
		for range 5 {
			runtime.Yield(ctx)
		}
		snap := l.Snapshot()
		if snap.Current != main.ID() {
			t.Errorf("snapshot's current task = %d, want main (%d)", snap.Current, main.ID())
		}
		if mi, ok := findInfo(snap, main.ID()); !ok || !mi.Running || mi.State != runtime.Running || !mi.SuspendedAt.IsZero() {
			t.Errorf("main in its own snapshot: %+v; want running with no suspension point", mi)
		}
		spawnLine := markLine(t, "spawn-awaiters")
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ti, ok := findInfo(snap, tasks[i].ID())
				if !ok {
					t.Fatalf("task %s is not in the snapshot (state %v)", c.name, tasks[i].State())
				}
				line := markLine(t, c.mark)
				if ti.SuspendedAt.File != file || ti.SuspendedAt.Line != line {
					t.Errorf("SuspendedAt = %s, want %s:%d", ti.SuspendedAt, file, line)
				}
				if ti.SpawnedAt.File != file || ti.SpawnedAt.Line != spawnLine {
					t.Errorf("SpawnedAt = %s, want %s:%d", ti.SpawnedAt, file, spawnLine)
				}
				if ti.Awaiting != c.want {
					t.Errorf("Awaiting = %q, want %q", ti.Awaiting, c.want)
				}
				if c.awaits != nil && !slices.Equal(ti.Awaits, c.awaits) {
					t.Errorf("Awaits = %v, want %v", ti.Awaits, c.awaits)
				}
				if ti.ParentID != main.ID() || ti.Name != c.name || ti.State != runtime.Pending || ti.Running {
					t.Errorf("ParentID %d, Name %q, State %v, Running %t; want %d, %q, pending, false",
						ti.ParentID, ti.Name, ti.State, ti.Running, main.ID(), c.name)
				}
				if ti.Steps < 1 || ti.Created.IsZero() || ti.Started.IsZero() || ti.Suspended.Before(ti.Started) || ti.LoopID != l.ID() || ti.Loop != l.Name() {
					t.Errorf("record times and loop: %+v", ti)
				}
				if !strings.HasPrefix(ti.Function, "github.com/taskdump/taskdump/runtime_test.TestSuspensionPointsAndSpawnSites.") {
					t.Errorf("Function = %q", ti.Function)
				}
				if c.name == "sleep" && ti.Until.Sub(ti.Suspended) < 59*time.Minute {
					t.Errorf("Until = %v for a 1h sleep suspended at %v", ti.Until, ti.Suspended)
				}
				full, ok := l.Task(ti.ID)
				if !ok || !hasFrame(full.Stack, file, line) {
					t.Errorf("Task(%d).Stack has no frame at %s:%d: %v", ti.ID, file, line, full.Stack)
				}
				stk, err := l.TaskStack(ti.ID)
				if err != nil || !hasFrame(stk, file, line) {
					t.Errorf("TaskStack(%d) = %v, %v; want a frame at line %d", ti.ID, stk, err, line)
				}
				if want := fmt.Sprintf("suspended at instr_test.go:%d awaiting %s>", line, c.want); !strings.HasSuffix(tasks[i].String(), want) {
					t.Errorf("repr %s, want suffix %s", tasks[i], want)
				}
			})
		}
		full := l.Snapshot(runtime.SnapshotOptions{Stacks: true})
		for i, c := range cases {
			if ti, ok := findInfo(full, tasks[i].ID()); !ok || !hasFrame(ti.Stack, file, markLine(t, c.mark)) {
				t.Errorf("%s: Snapshot with Stacks has no frame at its await: %v", c.name, ti.Stack)
			}
		}
		return 0, nil
	}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotsUnderLoad reads snapshots, history and blocking events in
// tight loops from other goroutines while the loop runs a busy workload;
// run it with -race.
func TestSnapshotsUnderLoad(t *testing.T) {
	file := thisFile()
	bl := startLoop(t, runtime.WithName("busy"), runtime.WithHistorySize(50), quietLogger())
	const workers, rounds = 200, 20
	var snaps atomic.Int64
	driver := bl.L.Submit(func(ctx context.Context) error {
		// The readers start after this task is submitted: wait for their
		// first snapshot, so that the workload is read while it runs (on a
		// loaded machine it could end before any reader looked).
		for deadline := time.Now().Add(20 * time.Second); snaps.Load() == 0 && time.Now().Before(deadline); {
			if err := runtime.Sleep(ctx, time.Millisecond); err != nil {
				return err
			}
		}
		q := runtime.NewQueue[int](10)
		var lock runtime.Lock
		ts := make([]*runtime.Task[int], workers)
		for i := range ts {
			ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { // mark:spawn-worker
				for r := range rounds {
					var err error
					switch (i + r) % 4 {
					case 0:
						err = runtime.Yield(ctx)
					case 1:
						err = runtime.Sleep(ctx, time.Duration(r%3)*100*time.Microsecond)
					case 2:
						if err = q.Put(ctx, i); err == nil {
							_, err = q.Get(ctx)
						}
					case 3:
						if err = lock.Lock(ctx); err == nil {
							err = runtime.Yield(ctx)
							lock.Unlock()
						}
					}
					if err != nil {
						return 0, err
					}
				}
				return i, nil
			}, runtime.Named(fmt.Sprintf("w-%d", i)))
		}
		_, err := runtime.Gather(ctx, ts...)
		return err
	})
	spawnLine := markLine(t, "spawn-worker")
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	report := func(format string, args ...any) {
		select {
		case errs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				var snap runtime.LoopSnapshot
				switch {
				case r == 0 && i%10 == 0:
					snap = bl.L.Snapshot(runtime.SnapshotOptions{Stacks: true})
				case r == 1:
					found := false
					for _, s := range runtime.Snapshot() {
						if s.ID == bl.L.ID() {
							snap, found = s, true
						}
					}
					if !found {
						report("runtime.Snapshot() misses the running loop")
						continue
					}
				default:
					snap = bl.L.Snapshot()
				}
				snaps.Add(1)
				if r == 2 {
					bl.L.History()
					bl.L.Blocking()
					if len(snap.Tasks) > 0 {
						bl.L.Task(snap.Tasks[len(snap.Tasks)/2].ID)
					}
				}
				running := 0
				for j, ti := range snap.Tasks {
					if j > 0 && ti.ID <= snap.Tasks[j-1].ID {
						report("tasks not in creation order: %d after %d", ti.ID, snap.Tasks[j-1].ID)
					}
					if ti.Running {
						running++
						if ti.ID != snap.Current {
							report("task %d running but Current is %d", ti.ID, snap.Current)
						}
					}
					if !strings.HasPrefix(ti.Name, "w-") {
						continue
					}
					if ti.SpawnedAt.File != file || ti.SpawnedAt.Line != spawnLine {
						report("%s SpawnedAt %s, want line %d", ti.Name, ti.SpawnedAt, spawnLine)
					}
					if !ti.Running && !ti.Started.IsZero() && !ti.State.Done() && ti.SuspendedAt.File != file {
						report("%s (%v) SuspendedAt %s, want a frame in %s", ti.Name, ti.State, ti.SuspendedAt, file)
					}
				}
				if running > 1 {
					report("%d tasks running at once", running)
				}
			}
		}()
	}
	_, err := driver.Await(context.Background())
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err != nil {
		t.Fatal(err)
	}
	if snaps.Load() == 0 {
		t.Error("no snapshot was taken during the workload")
	}
	t.Logf("%d snapshots taken during the workload", snaps.Load())
	if h := bl.L.History(); len(h) != 50 {
		t.Errorf("history holds %d tasks, want the bound 50", len(h))
	}
}

// TestSnapshotWhileBlockedInTimeSleep takes snapshots while a task blocks
// the loop in time.Sleep: they must return while it is still blocked and
// show it running, with the time.Sleep frame under the task's own line.
func TestSnapshotWhileBlockedInTimeSleep(t *testing.T) {
	file := thisFile()
	log, buf := newLogger()
	bl := startLoop(t, runtime.WithSlowStepThreshold(20*time.Millisecond), runtime.WithLogger(log), runtime.WithName("blocky"))
	var release atomic.Bool
	entered := make(chan struct{})
	tk := bl.L.Submit(func(ctx context.Context) error {
		close(entered)
		for !release.Load() {
			time.Sleep(2 * time.Millisecond) // mark:blocking-sleep
		}
		return nil
	})
	line := markLine(t, "blocking-sleep")
	<-entered
	// The task blocks the loop until release: every snapshot below returns
	// while the loop is blocked, or the test would hang.
	var snap runtime.LoopSnapshot
	waitUntil(t, "the watchdog reports the blocking step", func() bool {
		snap = bl.L.Snapshot()
		return snap.Blocking != nil
	})
	if release.Load() {
		t.Fatal("unreachable: the task was released before the snapshot")
	}
	if snap.Current != tk.ID() {
		t.Errorf("Current = %d, want the blocking task %d", snap.Current, tk.ID())
	}
	if snap.CurrentFor < 20*time.Millisecond {
		t.Errorf("CurrentFor = %v, want at least the threshold", snap.CurrentFor)
	}
	if ti, ok := findInfo(snap, tk.ID()); !ok || !ti.Running || ti.State != runtime.Running {
		t.Errorf("blocking task in the snapshot: %+v; want running", ti)
	}
	if got := tk.State(); got != runtime.Running {
		t.Errorf("State() from another goroutine = %v, want running", got)
	}
	checkStack := func(what string, stack []runtime.Frame) {
		t.Helper()
		for i, f := range stack {
			if f.File == file && f.Line == line {
				if i == 0 || stack[i-1].Function != "time.Sleep" {
					t.Errorf("%s: the frame above %s:%d is %v, want time.Sleep", what, file, line, stack[max(i-1, 0)])
				}
				return
			}
		}
		t.Errorf("%s has no frame at %s:%d:\n%v", what, file, line, stack)
	}
	ev := snap.Blocking
	if ev.TaskID != tk.ID() || ev.TaskName != tk.Name() || !ev.Ongoing || ev.Duration < 20*time.Millisecond || ev.Loop != "blocky" {
		t.Errorf("ongoing event: %+v", *ev)
	}
	checkStack("LoopSnapshot.Blocking.Stack", ev.Stack)
	if ev.At.File != file || ev.At.Line != line || ev.Call != "time.Sleep" {
		t.Errorf("event At %s Call %q, want %s:%d and time.Sleep", ev.At, ev.Call, file, line)
	}
	evs := bl.L.Blocking()
	if len(evs) == 0 || !evs[len(evs)-1].Ongoing {
		t.Fatalf("Loop.Blocking() = %+v, want the ongoing event last", evs)
	}
	checkStack("Loop.Blocking() stack", evs[len(evs)-1].Stack)
	live, err := bl.L.TaskStack(tk.ID())
	if err != nil {
		t.Fatal(err)
	}
	checkStack("TaskStack of the running task", live)

	release.Store(true)
	if _, err := tk.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the blocking warning is logged", func() bool { return strings.Contains(buf.String(), "blocked the loop") })
	evs = bl.L.Blocking()
	if last := evs[len(evs)-1]; last.Ongoing || last.At.Line != line || last.TaskID != tk.ID() {
		t.Errorf("finalized event: %+v", last)
	}
}

// blockedNow reports whether l has an ongoing blocking event.
func blockedNow(l *runtime.Loop) bool {
	evs := l.Blocking()
	return len(evs) > 0 && evs[len(evs)-1].Ongoing
}

type recorder struct {
	mu     sync.Mutex
	tasks  []runtime.TaskEvent
	blocks []runtime.BlockEvent
}

func (r *recorder) OnTask(ev runtime.TaskEvent) {
	r.mu.Lock()
	r.tasks = append(r.tasks, ev)
	r.mu.Unlock()
}

func (r *recorder) OnBlock(ev runtime.BlockEvent) {
	r.mu.Lock()
	r.blocks = append(r.blocks, ev)
	r.mu.Unlock()
}

func TestWatchdogReportNamesFileLine(t *testing.T) {
	file := thisFile()
	log, buf := newLogger()
	rec := &recorder{}
	l := runtime.NewLoop(runtime.WithSlowStepThreshold(20*time.Millisecond), runtime.WithLogger(log), runtime.WithObserver(rec))
	// Another goroutine tells the blocking task when the watchdog has seen
	// it, so the task spends its step in time.Sleep, not in a check.
	var seen, stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() && !seen.Load() {
			seen.Store(blockedNow(l))
			time.Sleep(time.Millisecond)
		}
	}()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		quick := runtime.Spawn(ctx, yields(3, 0), runtime.Named("quick"))
		sleepy := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			deadline := time.Now().Add(20 * time.Second)
			// Block (misuse) until the watchdog has seen it.
			for !seen.Load() && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond) // mark:watchdog-sleep
			}
			return 0, nil
		}, runtime.Named("sleepy-1"))
		_, err := runtime.Gather(ctx, quick, sleepy)
		return err
	})
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	line := markLine(t, "watchdog-sleep")
	re := regexp.MustCompile(fmt.Sprintf(`^task "sleepy-1" blocked the loop for \d+(\.\d+)?m?s at instr_test\.go:%d \(time\.Sleep\); move blocking work to runtime\.ToThread$`, line))
	var warnings []map[string]any
	// Only sleepy-1's report counts: on a loaded machine another step may
	// be descheduled past the threshold too.
	for _, r := range buf.records(t) {
		if strings.Contains(r["msg"].(string), `task "sleepy-1" blocked the loop`) {
			warnings = append(warnings, r)
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("logged %d blocking warnings for sleepy-1, want 1:\n%s", len(warnings), buf)
	}
	w := warnings[0]
	if !re.MatchString(w["msg"].(string)) || w["level"] != "WARN" {
		t.Errorf("warning %q (level %v) does not match %s", w["msg"], w["level"], re)
	}
	if w["file"] != file || w["line"] != float64(line) {
		t.Errorf("warning attributes file=%v line=%v, want %s:%d", w["file"], w["line"], file, line)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var blocks []runtime.BlockEvent
	for _, ev := range rec.blocks {
		if ev.TaskName == "sleepy-1" {
			blocks = append(blocks, ev)
		}
	}
	if len(blocks) != 1 {
		t.Fatalf("observer got %d blocking events for sleepy-1, want 1", len(blocks))
	}
	ev := blocks[0]
	if ev.TaskName != "sleepy-1" || ev.Ongoing || ev.Duration < 20*time.Millisecond || ev.At.Line != line || ev.Call != "time.Sleep" {
		t.Errorf("observer's blocking event: %+v", ev)
	}
	found := false
	for _, e := range l.Blocking() {
		found = found || (e.TaskID == ev.TaskID && e.At == ev.At && !e.Ongoing)
	}
	if !found {
		t.Errorf("Loop.Blocking() after Run = %+v, want sleepy-1's event", l.Blocking())
	}
}

func TestHistoryIsBoundedAndOrdered(t *testing.T) {
	boom := errors.New("boom")
	l := runtime.NewLoop(runtime.WithHistorySize(5), quietLogger())
	var ids []uint64
	err := l.Run(context.Background(), func(ctx context.Context) error {
		var ts []*runtime.Task[int]
		for i := range 12 {
			ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for range 3 * i {
					runtime.Yield(ctx)
				}
				switch i % 3 {
				case 1:
					return 0, fmt.Errorf("task %d: %w", i, boom)
				case 2:
					runtime.CurrentTask(ctx).Cancel(fmt.Sprintf("stop-%d", i))
					return 0, runtime.Yield(ctx)
				}
				return i, nil
			}, runtime.Named(fmt.Sprintf("h-%d", i))))
		}
		for _, tk := range ts {
			ids = append(ids, tk.ID())
		}
		runtime.GatherAll(ctx, ts...)
		runtime.Yield(ctx)
		h := l.History()
		if len(h) != 5 {
			t.Fatalf("history holds %d tasks, want 5", len(h))
		}
		for j, ti := range h {
			i := 7 + j
			if ti.ID != ids[i] || ti.Name != fmt.Sprintf("h-%d", i) {
				t.Errorf("history[%d] = %s (id %d), want h-%d (id %d)", j, ti.Name, ti.ID, i, ids[i])
			}
			if j > 0 && ti.Finished.Before(h[j-1].Finished) {
				t.Errorf("history not ordered: %s finished before %s", ti.Name, h[j-1].Name)
			}
			if ti.Finished.IsZero() || ti.Started.IsZero() || ti.Finished.Before(ti.Started) {
				t.Errorf("%s: Started %v, Finished %v", ti.Name, ti.Started, ti.Finished)
			}
			switch i % 3 {
			case 0:
				if ti.State != runtime.Finished || ti.Error != "" {
					t.Errorf("%s: %v %q, want finished", ti.Name, ti.State, ti.Error)
				}
			case 1:
				if ti.State != runtime.Failed || ti.Error != fmt.Sprintf("task %d: boom", i) {
					t.Errorf("%s: %v %q, want failed with its error text", ti.Name, ti.State, ti.Error)
				}
			case 2:
				msg := fmt.Sprintf("stop-%d", i)
				if ti.State != runtime.Cancelled || ti.CancelMsg != msg || !strings.Contains(ti.Error, msg) {
					t.Errorf("%s: %v, CancelMsg %q, Error %q; want cancelled with %q", ti.Name, ti.State, ti.CancelMsg, ti.Error, msg)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestObserverSeesLifecycle(t *testing.T) {
	rec := &recorder{}
	var okID, cancelID uint64
	_, err := runtime.Run(context.Background(), func(ctx context.Context) (int, error) {
		ok := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, runtime.Sleep(ctx, time.Millisecond) // mark:observed-sleep
		}, runtime.Named("ok"))
		c := runtime.Spawn(ctx, sleepHour, runtime.Named("cancelled"))
		okID, cancelID = ok.ID(), c.ID()
		runtime.Yield(ctx)
		c.Cancel("bye")
		runtime.GatherAll(ctx, ok, c)
		return 0, nil
	}, runtime.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	kinds := func(id uint64) []string {
		var out []string
		for _, ev := range rec.tasks {
			if ev.TaskID == id {
				out = append(out, ev.Kind.String())
			}
		}
		return out
	}
	if got, want := kinds(okID), []string{"created", "scheduled", "started", "suspended", "scheduled", "resumed", "finished"}; !slices.Equal(got, want) {
		t.Errorf("transitions of a task that sleeps once:\n got %v\nwant %v", got, want)
	}
	if got, want := kinds(cancelID), []string{"created", "scheduled", "started", "suspended", "cancel_requested", "scheduled", "resumed", "cancelled"}; !slices.Equal(got, want) {
		t.Errorf("transitions of a cancelled task:\n got %v\nwant %v", got, want)
	}
	line := markLine(t, "observed-sleep")
	for _, ev := range rec.tasks {
		switch {
		case ev.TaskID == okID && ev.Kind == runtime.TaskSuspended:
			if ev.SuspendedAt.File != thisFile() || ev.SuspendedAt.Line != line || ev.Awaiting != "sleep(1ms)" {
				t.Errorf("suspended event at %s awaiting %q, want line %d, sleep(1ms)", ev.SuspendedAt, ev.Awaiting, line)
			}
		case ev.TaskID == cancelID && ev.Kind == runtime.TaskCancelled:
			if ev.CancelMsg != "bye" || !errors.Is(ev.Err, runtime.ErrCancelled) {
				t.Errorf("cancelled event: msg %q, err %v", ev.CancelMsg, ev.Err)
			}
		}
		if ev.TaskName == "" || ev.LoopName == "" || ev.Time.IsZero() {
			t.Errorf("event without task name, loop or time: %+v", ev)
		}
	}
}

func TestTaskInfoTimings(t *testing.T) {
	l := runtime.NewLoop(runtime.WithSlowStepThreshold(0))
	var id uint64
	err := l.Run(context.Background(), func(ctx context.Context) error {
		w := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			time.Sleep(30 * time.Millisecond) // a busy step (misuse, on purpose)
			return 0, runtime.Sleep(ctx, 30*time.Millisecond)
		})
		id = w.ID()
		_, err := w.Await(ctx)
		runtime.Yield(ctx) // let the loop publish w's end
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var ti runtime.TaskInfo
	for _, h := range l.History() {
		if h.ID == id {
			ti = h
		}
	}
	if ti.ID == 0 {
		t.Fatal("the task is not in the history")
	}
	if ti.Steps != 2 || ti.State != runtime.Finished {
		t.Errorf("Steps %d, State %v; want 2, finished", ti.Steps, ti.State)
	}
	if ti.Busy < 30*time.Millisecond {
		t.Errorf("Busy = %v, want at least the 30ms step", ti.Busy)
	}
	// The first step's busy time runs to its published end, and idle time
	// from there to the timer firing: together at least 30ms + 30ms, however
	// late the loop publishes.
	if ti.Idle <= 0 || ti.Busy+ti.Idle < 60*time.Millisecond {
		t.Errorf("Busy %v + Idle %v, want at least the 30ms step and the 30ms sleep", ti.Busy, ti.Idle)
	}
	if ti.SchedWait < 0 || ti.Finished.Sub(ti.Created) < 60*time.Millisecond {
		t.Errorf("SchedWait %v, Created %v, Finished %v", ti.SchedWait, ti.Created, ti.Finished)
	}
}

func TestHistoryAndBlockingBounds(t *testing.T) {
	tests := []struct {
		name                    string
		opts                    []runtime.Option
		wantHistory, wantBlocks int
	}{
		{"history off", []runtime.Option{runtime.WithHistorySize(0)}, 0, 3},
		{"two blocking events kept", []runtime.Option{runtime.WithBlockingHistorySize(2)}, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]runtime.Option{runtime.WithSlowStepThreshold(50 * time.Millisecond), quietLogger()}, tt.opts...)
			l := runtime.NewLoop(opts...)
			var names []string
			err := l.Run(context.Background(), func(ctx context.Context) error {
				var ts []*runtime.Task[int]
				for i := range 3 {
					ts = append(ts, runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
						time.Sleep(60 * time.Millisecond) // blocks the loop past the threshold
						return 0, nil
					}, runtime.Named(fmt.Sprintf("blocker-%d", i))))
				}
				_, err := runtime.Gather(ctx, ts...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(l.History()); got != tt.wantHistory {
				t.Errorf("history holds %d tasks, want %d", got, tt.wantHistory)
			}
			evs := l.Blocking()
			for _, ev := range evs {
				names = append(names, ev.TaskName)
			}
			want := []string{"blocker-0", "blocker-1", "blocker-2"}[3-tt.wantBlocks:]
			if !slices.Equal(names, want) {
				t.Errorf("blocking events %v, want %v (the most recent, oldest first)", names, want)
			}
		})
	}
}

// TestWatchdogLogsLongBlock: a step that still blocks the loop after
// stillBlocking (a second here) is logged while it runs, with its call and
// line, so that a block that never ends shows in the log; when it ends it
// is logged again, with its whole duration. A shorter block is logged once
// (TestWatchdogReportNamesFileLine).
func TestWatchdogLogsLongBlock(t *testing.T) {
	log, buf := newLogger()
	l := runtime.NewLoop(runtime.WithSlowStepThreshold(20*time.Millisecond), runtime.WithLogger(log))
	still := func() bool { return strings.Contains(buf.String(), "still blocks it") }
	err := l.Run(context.Background(), func(ctx context.Context) error {
		_, err := runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			deadline := time.Now().Add(20 * time.Second)
			for !still() && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond) // mark:long-block
			}
			return 0, nil
		}, runtime.Named("stuck-in-sleep")).Await(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	line := markLine(t, "long-block")
	re := regexp.MustCompile(fmt.Sprintf(`^task "stuck-in-sleep" has blocked the loop for \d+(\.\d+)?s so far and still blocks it, at instr_test\.go:%d \(time\.Sleep\); move blocking work to runtime\.ToThread$`, line))
	var msgs []string
	for _, r := range buf.records(t) {
		if m := r["msg"].(string); strings.Contains(m, `"stuck-in-sleep"`) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 2 || !re.MatchString(msgs[0]) || !strings.HasPrefix(msgs[1], `task "stuck-in-sleep" blocked the loop for `) {
		t.Errorf("logged %q; want the block while it runs (matching %s), then at its end", msgs, re)
	}
}
