package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// TestResources runs taskdump resources against the fixture: its task
// group, queues, futures and lock with their creation sites, holders and
// waiters; --kind; --json with the wire's field names.
func TestResources(t *testing.T) {
	p := startProc(t, bins.fixture)
	pid := pidArg(p)
	golden(t, "resources.txt", mask(ok(t, p.dir, "resources", pid)))
	golden(t, "resources-lock.txt", mask(ok(t, p.dir, "resources", pid, "--kind", "lock")))

	var rs []map[string]any
	if err := json.Unmarshal([]byte(ok(t, p.dir, "resources", pid, "--json")), &rs); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rs, func(r map[string]any) bool { return r["kind"] == "lock" })
	if i < 0 {
		t.Fatalf("resources --json has no lock: %v", rs)
	}
	for _, k := range []string{"id", "kind", "loop", "loop_id", "created_at", "created_by", "created", "holders", "waiters", "len", "cap", "set"} {
		if _, ok := rs[i][k]; !ok {
			t.Errorf("resources --json: the lock has no %q: %v", k, rs[i])
		}
	}

	r := td(t, p.dir, "resources", pid, "--kind", "mutex")
	if r.code != 2 || !strings.Contains(r.stderr, `bad --kind "mutex": want one of future, event, lock`) {
		t.Errorf("--kind mutex: exit %d, stderr %q; want a usage error", r.code, r.stderr)
	}
}

func TestResourceState(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		r    wire.Resource
		want string
	}{
		{wire.Resource{Kind: "lock", Holders: []uint64{9}, Set: true}, "held by 9"},
		{wire.Resource{Kind: "lock", Set: true}, "locked"},
		{wire.Resource{Kind: "lock"}, "free"},
		{wire.Resource{Kind: "semaphore", Len: 1, Cap: 3, Holders: []uint64{4, 5}}, "1/3 free, held by 4 5"},
		{wire.Resource{Kind: "semaphore", Len: 3, Cap: 3}, "3/3 free"},
		{wire.Resource{Kind: "queue", Len: 2, Cap: 10}, "len 2/10"},
		{wire.Resource{Kind: "queue"}, "len 0 (unbounded)"},
		{wire.Resource{Kind: "event", Set: true, LastSet: now.Add(-3 * time.Second)}, "set 3.0s ago"},
		{wire.Resource{Kind: "event", LastCleared: now.Add(-2 * time.Minute)}, "clear since 2m00s ago"},
		{wire.Resource{Kind: "event"}, "clear"},
		{wire.Resource{Kind: "future"}, "pending"},
		{wire.Resource{Kind: "taskgroup", Holders: []uint64{5}}, "owned by 5"},
		{wire.Resource{Kind: "to_thread", Holders: []uint64{7}}, "called by 7"},
		{wire.Resource{Kind: "lock", Holders: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, "held by 1 2 3 4 5 6 7 8 +2 more"},
		// A semaphore lists its 64 oldest holders; Cap-Len counts them all.
		{wire.Resource{Kind: "semaphore", Len: 0, Cap: 20000, Holders: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, "0/20000 free, held by 1 2 3 4 5 6 7 8 +19992 more"},
		{wire.Resource{Kind: "from-the-future"}, "-"},
	}
	for _, tt := range tests {
		if got := resourceState(&tt.r, now); got != tt.want {
			t.Errorf("resourceState(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

// TestResourcesEscaped: a hostile loop name and file path reach the
// terminal escaped.
func TestResourcesEscaped(t *testing.T) {
	var b strings.Builder
	rs := []wire.Resource{
		{ID: 1, Kind: "lock", Loop: "a\x1b[2J", LoopID: 1, CreatedAt: wire.Frame{File: "/x/evil\r\n.go", Line: 3}},
		{ID: 2, Kind: "queue", Loop: "b", LoopID: 2, Waiters: []uint64{4}, Putters: []uint64{5, 6}},
	}
	if err := renderResources(&b, rs, time.Now()); err != nil {
		t.Fatal(err)
	}
	want := "LOOP      ID  KIND   CREATED AT     BY  STATE              WAITERS\n" +
		`a\x1b[2J  1   lock   evil\r\n.go:3  -   free               -` + "\n" +
		"b         2   queue  -              -   len 0 (unbounded)  4; put: 5 6\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestResourcesScenarios runs taskdump resources against the doctor's
// deadlock and stalled scenarios: the two locks, each held by one task and
// awaited by the other, made at the marked lines; the two events, clear,
// each awaited by one task.
func TestResourcesScenarios(t *testing.T) {
	res := func(p *proc, kind string) []wire.Resource {
		t.Helper()
		var rs []wire.Resource
		if err := json.Unmarshal([]byte(ok(t, p.dir, "resources", pidArg(p), "--json", "--kind", kind)), &rs); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	t.Run("deadlock", func(t *testing.T) {
		p := startScenario(t, "deadlock")
		m, file := marks(t, "deadlock")
		locks := res(p, "lock")
		if len(locks) != 2 {
			t.Fatalf("resources --kind lock: %d locks, want 2: %+v", len(locks), locks)
		}
		for i, mark := range []string{"accounts", "audit"} {
			l, other := locks[i], locks[1-i]
			if l.CreatedAt.File != file || l.CreatedAt.Line != m[mark] || !l.Set || len(l.Holders) != 1 ||
				!slices.Equal(l.Waiters, other.Holders) {
				t.Errorf("lock %s = %+v; want made at line %d, held by one task, awaited by the other lock's holder", mark, l, m[mark])
			}
		}
		out := ok(t, p.dir, "resources", pidArg(p))
		for _, want := range []string{"KIND", "lock", "held by", fmt.Sprintf("main.go:%d", m["accounts"])} {
			if !strings.Contains(out, want) {
				t.Errorf("resources: no %q in\n%s", want, out)
			}
		}
	})
	t.Run("stalled", func(t *testing.T) {
		p := startScenario(t, "stalled")
		evs := res(p, "event")
		if len(evs) != 2 {
			t.Fatalf("resources --kind event: %d events, want 2: %+v", len(evs), evs)
		}
		for _, ev := range evs {
			if ev.Set || len(ev.Waiters) != 1 || ev.CreatedAt.Line == 0 {
				t.Errorf("event %+v; want clear, awaited by one task, with its creation site", ev)
			}
		}
		if out := ok(t, p.dir, "resources", pidArg(p), "--kind", "event"); strings.Count(out, " clear ") != 2 {
			t.Errorf("resources --kind event: want two clear events:\n%s", out)
		}
	})
}
