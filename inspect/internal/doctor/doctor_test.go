package doctor

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(line int) runtime.Frame {
	return runtime.Frame{Function: "main.f", File: "/src/app/main.go", Line: line}
}

// task is a suspended task, waiting since ago on kind at line.
func task(id uint64, name string, spawn, line int, kind string, ago time.Duration) runtime.TaskInfo {
	return runtime.TaskInfo{
		ID: id, Name: name, State: runtime.Pending, Loop: "main", Function: "main.f",
		SpawnedAt: at(spawn), SuspendedAt: at(line), Awaiting: kind,
		Wait:    runtime.WaitInfo{Kind: kind, Since: t0.Add(-ago)},
		Created: t0.Add(-ago - time.Second), Started: t0.Add(-ago - time.Second), Suspended: t0.Add(-ago),
	}
}

func with(t runtime.TaskInfo, f func(*runtime.TaskInfo)) runtime.TaskInfo { f(&t); return t }

func res(r uint64) func(*runtime.TaskInfo) { return func(t *runtime.TaskInfo) { t.Wait.Resource = r } }

func awaits(ids ...uint64) func(*runtime.TaskInfo) {
	return func(t *runtime.TaskInfo) { t.Awaits = ids }
}

func sleeping(t *runtime.TaskInfo) {
	t.Wait.External = true
	t.Until = t0.Add(time.Second)
}

// alive is the stats of a loop with a timer pending: it is not stalled.
var alive = runtime.LoopStats{LastWork: t0.Add(-10 * time.Millisecond), Timers: 1, Window: 5 * time.Second, Busy: 50 * time.Millisecond}

func loop(stats runtime.LoopStats, tasks ...runtime.TaskInfo) Loop {
	return Loop{Snapshot: runtime.LoopSnapshot{ID: 1, Name: "main", Taken: t0, Tasks: tasks, Stats: stats}}
}

// saturated is the stats of a loop that is busy all the time, its ready
// tasks waiting 150ms to run, fed from outside.
var saturated = runtime.LoopStats{LastWork: t0, Ready: 40, Window: 5 * time.Second, Busy: 4900 * time.Millisecond, Lag: 150 * time.Millisecond, Calls: fedCalls}

// workers are n tasks spawned at line spawn that yield at line at, with
// ids from first on, the i-th having busy(i) of recent busy time.
func workers(first uint64, n, spawn, at int, busy func(i int) time.Duration) []runtime.TaskInfo {
	ts := make([]runtime.TaskInfo, n)
	for i := range ts {
		ts[i] = with(task(first+uint64(i), "w", spawn, at, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = busy(i) })
	}
	return ts
}

// each returns a busy function that gives every task d.
func each(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

func diagnose(in ...Loop) []wire.Finding {
	return Diagnose(in, Options{StuckAfter: 10 * time.Second, Now: t0}).Findings
}

// brief is a finding as the table compares it: kind, severity, count and
// the listed tasks with the line where each is.
func brief(f wire.Finding) string {
	var ts []string
	for _, t := range f.Tasks {
		ts = append(ts, fmt.Sprintf("%d@%d", t.ID, t.At.Line))
	}
	return fmt.Sprintf("%s/%s n=%d [%s]", f.Kind, f.Severity, f.Count, strings.Join(ts, " "))
}

func briefs(fs []wire.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, brief(f))
	}
	return out
}

// lockRes is a lock made at line, held by holder.
func lockRes(id uint64, line int, holder uint64) runtime.ResourceInfo {
	return runtime.ResourceInfo{ID: id, Kind: "lock", CreatedAt: at(line), Holders: []uint64{holder}}
}

