// Package taskprof builds pprof profiles of a process's tasks, readable by
// `go tool pprof`, its web UI and flame graphs:
//
//   - the tasks profile has one sample per live task: its value is a count
//     and the time the task has been suspended, its stack the task's full
//     suspension stack with the user's await line on top, and its labels
//     the task's name, id, state, loop and what it awaits. It is Go's
//     goroutine profile, per task. (Task ids are left out of the labels, so
//     that tasks alike share them; `taskdump tasks` lists the ids.)
//   - the blocking profile has one sample per blocking event (a step that
//     ran longer than the loop's slow-step threshold): its value is the time
//     the loop was blocked and a count, its stack the stack captured while
//     the step was blocking (time.Sleep inside a task shows up as
//     time.Sleep under the task's function at its file:line).
//
// The inspect agent serves both (/v1/profile/tasks, /v1/profile/blocking)
// and `taskdump profile PID --kind tasks|blocking -o FILE` writes them; a
// program can also write them itself:
//
//	f, _ := os.Create("tasks.pb.gz")
//	err := taskprof.WriteTasks(f)
//
// Then: go tool pprof -top tasks.pb.gz, or go tool pprof -http=: tasks.pb.gz.
//
// Building a profile costs a snapshot of every loop with stacks (a few µs
// per task, resolved through a PC cache) plus the encoding; 100,000 pending
// tasks take well under a second.
package taskprof

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/pprof/profile"
	"github.com/taskdump/taskdump/runtime"
)

// builder deduplicates functions and locations while a profile is built.
// The zero builder is ready to use.
type builder struct {
	p      *profile.Profile
	funcs  map[[2]string]*profile.Function
	locs   map[runtime.Frame]*profile.Location
	stacks map[*runtime.Frame][]*profile.Location // stacks shared by snapshots
	labels map[[4]string]map[string][]string
}

