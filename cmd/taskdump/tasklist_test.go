package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

func TestParseSort(t *testing.T) {
	tests := []struct {
		s       string
		reverse bool
		group   bool
		want    taskSort
		err     string
	}{
		{"", false, false, taskSort{}, ""},
		{"", true, false, taskSort{desc: true}, ""},
		{"age", false, false, taskSort{key: "age"}, ""},
		{"-age", false, false, taskSort{key: "age", desc: true}, ""},
		{"age", true, false, taskSort{key: "age", desc: true}, ""},
		{"-age", true, false, taskSort{key: "age"}, ""},
		{"waiting", false, false, taskSort{key: "waiting"}, ""},
		{"count", false, true, taskSort{key: "count"}, ""},
		{"count", false, false, taskSort{}, `bad --sort "count": tasks sort by id, name, state, age, waiting, busy, steps, loop`},
		{"waiting", false, true, taskSort{}, `bad --sort "waiting": groups sort by count, name, state, age, id`},
		{"--age", false, false, taskSort{}, `bad --sort "--age"`},
		{"AGE", false, false, taskSort{}, `bad --sort "AGE"`},
	}
	for _, tt := range tests {
		got, err := parseSort(tt.s, tt.reverse, tt.group)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSort(%q, %t, %t) = %v, %v; want error %q", tt.s, tt.reverse, tt.group, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSort(%q, %t, %t) = %+v, %v; want %+v", tt.s, tt.reverse, tt.group, got, err, tt.want)
		}
	}
}

func TestSortTasks(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(s int) time.Time { return now.Add(-time.Duration(s) * time.Second) }
	ts := []wire.Task{
		{ID: 1, Name: "b", State: "pending", Loop: "l2", LoopID: 2, Created: ago(30), WaitingSince: ago(5), BusyNS: 10, Steps: 3},
		{ID: 2, Name: "a", State: "running", Loop: "l1", LoopID: 1, Created: ago(20), BusyNS: 30, Steps: 1},
		{ID: 3, Name: "c", State: "pending", Loop: "l1", LoopID: 1, Created: ago(10), WaitingSince: ago(9), BusyNS: 20, Steps: 2},
		{ID: 4, Name: "a", State: "cancelling", Loop: "l2", LoopID: 2, Created: ago(10), WaitingSince: ago(1), BusyNS: 10, Steps: 2},
	}
	tests := []struct {
		sort string
		rev  bool
		want []uint64
	}{
		{"", false, []uint64{1, 2, 3, 4}},
		{"", true, []uint64{4, 3, 2, 1}},
		{"id", false, []uint64{1, 2, 3, 4}},
		{"-id", false, []uint64{4, 3, 2, 1}},
		{"name", false, []uint64{2, 4, 1, 3}}, // ties in creation order
		{"-name", false, []uint64{3, 1, 2, 4}},
		{"state", false, []uint64{4, 1, 3, 2}},
		{"age", false, []uint64{3, 4, 2, 1}}, // youngest first
		{"-age", false, []uint64{1, 2, 3, 4}},
		{"age", true, []uint64{1, 2, 3, 4}},
		{"waiting", false, []uint64{2, 4, 1, 3}}, // not waiting counts as 0
		{"-waiting", false, []uint64{3, 1, 4, 2}},
		{"busy", false, []uint64{1, 4, 3, 2}},
		{"-steps", false, []uint64{1, 3, 4, 2}},
		{"loop", false, []uint64{2, 3, 1, 4}},
	}
	for _, tt := range tests {
		s, err := parseSort(tt.sort, tt.rev, false)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(ts)
		sortTasks(got, s, now)
		var ids []uint64
		for _, tk := range got {
			ids = append(ids, tk.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("--sort %q reverse=%t: %v, want %v", tt.sort, tt.rev, ids, tt.want)
		}
	}
}

func TestGroupTasks(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(s int) time.Time { return now.Add(-time.Duration(s) * time.Second) }
	at := func(line int) wire.Frame { return wire.Frame{Function: "main.work", File: "/x/main.go", Line: line} }
	task := func(id uint64, name string, line int, created time.Time, awaiting string) wire.Task {
		return wire.Task{ID: id, Name: name, State: "pending", Loop: "l", LoopID: 1, Created: created, Started: created,
			SuspendedAt: at(line), Awaiting: awaiting}
	}
	ts := []wire.Task{
		task(1, "main", 10, ago(60), "gather(2 tasks)"),
		task(2, "worker-1", 20, ago(50), "sleep(1s)"),
		task(3, "worker-2", 20, ago(40), "sleep(2s)"),
		task(4, "api", 30, ago(30), "future"),
		task(5, "worker-3", 20, ago(20), "sleep(1s)"),
		task(6, "db", 30, ago(25), "future"),
		{ID: 7, Name: "worker-4", State: "cancelling", Loop: "l", LoopID: 1, Created: ago(5), Started: ago(5), SuspendedAt: at(20), Awaiting: "sleep(1s)"},
		{ID: 8, Name: "fresh", State: "pending", Loop: "l", LoopID: 1, Created: ago(1)},
		{ID: 9, Name: "other-loop", State: "pending", Loop: "m", LoopID: 2, Created: ago(1), Started: ago(1), SuspendedAt: at(30), Awaiting: "future"},
	}
	gs := groupTasks(ts)
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%d %s %s %s %v %s %s %v", g.Count, g.Loop, g.Name, g.State, g.Awaiting,
			now.Sub(g.Oldest), now.Sub(g.Newest), g.IDs))
	}
	want := []string{
		"3 l worker-* pending sleep(...) 50s 20s [2 3 5]",
		"2 l api, db pending future 30s 25s [4 6]",
		"1 l main pending gather(2 tasks) 1m0s 1m0s [1]",
		"1 l worker-4 cancelling sleep(1s) 5s 5s [7]",
		"1 l fresh pending  1s 1s [8]",
		"1 m other-loop pending future 1s 1s [9]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("groupTasks =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// With stacks, one suspension point reached from two callers makes two
	// groups.
	s1 := []wire.Frame{at(20), {Function: "main.a", File: "/x/main.go", Line: 5}}
	s2 := []wire.Frame{at(20), {Function: "main.b", File: "/x/main.go", Line: 7}}
	withStacks := []wire.Task{task(1, "x", 20, ago(3), "sleep(1s)"), task(2, "y", 20, ago(2), "sleep(1s)"), task(3, "z", 20, ago(1), "sleep(1s)")}
	withStacks[0].Stack, withStacks[1].Stack, withStacks[2].Stack = s1, s2, s1
	if gs := groupTasks(withStacks); len(gs) != 2 || !slices.Equal(gs[0].IDs, []uint64{1, 3}) || !slices.Equal(gs[1].IDs, []uint64{2}) {
		t.Errorf("grouped by stack: %d groups, want [1 3] and [2]", len(gs))
	}

	// --sort on groups.
	for _, tt := range []struct {
		sort  string
		first []uint64
	}{
		{"count", []uint64{1}},
		{"-count", []uint64{2, 3, 5}},
		{"-age", []uint64{1}},
		{"name", []uint64{4, 6}},
		{"-id", []uint64{9}},
	} {
		s, err := parseSort(tt.sort, false, true)
		if err != nil {
			t.Fatal(err)
		}
		gs := groupTasks(ts)
		sortGroups(gs, s, now)
		if !slices.Equal(gs[0].IDs, tt.first) {
			t.Errorf("--group --sort %s: first group %v, want %v", tt.sort, gs[0].IDs, tt.first)
		}
	}
}