func TestDiagnose(t *testing.T) {
	stuckJobs := []runtime.TaskInfo{
		with(task(11, "stuck-job-1", 100, 223, "future", 12*time.Second), res(90)),
		with(task(12, "stuck-job-2", 100, 223, "future", 13*time.Second), res(91)),
		with(task(13, "stuck-job-3", 100, 223, "future", 14*time.Second), res(92)),
	}
	futures := []runtime.ResourceInfo{
		{ID: 90, Kind: "future", CreatedAt: at(222)},
		{ID: 91, Kind: "future", CreatedAt: at(222)},
		{ID: 92, Kind: "future", CreatedAt: at(222)},
	}
	var leak []runtime.TaskInfo
	for i := range 30 {
		tk := task(uint64(100+i), fmt.Sprintf("req-%d", i), 40, 44, "future", time.Duration(30-i)*time.Second)
		tk.Created = t0.Add(-time.Duration(30-i) * time.Second)
		leak = append(leak, tk)
	}
	// sleepers pile up asleep: once each, until a time (sessions), or
	// waking and sleeping again (loops nothing ends).
	sleepers := func(steps uint64) []runtime.TaskInfo {
		var ts []runtime.TaskInfo
		for i := range 30 {
			tk := with(task(uint64(300+i), fmt.Sprintf("session-%d", i), 60, 66, "sleep", time.Duration(30-i)*time.Second), sleeping)
			tk.Created = t0.Add(-time.Duration(30-i) * time.Second)
			tk.Until = t0.Add(time.Duration(i+1) * time.Second)
			tk.Steps = steps
			ts = append(ts, tk)
		}
		return ts
	}
	var pool []runtime.TaskInfo
	for i := range 30 {
		tk := task(uint64(200+i), fmt.Sprintf("pool-%d", i), 50, 55, "future", time.Duration(30-i)*time.Second)
		tk.Created = t0.Add(-time.Hour) // all made at startup
		pool = append(pool, tk)
	}
	cases := []struct {
		name string
		in   Loop
		want []string
	}{
		{
			name: "healthy service is silent",
			in: func() Loop {
				l := loop(alive,
					with(task(1, "main", 1, 10, "gather", time.Hour), awaits(2, 3, 4, 5, 6, 7)),
					with(task(2, "worker-1", 20, 25, "future", 80*time.Millisecond), res(50)),
					with(task(3, "reporter", 30, 33, "sleep", 4*time.Second), sleeping),
					with(task(4, "consumer-1", 40, 42, "queue.get", time.Minute), res(51)),
					with(task(5, "locker", 60, 62, "lock", 20*time.Millisecond), res(52)),
					with(task(6, "parser", 70, 71, "to_thread", 30*time.Second), func(t *runtime.TaskInfo) { t.Wait.External = true }),
					with(task(7, "supervisor", 80, 81, "wait", time.Hour), awaits(2, 3)),
					runtime.TaskInfo{ID: 8, Name: "worker-2", State: runtime.Running, Running: true, SpawnedAt: at(20)},
				)
				l.Resources = []runtime.ResourceInfo{{ID: 50, Kind: "future"}, {ID: 51, Kind: "queue", Waiters: []uint64{4}}, lockRes(52, 5, 8)}
				return l
			}(),
			// Notes only: an idle consumer, and a ToThread call running
			// for 30s (long work, or a call that never returns).
			want: []string{"stuck/info n=1 [4@42]", "stuck/info n=1 [6@71]"},
		},
		{
			name: "stuck futures are one finding",
			in:   func() Loop { l := loop(alive, stuckJobs...); l.Resources = futures; return l }(),
			want: []string{"stuck/warning n=3 [11@223 12@223 13@223]"},
		},
		{
			name: "a long sleep is never stuck",
			in:   loop(alive, with(task(1, "nap", 1, 2, "sleep", time.Hour), sleeping)),
			want: []string{},
		},
		{
			name: "young waits are not stuck",
			in:   loop(alive, task(1, "w", 1, 2, "event", 9*time.Second)),
			want: []string{},
		},
		{
			name: "lock-order deadlock names both tasks and where each waits",
			in: func() Loop {
				l := loop(alive,
					with(task(1, "main", 1, 10, "gather", time.Minute), awaits(2, 3)),
					with(task(2, "a", 20, 24, "lock", time.Minute), res(60)),
					with(task(3, "b", 30, 34, "lock", time.Minute), res(61)),
					with(task(4, "reporter", 40, 41, "sleep", time.Second), sleeping),
				)
				l.Resources = []runtime.ResourceInfo{lockRes(61, 12, 2), lockRes(60, 11, 3)}
				return l
			}(),
			want: []string{"deadlock/error n=2 [2@24 3@34]"},
		},
		{
			name: "a task waiting on a lock it holds",
			in: func() Loop {
				l := loop(alive, with(task(2, "a", 20, 24, "lock", time.Minute), res(60)))
				l.Resources = []runtime.ResourceInfo{lockRes(60, 11, 2)}
				return l
			}(),
			want: []string{"deadlock/error n=1 [2@24]"},
		},
		{
			name: "a lock held by a sleeping task is no deadlock",
			in: func() Loop {
				l := loop(alive,
					with(task(2, "a", 20, 24, "lock", time.Second), res(60)),
					with(task(3, "b", 30, 34, "sleep", time.Second), sleeping),
				)
				l.Resources = []runtime.ResourceInfo{lockRes(60, 11, 3)}
				return l
			}(),
			want: []string{},
		},
		{
			name: "semaphore holders all stuck on each other",
			in: func() Loop {
				l := loop(alive,
					with(task(2, "a", 20, 24, "semaphore", time.Minute), res(70)),
					with(task(3, "b", 30, 34, "lock", time.Minute), res(71)),
				)
				l.Resources = []runtime.ResourceInfo{
					{ID: 70, Kind: "semaphore", CreatedAt: at(5), Holders: []uint64{3}, Len: 0, Cap: 1},
					lockRes(71, 6, 2),
				}
				return l
			}(),
			want: []string{"deadlock/error n=2 [2@24 3@34]"},
		},
		{
			// A semaphore lists its 64 oldest holders: with more permits
			// taken than listed, one not listed may be running, so the
			// waits are stuck, not a deadlock.
			name: "semaphore holders not all listed: no deadlock claimed",
			in: func() Loop {
				l := loop(alive,
					with(task(2, "a", 20, 24, "semaphore", time.Minute), res(70)),
					with(task(3, "b", 30, 34, "lock", time.Minute), res(71)),
				)
				l.Resources = []runtime.ResourceInfo{
					{ID: 70, Kind: "semaphore", CreatedAt: at(5), Holders: []uint64{3}, Len: 0, Cap: 2},
					lockRes(71, 6, 2),
				}
				return l
			}(),
			want: []string{"stuck/warning n=1 [2@24]", "stuck/warning n=1 [3@34]"},
		},
		{
			name: "stalled loop: tasks wait on each other's events, nothing else to do",
			in: loop(runtime.LoopStats{LastWork: t0.Add(-20 * time.Second)},
				with(task(1, "main", 1, 10, "gather", 20*time.Second), awaits(2, 3)),
				task(2, "ping", 20, 24, "event", 20*time.Second),
				task(3, "pong", 30, 34, "event", 20*time.Second),
			),
			want: []string{"stalled/error n=3 [2@24 3@34 1@10]"},
		},
		{
			name: "stalled without runtime stats: judged by the tasks",
			in: loop(runtime.LoopStats{},
				task(2, "ping", 20, 24, "event", 20*time.Second),
				task(3, "pong", 30, 34, "event", 20*time.Second),
			),
			want: []string{"stalled/error n=2 [2@24 3@34]"},
		},
		{
			name: "a few thread-safe calls (tasks submitted to start with): still stalled",
			in: loop(runtime.LoopStats{LastWork: t0.Add(-20 * time.Second), Calls: fedCalls - 1},
				task(2, "ping", 20, 24, "event", 20*time.Second),
				task(3, "pong", 30, 34, "event", 20*time.Second),
			),
			want: []string{"stalled/error n=2 [2@24 3@34]"},
		},
		{
			// A server hands its loop requests from its handlers'
			// goroutines: idle, its workers wait for the next one.
			name: "a loop fed from outside, idle: idle consumers are a note, not a stall",
			in: loop(runtime.LoopStats{LastWork: t0.Add(-20 * time.Second), Calls: 500},
				task(2, "worker-0", 20, 39, "queue.get", 20*time.Second),
				task(3, "worker-1", 20, 39, "queue.get", 20*time.Second),
				task(4, "reloader", 30, 34, "future", 20*time.Second),
			),
			want: []string{"stuck/warning n=1 [4@34]", "stuck/info n=2 [2@39 3@39]"},
		},
		{
			name: "a timer pending: not stalled, the waits are stuck",
			in: loop(runtime.LoopStats{LastWork: t0.Add(-20 * time.Second), Timers: 1},
				task(2, "ping", 20, 24, "event", 20*time.Second),
				task(3, "pong", 30, 34, "event", 20*time.Second),
			),
			want: []string{"stuck/warning n=1 [2@24]", "stuck/warning n=1 [3@34]"},
		},
		{
			name: "a growing group that never finishes is one leak",
			in:   loop(alive, leak...),
			want: []string{"leak/warning n=30 [100@44 101@44 102@44 103@44 104@44 105@44 106@44 107@44 108@44 109@44]"},
		},
		{
			name: "tasks piling up in their first sleep are a note",
			in:   loop(alive, sleepers(1)...),
			want: []string{"leak/info n=30 [300@66 301@66 302@66 303@66 304@66 305@66 306@66 307@66 308@66 309@66]"},
		},
		{
			name: "tasks piling up that wake and sleep again are a leak",
			in:   loop(alive, sleepers(5)...),
			want: []string{"leak/warning n=30 [300@66 301@66 302@66 303@66 304@66 305@66 306@66 307@66 308@66 309@66]"},
		},
		{
			name: "a pool made at startup is not a leak",
			in:   loop(alive, pool...),
			want: []string{"stuck/warning n=20 [200@55 201@55 202@55 203@55 204@55 205@55 206@55 207@55 208@55 209@55]"},
		},
		{
			name: "a group whose kind finishes is not a leak",
			in: func() Loop {
				l := loop(alive, leak[25:]...)
				l.History = []runtime.TaskInfo{{ID: 99, Name: "req-old", State: runtime.Finished, SpawnedAt: at(40)}}
				return l
			}(),
			want: []string{},
		},
		{
			name: "hog",
			in: func() Loop {
				st := runtime.LoopStats{LastWork: t0, Ready: 1, Window: 5 * time.Second, Busy: 4800 * time.Millisecond, Lag: 40 * time.Millisecond}
				return loop(st,
					with(task(1, "crunch", 10, 12, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 4500 * time.Millisecond }),
					with(task(2, "other", 20, 22, "sleep", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 300 * time.Millisecond; sleeping(t) }),
				)
			}(),
			want: []string{"hog/warning n=1 [1@12]"},
		},
		{
			name: "a hog whose step crossed the threshold once is still a hog",
			in: func() Loop {
				st := runtime.LoopStats{LastWork: t0, Ready: 1, Window: 5 * time.Second, Busy: 4800 * time.Millisecond}
				l := loop(st, with(task(1, "crunch", 10, 12, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 4500 * time.Millisecond }))
				l.Blocking = []runtime.BlockEvent{{TaskID: 1, TaskName: "crunch", Started: t0.Add(-2 * time.Second), Duration: 900 * time.Millisecond, At: at(12)}}
				return l
			}(),
			want: []string{"blocking/warning n=1 [1@12]", "hog/warning n=1 [1@12]"},
		},
		{
			name: "a task whose busy time is its blocking steps is no hog",
			in: func() Loop {
				st := runtime.LoopStats{LastWork: t0, Ready: 1, Window: 5 * time.Second, Busy: 4800 * time.Millisecond}
				l := loop(st, with(task(1, "sleepy", 10, 12, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 4500 * time.Millisecond }))
				l.Blocking = []runtime.BlockEvent{
					{TaskID: 1, TaskName: "sleepy", Started: t0.Add(-6 * time.Second), Duration: 2 * time.Second, At: at(12), Call: "time.Sleep"},
					{TaskID: 1, TaskName: "sleepy", Started: t0.Add(-3 * time.Second), Duration: 2 * time.Second, At: at(12), Call: "time.Sleep"},
				}
				return l
			}(),
			want: []string{"blocking/warning n=1 [1@12]"},
		},
		{
			name: "a task's blocks without a stack count at the site of its block with one",
			in: func() Loop {
				l := loop(alive, with(task(6, "sync", 130, 131, "sleep", time.Second), sleeping), with(task(7, "other", 150, 151, "sleep", time.Second), sleeping))
				l.Blocking = []runtime.BlockEvent{
					{TaskID: 6, TaskName: "sync", Started: t0.Add(-time.Minute), Duration: 300 * time.Millisecond, At: at(140), Call: "net.Dial"},
					{TaskID: 6, TaskName: "sync", Started: t0.Add(-50 * time.Second), Duration: 200 * time.Millisecond},
					{TaskID: 7, TaskName: "other", Started: t0.Add(-40 * time.Second), Duration: 200 * time.Millisecond},
					{TaskID: 6, TaskName: "sync", Started: t0.Add(-30 * time.Second), Duration: 200 * time.Millisecond},
				}
				return l
			}(),
			want: []string{"blocking/warning n=1 [6@131]", "blocking/warning n=1 [7@151]"},
		},
		{
			// Three short blocks of a CPU loop hold the loop less than
			// one 2 s wait on a sync.Mutex: the worst first, not the
			// most frequent.
			name: "blocking findings rank by the time they held the loop",
			in: func() Loop {
				l := loop(alive, with(task(6, "hasher", 60, 61, "sleep", time.Second), sleeping),
					with(task(7, "pinger", 70, 71, "sleep", time.Second), sleeping),
					with(task(8, "stats", 80, 81, "sleep", time.Second), sleeping))
				l.Blocking = []runtime.BlockEvent{
					{TaskID: 6, TaskName: "hasher", Started: t0.Add(-50 * time.Second), Duration: 243 * time.Millisecond, At: at(52)},
					{TaskID: 6, TaskName: "hasher", Started: t0.Add(-40 * time.Second), Duration: 243 * time.Millisecond, At: at(52)},
					{TaskID: 7, TaskName: "pinger", Started: t0.Add(-35 * time.Second), Duration: 1500 * time.Millisecond, At: at(72), Call: "net.(*conn).Read"},
					{TaskID: 6, TaskName: "hasher", Started: t0.Add(-30 * time.Second), Duration: 243 * time.Millisecond, At: at(52)},
					{TaskID: 8, TaskName: "stats", Started: t0.Add(-20 * time.Second), Duration: 2 * time.Second, At: at(82), Call: "sync.(*Mutex).Lock"},
				}
				return l
			}(),
			want: []string{"blocking/warning n=1 [8@81]", "blocking/warning n=1 [7@71]", "blocking/warning n=1 [6@61]"},
		},
		{
			name: "a busy loop shared by many is no hog",
			in: func() Loop {
				st := runtime.LoopStats{LastWork: t0, Ready: 1, Window: 5 * time.Second, Busy: 4800 * time.Millisecond}
				var ts []runtime.TaskInfo
				for i := range 10 {
					ts = append(ts, with(task(uint64(i+1), "w", 10, 12, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 480 * time.Millisecond }))
				}
				return loop(st, ts...)
			}(),
			want: []string{},
		},
		{
			name: "a loop saturated by many tasks of one site",
			in: loop(saturated, append(workers(1, 12, 10, 12, func(i int) time.Duration { return time.Duration(300+i) * time.Millisecond }),
				workers(20, 1, 20, 22, each(900*time.Millisecond))...)...),
			want: []string{"hog/warning n=12 [12@12 11@12 10@12 9@12 8@12 7@12 6@12 5@12 4@12 3@12]"},
		},
		{
			// Short-lived tasks: the busiest site is that of tasks that
			// ended within the window, found in the history.
			name: "a loop saturated by short tasks that end",
			in: func() Loop {
				l := loop(saturated, with(task(20, "other", 20, 22, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 900 * time.Millisecond }),
					with(task(21, "req", 30, 32, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 10 * time.Millisecond }))
				for i := range 500 {
					end := t0.Add(-time.Duration(500-i) * 8 * time.Millisecond)
					l.History = append(l.History, runtime.TaskInfo{ID: uint64(100 + i), Name: "req", State: runtime.Finished, SpawnedAt: at(30),
						Busy: 8 * time.Millisecond, Created: end.Add(-8 * time.Millisecond), Finished: end})
				}
				// A task that lived long before the window ended in it: its
				// busy time is not recent. One that ended between the
				// snapshot and the history is counted once.
				l.History = append(l.History, runtime.TaskInfo{ID: 98, Name: "old", State: runtime.Finished, SpawnedAt: at(90),
					Busy: 30 * time.Minute, Created: t0.Add(-time.Hour), Finished: t0.Add(-100 * time.Millisecond)},
					runtime.TaskInfo{ID: 20, Name: "other", State: runtime.Finished, SpawnedAt: at(20), Busy: time.Hour, Created: t0.Add(-time.Second), Finished: t0})
				return l
			}(),
			want: []string{"hog/warning n=1 [21@32]"},
		},
		{
			// A batch job: nothing outside the loop waits for it.
			name: "a saturated loop fed by no one is a note",
			in: func() Loop {
				st := saturated
				st.Calls = 0
				return loop(st, workers(1, 3, 10, 12, each(1600*time.Millisecond))...)
			}(),
			want: []string{"hog/info n=3 [1@12 2@12 3@12]"},
		},
		{
			// Steps that blocked are the blocking finding's: the site of
			// the task that blocked is not the saturation's.
			name: "a saturation leaves out the time in blocking steps",
			in: func() Loop {
				sync := with(task(1, "sync", 10, 12, "sleep", time.Second), func(t *runtime.TaskInfo) { t.RecentBusy = 2 * time.Second; sleeping(t) })
				l := loop(saturated, append([]runtime.TaskInfo{sync}, workers(2, 9, 20, 22, each(300*time.Millisecond))...)...)
				l.Blocking = []runtime.BlockEvent{{TaskID: 1, TaskName: "sync", Started: t0.Add(-3 * time.Second), Duration: 2 * time.Second, At: at(11), Call: "time.Sleep"}}
				return l
			}(),
			want: []string{"blocking/warning n=1 [1@12]", "hog/warning n=9 [2@22 3@22 4@22 5@22 6@22 7@22 8@22 9@22 10@22]"},
		},
		{
			name: "a busy loop whose lag is short is not saturated",
			in: func() Loop {
				st := saturated
				st.Lag = 20 * time.Millisecond
				return loop(st, workers(1, 10, 10, 12, each(490*time.Millisecond))...)
			}(),
			want: []string{},
		},
		{
			name: "blocking now and recently, old events forgotten",
			in: func() Loop {
				l := loop(alive, runtime.TaskInfo{ID: 5, Name: "cache-refresh", State: runtime.Pending, Running: true, SpawnedAt: at(120)},
					with(task(6, "sync", 130, 131, "sleep", time.Second), sleeping))
				now := runtime.BlockEvent{TaskID: 5, TaskName: "cache-refresh", Started: t0.Add(-2 * time.Second), Duration: 2 * time.Second,
					Ongoing: true, At: at(252), Call: "time.Sleep"}
				l.Snapshot.Current = 5
				l.Snapshot.Blocking = &now
				l.Blocking = []runtime.BlockEvent{
					{TaskID: 6, TaskName: "sync", Started: t0.Add(-time.Hour), Duration: time.Second, At: at(300), Call: "os.ReadFile"},
					{TaskID: 6, TaskName: "sync", Started: t0.Add(-time.Minute), Duration: 300 * time.Millisecond, At: at(140), Call: "net.Dial"},
					{TaskID: 6, TaskName: "sync", Started: t0.Add(-30 * time.Second), Duration: 200 * time.Millisecond, At: at(140), Call: "net.Dial"},
					now,
				}
				return l
			}(),
			want: []string{"blocking/error n=1 [5@252]", "blocking/warning n=1 [6@131]"},
		},
		{
			name: "a blocked loop: waits and cancels count only while it could run",
			in: func() Loop {
				l := loop(alive,
					runtime.TaskInfo{ID: 5, Name: "hog", State: runtime.Pending, Running: true, SpawnedAt: at(120)},
					with(task(6, "waiter", 130, 131, "future", 21*time.Second), res(0)),
					with(task(7, "asked", 140, 141, "sleep", 21*time.Second), func(t *runtime.TaskInfo) {
						sleeping(t)
						t.State = runtime.Cancelling
						t.CancelRequested = t0.Add(-15 * time.Second)
					}),
				)
				now := runtime.BlockEvent{TaskID: 5, TaskName: "hog", Started: t0.Add(-20 * time.Second), Duration: 20 * time.Second,
					Ongoing: true, At: at(125), Call: "time.Sleep"}
				l.Snapshot.Current, l.Snapshot.Blocking = 5, &now
				return l
			}(),
			want: []string{"blocking/error n=1 [5@125]"},
		},
		{
			name: "cancel ignored",
			in: loop(alive,
				with(task(7, "stubborn", 70, 75, "sleep", time.Second), func(t *runtime.TaskInfo) {
					sleeping(t)
					t.State = runtime.Cancelling
					t.CancelMsg = "shutdown"
					t.CancelRequested = t0.Add(-15 * time.Second)
					t.CancelAt = at(72)
				}),
				with(task(8, "fresh", 80, 85, "sleep", time.Second), func(t *runtime.TaskInfo) {
					sleeping(t)
					t.State = runtime.Cancelling
					t.CancelRequested = t0.Add(-time.Second)
				}),
			),
			want: []string{"cancel-ignored/warning n=1 [7@75]"},
		},
		{
			name: "unretrieved errors grouped by spawn site",
			in: func() Loop {
				l := loop(alive)
				l.Retrieval = true
				l.History = []runtime.TaskInfo{
					{ID: 20, Name: "fire-1", State: runtime.Failed, SpawnedAt: at(90), Finished: t0.Add(-5 * time.Second), Error: "boom"},
					{ID: 21, Name: "fire-2", State: runtime.Failed, SpawnedAt: at(90), Finished: t0.Add(-4 * time.Second), Error: "boom"},
					{ID: 22, Name: "kept", State: runtime.Failed, SpawnedAt: at(91), Finished: t0.Add(-4 * time.Second), Error: "x", Retrieved: true},
					{ID: 23, Name: "just-now", State: runtime.Failed, SpawnedAt: at(92), Finished: t0.Add(-time.Millisecond), Error: "y"},
					{ID: 24, Name: "ok", State: runtime.Finished, SpawnedAt: at(93), Finished: t0.Add(-time.Minute)},
				}
				return l
			}(),
			want: []string{"unretrieved/warning n=2 [20@90 21@90]"},
		},
		{
			name: "ranked: errors, then warnings, then info",
			in: func() Loop {
				l := loop(alive,
					with(task(4, "consumer", 40, 42, "queue.get", time.Minute), res(51)),
					with(task(2, "a", 20, 24, "lock", time.Minute), res(60)),
					with(task(5, "w", 50, 52, "event", time.Minute), res(53)),
				)
				l.Resources = []runtime.ResourceInfo{lockRes(60, 11, 2)}
				return l
			}(),
			want: []string{"deadlock/error n=1 [2@24]", "stuck/warning n=1 [5@52]", "stuck/info n=1 [4@42]"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := briefs(diagnose(c.in))
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("findings:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestFindingText checks the sentences of a few findings: each names the
// task and the line, and says what to do.
func TestFindingText(t *testing.T) {
	l := loop(alive,
		with(task(11, "stuck-job-1", 100, 223, "future", 12*time.Second), res(90)),
		with(task(2, "a", 20, 24, "lock", time.Minute), res(60)),
		with(task(3, "b", 30, 34, "lock", time.Minute), res(61)),
	)
	l.Resources = []runtime.ResourceInfo{
		{ID: 90, Kind: "future", CreatedAt: at(222)},
		{ID: 60, Kind: "lock", CreatedAt: at(11), Holders: []uint64{3}},
		{ID: 61, Kind: "lock", CreatedAt: at(12), Holders: []uint64{2}},
	}
	got := diagnose(l)
	want := []wire.Finding{
		{
			Kind: "deadlock", Severity: "error",
			Summary: `Tasks "a" and "b" deadlock: "a" waits at main.go:24 for the lock made at main.go:11 held by "b"; "b" waits at main.go:34 for the lock made at main.go:12 held by "a".`,
			Fix:     "Take the locks in one order everywhere, or hold one at a time (release before awaiting the next); cancelling one task of the cycle frees the others.",
		},
		{
			Kind: "stuck", Severity: "warning",
			Summary: `Task "stuck-job-1" has waited 12s at main.go:223 on a future (made at main.go:222), and nothing has resolved it.`,
			Fix:     "Resolve the future (SetResult, SetError or Cancel) on every path, including errors, or await it with a timeout (runtime.WaitFor).",
		},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d: %q", len(got), len(want), briefs(got))
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].Severity != want[i].Severity || got[i].Summary != want[i].Summary || got[i].Fix != want[i].Fix {
			t.Errorf("finding %d:\n got %s %s %q\n     %q\nwant %s %s %q\n     %q", i,
				got[i].Kind, got[i].Severity, got[i].Summary, got[i].Fix, want[i].Kind, want[i].Severity, want[i].Summary, want[i].Fix)
		}
		if got[i].Loop != "main" || got[i].Sites == nil || got[i].Tasks == nil {
			t.Errorf("finding %d: loop %q, sites %v, tasks %v", i, got[i].Loop, got[i].Sites, got[i].Tasks)
		}
	}
	if s := got[0].Sites; len(s) != 2 || s[0].Line != 11 || s[1].Line != 12 {
		t.Errorf("deadlock sites = %v, want the locks' creation lines 11 and 12", s)
	}
}

func TestDiagnoseEmpty(t *testing.T) {
	d := Diagnose(nil, Options{})
	if d.Findings == nil || len(d.Findings) != 0 {
		t.Errorf("Diagnose(nil) = %#v, want an empty, non-nil list", d.Findings)
	}
}

// TestNeedResources checks when Collect reads the loop's awaitables (which
// pauses the loop longer): only when a finding may need them.
func TestNeedResources(t *testing.T) {
	opts := Options{StuckAfter: 10 * time.Second, Now: t0}
	cases := []struct {
		name string
		ts   []runtime.TaskInfo
		want bool
	}{
		{"nothing", nil, false},
		{"sleeps and young waits", []runtime.TaskInfo{
			with(task(1, "s", 1, 2, "sleep", time.Hour), sleeping),
			task(2, "f", 1, 3, "future", time.Second),
			with(task(3, "g", 1, 4, "gather", time.Hour), awaits(1)),
		}, false},
		{"a lock wait", []runtime.TaskInfo{task(1, "l", 1, 2, "lock", time.Millisecond)}, true},
		{"a semaphore wait", []runtime.TaskInfo{task(1, "l", 1, 2, "semaphore", time.Millisecond)}, true},
		{"an old future wait", []runtime.TaskInfo{task(1, "f", 1, 2, "future", time.Minute)}, true},
		{"an old queue wait", []runtime.TaskInfo{task(1, "q", 1, 2, "queue.get", time.Minute)}, true},
	}
	for _, c := range cases {
		if got := needResources(c.ts, opts); got != c.want {
			t.Errorf("%s: needResources = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestBlockingWithoutStack: when the watchdog rations its captures, a
// task's recent finished blocks without a stack count at the site (and
// call) of its latest recent block with one, and the finding says how
// many; a block going on now, or one whose only site is older than
// RecentBlocking, is never placed by guess.
func TestBlockingWithoutStack(t *testing.T) {
	for _, tc := range []struct {
		name string
		evs  []runtime.BlockEvent
		want []string // summaries
		fix  string   // the first finding's fix begins so
	}{
		{
			name: "counted at the last captured site",
			evs: []runtime.BlockEvent{
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-time.Minute), Duration: 300 * time.Millisecond, At: at(140), Call: "time.Sleep"},
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-50 * time.Second), Duration: 200 * time.Millisecond},
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-30 * time.Second), Duration: 200 * time.Millisecond},
			},
			want: []string{`Task "sync" blocked the loop 3 times in the last 5m, up to 300ms each: time.Sleep at main.go:140. (2 of these without a stack: counted at the task's last block with one.)`},
			fix:  "Wait with runtime.Sleep(ctx, d)",
		},
		{
			name: "an ongoing block is not placed by guess",
			evs: []runtime.BlockEvent{
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-time.Minute), Duration: 300 * time.Millisecond, At: at(140), Call: "time.Sleep"},
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-2 * time.Second), Duration: 2 * time.Second, Ongoing: true},
			},
			want: []string{
				`Task "sync" blocks the loop now: a step without a stack (it ended before the watchdog looked, or the watchdog rationed its captures) has run for 2s, and every other task waits.`,
				`Task "sync" blocked the loop for 300ms, 1m ago: time.Sleep at main.go:140.`,
			},
		},
		{
			name: "a site older than RecentBlocking is not borrowed",
			evs: []runtime.BlockEvent{
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-6 * time.Minute), Duration: 300 * time.Millisecond, At: at(140), Call: "time.Sleep"},
				{TaskID: 6, TaskName: "sync", Started: t0.Add(-30 * time.Second), Duration: 200 * time.Millisecond},
			},
			want: []string{`Task "sync" blocked the loop for 200ms, 30s ago: a step without a stack (it ended before the watchdog looked, or the watchdog rationed its captures).`},
			fix:  "No stack was caught, so the cause is not known", // not "move the blocking call"
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loop(alive, with(task(6, "sync", 130, 131, "sleep", time.Second), sleeping))
			l.Blocking = tc.evs
			if last := tc.evs[len(tc.evs)-1]; last.Ongoing {
				l.Snapshot.Current, l.Snapshot.Blocking = last.TaskID, &last
			}
			got := []string{}
			var fixes []string
			for _, f := range diagnose(l) {
				if f.Kind == wire.KindBlocking {
					got = append(got, f.Summary)
					fixes = append(fixes, f.Fix)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("summaries:\n got %q\nwant %q", got, tc.want)
			}
			if tc.fix != "" && (len(fixes) == 0 || !strings.HasPrefix(fixes[0], tc.fix)) {
				t.Errorf("fixes %q, want the first to begin %q", fixes, tc.fix)
			}
		})
	}
}

