package main

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// This file holds what tasks --sort and --group do to the task list: the
// sort keys, the grouping of tasks suspended at the same point ("parallel
// stacks") and the table of groups.

// taskSort is a parsed --sort: a column and its direction.
type taskSort struct {
	key  string // one of taskSortKeys or groupSortKeys
	desc bool
}

// taskSortKeys are the columns tasks --sort takes, in the order --help
// lists them. Each sorts smallest first (names and states in byte order,
// ages and durations shortest first); a - prefix or --reverse inverts.
// Ties keep creation order.
var taskSortKeys = []string{"id", "name", "state", "age", "waiting", "busy", "steps", "loop"}

// groupSortKeys are the columns tasks --group --sort takes: count, name,
// state, age (the oldest's), id (the first task's).
var groupSortKeys = []string{"count", "name", "state", "age", "id"}

// parseSort parses --sort (empty: no sort), with reverse (--reverse)
// inverting the direction a - prefix gives.
func parseSort(s string, reverse, group bool) (taskSort, error) {
	desc := strings.HasPrefix(s, "-")
	key := strings.TrimPrefix(s, "-")
	if s == "" {
		return taskSort{desc: reverse}, nil
	}
	keys, what := taskSortKeys, "tasks"
	if group {
		keys, what = groupSortKeys, "groups"
	}
	if !slices.Contains(keys, key) {
		return taskSort{}, usagef("bad --sort %q: %s sort by %s (a - prefix or --reverse inverts)", s, what, strings.Join(keys, ", "))
	}
	return taskSort{key: key, desc: desc != reverse}, nil
}

// fields returns the task fields the sort needs beyond the table's.
func (s taskSort) fields() []string {
	switch s.key {
	case "busy":
		return []string{"busy_ns"}
	case "steps":
		return []string{"steps"}
	}
	return nil
}

// column returns the header of the column the table adds to show the sort
// key, or "".
func (s taskSort) column() string {
	switch s.key {
	case "busy":
		return "BUSY"
	case "steps":
		return "STEPS"
	}
	return ""
}

// waitingFor returns how long t has waited at its current await, 0 if it is
// not waiting.
func waitingFor(t *wire.Task, now time.Time) time.Duration {
	since := t.WaitingSince
	if since.IsZero() {
		since = t.Suspended // from an agent that predates waiting_since
	}
	if t.Running || since.IsZero() || t.Done() {
		return 0
	}
	return max(now.Sub(since), 0)
}

// sortTasks sorts ts by s, stably: ties keep the agent's order (loop,
// then creation). A zero s leaves ts as it is, unless it is descending
// (--reverse alone), which reverses it.
func sortTasks(ts []wire.Task, s taskSort, now time.Time) {
	var c func(a, b *wire.Task) int
	switch s.key {
	case "":
		if s.desc {
			slices.Reverse(ts)
		}
		return
	case "id":
		c = func(a, b *wire.Task) int { return cmp.Compare(a.ID, b.ID) }
	case "name":
		c = func(a, b *wire.Task) int { return strings.Compare(a.Name, b.Name) }
	case "state":
		c = func(a, b *wire.Task) int { return strings.Compare(a.State, b.State) }
	case "age":
		// The oldest was created first: a shorter age is a later creation.
		c = func(a, b *wire.Task) int { return b.Created.Compare(a.Created) }
	case "waiting":
		c = func(a, b *wire.Task) int { return cmp.Compare(waitingFor(a, now), waitingFor(b, now)) }
	case "busy":
		c = func(a, b *wire.Task) int { return cmp.Compare(a.BusyNS, b.BusyNS) }
	case "steps":
		c = func(a, b *wire.Task) int { return cmp.Compare(a.Steps, b.Steps) }
	case "loop":
		c = func(a, b *wire.Task) int {
			return cmp.Or(strings.Compare(a.Loop, b.Loop), cmp.Compare(a.LoopID, b.LoopID))
		}
	}
	slices.SortStableFunc(ts, func(a, b wire.Task) int {
		if s.desc {
			return c(&b, &a)
		}
		return c(&a, &b)
	})
}

