package wire

import (
	"fmt"
	"slices"
	"strings"
)

// TreeNode is one task in the await tree that /v1/tree returns. A node's
// children are the tasks it awaits (Edge "awaits") followed by the tasks it
// spawned that nobody awaits (Edge "spawned").
type TreeNode struct {
	Task Task   `json:"task"`
	Edge string `json:"edge,omitempty"` // how the parent reaches it: "awaits" or "spawned"; empty for roots
	// Cycle marks a task already on the path from the root: the await graph
	// has a cycle here and the node is not expanded again.
	Cycle bool `json:"cycle,omitempty"`
	// Ref marks a task awaited by several tasks, expanded at its first
	// appearance only.
	Ref bool `json:"ref,omitempty"`
	// Folded, on a node that stands for identical siblings (see Collapse),
	// are the ids of the siblings folded into it, in order; the node's
	// Task is the first of them. The agent never sets it.
	Folded []uint64 `json:"folded,omitempty"`
	// Deeper, on a node at MaxTreeDepth, is how many tasks below it are
	// not shown: the tree stops there. When those tasks form a chain, the
	// node's one child is the chain's last (deepest) task, and Deeper
	// counts the ones between.
	Deeper   int         `json:"deeper,omitempty"`
	Children []*TreeNode `json:"children,omitempty"`
}

// MaxTreeDepth is how deep BuildTree nests nodes: a chain of 20,000 tasks
// each awaiting the next would otherwise nest 40,000 JSON levels, past what
// encoding/json (and any sensible reader) accepts. Tree.Cycles lists the
// cycles within that depth only.
const MaxTreeDepth = 1000

// Tree is the await/parent forest of live tasks, and the await cycles found
// in it (each a list of task ids, the first repeated at the end).
type Tree struct {
	Roots  []*TreeNode `json:"roots"`
	Cycles [][]uint64  `json:"cycles,omitempty"`
}

// BuildTree arranges tasks into a Tree: roots are the tasks that nobody
// awaits and whose parent is not live, plus one task of each await cycle
// that no root reaches, in the order of tasks. Tasks are taken in the order given
// (creation order from the agent). A node MaxTreeDepth deep has no
// children: Deeper counts the tasks below it. It costs O(tasks + awaits)
// time and never loops, whatever the graph.
func BuildTree(tasks []Task) Tree {
	b := newTreeBuilder(tasks)
	for i := range tasks {
		if b.awaited[i] {
			continue
		}
		if _, ok := b.idx[tasks[i].ParentID]; ok && tasks[i].ParentID != tasks[i].ID {
			continue
		}
		b.tr.Roots = append(b.tr.Roots, b.walk(i, ""))
	}
	// Whatever is left is reachable only through a cycle.
	cyclic := false
	for i := range tasks {
		if !b.visited[i] && !b.counted[i] {
			b.tr.Roots = append(b.tr.Roots, b.walk(i, ""))
			cyclic = true
		}
	}
	if cyclic {
		// Keep the roots in the order of the tasks given.
		slices.SortStableFunc(b.tr.Roots, func(x, y *TreeNode) int { return b.idx[x.Task.ID] - b.idx[y.Task.ID] })
	}
	return b.tr
}

// treeBuilder is BuildTree's state: the tasks indexed, who awaits and
// spawned whom, and the walk's marks.
type treeBuilder struct {
	tasks   []Task
	idx     map[uint64]int
	awaited []bool
	spawned map[uint64][]int // by parent id: the children nobody awaits
	visited []bool
	counted []bool // below a cut at MaxTreeDepth, not shown there
	onPath  []bool
	path    []int
	tr      Tree
}

func newTreeBuilder(tasks []Task) *treeBuilder {
	b := &treeBuilder{tasks: tasks, idx: make(map[uint64]int, len(tasks)), awaited: make([]bool, len(tasks)),
		spawned: make(map[uint64][]int), visited: make([]bool, len(tasks)), counted: make([]bool, len(tasks)),
		onPath: make([]bool, len(tasks))}
	for i := range tasks {
		b.idx[tasks[i].ID] = i
	}
	for i := range tasks {
		for _, a := range tasks[i].Awaits {
			if j, ok := b.idx[a]; ok {
				b.awaited[j] = true
			}
		}
	}
	for i := range tasks {
		if b.awaited[i] {
			continue
		}
		if _, ok := b.idx[tasks[i].ParentID]; ok && tasks[i].ParentID != tasks[i].ID {
			b.spawned[tasks[i].ParentID] = append(b.spawned[tasks[i].ParentID], i)
		}
	}
	return b
}

// children calls fn with each task under i, and the edge to it: those i
// awaits, then those it spawned that nobody awaits.
func (b *treeBuilder) children(i int, fn func(j int, edge string)) {
	for _, a := range b.tasks[i].Awaits {
		if j, ok := b.idx[a]; ok {
			fn(j, "awaits")
		}
	}
	for _, j := range b.spawned[b.tasks[i].ID] {
		fn(j, "spawned")
	}
}