func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{1500 * time.Microsecond, "2ms"},
		{1234 * time.Millisecond, "1.2s"},
		{10 * time.Second, "10s"},
		{20 * time.Second, "20s"},
		{time.Minute, "1m"},
		{5 * time.Minute, "5m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{time.Hour + 5*time.Minute, "1h5m"},
		{time.Hour + 10*time.Second, "1h0m10s"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestDeadlockBehind: a deadlock counts only the tasks that wait on it,
// directly or through others, as the ones that cannot go on either; a
// chain of 40,000 awaits into it is counted whole, in one pass (it took
// seconds when the stuck set was found by repeated passes).
func TestDeadlockBehind(t *testing.T) {
	pair := func(a, b, ra, rb uint64) []runtime.TaskInfo {
		return []runtime.TaskInfo{
			with(task(a, fmt.Sprint("a", a), 20, 24, "lock", time.Minute), res(ra)),
			with(task(b, fmt.Sprint("b", b), 30, 34, "lock", time.Minute), res(rb)),
		}
	}
	const chain = 40_000
	ts := append(pair(2, 3, 60, 61), pair(4, 5, 62, 63)...)
	for i := range chain { // 100 awaits 101 awaits ... awaits task 2
		id := uint64(100 + i)
		next := id + 1
		if i == chain-1 {
			next = 2
		}
		ts = append(ts, with(task(id, "link", 40, 41, "task", time.Minute), awaits(next)))
	}
	l := loop(alive, ts...)
	l.Resources = []runtime.ResourceInfo{lockRes(60, 11, 3), lockRes(61, 12, 2), lockRes(62, 13, 5), lockRes(63, 14, 4)}
	var got []string
	for _, f := range diagnose(l) {
		if f.Kind == wire.KindDeadlock {
			got = append(got, f.Summary)
		}
	}
	if len(got) != 2 {
		t.Fatalf("got %d deadlocks, want 2: %q", len(got), got)
	}
	if want := "(40000 more tasks waiting on them"; !strings.Contains(got[0], want) {
		t.Errorf("first deadlock: %q\nwant it to say %s", got[0], want)
	}
	if strings.Contains(got[1], "more task") {
		t.Errorf("second deadlock: %q\nwant no task behind it: nothing waits on it", got[1])
	}
}

func TestArticle(t *testing.T) {
	for kind, want := range map[string]string{"event": "an", "future": "a", "queue.get": "a", "lock": "a", "": "a"} {
		if got := article(kind); got != want {
			t.Errorf("article(%q) = %q, want %q", kind, got, want)
		}
	}
}

// TestDeadlockRing: a ring of 1,000 tasks, each holding a lock the
// previous one waits for, is one finding naming its first and last three
// tasks and counting all, listing at most maxListed.
func TestDeadlockRing(t *testing.T) {
	const n = 1000
	var ts []runtime.TaskInfo
	var rs []runtime.ResourceInfo
	for i := range n {
		id := uint64(i + 1)
		ts = append(ts, with(task(id, fmt.Sprint("ring-", id), 20, 24, "lock", time.Minute), res(5000+id)))
		rs = append(rs, lockRes(5000+id, 11, uint64(i+1)%n+1)) // task i waits for the lock task i+1 holds
	}
	l := loop(alive, ts...)
	l.Resources = rs
	fs := diagnose(l)
	if len(fs) != 1 || fs[0].Kind != wire.KindDeadlock {
		t.Fatalf("findings %q, want one deadlock", briefs(fs))
	}
	f := fs[0]
	if f.Count != n || len(f.Tasks) != maxListed || len(f.Summary) > 1000 ||
		!strings.Contains(f.Summary, "… 994 more tasks, each waiting for the next …") {
		t.Errorf("count %d, %d tasks listed, summary of %d bytes: %s", f.Count, len(f.Tasks), len(f.Summary), f.Summary)
	}
}

// TestDeadlockGroups: 1,000 pairs of tasks deadlocked the same way (same
// functions, lines and locks' creation lines) are one finding counting
// them all; a pair deadlocked elsewhere is another.
func TestDeadlockGroups(t *testing.T) {
	var ts []runtime.TaskInfo
	var rs []runtime.ResourceInfo
	const pairs = 1000
	for i := range pairs {
		a, b := uint64(2*i+1), uint64(2*i+2)
		ts = append(ts, with(task(a, fmt.Sprint("a", i), 20, 24, "lock", time.Minute), res(10_000+a)),
			with(task(b, fmt.Sprint("b", i), 30, 34, "lock", time.Minute), res(10_000+b)))
		rs = append(rs, lockRes(10_000+a, 11, b), lockRes(10_000+b, 12, a))
	}
	ts = append(ts, with(task(5001, "x", 50, 54, "lock", time.Minute), res(20_001)),
		with(task(5002, "y", 60, 64, "lock", time.Minute), res(20_002)))
	rs = append(rs, lockRes(20_001, 15, 5002), lockRes(20_002, 16, 5001))
	l := loop(alive, ts...)
	l.Resources = rs
	fs := diagnose(l)
	if len(fs) != 2 {
		t.Fatalf("findings %q, want two deadlocks", briefs(fs))
	}
	if f := fs[0]; f.Count != 2*pairs || len(f.Tasks) != maxListed ||
		!strings.HasSuffix(f.Summary, " 999 more groups of tasks deadlock the same way, at the same lines (tasks 3, 4, 5, 6, 7, 8, …).") {
		t.Errorf("first: count %d, %d tasks, %s", f.Count, len(f.Tasks), f.Summary)
	}
	if f := fs[1]; f.Count != 2 || strings.Contains(f.Summary, "same way") {
		t.Errorf("second: count %d, %s", f.Count, f.Summary)
	}
}

// TestMergeLoops: loops that run the same code and make the same finding
// get one finding that counts them all and names the other loops; a loop
// whose finding differs (another line) keeps its own.
func TestMergeLoops(t *testing.T) {
	named := func(l Loop, name string) Loop {
		l.Snapshot.Name = name
		for i := range l.Snapshot.Tasks {
			l.Snapshot.Tasks[i].Loop = name
		}
		return l
	}
	// stuckMade is a loop whose task id waits at line on a future made at made.
	stuckMade := func(name string, id uint64, line, made int) Loop {
		l := loop(alive, with(task(id, "job", 100, line, "future", time.Minute), res(id+1000)))
		l.Resources = []runtime.ResourceInfo{{ID: id + 1000, Kind: "future", CreatedAt: at(made)}}
		return named(l, name)
	}
	stuckLoop := func(name string, id uint64, line int) Loop { return stuckMade(name, id, line, 222) }
	// ignoring is a loop with n tasks (ids from id) that ignored a cancel at line 75.
	ignoring := func(name string, id uint64, n int) Loop {
		var ts []runtime.TaskInfo
		for i := range n {
			tk := task(id+uint64(i), "poller", 70, 75, "sleep", time.Second)
			sleeping(&tk)
			tk.State = runtime.Cancelling
			tk.CancelRequested = t0.Add(-time.Minute)
			ts = append(ts, tk)
		}
		return named(loop(alive, ts...), name)
	}
	type got struct {
		brief, loop string
		loops       int
		tail        string
	}
	tail := func(s string) string {
		if i := strings.Index(s, " The same in"); i >= 0 {
			return s[i+1:]
		}
		return ""
	}
	for _, tt := range []struct {
		name string
		in   []Loop
		want []got
	}{
		{
			name: "one loop",
			in:   []Loop{stuckLoop("a", 1, 223)},
			want: []got{{"stuck/warning n=1 [1@223]", "a", 0, ""}},
		},
		{
			name: "three alike, one not",
			in:   []Loop{stuckLoop("a", 1, 223), stuckLoop("b", 2, 223), stuckLoop("c", 3, 999), stuckLoop("d", 4, 223)},
			want: []got{
				{"stuck/warning n=3 [1@223 2@223 4@223]", "a", 3, `The same in loops "b" and "d".`},
				{"stuck/warning n=1 [3@999]", "c", 0, ""},
			},
		},
		{
			name: "many alike",
			in: func() []Loop {
				var ls []Loop
				for i := range 20 {
					ls = append(ls, stuckLoop(fmt.Sprintf("l%d", i), uint64(i+1), 223))
				}
				return ls
			}(),
			want: []got{{"stuck/warning n=20 [1@223 2@223 3@223 4@223 5@223 6@223 7@223 8@223 9@223 10@223]", "l0", 20, `The same in loops "l1", "l2", "l3" and 16 more.`}},
		},
		{
			name: "loops that share a name",
			in:   []Loop{stuckLoop("worker", 1, 223), stuckLoop("worker", 2, 223), stuckLoop("worker", 3, 223)},
			want: []got{{"stuck/warning n=3 [1@223 2@223 3@223]", "worker", 3, `The same in loops "worker" and "worker".`}},
		},
		{
			name: "other sites",
			in:   []Loop{stuckMade("a", 1, 223, 222), stuckMade("b", 2, 223, 300)},
			want: []got{{"stuck/warning n=1 [1@223]", "a", 0, ""}, {"stuck/warning n=1 [2@223]", "b", 0, ""}},
		},
		{
			name: "a finding per task folds task by task",
			in:   []Loop{ignoring("a", 1, 3), ignoring("b", 11, 2)},
			want: []got{
				{"cancel-ignored/warning n=2 [1@75 11@75]", "a", 2, `The same in loop "b".`},
				{"cancel-ignored/warning n=2 [2@75 12@75]", "a", 2, `The same in loop "b".`},
				{"cancel-ignored/warning n=1 [3@75]", "a", 0, ""},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var gots []got
			for _, f := range diagnose(tt.in...) {
				gots = append(gots, got{brief(f), f.Loop, f.Loops, tail(f.Summary)})
			}
			if !slices.Equal(gots, tt.want) {
				t.Errorf("got  %+v\nwant %+v", gots, tt.want)
			}
		})
	}
}

// TestHolderEnded: a lock or semaphore whose holder has ended (it
// returned on an error path without releasing it) names that task and how
// it ended, from the history, and lists where it was spawned: it is the
// bug, and nothing else will release the lock.
func TestHolderEnded(t *testing.T) {
	reload := runtime.TaskInfo{ID: 3, Name: "reload", State: runtime.Failed, Loop: "main", Error: "reload: parse error", SpawnedAt: at(40)}
	q8 := runtime.TaskInfo{ID: 8, Name: "query-8", State: runtime.Finished, Loop: "main", SpawnedAt: at(50)}
	tests := []struct {
		name        string
		res         runtime.ResourceInfo
		history     []runtime.TaskInfo
		wantSummary string
	}{
		{"lock, holder in the history", lockRes(60, 36, 3), []runtime.TaskInfo{reload},
			`Task "read-config" has waited 12s at main.go:69 on a lock (made at main.go:36), held by task 3 "reload" (failed: "reload: parse error"), which ended without releasing it.`},
		{"semaphore, holders ended", runtime.ResourceInfo{ID: 60, Kind: "semaphore", CreatedAt: at(57), Holders: []uint64{8, 12}, Cap: 2},
			[]runtime.TaskInfo{q8},
			`Task "read-config" has waited 12s at main.go:69 on a semaphore (made at main.go:57), held by task 8 "query-8" (finished), which ended without releasing it.`},
		{"handed to a task it spawned", lockRes(60, 36, 3), []runtime.TaskInfo{reload},
			`Task "read-config" has waited 12s at main.go:69 on a lock (made at main.go:36), taken by task 3 "reload" (failed: "reload: parse error"), which has ended: unless a task it spawned ("worker") releases it, nothing will.`},
		{"a task it spawned waits for it too", lockRes(60, 36, 3), []runtime.TaskInfo{reload},
			`Tasks "read-config" and "worker" have waited up to 12s at main.go:69 on a lock (made at main.go:36), held by task 3 "reload" (failed: "reload: parse error"), which ended without releasing it.`},
	}
	for _, tt := range tests {
		l := loop(alive, with(task(11, "read-config", 60, 69, tt.res.Kind, 12*time.Second), res(60)))
		switch {
		case strings.HasPrefix(tt.name, "handed"):
			worker := with(task(9, "worker", 45, 46, "sleep", time.Second), sleeping)
			worker.ParentID = 3
			l.Snapshot.Tasks = append(l.Snapshot.Tasks, worker)
		case strings.HasPrefix(tt.name, "a task it spawned"):
			worker := with(task(9, "worker", 60, 69, "lock", 12*time.Second), res(60))
			worker.ParentID = 3
			l.Snapshot.Tasks = append(l.Snapshot.Tasks, worker)
		}
		l.Resources = []runtime.ResourceInfo{tt.res}
		l.History = tt.history
		got := diagnose(l)
		if len(got) != 1 || got[0].Kind != wire.KindStuck || got[0].Summary != tt.wantSummary {
			t.Fatalf("%s:\n got %q\n     %+v\nwant %q", tt.name, briefs(got), got, tt.wantSummary)
		}
		if s := got[0].Sites; !slices.ContainsFunc(s, func(f wire.Frame) bool { return f.Line == tt.history[0].SpawnedAt.Line }) {
			t.Errorf("%s: sites %v lack where the ended holder was spawned (line %d)", tt.name, s, tt.history[0].SpawnedAt.Line)
		}
	}
}

// TestSleepLeakText: tasks that pile up asleep are told apart from tasks
// that wait for something that never comes.
func TestSleepLeakText(t *testing.T) {
	var ts []runtime.TaskInfo
	for i := range 12 {
		tk := with(task(uint64(300+i), fmt.Sprintf("session-%d", i), 60, 66, "sleep", time.Duration(24-2*i)*time.Second), sleeping)
		tk.Created = t0.Add(-time.Duration(24-2*i) * time.Second)
		tk.Until = t0.Add(time.Duration(i+3) * time.Second)
		tk.Steps = 1
		ts = append(ts, tk)
	}
	got := diagnose(loop(alive, ts...))
	want := `12 tasks spawned at main.go:60 ("session-0", "session-1", "session-2" and 9 more) pile up asleep at main.go:66: 0.5 more every second, each in its first sleep; none has ended yet, and the first wakes in 3s.`
	if len(got) != 1 || got[0].Summary != want || got[0].Severity != wire.SeverityInfo {
		t.Errorf("got %+v\nwant an info saying %q", got, want)
	}
}

// TestBlockingFix: the fix of a blocking finding fits the call that
// blocked.
func TestBlockingFix(t *testing.T) {
	tests := []struct{ call, want string }{
		{"time.Sleep", "Wait with runtime.Sleep(ctx, d)"},
		{"sync.(*Mutex).Lock", "A sync primitive that waits holds the whole loop: between tasks use runtime.Lock"},
		{"net.(*conn).Read", "Move the blocking call into runtime.ToThread(ctx, fn)"},
	}
	for _, tt := range tests {
		l := loop(alive, with(task(8, "stats", 80, 81, "sleep", time.Second), sleeping))
		l.Blocking = []runtime.BlockEvent{{TaskID: 8, TaskName: "stats", Started: t0.Add(-20 * time.Second), Duration: 2 * time.Second, At: at(82), Call: tt.call}}
		got := diagnose(l)
		if len(got) != 1 || !strings.HasPrefix(got[0].Fix, tt.want) {
			t.Errorf("%s: %+v, want a fix starting %q", tt.call, got, tt.want)
		}
	}
}

// TestDeadlockText: locks made at one line are told apart by their ids;
// a cycle of one lock and an await gets the fix for holding a lock across
// an await, not the lock-order one.
func TestDeadlockText(t *testing.T) {
	tests := []struct {
		name             string
		in               Loop
		wantSummary, fix string
	}{
		{
			name: "two locks made at one line",
			in: func() Loop {
				l := loop(alive,
					with(task(2, "a", 20, 24, "lock", time.Minute), res(60)),
					with(task(3, "b", 30, 34, "lock", time.Minute), res(61)),
				)
				l.Resources = []runtime.ResourceInfo{lockRes(60, 21, 3), lockRes(61, 21, 2)}
				return l
			}(),
			wantSummary: `Tasks "a" and "b" deadlock: "a" waits at main.go:24 for the lock 60 made at main.go:21 held by "b"; "b" waits at main.go:34 for the lock 61 made at main.go:21 held by "a".`,
			fix:         "Take the locks in one order everywhere",
		},
		{
			name: "a lock held across an await of a task that needs it",
			in: func() Loop {
				l := loop(alive,
					with(task(2, "parent", 20, 24, "task", time.Minute), awaits(3)),
					with(task(3, "child", 30, 34, "lock", time.Minute), res(60)),
				)
				l.Resources = []runtime.ResourceInfo{lockRes(60, 11, 2)}
				return l
			}(),
			wantSummary: `Tasks "child" and "parent" deadlock: "child" waits at main.go:34 for the lock made at main.go:11 held by "parent"; "parent" awaits "child" at main.go:24.`,
			fix:         "Do not await, while holding a lock or permit, a task that needs it",
		},
	}
	for _, tt := range tests {
		got := diagnose(tt.in)
		if len(got) != 1 || tt.wantSummary != "" && got[0].Summary != tt.wantSummary || !strings.HasPrefix(got[0].Fix, tt.fix) {
			t.Errorf("%s: %q\n %+v\nwant %q, a fix starting %q", tt.name, briefs(got), got, tt.wantSummary, tt.fix)
		}
	}
}

// TestToThreadNote: a ToThread call that has not returned for --stuck-after
// is a note (long work looks the same as a call that never returns).
func TestToThreadNote(t *testing.T) {
	l := loop(alive, with(task(7, "shard-4", 20, 26, "to_thread", 12*time.Second), func(t *runtime.TaskInfo) { t.Wait.External = true }))
	got := diagnose(l)
	want := `Task "shard-4" has waited 12s at main.go:26 on a ToThread call: its function has not returned.`
	if len(got) != 1 || got[0].Severity != wire.SeverityInfo || got[0].Summary != want {
		t.Errorf("got %+v\nwant an info saying %q", got, want)
	}
}

// TestProducerGone: consumers of a queue whose last producer has ended are
// told so, and how it ended (a note: an idle consumer is info at most).
func TestProducerGone(t *testing.T) {
	failed := runtime.TaskInfo{ID: 3, Name: "producer", State: runtime.Failed, Loop: "main", Error: "upstream: connection reset", SpawnedAt: at(52)}
	done := failed
	done.State, done.Error = runtime.Finished, ""
	tests := []struct {
		name     string
		producer runtime.TaskInfo
		severity string
		summary  string
	}{
		{"failed", failed, wire.SeverityInfo,
			`Task "consumer" has waited 12s at main.go:34 on a queue (made at main.go:51): the last task that put into it, task 3 "producer", has ended (its last item came 13s ago), failed: "upstream: connection reset".`},
		{"finished", done, wire.SeverityInfo,
			`Task "consumer" has waited 12s at main.go:34 on a queue (made at main.go:51): the last task that put into it, task 3 "producer", has ended (its last item came 13s ago).`},
	}
	for _, tt := range tests {
		l := loop(alive, with(task(4, "consumer", 60, 34, "queue.get", 12*time.Second), res(51)))
		l.Resources = []runtime.ResourceInfo{{ID: 51, Kind: "queue", CreatedAt: at(51), Waiters: []uint64{4}, LastPut: t0.Add(-13 * time.Second), LastPutBy: 3}}
		l.History = []runtime.TaskInfo{tt.producer}
		got := diagnose(l)
		if len(got) != 1 || got[0].Severity != tt.severity || got[0].Summary != tt.summary {
			t.Errorf("%s: %+v\nwant %s %q", tt.name, got, tt.severity, tt.summary)
		}
	}
}

// TestSleepForeverLeak: tasks piling up in a first sleep that lasts
// "forever" are no note that they may end when they wake.
func TestSleepForeverLeak(t *testing.T) {
	var ts []runtime.TaskInfo
	for i := range 12 {
		tk := with(task(uint64(300+i), fmt.Sprintf("waiter-%d", i), 60, 66, "sleep", time.Duration(24-2*i)*time.Second), sleeping)
		tk.Created = t0.Add(-time.Duration(24-2*i) * time.Second)
		tk.Until = t0.Add(1 << 62)
		tk.Steps = 1
		ts = append(ts, tk)
	}
	got := diagnose(loop(alive, ts...))
	if len(got) != 1 || got[0].Severity != wire.SeverityWarning || !strings.Contains(got[0].Summary, "each in its first sleep, the first for ") {
		t.Errorf("got %+v; want a warning", got)
	}
}

// TestShortSleepLeak: tasks that loop on short sleeps (keepalives never
// cancelled) and pile up are a leak, though none waits long at its sleep,
// when the tasks that spawned them have ended; the same tasks spawned at
// once (a pool), or by a live task (a server's per-client heartbeats), are
// not. One of their kind that ended does not hide the pile.
func TestShortSleepLeak(t *testing.T) {
	const accept = 299 // a live task that spawns heartbeats
	for _, tt := range []struct {
		name    string
		spread  time.Duration // between two spawns
		parent  func(i int) uint64
		ended   int // of their kind, in the history
		want    []string
		summary string
	}{
		{"spawned by ended tasks", 2 * time.Second, func(i int) uint64 { return uint64(900 + i) }, 0,
			[]string{"leak/warning n=12 [300@66 301@66 302@66 303@66 304@66 305@66 306@66 307@66 308@66 309@66]"},
			"pile up asleep at main.go:66: 0.5 more every second, the oldest has lived 30s, and none has ended."},
		{"one of them ended", 2 * time.Second, func(i int) uint64 { return uint64(900 + i) }, 1,
			[]string{"leak/warning n=12 [300@66 301@66 302@66 303@66 304@66 305@66 306@66 307@66 308@66 309@66]"},
			"and only 1 has ended."},
		{"spawned at once", 0, func(i int) uint64 { return uint64(900 + i) }, 0, []string{}, ""},
		{"spawned by a live task", 2 * time.Second, func(int) uint64 { return accept }, 0, []string{}, ""},
	} {
		ts := []runtime.TaskInfo{with(task(accept, "accept", 50, 51, "to_thread", time.Second), func(t *runtime.TaskInfo) { t.Wait.External = true })}
		for i := range 12 {
			tk := with(task(uint64(300+i), fmt.Sprintf("keepalive-%d", i), 60, 66, "sleep", 50*time.Millisecond), sleeping)
			tk.Created = t0.Add(-30*time.Second + time.Duration(i)*tt.spread)
			tk.Until = t0.Add(50 * time.Millisecond)
			tk.Steps = 100
			tk.ParentID = tt.parent(i)
			ts = append(ts, tk)
		}
		l := loop(alive, ts...)
		for i := range tt.ended {
			l.History = append(l.History, runtime.TaskInfo{ID: uint64(800 + i), Name: "keepalive-x", State: runtime.Cancelled, SpawnedAt: at(60)})
		}
		got := diagnose(l)
		var leaks []wire.Finding
		for _, f := range got {
			if f.Kind == wire.KindLeak {
				leaks = append(leaks, f)
			}
		}
		if b := briefs(leaks); !slices.Equal(b, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, b, tt.want)
		} else if len(leaks) > 0 && !strings.HasSuffix(leaks[0].Summary, tt.summary) {
			t.Errorf("%s: summary %q, want it to end %q", tt.name, leaks[0].Summary, tt.summary)
		}
	}
}

// TestBlockingCalledFrom: a block inside a helper names the task's own
// call that led there, in the summary and the sites.
func TestBlockingCalledFrom(t *testing.T) {
	helper, own := at(52), at(77)
	helper.Kind, own.Kind = runtime.FrameUser, runtime.FrameUser
	stack := []runtime.Frame{{Function: "time.Sleep", File: "/go/src/time/sleep.go", Line: 1, Kind: runtime.FrameGoRuntime}, helper, own}
	l := loop(alive, with(task(6, "hasher", 60, 61, "sleep", time.Second), sleeping))
	l.Blocking = []runtime.BlockEvent{{TaskID: 6, TaskName: "hasher", Started: t0.Add(-20 * time.Second), Duration: time.Second, At: helper, Call: "time.Sleep", Stack: stack}}
	got := diagnose(l)
	if len(got) != 1 || !strings.Contains(got[0].Summary, "time.Sleep at main.go:52, called from main.go:77") ||
		!slices.ContainsFunc(got[0].Sites, func(f wire.Frame) bool { return f.Line == 77 }) {
		t.Errorf("got %+v; want the summary and sites to name main.go:77", got)
	}
}

// TestLongFirstSleepLeak: what makes a pile of first sleeps a note is how
// long each sleep is, not how soon the first wakes: 25-hour sleeps stay a
// warning when the earliest is an hour from waking.
func TestLongFirstSleepLeak(t *testing.T) {
	var ts []runtime.TaskInfo
	for i := range 12 {
		tk := with(task(uint64(300+i), fmt.Sprintf("waiter-%d", i), 60, 66, "sleep", time.Duration(24-2*i)*time.Hour), sleeping)
		tk.Created = t0.Add(-time.Duration(24-2*i) * time.Hour)
		tk.Suspended = tk.Created
		tk.Until = tk.Suspended.Add(25 * time.Hour)
		tk.Steps = 1
		ts = append(ts, tk)
	}
	got := diagnose(loop(alive, ts...))
	if len(got) != 1 || got[0].Severity != wire.SeverityWarning {
		t.Errorf("got %+v; want a warning", got)
	}
}

// TestSaturationText: a saturation names the site with its live tasks
// and those that began and ended in the window, and says "at least" when
// the history, having dropped tasks, does not reach back to the window's
// start.
func TestSaturationText(t *testing.T) {
	st := saturated
	st.Ended = 5000
	l := loop(st, with(task(21, "req", 30, 32, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 10 * time.Millisecond }))
	for i := range 400 {
		end := t0.Add(-time.Duration(400-i) * 10 * time.Millisecond)
		l.History = append(l.History, runtime.TaskInfo{ID: uint64(100 + i), Name: "req", State: runtime.Finished, SpawnedAt: at(30),
			Busy: 10 * time.Millisecond, Created: end.Add(-10 * time.Millisecond), Finished: end})
	}
	got := diagnose(l)
	want := "The loop was busy 98% of the last 5s and tasks that become ready wait 150ms to run: it has more work than it can run. " +
		"The tasks spawned at main.go:30 took the most, at least 80% of the loop's time (1 live task and 400 tasks that began and ended in that time)."
	if len(got) != 1 || got[0].Summary != want {
		t.Errorf("got %q\nwant %q", briefs(got), want)
		for _, f := range got {
			t.Log(f.Summary)
		}
	}
	// A history that dropped nothing holds them all: no "at least".
	l.Snapshot.Stats.Ended = uint64(len(l.History))
	if got := diagnose(l); len(got) != 1 || strings.Contains(got[0].Summary, "at least") {
		t.Errorf("with the whole history: %q", briefs(got))
	}
	// No history kept (WithHistorySize(0)) while tasks ended: a least.
	l.History = nil
	if got := diagnose(l); len(got) != 1 || !strings.Contains(got[0].Summary, "at least") {
		t.Errorf("with no history: %q", briefs(got))
	}
}

// TestQueuedOnSemaphore: tasks waiting long on a semaphore whose permits
// change hands (a batch bounded by it) queue: a note, not stuck; the same
// wait on one whose permits have not moved for --stuck-after is a warning.
func TestQueuedOnSemaphore(t *testing.T) {
	for _, tt := range []struct {
		name  string
		taken time.Duration // how long ago a permit was last taken
		want  string
	}{
		{"permits change hands", 20 * time.Millisecond, "stuck/info n=12 [300@17 301@17 302@17 303@17 304@17 305@17 306@17 307@17 308@17 309@17]"},
		{"permits do not move", time.Minute, "stuck/warning n=12 [300@17 301@17 302@17 303@17 304@17 305@17 306@17 307@17 308@17 309@17]"},
	} {
		var ts []runtime.TaskInfo
		for i := range 12 {
			ts = append(ts, with(task(uint64(300+i), fmt.Sprintf("rec-%d", i), 15, 17, "semaphore", 12*time.Second), res(70)))
		}
		ts = append(ts, with(task(1, "holder", 15, 23, "yield", 0), func(t *runtime.TaskInfo) { t.Wait.External = true }))
		l := loop(alive, ts...)
		l.Resources = []runtime.ResourceInfo{{ID: 70, Kind: "semaphore", CreatedAt: at(10), Holders: []uint64{1}, Cap: 200, LastTaken: t0.Add(-tt.taken)}}
		got := diagnose(l)
		if b := briefs(got); len(b) != 1 || b[0] != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, b, tt.want)
		}
		if tt.taken < time.Second && (len(got) != 1 || !strings.Contains(got[0].Summary, "its 200 permits change hands (last taken 20ms ago), so they queue for it rather than stall.")) {
			t.Errorf("%s: summary %q", tt.name, got[0].Summary)
		}
	}
}

