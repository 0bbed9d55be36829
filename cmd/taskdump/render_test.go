package main

import (
	"bytes"
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
	f := func(fn string) wire.Frame { return wire.Frame{Function: fn, File: "/x.go", Line: 1} }
	stack := []wire.Frame{
		f("runtime.gopark"), f("github.com/taskdump/taskdump/runtime.(*task).awaitTasks"),
		f("github.com/taskdump/taskdump/runtime.Sleep"), f("main.work"),
		f("github.com/taskdump/taskdump/runtime.(*Task[...]).runBody"), f("github.com/taskdump/taskdump/runtime.(*coro).run"),
		f("iter.Pull[...].func1"), f("runtime.goexit"),
	}
	got, cut := trimMachinery(stack)
	var names []string
	for _, g := range got {
		names = append(names, g.Function)
	}
	if want := "github.com/taskdump/taskdump/runtime.Sleep main.work"; strings.Join(names, " ") != want || cut != 6 {
		t.Errorf("trimMachinery = %v, cut %d; want %s, cut 6", names, cut, want)
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
