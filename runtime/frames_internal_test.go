package runtime

import (
	"context"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
)

// TestTaskStackShape: the one shape of every task stack, on frames of
// known kinds: the call above the first user frame, everything down to the
// last user frame, nothing else; a stack without user frames whole.
func TestTaskStackShape(t *testing.T) {
	u := func(fn string) Frame {
		return Frame{Function: fn, File: "/app/" + fn + ".go", Line: 1, Kind: FrameUser}
	}
	r := func(fn string) Frame {
		return Frame{Function: fn, File: pkgDir + fn + ".go", Line: 1, Kind: FrameTaskRuntime}
	}
	g := func(fn string) Frame {
		return Frame{Function: fn, File: goroot + fn + ".go", Line: 1, Kind: FrameGoRuntime}
	}
	plumbing := []Frame{r("runBody"), r("exec"), r("coro.run"), g("iter.Pull"), g("runtime.corostart"), g("runtime.goexit")}
	tests := []struct {
		name  string
		stack []Frame
		want  string
	}{
		{"suspended", append([]Frame{r("park"), r("Sleep"), u("work"), u("main")}, plumbing...), "Sleep work main"},
		{"blocking in the standard library",
			append([]Frame{g("runtime.gopark"), g("time.Sleep"), u("work")}, plumbing...), "time.Sleep work"},
		{"running user code", append([]Frame{u("spin"), u("work")}, plumbing...), "spin work"},
		{"frames of other kinds between user frames kept",
			append([]Frame{g("time.Sleep"), u("less"), g("sort.Slice"), u("work")}, plumbing...), "time.Sleep less sort.Slice work"},
		{"no user frame: whole", []Frame{r("helper"), g("runtime.goexit")}, "helper runtime.goexit"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		var names []string
		for _, f := range taskStack(tt.stack) {
			names = append(names, f.Function)
		}
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("%s: taskStack = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestKindOf: frames are classified by file: this package's (not its
// tests'), the standard library's, and everything else.
func TestKindOf(t *testing.T) {
	tests := []struct {
		function, file string
		want           FrameKind
	}{
		{"", "", 0},
		{"github.com/taskdump/taskdump/runtime.Sleep", pkgDir + "sleep.go", FrameTaskRuntime},
		{"github.com/taskdump/taskdump/runtime_test.work", pkgDir + "wait_test.go", FrameUser},
		{"github.com/taskdump/taskdump/runtime/sub.F", pkgDir + "sub/f.go", FrameUser},
		{"time.Sleep", goroot + "runtime/time.go", FrameGoRuntime},
		{"main.main", "/home/you/app/main.go", FrameUser},
		{"time.Sleep", "runtime/time.go", FrameGoRuntime},        // -trimpath
		{"example.com/app.F", "example.com/app/f.go", FrameUser}, // -trimpath
	}
	for _, tt := range tests {
		if got := kindOf(tt.function, tt.file); got != tt.want {
			t.Errorf("kindOf(%q, %q) = %v, want %v", tt.function, tt.file, got, tt.want)
		}
	}
}

// TestSuspensionStackEndsAtBody: the walk of a suspension stack stops at
// the frame of (*task).exec that called the task's function (bodyReturn):
// the coroutine's frames below it are not captured, the task's are all.
func TestSuspensionStackEndsAtBody(t *testing.T) {
	_, err := Run(context.Background(), func(ctx context.Context) (int, error) {
		f := NewFuture[int](ctx)
		x := Spawn(ctx, func(ctx context.Context) (int, error) { return f.Await(ctx) }, Named("x"))
		for range 2 { // the first park in the process may learn bodyReturn
			if err := Yield(ctx); err != nil {
				return 0, err
			}
		}
		stk := x.co.susp.stk
		var fns []string
		for _, pc := range stk {
			fns = append(fns, goruntime.FuncForPC(pc-1).Name())
		}
		if bodyReturn.Load() == 0 || len(stk) == 0 || stk[len(stk)-1] != bodyReturn.Load() {
			t.Errorf("stack %q; want it to end in (*task).exec's call of the task's function", fns)
		}
		if !slices.ContainsFunc(fns, func(fn string) bool { return strings.Contains(fn, "TestSuspensionStackEndsAtBody.func1.1") }) {
			t.Errorf("stack %q does not hold the task's function", fns)
		}
		f.SetResult(1)
		return x.Await(ctx)
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}
}