// taskGroup is one row of tasks --group: tasks of one loop in one state,
// suspended at one point (with one stack, when stacks were asked for).
// --group --json prints an array of them.
type taskGroup struct {
	Count int    `json:"count"`
	Loop  string `json:"loop"`
	// Name is the tasks' name if they share it, else their names' common
	// prefix followed by *, else the first two names and how many more.
	Name    string `json:"name"`
	State   string `json:"state"`
	Running bool   `json:"running,omitempty"`
	// SuspendedAt and Stack are the tasks' own; Awaiting is theirs if they
	// share it, else what they await up to its first "(", then "(...)".
	SuspendedAt wire.Frame   `json:"suspended_at,omitzero"`
	Awaiting    string       `json:"awaiting,omitempty"`
	Stack       []wire.Frame `json:"stack,omitempty"`
	// Oldest and Newest are the creation times of the first and last
	// created; IDs the tasks, in the agent's order.
	Oldest time.Time `json:"oldest"`
	Newest time.Time `json:"newest"`
	IDs    []uint64  `json:"ids"`

	first *wire.Task // the first task, which the row shows
	names []string
}

// groupTasks groups ts, the agent's list, as --group does: tasks of one
// loop, in one state, suspended at the same frame (or running, or not yet
// started) and, when the records carry stacks, with the same stack. The
// groups come largest first, ties in the order of their first task.
func groupTasks(ts []wire.Task) []*taskGroup {
	var groups []*taskGroup
	byKey := map[string]*taskGroup{}
	var key strings.Builder
	for i := range ts {
		t := &ts[i]
		key.Reset()
		key.WriteString(strconv.FormatUint(t.LoopID, 10) + "\x00" + t.State + "\x00" +
			strconv.FormatBool(t.Running) + "\x00" + strconv.FormatBool(t.Started.IsZero()) + "\x00")
		writeFrameKey(&key, t.SuspendedAt)
		for _, f := range t.Stack {
			writeFrameKey(&key, f)
		}
		g := byKey[key.String()]
		if g == nil {
			g = &taskGroup{Loop: t.Loop, State: t.State, Running: t.Running, SuspendedAt: t.SuspendedAt,
				Awaiting: t.Awaiting, Stack: t.Stack, Oldest: t.Created, Newest: t.Created, first: t}
			byKey[key.String()] = g
			groups = append(groups, g)
		}
		g.Count++
		g.IDs = append(g.IDs, t.ID)
		g.names = append(g.names, t.Name)
		if t.Created.Before(g.Oldest) {
			g.Oldest = t.Created
		}
		if t.Created.After(g.Newest) {
			g.Newest = t.Created
		}
		if g.Awaiting != t.Awaiting {
			kind, _, _ := strings.Cut(g.Awaiting, "(")
			if k2, _, _ := strings.Cut(t.Awaiting, "("); k2 == kind {
				g.Awaiting = kind + "(...)"
			} else {
				g.Awaiting = "(various)"
			}
		}
	}
	for _, g := range groups {
		g.Name = commonName(g.names)
	}
	slices.SortStableFunc(groups, func(a, b *taskGroup) int { return cmp.Compare(b.Count, a.Count) })
	return groups
}

// viaFunction names what sets g apart from the other groups of alike: the
// function of the first frame of its stack that is not the same frame in
// all of them, else its tasks' function.
func viaFunction(g *taskGroup, alike []*taskGroup) string {
	for i, f := range g.Stack {
		for _, o := range alike {
			if i >= len(o.Stack) || o.Stack[i].Function != f.Function || o.Stack[i].Line != f.Line {
				return f.Function
			}
		}
	}
	return g.first.Function
}

func writeFrameKey(b *strings.Builder, f wire.Frame) {
	b.WriteString(f.Function + "\x00" + f.File + "\x00" + strconv.Itoa(f.Line) + "\x00")
}