// walk returns the subtree of task i, reached by edge.
func (b *treeBuilder) walk(i int, edge string) *TreeNode {
	n := &TreeNode{Task: b.tasks[i], Edge: edge}
	if b.onPath[i] {
		n.Cycle = true
		start := slices.Index(b.path, i)
		cyc := make([]uint64, 0, len(b.path)-start+1)
		for _, p := range b.path[start:] {
			cyc = append(cyc, b.tasks[p].ID)
		}
		b.tr.Cycles = append(b.tr.Cycles, append(cyc, b.tasks[i].ID))
		return n
	}
	if b.visited[i] {
		n.Ref = true
		return n
	}
	b.visited[i] = true
	if len(b.path) == MaxTreeDepth-1 {
		d, last, edge := b.below(i)
		n.Deeper = d
		if last >= 0 {
			// A chain: its deepest task is shown, the rest counted.
			b.visited[last] = true
			n.Deeper = d - 1
			n.Children = []*TreeNode{{Task: b.tasks[last], Edge: edge}}
		}
		return n
	}
	b.onPath[i] = true
	b.path = append(b.path, i)
	b.children(i, func(j int, edge string) { n.Children = append(n.Children, b.walk(j, edge)) })
	b.path = b.path[:len(b.path)-1]
	b.onPath[i] = false
	return n
}

// below counts the tasks under i not visited yet (the part of the tree
// past MaxTreeDepth), without recursion. They stay unvisited: a root that
// awaits one of them shows it there; none becomes a root. When they form a
// single chain, it also returns the chain's last task and the edge that
// reaches it (else -1): the deepest task of a long await chain is the one
// that waits on something else.
func (b *treeBuilder) below(i int) (n, last int, lastEdge string) {
	last = -1
	chain := true
	stack := []int{i}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pushed := 0
		b.children(k, func(j int, edge string) {
			if !b.visited[j] && !b.counted[j] {
				b.counted[j] = true
				n++
				pushed++
				stack = append(stack, j)
				last, lastEdge = j, edge
			}
		})
		chain = chain && pushed <= 1
	}
	if !chain {
		last = -1
	}
	return n, last, lastEdge
}

// Collapse returns tr with identical siblings folded into the first of
// them, as "parallel stacks" views do: under one parent (or among the
// roots of one loop), tasks in the same state, running the same function,
// suspended at the same frame, awaiting the same thing, reached by the
// same edge and with identical subtrees (folded the same way) become one
// node, whose Folded lists the others' ids. Cycle and Ref nodes are never
// folded. Names and ids do not count: worker-1 ... worker-50, all asleep
// at one line, become worker-1 with 49 ids folded. Only min or more
// identical siblings fold (min below 2 counts as 2): fewer are left as
// they are. tr is not modified; the nodes of the result are new. Collapse
// costs O(nodes) time.
func Collapse(tr Tree, min int) Tree {
	min = max(min, 2)
	classes := map[string]int{}
	var key strings.Builder
	// collapse returns a copy of n's subtree, folded, and its class: equal
	// classes mean identical subtrees.
	var collapse func(n *TreeNode) (*TreeNode, int)
	collapse = func(n *TreeNode) (*TreeNode, int) {
		out := &TreeNode{Task: n.Task, Edge: n.Edge, Cycle: n.Cycle, Ref: n.Ref, Folded: slices.Clone(n.Folded), Deeper: n.Deeper}
		children, sigs := fold(n.Children, min, collapse)
		out.Children = children
		if n.Cycle || n.Ref || n.Deeper > 0 {
			return out, -1 // unique: never folded
		}
		t := &n.Task
		key.Reset()
		fmt.Fprintf(&key, "%d\x00%s\x00%s\x00%t\x00%s\x00%s\x00%s\x00%d\x00%s", t.LoopID, n.Edge, t.State, t.Running,
			t.Function, t.SuspendedAt.Function, t.SuspendedAt.File, t.SuspendedAt.Line, t.Awaiting)
		for i, c := range sigs {
			fmt.Fprintf(&key, "\x00%d/%d", c, len(children[i].Folded))
		}
		k := key.String()
		c, ok := classes[k]
		if !ok {
			c = len(classes)
			classes[k] = c
		}
		return out, c
	}
	roots, _ := fold(tr.Roots, min, collapse)
	return Tree{Roots: roots, Cycles: tr.Cycles}
}

// fold collapses each of nodes and folds the nodes of a class that has
// min or more into the first of them; it returns the nodes left, in
// order, and their classes.
func fold(nodes []*TreeNode, min int, collapse func(*TreeNode) (*TreeNode, int)) ([]*TreeNode, []int) {
	if len(nodes) == 0 {
		return nil, nil
	}
	all := make([]*TreeNode, len(nodes))
	sigs := make([]int, len(nodes))
	count := map[int]int{}
	for i, n := range nodes {
		all[i], sigs[i] = collapse(n)
		if sigs[i] >= 0 {
			count[sigs[i]]++
		}
	}
	out := all[:0]
	kept := sigs[:0]
	first := map[int]*TreeNode{} // class -> the node the others fold into
	for i, c := range all {
		sig := sigs[i]
		if sig >= 0 && count[sig] >= min {
			if f, ok := first[sig]; ok {
				f.Folded = append(f.Folded, c.Task.ID)
				f.Folded = append(f.Folded, c.Folded...)
				continue
			}
			first[sig] = c
		}
		out = append(out, c)
		kept = append(kept, sig)
	}
	return out, kept
}