// TestQueuedProducers: producers waiting on a full queue whose consumers
// took an item a moment ago wait their turn (backpressure: a note); on
// one nothing has taken from for longer than StuckAfter they are stuck.
func TestQueuedProducers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		taken time.Duration // how long ago an item was last taken (0: never)
		want  string
	}{
		{"consumers drain it", 20 * time.Millisecond, "stuck/info n=3 [300@17 301@17 302@17]"},
		{"nothing takes from it", time.Minute, "stuck/warning n=3 [300@17 301@17 302@17]"},
		{"never taken from", 0, "stuck/warning n=3 [300@17 301@17 302@17]"},
	} {
		var ts []runtime.TaskInfo
		for i := range 3 {
			ts = append(ts, with(task(uint64(300+i), fmt.Sprintf("producer-%d", i), 15, 17, "queue.put", 12*time.Second), res(70)))
		}
		l := loop(alive, ts...)
		r := runtime.ResourceInfo{ID: 70, Kind: "queue", CreatedAt: at(10), Len: 8, Cap: 8}
		if tt.taken > 0 {
			r.LastTaken = t0.Add(-tt.taken)
		}
		l.Resources = []runtime.ResourceInfo{r}
		got := diagnose(l)
		if b := briefs(got); len(b) != 1 || b[0] != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, b, tt.want)
			continue
		}
		want := map[time.Duration]string{
			20 * time.Millisecond: "the queue is full, and its consumers take from it (last 20ms ago) more slowly than it fills, so the producers wait their turn.",
			time.Minute:           "the queue is full and nothing has taken from it for 1m.",
			0:                     "the queue is full and nothing takes from it.",
		}[tt.taken]
		if !strings.HasSuffix(got[0].Summary, want) {
			t.Errorf("%s: summary %q, want it to end %q", tt.name, got[0].Summary, want)
		}
	}
}

