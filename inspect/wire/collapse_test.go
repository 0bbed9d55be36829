package wire

import (
	"fmt"
	"strings"
	"testing"
)

// renderFolded draws a tree like render, with each node's folded ids.
func renderFolded(tr Tree) string {
	var b strings.Builder
	var walk func(n *TreeNode, depth int)
	walk = func(n *TreeNode, depth int) {
		fmt.Fprintf(&b, "%s%d", strings.Repeat("  ", depth), n.Task.ID)
		if len(n.Folded) > 0 {
			fmt.Fprintf(&b, " x%v", n.Folded)
		}
		if n.Cycle {
			b.WriteString(" cycle")
		}
		if n.Ref {
			b.WriteString(" ref")
		}
		b.WriteByte('\n')
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range tr.Roots {
		walk(r, 0)
	}
	return b.String()
}

func TestCollapse(t *testing.T) {
	at := func(line int) Frame { return Frame{Function: "main.work", File: "/x/main.go", Line: line} }
	task := func(id, parent uint64, line int, awaits ...uint64) Task {
		return Task{ID: id, ParentID: parent, LoopID: 1, Name: fmt.Sprint("t", id), State: "pending",
			Function: "main.work", SuspendedAt: at(line), Awaiting: "sleep(1h0m0s)", Awaits: awaits}
	}
	with := func(tk Task, f func(*Task)) Task { f(&tk); return tk }
	tests := []struct {
		name  string
		tasks []Task
		want  string
	}{
		{"empty", nil, ""},
		{"one", []Task{task(1, 0, 10)}, "1\n"},
		{"identical leaves fold, names aside",
			[]Task{task(1, 0, 10), task(2, 1, 20), task(3, 1, 20), task(4, 1, 20)},
			"1\n  2 x[3 4]\n"},
		{"not adjacent: folded into the first, order kept",
			[]Task{task(1, 0, 10), task(2, 1, 20), task(3, 1, 30), task(4, 1, 20)},
			"1\n  2 x[4]\n  3\n"},
		{"another line does not fold",
			[]Task{task(1, 0, 10), task(2, 1, 20), task(3, 1, 21)},
			"1\n  2\n  3\n"},
		{"another state does not fold",
			[]Task{task(1, 0, 10), task(2, 1, 20), with(task(3, 1, 20), func(t *Task) { t.State = "cancelling" })},
			"1\n  2\n  3\n"},
		{"another awaiting text does not fold",
			[]Task{task(1, 0, 10), task(2, 1, 20), with(task(3, 1, 20), func(t *Task) { t.Awaiting = "sleep(1s)" })},
			"1\n  2\n  3\n"},
		{"another loop does not fold",
			[]Task{task(1, 0, 20), with(task(2, 0, 20), func(t *Task) { t.LoopID = 2 })},
			"1\n2\n"},
		{"identical subtrees fold whole",
			[]Task{task(1, 0, 10), task(2, 1, 20, 5), task(3, 1, 20, 6), task(5, 2, 30), task(6, 3, 30)},
			"1\n  2 x[3]\n    5\n"},
		{"different subtrees do not fold",
			[]Task{task(1, 0, 10), task(2, 1, 20, 5), task(3, 1, 20, 6), task(5, 2, 30), task(6, 3, 31)},
			"1\n  2\n    5\n  3\n    6\n"},
		{"subtrees folded alike fold",
			[]Task{task(1, 0, 10), task(2, 1, 20), task(3, 1, 20), task(4, 2, 30), task(5, 2, 30), task(6, 3, 30), task(7, 3, 30)},
			"1\n  2 x[3]\n    4 x[5]\n"},
		{"subtrees folded differently do not fold",
			[]Task{task(1, 0, 10), task(2, 1, 20), task(3, 1, 20), task(4, 2, 30), task(5, 2, 30), task(6, 3, 30)},
			"1\n  2\n    4 x[5]\n  3\n    6\n"},
		{"roots fold",
			[]Task{task(1, 99, 20), task(2, 99, 20), task(3, 99, 20)},
			"1 x[2 3]\n"},
		{"cycles and refs never fold",
			[]Task{task(1, 0, 10, 3, 4), task(2, 0, 10, 3, 4), task(3, 0, 20), task(4, 0, 20)},
			"1\n  3 x[4]\n2\n  3 ref\n  4 ref\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := BuildTree(tt.tasks)
			before := renderFolded(tr)
			if got := renderFolded(Collapse(tr, 2)); got != tt.want {
				t.Errorf("Collapse =\n%s\nwant\n%s", got, tt.want)
			}
			if after := renderFolded(tr); after != before {
				t.Errorf("Collapse changed its argument:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// TestCollapseWide folds 100,000 identical siblings into one node.
func TestCollapseWide(t *testing.T) {
	const n = 100_000
	tasks := []Task{{ID: 1}}
	for i := 2; i <= n+1; i++ {
		tasks = append(tasks, Task{ID: uint64(i), ParentID: 1, Awaiting: "sleep(1s)"})
	}
	tr := Collapse(BuildTree(tasks), 2)
	if len(tr.Roots) != 1 || len(tr.Roots[0].Children) != 1 || len(tr.Roots[0].Children[0].Folded) != n-1 {
		t.Fatalf("want one root with one child folding %d", n-1)
	}
}

func TestCollapseDeepChain(t *testing.T) {
	const n = 100_000
	tasks := make([]Task, n)
	for i := range tasks {
		tasks[i] = Task{ID: uint64(i + 1)}
		if i+2 <= n {
			tasks[i].Awaits = []uint64{uint64(i + 2)}
		}
	}
	tr := Collapse(BuildTree(tasks), 2)
	depth := 0
	for nd := tr.Roots[0]; len(nd.Children) > 0; nd = nd.Children[0] {
		depth++
	}
	if depth != MaxTreeDepth {
		t.Errorf("deep chain collapsed to depth %d, want %d (the cut, then the deepest task)", depth, MaxTreeDepth)
	}
}

// TestCollapseMin: fewer identical siblings than min are left alone.
func TestCollapseMin(t *testing.T) {
	sleeper := func(id uint64) Task { return Task{ID: id, ParentID: 1, Awaiting: "sleep(1s)"} }
	future := func(id uint64) Task { return Task{ID: id, ParentID: 1, Awaiting: "future"} }
	tasks := []Task{{ID: 1}, sleeper(2), future(3), sleeper(4), future(5), sleeper(6)}
	for _, tt := range []struct {
		min  int
		want string
	}{
		{0, "1\n  2 x[4 6]\n  3 x[5]\n"},
		{2, "1\n  2 x[4 6]\n  3 x[5]\n"},
		{3, "1\n  2 x[4 6]\n  3\n  5\n"},
		{4, "1\n  2\n  3\n  4\n  5\n  6\n"},
	} {
		if got := renderFolded(Collapse(BuildTree(tasks), tt.min)); got != tt.want {
			t.Errorf("Collapse(min %d) =\n%s\nwant\n%s", tt.min, got, tt.want)
		}
	}
}