// newBuilder starts a profile whose default sample type (and period type,
// with period 1) is the first of types.
func newBuilder(types ...*profile.ValueType) *builder {
	// One mapping, the program, marked symbolized: without it go tool pprof
	// prints "Main binary filename not available." and tries to symbolize.
	exe, err := os.Executable()
	if err != nil && len(os.Args) > 0 {
		exe = os.Args[0]
	}
	m := &profile.Mapping{ID: 1, File: exe, HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	return &builder{
		p: &profile.Profile{
			SampleType:        types,
			DefaultSampleType: types[0].Type,
			PeriodType:        &profile.ValueType{Type: types[0].Type, Unit: types[0].Unit},
			Period:            1,
			TimeNanos:         time.Now().UnixNano(),
			Mapping:           []*profile.Mapping{m},
		},
		funcs:  make(map[[2]string]*profile.Function),
		locs:   make(map[runtime.Frame]*profile.Location),
		stacks: make(map[*runtime.Frame][]*profile.Location),
		labels: make(map[[4]string]map[string][]string),
	}
}

func (b *builder) location(f runtime.Frame) *profile.Location {
	if l, ok := b.locs[f]; ok {
		return l
	}
	key := [2]string{f.Function, f.File}
	fn, ok := b.funcs[key]
	if !ok {
		fn = &profile.Function{ID: uint64(len(b.p.Function) + 1), Name: f.Function, SystemName: f.Function, Filename: f.File}
		b.funcs[key] = fn
		b.p.Function = append(b.p.Function, fn)
	}
	l := &profile.Location{ID: uint64(len(b.p.Location) + 1), Mapping: b.p.Mapping[0], Line: []profile.Line{{Function: fn, Line: int64(f.Line)}}}
	b.locs[f] = l
	b.p.Location = append(b.p.Location, l)
	return l
}

func (b *builder) add(stack []runtime.Frame, values []int64, labels map[string][]string) {
	s := &profile.Sample{Value: values, Label: labels}
	if len(stack) > 0 {
		// Snapshots share one slice between tasks suspended at the same
		// place: share their locations too (keyed by the slice's identity).
		key := &stack[0]
		locs, ok := b.stacks[key]
		if !ok || len(locs) != len(stack) {
			locs = make([]*profile.Location, len(stack))
			for i, f := range stack {
				locs[i] = b.location(f)
			}
			b.stacks[key] = locs
		}
		s.Location = locs
	}
	b.p.Sample = append(b.p.Sample, s)
}

// taskLabels returns the label set of a task, shared between tasks with
// the same name, state, loop and awaiting.
func (b *builder) taskLabels(name, state, loop, awaiting string) map[string][]string {
	key := [4]string{name, state, loop, awaiting}
	if m, ok := b.labels[key]; ok {
		return m
	}
	m := map[string][]string{"task.name": {name}, "state": {state}, "loop": {loop}}
	if awaiting != "" {
		m["awaiting"] = []string{awaiting}
	}
	b.labels[key] = m
	return m
}

// Tasks builds the tasks profile from snapshots taken with
// runtime.SnapshotOptions{Stacks: true}.
func Tasks(snaps []runtime.LoopSnapshot) *profile.Profile {
	b := newBuilder(
		&profile.ValueType{Type: "tasks", Unit: "count"},
		&profile.ValueType{Type: "suspended", Unit: "nanoseconds"},
	)
	for _, s := range snaps {
		for i := range s.Tasks {
			t := &s.Tasks[i]
			stack, waited := taskStack(t, s)
			b.add(stack, []int64{1, int64(waited)}, b.taskLabels(t.Name, t.State.String(), t.Loop, t.Wait.Kind))
		}
	}
	return b.p
}

// taskStack returns the stack a task's sample shows and how long it has
// been waiting: the suspension stack with the user's await call on top, the
// spawn site for a task that has not started, or the running task's
// function (its blocking stack if it blocks the loop). Stacks come shaped
// by the runtime; only frame kinds are read here.
func taskStack(t *runtime.TaskInfo, s runtime.LoopSnapshot) ([]runtime.Frame, time.Duration) {
	switch {
	case t.Running:
		if s.Blocking != nil && s.Blocking.TaskID == t.ID && len(s.Blocking.Stack) > 0 {
			return s.Blocking.Stack, 0
		}
		return []runtime.Frame{{Function: t.Function, File: t.SpawnedAt.File}}, 0
	case len(t.Stack) > 0:
		return userOnTop(t.Stack), s.Taken.Sub(t.Suspended)
	default:
		return []runtime.Frame{{Function: t.Function + " (not started)", File: t.SpawnedAt.File, Line: t.SpawnedAt.Line}}, s.Taken.Sub(t.Created)
	}
}

// userOnTop drops the frames above the first user frame (the runtime's
// awaiting function, runtime.Sleep), so that the user's await call is the
// sample's leaf and tasks waiting at the same line share it.
func userOnTop(stack []runtime.Frame) []runtime.Frame {
	for i, f := range stack {
		if f.Kind == runtime.FrameUser {
			return stack[i:]
		}
	}
	return stack
}

// Blocking builds the blocking profile from blocking events
// ((*runtime.Loop).Blocking).
func Blocking(events []runtime.BlockEvent) *profile.Profile {
	b := newBuilder(
		&profile.ValueType{Type: "blocked", Unit: "nanoseconds"},
		&profile.ValueType{Type: "events", Unit: "count"},
	)
	for _, ev := range events {
		stack := ev.Stack // time.Sleep on top: pprof -top puts the flat time on the blocking call
		if len(stack) == 0 {
			stack = []runtime.Frame{{Function: "(stack not captured: the step ended before the watchdog looked, or it rationed its captures)"}}
		}
		labels := map[string][]string{
			"task.name": {ev.TaskName},
			"task.id":   {strconv.FormatUint(ev.TaskID, 10)},
			"loop":      {ev.Loop},
		}
		if ev.Ongoing {
			labels["ongoing"] = []string{"true"}
		}
		b.add(stack, []int64{int64(ev.Duration), 1}, labels)
	}
	return b.p
}

// TasksProfile builds the tasks profile of every running loop.
func TasksProfile() *profile.Profile {
	return Tasks(runtime.Snapshot(runtime.SnapshotOptions{Stacks: true}))
}

// BlockingProfile builds the blocking profile of every running loop.
func BlockingProfile() *profile.Profile {
	var evs []runtime.BlockEvent
	for _, l := range runtime.Loops() {
		evs = append(evs, l.Blocking()...)
	}
	return Blocking(evs)
}

// WriteTasks writes the tasks profile of every running loop to w as a
// gzipped protocol buffer.
func WriteTasks(w io.Writer) error { return write(w, TasksProfile()) }

// WriteBlocking writes the blocking profile of every running loop to w as a
// gzipped protocol buffer.
func WriteBlocking(w io.Writer) error { return write(w, BlockingProfile()) }

// Write writes the profile of the given kind ("tasks" or "blocking").
func Write(w io.Writer, kind string) error {
	switch kind {
	case "tasks":
		return WriteTasks(w)
	case "blocking":
		return WriteBlocking(w)
	}
	return fmt.Errorf("taskprof: unknown profile kind %q (want tasks or blocking)", kind)
}

func write(w io.Writer, p *profile.Profile) error {
	if err := p.CheckValid(); err != nil {
		return fmt.Errorf("taskprof: invalid profile: %w", err)
	}
	if err := p.Write(w); err != nil {
		return fmt.Errorf("taskprof: write: %w", err)
	}
	return nil
}