// TestSaturationNeedsReadyTasks: the loop lag is a moving average that
// stays put while the loop idles: a loop with nothing ready, and no
// thread-safe call pending, is not saturated, whatever its lag says.
func TestSaturationNeedsReadyTasks(t *testing.T) {
	st := saturated
	st.Ready, st.LastWork = 0, t0.Add(-3*time.Second)
	if got := briefs(diagnose(loop(st, workers(1, 10, 10, 12, each(490*time.Millisecond))...))); len(got) != 0 {
		t.Errorf("an idle loop with a stale lag: %q, want nothing", got)
	}
	st.Pending = 30 // requests in the loop's inbox
	if got := briefs(diagnose(loop(st, workers(1, 10, 10, 12, each(490*time.Millisecond))...))); len(got) != 1 {
		t.Errorf("a loop with calls pending: %q, want a saturation", got)
	}
}

// TestQueuedNotForEndedHolder: a lock taken a moment ago by a task that
// then ended without unlocking it does not change hands: its waiters are
// stuck, and the finding names the task.
func TestQueuedNotForEndedHolder(t *testing.T) {
	l := loop(alive,
		with(task(1, "w1", 15, 17, "lock", 12*time.Second), res(71)),
		with(task(2, "w2", 15, 17, "lock", 12*time.Second), res(71)))
	l.Resources = []runtime.ResourceInfo{{ID: 71, Kind: "lock", CreatedAt: at(10), Holders: []uint64{3}, LastTaken: t0.Add(-time.Second)}}
	l.History = []runtime.TaskInfo{{ID: 3, Name: "holder", State: runtime.Failed, SpawnedAt: at(30), Finished: t0.Add(-time.Second), Error: "boom"}}
	got := diagnose(l)
	if len(got) != 1 || got[0].Severity != wire.SeverityWarning || !strings.Contains(got[0].Summary, "which ended without releasing it") {
		t.Errorf("got %q, want the waiters stuck on a lock its ended holder kept", briefs(got))
	}
}

