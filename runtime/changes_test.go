package runtime_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/taskdump/taskdump/runtime"
)

// walkResult is what one EachTaskSince saw, by task name.
type walkResult struct {
	visited map[string]bool // name -> isNew
	ended   map[string]runtime.State
	lost    bool
}

// walkSince walks l's changes after since, leaving out the task skip (the
// walker itself).
func walkSince(l *runtime.Loop, since, skip uint64) (walkResult, runtime.Changes) {
	w := walkResult{visited: map[string]bool{}, ended: map[string]runtime.State{}}
	ch := l.EachTaskSince(since, runtime.SnapshotOptions{}, func(ti *runtime.TaskInfo, isNew bool) bool {
		if ti.ID != skip {
			w.visited[ti.Name] = isNew
		}
		return true
	})
	for _, e := range ch.Ended {
		w.ended[e.Name] = e.State
	}
	w.lost = ch.Lost
	return w, ch
}

func waitEv(ev *runtime.Event) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) }
}

// TestEachTaskSince: a walk since N visits exactly the tasks whose record
// changed after N (isNew for those that appeared) and lists those that
// ended, with their final state.
func TestEachTaskSince(t *testing.T) {
	type env struct {
		ev1, ev2 *runtime.Event
		tasks    map[string]runtime.Handle
	}
	spawn := func(ctx context.Context, e *env, name string, fn func(context.Context) (int, error)) {
		e.tasks[name] = runtime.Spawn(ctx, fn, runtime.Named(name))
	}
	tests := []struct {
		name  string
		setup func(ctx context.Context, e *env)
		act   func(ctx context.Context, e *env)
		want  walkResult
	}{{
		name: "quiet",
		setup: func(ctx context.Context, e *env) {
			spawn(ctx, e, "a", waitEv(e.ev2))
			spawn(ctx, e, "b", waitEv(e.ev2))
		},
		act:  func(context.Context, *env) {},
		want: walkResult{visited: map[string]bool{}, ended: map[string]runtime.State{}},
	}, {
		name: "new tasks",
		setup: func(ctx context.Context, e *env) {
			spawn(ctx, e, "old", waitEv(e.ev2))
		},
		act: func(ctx context.Context, e *env) {
			spawn(ctx, e, "a", waitEv(e.ev2))
			spawn(ctx, e, "b", waitEv(e.ev2))
		},
		want: walkResult{visited: map[string]bool{"a": true, "b": true}, ended: map[string]runtime.State{}},
	}, {
		name: "one wakes and parks again",
		setup: func(ctx context.Context, e *env) {
			spawn(ctx, e, "a", func(ctx context.Context) (int, error) {
				if err := e.ev1.Wait(ctx); err != nil {
					return 0, err
				}
				return 0, e.ev2.Wait(ctx)
			})
			spawn(ctx, e, "b", waitEv(e.ev2))
		},
		act:  func(context.Context, *env) { /* ev1 set below */ },
		want: walkResult{visited: map[string]bool{"a": false}, ended: map[string]runtime.State{}},
	}, {
		name: "ends",
		setup: func(ctx context.Context, e *env) {
			spawn(ctx, e, "a", waitEv(e.ev1))
			spawn(ctx, e, "b", waitEv(e.ev2))
		},
		act:  func(context.Context, *env) {},
		want: walkResult{visited: map[string]bool{}, ended: map[string]runtime.State{"a": runtime.Finished}},
	}, {
		name: "fails",
		setup: func(ctx context.Context, e *env) {
			spawn(ctx, e, "a", func(ctx context.Context) (int, error) {
				if err := e.ev1.Wait(ctx); err != nil {
					return 0, err
				}
				return 0, errors.New("boom")
			})
		},
		act:  func(context.Context, *env) {},
		want: walkResult{visited: map[string]bool{}, ended: map[string]runtime.State{"a": runtime.Failed}},
	}, {
		name: "cancelled",
		setup: func(ctx context.Context, e *env) {
			spawn(ctx, e, "a", waitEv(e.ev2))
			spawn(ctx, e, "b", waitEv(e.ev2))
		},
		act:  func(_ context.Context, e *env) { e.tasks["a"].Cancel("stop") },
		want: walkResult{visited: map[string]bool{}, ended: map[string]runtime.State{"a": runtime.Cancelled}},
	}, {
		name:  "born and ended between walks",
		setup: func(context.Context, *env) {},
		act: func(ctx context.Context, e *env) {
			spawn(ctx, e, "c", func(context.Context) (int, error) { return 1, nil })
		},
		want: walkResult{visited: map[string]bool{}, ended: map[string]runtime.State{"c": runtime.Finished}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := runtime.NewLoop()
			var got walkResult
			err := l.Run(context.Background(), func(ctx context.Context) error {
				self := runtime.CurrentTask(ctx).ID()
				e := &env{ev1: runtime.NewEvent(), ev2: runtime.NewEvent(), tasks: map[string]runtime.Handle{}}
				tt.setup(ctx, e)
				for range 3 {
					if err := runtime.Yield(ctx); err != nil {
						return err
					}
				}
				_, base := walkSince(l, 0, self)
				tt.act(ctx, e)
				e.ev1.Set()
				for range 3 {
					if err := runtime.Yield(ctx); err != nil {
						return err
					}
				}
				got, _ = walkSince(l, base.Seq, self)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.visited, tt.want.visited) || !maps.Equal(got.ended, tt.want.ended) || got.lost != tt.want.lost {
				t.Errorf("walk since the base:\n got visited %v ended %v lost %v\nwant visited %v ended %v lost %v",
					got.visited, got.ended, got.lost, tt.want.visited, tt.want.ended, tt.want.lost)
			}
		})
	}
}

// TestEachTaskSinceFull: since 0 visits every live task as new, in
// creation order, with no ended tasks; a since the loop never gave is Lost.
func TestEachTaskSinceFull(t *testing.T) {
	l := runtime.NewLoop()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		ev := runtime.NewEvent()
		var want []uint64
		want = append(want, runtime.CurrentTask(ctx).ID())
		for range 5 {
			want = append(want, runtime.Spawn(ctx, waitEv(ev)).ID())
		}
		if err := runtime.Yield(ctx); err != nil {
			return err
		}
		var got []uint64
		ch := l.EachTaskSince(0, runtime.SnapshotOptions{Stacks: true}, func(ti *runtime.TaskInfo, isNew bool) bool {
			if !isNew {
				t.Errorf("task %d: isNew false in a full walk", ti.ID)
			}
			got = append(got, ti.ID)
			return true
		})
		if len(got) != len(want) || ch.Live != len(want) || len(ch.Ended) != 0 || ch.Lost {
			t.Errorf("full walk: ids %v live %d ended %v lost %v, want ids %v live %d", got, ch.Live, ch.Ended, ch.Lost, want, len(want))
		}
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("full walk order: got %v, want %v", got, want)
				break
			}
		}
		if ch.Name != l.Name() || ch.Seq == 0 {
			t.Errorf("header: name %q seq %d, want %q and a seq", ch.Name, ch.Seq, l.Name())
		}
		if later := l.EachTaskSince(ch.Seq+1000, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { return true }); !later.Lost {
			t.Errorf("since ahead of the loop: Lost false, want true")
		}
		n := 0
		l.EachTaskSince(0, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { n++; return n < 2 })
		if n != 2 {
			t.Errorf("fn called %d times after it returned false at 2", n)
		}
		ev.Set()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEachTaskSinceRingOverflow: when more tasks end between two walks than
