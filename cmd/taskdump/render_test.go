package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0ms"},
		{850 * time.Millisecond, "850ms"},
		{12340 * time.Millisecond, "12.3s"},
		{4*time.Minute + 5*time.Second, "4m05s"},
		{2*time.Hour + 10*time.Minute + 3*time.Second, "2h10m"},
	}
	for _, tt := range tests {
		if got := age(tt.d); got != tt.want {
			t.Errorf("age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestTrimMachinery(t *testing.T) {
	f := func(kind, fn string) wire.Frame { return wire.Frame{Function: fn, File: "/x.go", Line: 1, Kind: kind} }
	tests := []struct {
		name    string
		stack   []wire.Frame
		want    string
		wantCut int
	}{
		{"suspended: the runtime's shape, nothing to cut",
			[]wire.Frame{f("task-runtime", "rt.Sleep"), f("user", "main.work"), f("user", "main.main.func1")},
			"rt.Sleep main.work main.main.func1", 0},
		{"blocking in a callback under the standard library",
			[]wire.Frame{f("go-runtime", "time.Sleep"), f("user", "main.less"), f("go-runtime", "sort.insertionSort"),
				f("go-runtime", "sort.Slice"), f("user", "main.work")},
			"time.Sleep main.less main.work", 2},
		{"running user code", []wire.Frame{f("user", "main.spin"), f("task-runtime", "rt.Gather"), f("user", "main.work")},
			"main.spin main.work", 1},
		{"no user frame: kept whole", []wire.Frame{f("task-runtime", "rt.helper"), f("go-runtime", "runtime.goexit")},
			"rt.helper runtime.goexit", 0},
		{"an older agent's frames (no kind): kept", []wire.Frame{f("", "runtime.gopark"), f("", "main.work")},
			"runtime.gopark main.work", 0},
	}
	for _, tt := range tests {
		got, cut := trimMachinery(tt.stack)
		var names []string
		for _, g := range got {
			names = append(names, g.Function)
		}
		if strings.Join(names, " ") != tt.want || cut != tt.wantCut {
			t.Errorf("%s: trimMachinery = %v, cut %d; want %s, cut %d", tt.name, names, cut, tt.want, tt.wantCut)
		}
	}
}

func TestRenderTreeLoopsAndCycles(t *testing.T) {
	tasks := []wire.Task{
		{ID: 1, Name: "main", State: "pending", Loop: "a", LoopID: 1, Awaits: []uint64{2}, Awaiting: "task 2"},
		{ID: 2, Name: "x", State: "pending", Loop: "a", LoopID: 1, ParentID: 1, Awaits: []uint64{1}, Awaiting: "task 1"},
		{ID: 3, Name: "main", State: "running", Running: true, Loop: "b", LoopID: 2},
	}
	var b bytes.Buffer
	renderTree(&b, wire.BuildTree(tasks))
	want := `loop a
└── main (#1) pending: task 2
    └── x (#2) pending: task 1
        └── main (#1) pending: task 2  <- AWAIT CYCLE
loop b
└── main (#3) running
await cycle: 1 -> 2 -> 1
`
	if b.String() != want {
		t.Errorf("renderTree =\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	renderTasks(&b, tasks, time.Now())
	if !strings.HasPrefix(b.String(), "LOOP  ID  NAME") || !strings.Contains(b.String(), "\nb     3   main") {
		t.Errorf("renderTasks with two loops:\n%s", b.String())
	}
}

// TestRenderBlockingNoStack: an event without a stack says why there is
// none instead of ending at its first line.
func TestRenderBlockingNoStack(t *testing.T) {
	var b bytes.Buffer
	started := time.Date(2026, 11, 27, 20, 0, 0, 0, time.Local)
	renderBlocking(&b, []wire.BlockEvent{{TaskID: 7, TaskName: "sync", Loop: "main", Started: started, DurationNS: int64(300 * time.Millisecond)}}, false)
	want := `task 7 "sync" blocked loop main for 300ms (started 20:00:00.000)
    ` + noBlockStack + "\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRenderTreeChain: a long chain of tasks each awaiting the next shows
// its first and last three, and a tree cut at MaxTreeDepth says how many
// tasks are below.
func TestRenderTreeChain(t *testing.T) {
	var tasks []wire.Task
	const n = 20
	for i := range n {
		tk := wire.Task{ID: uint64(i + 1), Name: fmt.Sprintf("t%d", i+1), State: "pending", Loop: "main"}
		if i+1 < n {
			tk.Awaits = []uint64{uint64(i + 2)}
		}
		tasks = append(tasks, tk)
	}
	var b bytes.Buffer
	renderTree(&b, wire.BuildTree(tasks))
	got := b.String()
	for _, want := range []string{"t1 (#1)", "t2 (#2)", "t4 (#4)", "⋮ 13 more tasks, each under the one above", "t18 (#18)", "t20 (#20)"} {
		if !strings.Contains(got, want) {
			t.Errorf("tree of a chain of %d lacks %q:\n%s", n, want, got)
		}
	}
	if strings.Contains(got, "t5 (#5)") || strings.Count(got, "\n") != 8 {
		t.Errorf("tree of a chain of %d: want 8 lines, the middle folded:\n%s", n, got)
	}
	cut := wire.Tree{Roots: []*wire.TreeNode{{Task: tasks[0], Deeper: 42}}}
	b.Reset()
	renderTree(&b, cut)
	if want := fmt.Sprintf("⋮ 42 more tasks below, not shown: the tree stops %d levels deep", wire.MaxTreeDepth); !strings.Contains(b.String(), want) {
		t.Errorf("cut tree:\n%s\nwant it to say %q", b.String(), want)
	}
	cut.Roots[0].Children = []*wire.TreeNode{{Task: tasks[n-1], Edge: "awaits"}}
	b.Reset()
	renderTree(&b, cut)
	if want := "⋮ 42 more tasks, each under the one above, not shown (the tree stops 1000 levels deep); the deepest:\n    └── t20 (#20)"; !strings.Contains(b.String(), want) {
		t.Errorf("cut chain:\n%s\nwant it to say %q", b.String(), want)
	}
}