func TestCommonName(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"a"}, "a"},
		{[]string{"a", "a"}, "a"},
		{[]string{"worker-1", "worker-2", "worker-10"}, "worker-*"},
		{[]string{"api", "db"}, "api, db"},
		{[]string{"api", "db", "x", "y"}, "api, db, +2"},
		{[]string{"é1", "è2"}, "é1, è2"},                     // a prefix cut inside a rune is no prefix
		{[]string{"job-21-orders", "job-25-users"}, "job-*"}, // not job-2*: digits shared by chance
		{[]string{"12a", "13b"}, "12a, 13b"},
		{[]string{"v2-fetch-1", "v2-fetch-2"}, "v2-fetch-*"},
		{[]string{"job-2", "job-21"}, "job-*"},
		{[]string{"s3", "s3-retry"}, "s3*"}, // a whole word's digits stay
		{[]string{"http2", "http2-stream"}, "http2*"},
		{[]string{"x1y", "x1z"}, "x1*"},
	}
	for _, tt := range tests {
		if got := commonName(tt.names); got != tt.want {
			t.Errorf("commonName(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

// TestTasksSortGroupTree runs tasks --sort, --group, --waiting-longer-than
// and tree against the fixture with 50 identical sleeping tasks.
func TestTasksSortGroupTree(t *testing.T) {
	p := startProc(t, bins.fixture, "-tasks", "50")
	pid := pidArg(p)
	golden(t, "tasks-group.txt", mask(ok(t, p.dir, "tasks", pid, "--group")))
	golden(t, "tasks-group-stacks.txt", mask(ok(t, p.dir, "tasks", pid, "--group", "--stacks", "--sort", "-count")))
	golden(t, "tasks-sort-steps.txt", mask(ok(t, p.dir, "tasks", pid, "--sort=-steps", "--name", "*[a-z]")))
	golden(t, "tree-folded.txt", mask(ok(t, p.dir, "tree", pid)))
	if all := ok(t, p.dir, "tree", pid, "--all"); strings.Contains(all, "×") || !strings.Contains(all, "bulk-50 (#") {
		t.Errorf("tree --all folds, or leaves out bulk-50:\n%s", all)
	}

	// --sort -age puts the oldest first: main, task 1.
	if out := ok(t, p.dir, "tasks", pid, "--sort", "-age", "--name", "main"); !strings.Contains(out, "\n1   main ") {
		t.Errorf("tasks --sort -age:\n%s", out)
	}
	// --sort with --json sorts the records.
	var ts []wire.Task
	if err := json.Unmarshal([]byte(ok(t, p.dir, "tasks", pid, "--json", "--reverse")), &ts); err != nil {
		t.Fatal(err)
	}
	if len(ts) < 2 || ts[0].ID < ts[len(ts)-1].ID {
		t.Errorf("tasks --json --reverse: not newest first (%d records)", len(ts))
	}
	// Every fixture task waits from its first step: WAITING is there, and
	// --waiting-longer-than selects on it.
	for _, tk := range ts {
		if tk.WaitingSince.IsZero() || tk.WaitKind == "" {
			t.Errorf("task %d %q: no waiting_since or wait_kind", tk.ID, tk.Name)
		}
	}
	if out := ok(t, p.dir, "tasks", pid, "--waiting-longer-than", "1h"); strings.Count(out, "\n") != 1 {
		t.Errorf("tasks --waiting-longer-than 1h: want the header alone:\n%s", out)
	}
	if out := ok(t, p.dir, "tasks", pid, "--name", "no-such-task", "--group"); !strings.HasPrefix(out, "COUNT ") || strings.Count(out, "\n") != 1 {
		t.Errorf("tasks --name no-such-task --group: want the groups' header alone:\n%s", out)
	}
	if out := ok(t, p.dir, "tasks", pid, "--waiting-longer-than", "1ms", "--name", "stuck-*"); strings.Count(out, "\n") != 3 {
		t.Errorf("tasks --waiting-longer-than 1ms --name stuck-*: want the two stuck tasks:\n%s", out)
	}
	// --group --json: an array of groups.
	var gs []map[string]any
	if err := json.Unmarshal([]byte(ok(t, p.dir, "tasks", pid, "--group", "--json")), &gs); err != nil {
		t.Fatal(err)
	}
	if len(gs) == 0 || gs[0]["count"] != float64(53) || gs[0]["awaiting"] != "sleep(1h0m0s)" || gs[0]["oldest"] == nil || gs[0]["newest"] == nil {
		t.Errorf("tasks --group --json: first group %v, want the 53 sleepers", gs[0])
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--sort", "bogus"}, `bad --sort "bogus": tasks sort by id, name`},
		{[]string{"--group", "--sort", "waiting"}, `bad --sort "waiting": groups sort by count`},
		{[]string{"--waiting-longer-than", "-1s"}, "bad --waiting-longer-than -1s: want a positive duration"},
		{[]string{"--stacks"}, "--stacks needs --json or --group"},
	} {
		r := td(t, p.dir, append([]string{"tasks", pid}, tt.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("tasks %v: exit %d, stderr %q; want a usage error %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// TestGroupAndFoldEscaped: hostile names reach the terminal escaped in
// the groups table and a folded tree.
func TestGroupAndFoldEscaped(t *testing.T) {
	now := time.Now()
	evil := "ev\x1b[2Jil\r\n"
	ts := []wire.Task{
		{ID: 1, Name: evil + "1", State: "pending", Loop: "l\x1b", LoopID: 1, Created: now, Started: now, Awaiting: "sleep\x1b(1s)"},
		{ID: 2, Name: evil + "2", State: "pending", Loop: "l\x1b", LoopID: 1, Created: now, Started: now, Awaiting: "sleep\x1b(1s)"},
	}
	var b strings.Builder
	if err := renderGroups(&b, groupTasks(ts), now); err != nil {
		t.Fatal(err)
	}
	renderTree(&b, wire.Collapse(wire.BuildTree(ts), 2))
	out := b.String()
	if strings.ContainsAny(out, "\x1b\r") || strings.Count(out, "\n") != 3 || !strings.Contains(out, `ev\x1b[2Jil\r\n*`) ||
		!strings.Contains(out, "× 2 (also #2)") {
		t.Errorf("output not escaped, or not 3 lines:\n%q", out)
	}
}

// TestRenderGroupsAlike: two groups that differ only below the suspension
// point are told apart by the first function where their stacks differ.
func TestRenderGroupsAlike(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := wire.Frame{Function: "main.lockBoth", File: "/x/main.go", Line: 23}
	task := func(id uint64, name, caller string) wire.Task {
		return wire.Task{ID: id, Name: name, State: "pending", Loop: "l", LoopID: 1, Created: now, Started: now,
			SuspendedAt: at, Awaiting: "lock", Function: caller,
			Stack: []wire.Frame{{Function: "runtime.(*Lock).Acquire"}, at, {Function: caller, File: "/x/main.go", Line: 30}}}
	}
	ts := []wire.Task{task(1, "pair-1", "main.pairA"), task(2, "pair-2", "main.pairB"), task(3, "pair-3", "main.pairA"), task(4, "pair-4", "main.pairB")}
	var b bytes.Buffer
	if err := renderGroups(&b, groupTasks(ts), now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pair-* (via main.pairA)", "pair-* (via main.pairB)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("groups:\n%s\nwant a row named %q", b.String(), want)
		}
	}
}