// the loop remembers, the walk says Lost.
func TestEachTaskSinceRingOverflow(t *testing.T) {
	l := runtime.NewLoop()
	err := l.Run(context.Background(), func(ctx context.Context) error {
		self := runtime.CurrentTask(ctx).ID()
		_, base := walkSince(l, 0, self)
		for range 9000 {
			runtime.Spawn(ctx, func(context.Context) (int, error) { return 0, nil })
		}
		for range 3 {
			if err := runtime.Yield(ctx); err != nil {
				return err
			}
		}
		got, ch := walkSince(l, base.Seq, self)
		if !got.lost {
			t.Errorf("9000 ended tasks since the base: Lost false, want true (ended %d)", len(ch.Ended))
		}
		got, _ = walkSince(l, ch.Seq, self)
		if got.lost || len(got.ended) != 0 {
			t.Errorf("walk after the lost one: lost %v ended %d, want neither", got.lost, len(got.ended))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// quietLoop runs a loop with n tasks parked on an event, from another
// goroutine, until stop is called.
func quietLoop(tb testing.TB, n int) (l *runtime.Loop, stop func()) {
	l = runtime.NewLoop(runtime.WithName("quiet"))
	ev := runtime.NewEvent()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- l.Run(context.Background(), func(ctx context.Context) error {
			for range n {
				runtime.Spawn(ctx, waitEv(ev))
			}
			if err := runtime.Yield(ctx); err != nil {
				return err
			}
			close(ready)
			return ev.Wait(ctx)
		})
	}()
	<-ready
	return l, func() {
		l.CallSoonThreadsafe(ev.Set)
		if err := <-done; err != nil {
			tb.Error(err)
		}
	}
}

// TestEachTaskSinceQuiet: a loop of 100,000 idle tasks (10,000 with -race) visits no task once
// the first walk is done.
func TestEachTaskSinceQuiet(t *testing.T) {
	n := quietTasks
	l, stop := quietLoop(t, n)
	defer stop()
	full := 0
	ch := l.EachTaskSince(0, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { full++; return true })
	if full < n {
		t.Fatalf("full walk visited %d tasks, want at least %d", full, n)
	}
	// The main task's own last suspension may be published after the full
	// walk; after that, nothing changes.
	deadline := time.Now().Add(10 * time.Second)
	for {
		visited := 0
		next := l.EachTaskSince(ch.Seq, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { visited++; return true })
		if visited > 1 || next.Lost || len(next.Ended) != 0 {
			t.Fatalf("walk of a quiet loop visited %d tasks (lost %v, ended %d), want at most the main task", visited, next.Lost, len(next.Ended))
		}
		if visited == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the main task kept changing for 10s on a quiet loop")
		}
		ch = next
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkEachTaskSinceQuiet100k: one update's walk of a quiet loop of
// 100,000 idle tasks.
func BenchmarkEachTaskSinceQuiet100k(b *testing.B) {
	l, stop := quietLoop(b, 100_000)
	defer stop()
	seq := l.EachTaskSince(0, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { return true }).Seq
	b.ResetTimer()
	for b.Loop() {
		seq = l.EachTaskSince(seq, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { return true }).Seq
	}
}

// BenchmarkYield10k is the loop's cost per step with 10,000 tasks that
// yield in turn: every step moves a task to the tail of the change list,
// which touches its neighbours in the list (the list's cost on a busy loop).
func BenchmarkYield10k(b *testing.B) {
	const tasks = 10_000
	for b.Loop() {
		err := runtime.NewLoop(runtime.WithLogger(slog.New(slog.DiscardHandler))).Run(context.Background(), func(ctx context.Context) error {
			ts := make([]*runtime.Task[int], tasks)
			for i := range ts {
				ts[i] = runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
					for range 20 {
						if err := runtime.Yield(ctx); err != nil {
							return 0, err
						}
					}
					return 0, nil
				})
			}
			_, err := runtime.Gather(ctx, ts...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tasks*21), "ns/step")
}