// TestQueuedSemaphoreWithLiveHolders: a semaphore one of whose holders
// ended without releasing still changes hands while live holders pass
// their permits on: its waiters queue.
func TestQueuedSemaphoreWithLiveHolders(t *testing.T) {
	l := loop(alive,
		with(task(1, "w1", 15, 17, "semaphore", 12*time.Second), res(71)),
		with(task(2, "worker", 15, 23, "yield", 0), func(t *runtime.TaskInfo) { t.Wait.External = true }))
	l.Resources = []runtime.ResourceInfo{{ID: 71, Kind: "semaphore", CreatedAt: at(10), Holders: []uint64{3, 2}, Cap: 2, LastTaken: t0.Add(-20 * time.Millisecond)}}
	l.History = []runtime.TaskInfo{{ID: 3, Name: "gone", State: runtime.Failed, SpawnedAt: at(30), Finished: t0.Add(-time.Minute), Error: "boom"}}
	if got := briefs(diagnose(l)); len(got) != 1 || got[0] != "stuck/info n=1 [1@17]" {
		t.Errorf("got %q, want the waiter queued (info)", got)
	}
}

// TestQueuedNeedsEveryResource: like tasks that wait on several locks
// (one per key) queue only if every one of those changes hands; one held
// for good keeps the warning.
func TestQueuedNeedsEveryResource(t *testing.T) {
	l := loop(alive,
		with(task(1, "w1", 15, 17, "lock", 12*time.Second), res(71)),
		with(task(2, "w2", 15, 17, "lock", 12*time.Second), res(72)),
		with(task(3, "holder", 15, 23, "yield", 0), func(t *runtime.TaskInfo) { t.Wait.External = true }))
	l.Resources = []runtime.ResourceInfo{
		{ID: 71, Kind: "lock", CreatedAt: at(10), Holders: []uint64{3}, LastTaken: t0.Add(-time.Second)},
		{ID: 72, Kind: "lock", CreatedAt: at(10), Holders: []uint64{3}, LastTaken: t0.Add(-time.Hour)},
	}
	if got := briefs(diagnose(l)); len(got) != 1 || got[0] != "stuck/warning n=2 [1@17 2@17]" {
		t.Errorf("got %q, want the two waiters stuck (warning)", got)
	}
}