// commonName returns the name all of names share, or their longest common
// prefix followed by "*" ("worker-*"), or, when they share no prefix, the
// first two and how many more ("api, db-pool, +3"). A prefix that splits a
// number ends before it: job-21 and job-25 are "job-*", not "job-2*",
// which would change with the tasks alive and read like a filter (s3 and
// s3-retry stay "s3*").
func commonName(names []string) string {
	prefix := names[0]
	same := true
	for _, n := range names[1:] {
		if n != prefix {
			same = false
		}
		i := 0
		for i < len(prefix) && i < len(n) && prefix[i] == n[i] {
			i++
		}
		prefix = prefix[:i]
	}
	if same {
		return names[0]
	}
	prefix = strings.ToValidUTF8(prefix, "")
	if splitsNumber(prefix, names) {
		prefix = strings.TrimRight(prefix, "0123456789")
	}
	if prefix != "" {
		return prefix + "*"
	}
	name := names[0] + ", " + names[1]
	if len(names) > 2 {
		name += ", +" + strconv.Itoa(len(names)-2)
	}
	return name
}

// splitsNumber reports whether prefix ends with a digit that some name
// continues with another: the prefix stops inside a number.
func splitsNumber(prefix string, names []string) bool {
	if prefix == "" || !isDigit(prefix[len(prefix)-1]) {
		return false
	}
	for _, n := range names {
		if len(n) > len(prefix) && isDigit(n[len(prefix)]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// sortGroups sorts the groups by s, stably (a zero s keeps them largest
// first).
func sortGroups(gs []*taskGroup, s taskSort, now time.Time) {
	var c func(a, b *taskGroup) int
	switch s.key {
	case "":
		if s.desc {
			slices.Reverse(gs)
		}
		return
	case "count":
		c = func(a, b *taskGroup) int { return cmp.Compare(a.Count, b.Count) }
	case "name":
		c = func(a, b *taskGroup) int { return strings.Compare(a.Name, b.Name) }
	case "state":
		c = func(a, b *taskGroup) int { return strings.Compare(a.State, b.State) }
	case "age":
		c = func(a, b *taskGroup) int { return b.Oldest.Compare(a.Oldest) }
	case "id":
		c = func(a, b *taskGroup) int { return cmp.Compare(a.IDs[0], b.IDs[0]) }
	}
	slices.SortStableFunc(gs, func(a, b *taskGroup) int {
		if s.desc {
			return c(b, a)
		}
		return c(a, b)
	})
}

// renderGroups writes the table of tasks --group: COUNT, NAME, STATE, the
// OLDEST and NEWEST ages, SUSPENDED AT and AWAITING, with a LOOP column
// when the groups belong to several loops.
func renderGroups(w io.Writer, gs []*taskGroup, now time.Time) error {
	tw := newTable(w)
	p := printer{tw}
	loops := len(gs) > 0 && slices.ContainsFunc(gs, func(g *taskGroup) bool { return g.first.LoopID != gs[0].first.LoopID })
	if loops {
		p.printf("LOOP\t")
	}
	p.printf("COUNT\tNAME\tSTATE\tOLDEST\tNEWEST\tSUSPENDED AT\tAWAITING\n")
	// Groups apart by what the table does not show (their stacks below the
	// suspension point) would read alike: each is told apart by the first
	// function of its stack where it differs from the others, or by its
	// tasks' function.
	alike := map[string][]*taskGroup{}
	row := func(g *taskGroup) string {
		return g.Loop + "\x00" + g.Name + "\x00" + g.State + "\x00" + suspendedAt(g.first) + "\x00" + g.Awaiting
	}
	for _, g := range gs {
		alike[row(g)] = append(alike[row(g)], g)
	}
	for _, g := range gs {
		if loops {
			p.printf("%s\t", g.Loop)
		}
		name := clip(g.Name)
		if others := alike[row(g)]; len(others) > 1 {
			if via := viaFunction(g, others); via != "" {
				name += " (via " + clip(via) + ")"
			}
		}
		p.printf("%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Count, name, g.State, age(now.Sub(g.Oldest)), age(now.Sub(g.Newest)),
			suspendedAt(g.first), orDash(g.Awaiting))
	}
	return tw.Flush()
}
