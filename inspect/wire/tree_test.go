package wire

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// render draws a tree compactly for comparisons: id, edge mark, children.
func render(tr Tree) string {
	var b strings.Builder
	var walk func(n *TreeNode, depth int)
	walk = func(n *TreeNode, depth int) {
		mark := ""
		switch {
		case n.Cycle:
			mark = " cycle"
		case n.Ref:
			mark = " ref"
		}
		fmt.Fprintf(&b, "%s%d%s%s\n", strings.Repeat("  ", depth), n.Task.ID, map[string]string{"": "", "awaits": " <-", "spawned": " +"}[n.Edge], mark)
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range tr.Roots {
		walk(r, 0)
	}
	return b.String()
}

func TestBuildTree(t *testing.T) {
	task := func(id, parent uint64, awaits ...uint64) Task {
		return Task{ID: id, ParentID: parent, Awaits: awaits}
	}
	tests := []struct {
		name       string
		tasks      []Task
		want       string
		wantCycles [][]uint64
	}{
		{"empty", nil, "", nil},
		{"one", []Task{task(1, 0)}, "1\n", nil},
		{
			"awaits before spawned",
			[]Task{task(1, 0, 3), task(2, 1), task(3, 1), task(4, 2)},
			"1\n  3 <-\n  2 +\n    4 +\n", nil,
		},
		{
			"awaited task leaves its parent",
			[]Task{task(1, 0), task(2, 1, 3), task(3, 1)},
			"1\n  2 +\n    3 <-\n", nil,
		},
		{
			"shared await shown once",
			[]Task{task(1, 0, 3), task(2, 0, 3), task(3, 0)},
			"1\n  3 <-\n2\n  3 <- ref\n", nil,
		},
		{
			"dead parent makes a root",
			[]Task{task(5, 99), task(6, 5)},
			"5\n  6 +\n", nil,
		},
		{
			"cycle reachable from a root",
			[]Task{task(1, 0, 2), task(2, 1, 3), task(3, 1, 2)},
			"1\n  2 <-\n    3 <-\n      2 <- cycle\n", [][]uint64{{2, 3, 2}},
		},
		{
			"closed cycle",
			[]Task{task(1, 0, 2), task(2, 0, 1)},
			"1\n  2 <-\n    1 <- cycle\n", [][]uint64{{1, 2, 1}},
		},
		{
			"self await",
			[]Task{task(7, 0, 7)},
			"7\n  7 <- cycle\n", [][]uint64{{7, 7}},
		},
		{
			"unknown awaits ignored",
			[]Task{task(1, 0, 42)},
			"1\n", nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := BuildTree(tt.tasks)
			if got := render(tr); got != tt.want {
				t.Errorf("BuildTree =\n%s\nwant\n%s", got, tt.want)
			}
			if !slices.EqualFunc(tr.Cycles, tt.wantCycles, slices.Equal) {
				t.Errorf("cycles = %v, want %v", tr.Cycles, tt.wantCycles)
			}
		})
	}
}

// TestBuildTreeDeepChain: a chain of 100,000 awaits nests MaxTreeDepth
// nodes, the last counting the tasks below it but the deepest, which is its
// child, and the tree survives a JSON round trip (40,000 levels did not:
// encoding/json stops at 10,000).
func TestBuildTreeDeepChain(t *testing.T) {
	const n = 100_000
	tasks := make([]Task, n)
	for i := range tasks {
		tasks[i] = Task{ID: uint64(i + 1)}
		if i+2 <= n {
			tasks[i].Awaits = []uint64{uint64(i + 2)}
		}
	}
	tr := BuildTree(tasks)
	depth := 0
	nd := tr.Roots[0]
	for ; nd.Deeper == 0 && len(nd.Children) > 0; nd = nd.Children[0] {
		depth++
	}
	if len(tr.Roots) != 1 || depth != MaxTreeDepth-1 || nd.Deeper != n-MaxTreeDepth-1 ||
		len(nd.Children) != 1 || nd.Children[0].Task.ID != n || nd.Children[0].Edge != "awaits" {
		t.Errorf("deep chain: %d roots, cut at depth %d, %d deeper, children %d; want 1 root, depth %d, %d deeper, the deepest task %d below",
			len(tr.Roots), depth, nd.Deeper, len(nd.Children), MaxTreeDepth-1, n-MaxTreeDepth-1, n)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back Tree
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the tree does not decode: %v", err)
	}
}

func ExampleBuildTree() {
	tasks := []Task{
		{ID: 1, Name: "main", Awaits: []uint64{2}},
		{ID: 2, Name: "server", ParentID: 1},
		{ID: 3, Name: "conn-1", ParentID: 2},
	}
	tr := BuildTree(tasks)
	var show func(n *TreeNode, indent string)
	show = func(n *TreeNode, indent string) {
		fmt.Printf("%s%s (%s)\n", indent, n.Task.Name, n.Edge)
		for _, c := range n.Children {
			show(c, indent+"  ")
		}
	}
	for _, r := range tr.Roots {
		show(r, "")
	}
	// Output:
	// main ()
	//   server (awaits)
	//     conn-1 (spawned)
}

// TestBuildTreeCutShownElsewhere: a task counted below the cut of a long
// chain, but awaited by another root too, is shown under that root (not as
// "shown above"), and no task becomes a root of its own.
func TestBuildTreeCutShownElsewhere(t *testing.T) {
	const n = MaxTreeDepth + 5
	var tasks []Task
	for i := range n {
		tk := Task{ID: uint64(i + 1)}
		if i+1 < n {
			tk.Awaits = []uint64{uint64(i + 2)}
		}
		tasks = append(tasks, tk)
	}
	deepID := uint64(MaxTreeDepth + 3) // below the cut
	tasks = append(tasks, Task{ID: 9999, Awaits: []uint64{deepID}})
	tr := BuildTree(tasks)
	if len(tr.Roots) != 2 {
		t.Fatalf("%d roots, want 2 (the chain's head and the other awaiter)", len(tr.Roots))
	}
	other := tr.Roots[1]
	if other.Task.ID != 9999 || len(other.Children) != 1 || other.Children[0].Task.ID != deepID || other.Children[0].Ref {
		t.Errorf("the other root: %+v; want task 9999 awaiting task %d, shown there", other.Task, deepID)
	}
}