// TestLeakOverShortHistory: a history that dropped tasks since the pile
// began holds only some of its kind that ended: their count is scaled up
// from the span the history covers to the pile's life.
func TestLeakOverShortHistory(t *testing.T) {
	for _, tt := range []struct {
		name    string
		dropped bool
		covers  time.Duration // the span of the history: its oldest ended then
		want    int           // leak findings
	}{
		{"whole history", false, time.Second, 1},
		{"history of 1s that dropped tasks: 1 ended there is about 40 over the pile's 40s", true, time.Second, 0},
		{"history of 30s that dropped tasks: 1 ended there is about 1.3", true, 30 * time.Second, 1},
		{"history read after now, all of it newer", true, -time.Second, 1},
	} {
		var ts []runtime.TaskInfo
		for i := range 20 {
			tk := with(task(uint64(300+i), fmt.Sprintf("conn-%d", i), 60, 66, "queue.get", 30*time.Second), res(80))
			tk.Created = t0.Add(-40*time.Second + time.Duration(i)*2*time.Second)
			ts = append(ts, tk)
		}
		l := loop(alive, ts...)
		l.Resources = []runtime.ResourceInfo{{ID: 80, Kind: "queue", CreatedAt: at(58)}}
		l.History = []runtime.TaskInfo{
			{ID: 899, Name: "other", State: runtime.Finished, SpawnedAt: at(99), Finished: t0.Add(-tt.covers)},
			{ID: 900, Name: "conn-x", State: runtime.Finished, SpawnedAt: at(60), Finished: t0.Add(-time.Second)},
		}
		l.Snapshot.Stats.Ended = 2
		if tt.dropped {
			l.Snapshot.Stats.Ended = 5000
		}
		n := 0
		for _, f := range diagnose(l) {
			if f.Kind == wire.KindLeak {
				n++
			}
		}
		if n != tt.want {
			t.Errorf("%s: %d leak findings, want %d", tt.name, n, tt.want)
		}
	}
}

// TestHogFixNamesProfile: a hog's fix says how to find the lines its
// steps spend their time on, with this process's pid (the doctor runs in
// it) and the task's name quoted for pprof's regular expression and the
// shell.
func TestHogFixNamesProfile(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"crunch", `-tagfocus task.name='^crunch$' cpu.pb.gz`},
		{"job.1", `-tagfocus task.name='^job\.1$' cpu.pb.gz`},
		{"it's", `-tagfocus task.name='^it'\''s$' cpu.pb.gz`},
		{"a,b", `-tagfocus task.name='^a\x2cb$' cpu.pb.gz`},
		{"x$(id)\n\u202e", `-tagfocus task.name='^x\$\(id\)\x{a}\x{202e}$' cpu.pb.gz`},
	} {
		st := runtime.LoopStats{LastWork: t0, Ready: 1, Window: 5 * time.Second, Busy: 4800 * time.Millisecond}
		l := loop(st, with(task(1, tt.name, 10, 12, "yield", 0), func(t *runtime.TaskInfo) { t.RecentBusy = 4500 * time.Millisecond }))
		got := diagnose(l)
		if len(got) != 1 || !strings.Contains(got[0].Fix, fmt.Sprintf("taskdump profile %d --kind cpu", os.Getpid())) || !strings.Contains(got[0].Fix, tt.want) {
			t.Errorf("%s: fix %q, want the cpu profile and %q", tt.name, got[0].Fix, tt.want)
		}
	}
}
