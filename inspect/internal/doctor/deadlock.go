package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// edge is what a task in the wait-for graph waits on: the tasks that must
// act for it to go on. any: one of them acting suffices (a semaphore's
// holders, Wait's FIRST_COMPLETED); otherwise each must (a lock's holder,
// awaited tasks).
type edge struct {
	to  []uint64
	any bool
	res *runtime.ResourceInfo // the lock or semaphore, nil for awaited tasks
}

// waitGraph returns each suspended task's edge: lock and semaphore waits
// to the holders, waits on tasks to those tasks. Waits that a timer,
// another thread or any task could end (futures, events, queues, sleeps)
// are not edges.
func (v *view) waitGraph() map[uint64]edge {
	g := map[uint64]edge{}
	for i := range v.in.Snapshot.Tasks {
		t := &v.in.Snapshot.Tasks[i]
		if !suspended(t) || external(t) {
			continue
		}
		switch k := waitKind(t); {
		case k == waitLock || k == waitSemaphore:
			r := v.res[t.Wait.Resource]
			if r == nil || len(r.Holders) == 0 || (k == waitSemaphore && (r.Len > 0 || len(r.Holders) < r.Cap-r.Len)) {
				continue // free, or a semaphore whose holders are not all listed: may miss, never invents
			}
			g[t.ID] = edge{to: r.Holders, any: k == waitSemaphore, res: r}
		case awaitsTasks(k) && len(t.Awaits) > 0:
			g[t.ID] = edge{to: t.Awaits, any: k == "wait" || k == "as_completed"}
		}
	}
	return g
}

// deadlocks reports each cycle of tasks that wait, through lock and
// semaphore holders (and awaited tasks), on each other: none can ever go
// on. Tasks that wait on such a cycle are not repeated as stuck.
func (v *view) deadlocks(out []wire.Finding) []wire.Finding {
	g := v.waitGraph()
	in, waiters := stuckSet(g)
	// Walk from each lock or semaphore waiter through the stuck set
	// until a task repeats: that is a cycle.
	var starts []uint64
	for id := range in {
		if g[id].res != nil {
			starts = append(starts, id)
		}
	}
	slices.Sort(starts)
	inCycle := map[uint64]bool{}
	walked := map[uint64]bool{} // by an earlier walk: what lies beyond is known
	var cycles [][]uint64
	for _, s := range starts {
		if inCycle[s] || walked[s] {
			continue
		}
		var path []uint64
		pos := map[uint64]int{}
		for cur := s; ; {
			if walked[cur] {
				break
			}
			if p, ok := pos[cur]; ok {
				c := path[p:]
				if !slices.ContainsFunc(c, func(id uint64) bool { return inCycle[id] }) &&
					slices.ContainsFunc(c, func(id uint64) bool { return g[id].res != nil }) {
					cycles = append(cycles, c)
					for _, id := range c {
						inCycle[id] = true
					}
				}
				break
			}
			pos[cur] = len(path)
			path = append(path, cur)
			next := uint64(0)
			for _, to := range g[cur].to {
				if in[to] {
					next = to
					break
				}
			}
			if next == 0 {
				break
			}
			cur = next
		}
		for _, id := range path {
			walked[id] = true
		}
	}
	for id := range in {
		v.told[id] = true
	}
	// Cycles of the same shape are one bug (a lock order taken by many
	// pairs of workers): one finding, counting them all.
	var groups [][][]uint64
	shapes := map[string]int{}
	for _, c := range cycles {
		k := v.cycleShape(c, g)
		if i, ok := shapes[k]; ok && k != "" {
			groups[i] = append(groups[i], c)
			continue
		}
		shapes[k] = len(groups)
		groups = append(groups, [][]uint64{c})
	}
	for _, grp := range groups {
		n := 0
		for _, c := range grp {
			n += behind(c, in, inCycle, waiters)
		}
		f := v.cycleFinding(grp[0], g, n)
		if len(grp) > 1 {
			var others []string
			for _, c := range grp[1:] {
				f.Count += len(c)
				for _, id := range c {
					if len(f.Tasks) < maxListed {
						f.Tasks = append(f.Tasks, v.ref(v.byID[id]))
					}
					if len(others) < 6 {
						others = append(others, strconv.FormatUint(id, 10))
					}
				}
			}
			if f.Count-len(grp[0]) > len(others) {
				others = append(others, "…")
			}
			verb := "deadlock"
			if len(grp) == 2 {
				verb = "deadlocks"
			}
			f.Summary += fmt.Sprintf(" %s of tasks %s the same way, at the same lines (tasks %s).",
				upper(plural(len(grp)-1, "more group")), verb, strings.Join(others, ", "))
		}
		out = append(out, f)
	}
	return v.runtimeDeadlocks(out, inCycle)
}

// maxShaped is the longest cycle cycleShape compares with others.
const maxShaped = 16

// cycleShape is what makes two deadlocks the same bug: each task's
// function, where it waits, and what it waits for (where the lock was
// made, or an await), from the cycle's least rotation. "" for a cycle
// longer than maxShaped: it is never grouped.
func (v *view) cycleShape(c []uint64, g map[uint64]edge) string {
	if len(c) > maxShaped {
		return ""
	}
	parts := make([]string, len(c))
	for i, id := range c {
		t := v.byID[id]
		what := "await"
		if r := g[id].res; r != nil {
			what = r.Kind + "@" + r.CreatedAt.File + ":" + strconv.Itoa(r.CreatedAt.Line)
		}
		parts[i] = t.Function + "@" + t.SuspendedAt.File + ":" + strconv.Itoa(t.SuspendedAt.Line) + ">" + what
	}
	best := ""
	for r := range parts {
		if s := strings.Join(slices.Concat(parts[r:], parts[:r]), "\x00"); r == 0 || s < best {
			best = s
		}
	}
	return best
}

// stuckSet returns the greatest set of tasks of g none of which can go on
// (a task is dropped while what it waits on can act), and each task's
// waiters in g. Worklist: a task is looked at again only when one it waits
// on is dropped, so a chain of 40,000 awaits costs 40,000 steps, not a
// pass over the set per task dropped.
func stuckSet(g map[uint64]edge) (in map[uint64]bool, waiters map[uint64][]uint64) {
	in = make(map[uint64]bool, len(g))
	waiters = make(map[uint64][]uint64)
	live := make(map[uint64]int, len(g)) // a wait on each: its wakers still in the set
	for id, e := range g {
		in[id] = true
		for _, to := range e.to {
			waiters[to] = append(waiters[to], id)
		}
	}
	var drop []uint64
	for id, e := range g {
		n := 0
		for _, to := range e.to {
			if in[to] {
				n++
			}
		}
		// One waker acting frees an any-wait; a wait on each needs all of
		// them, so one stuck waker keeps it stuck.
		if e.any && n < len(e.to) || !e.any && n == 0 {
			drop = append(drop, id)
		}
		live[id] = n
	}
	for len(drop) > 0 {
		id := drop[len(drop)-1]
		drop = drop[:len(drop)-1]
		if !in[id] {
			continue
		}
		delete(in, id)
		for _, w := range waiters[id] {
			if !in[w] {
				continue
			}
			live[w]--
			if g[w].any || live[w] == 0 {
				drop = append(drop, w)
			}
		}
	}
	return in, waiters
}

// behind counts the stuck tasks outside any cycle that wait, directly or
// through others, on cycle c.
func behind(c []uint64, in, inCycle map[uint64]bool, waiters map[uint64][]uint64) int {
	seen := map[uint64]bool{}
	queue := slices.Clone(c)
	n := 0
	for len(queue) > 0 {
		id := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, w := range waiters[id] {
			if in[w] && !inCycle[w] && !seen[w] {
				seen[w] = true
				n++
				queue = append(queue, w)
			}
		}
	}
	return n
}

// cycleFinding describes one cycle; behind is how many other tasks wait
// on it.
func (v *view) cycleFinding(c []uint64, g map[uint64]edge, behind int) wire.Finding {
	f := wire.Finding{Kind: wire.KindDeadlock, Severity: wire.SeverityError, Count: len(c)}
	var ts []*runtime.TaskInfo
	var made []runtime.Frame
	var clauses []string
	// Resources made at one line (locks a constructor makes) are told
	// apart by their ids.
	madeAt := map[runtime.Frame]map[uint64]bool{}
	locks := map[uint64]bool{} // the distinct locks and semaphores of the cycle
	awaits := 0                // edges that await a task
	for _, id := range c {
		if g[id].res == nil {
			awaits++
		}
		if r := g[id].res; r != nil {
			if madeAt[r.CreatedAt] == nil {
				madeAt[r.CreatedAt] = map[uint64]bool{}
			}
			madeAt[r.CreatedAt][r.ID] = true
			locks[r.ID] = true
		}
	}
	for i, id := range c {
		t := v.byID[id]
		ts = append(ts, t)
		if len(f.Tasks) < maxListed {
			f.Tasks = append(f.Tasks, v.ref(t))
		}
		next := v.byID[c[(i+1)%len(c)]]
		e := g[id]
		if e.res != nil {
			made = append(made, e.res.CreatedAt)
			what := describeRes(e.res)
			if len(madeAt[e.res.CreatedAt]) > 1 {
				what = describeResID(e.res)
			}
			clauses = append(clauses, fmt.Sprintf("%q waits at %s for %s held by %q",
				t.Name, short(t.SuspendedAt), what, next.Name))
		} else {
			clauses = append(clauses, fmt.Sprintf("%q awaits %q at %s", t.Name, next.Name, short(t.SuspendedAt)))
		}
	}
	who := "Task " + strconv.Quote(ts[0].Name) + " deadlocks with itself"
	if len(ts) > 1 {
		who = upper(subject(ts)) + " deadlock"
	}
	more := ""
	if behind > 0 {
		more = fmt.Sprintf(" (%s waiting on them cannot go on either)", plural(behind, "more task"))
	}
	f.Summary = who + ": " + cycleClauses(clauses) + more + "."
	f.Sites = sites(made...)
	switch {
	case len(ts) == 1:
		f.Fix = "Do not take a lock the task already holds (runtime locks are not reentrant): release it first, or split the code that needs it."
	case len(locks) == 1 && awaits > 0:
		// One lock and awaits: a task holds it while it awaits a task
		// that needs it.
		f.Fix = "Do not await, while holding a lock or permit, a task that needs it: release it before the await (or let the awaited task do without it); cancelling one task of the cycle frees the others."
	default:
		f.Fix = "Take the locks in one order everywhere, or hold one at a time (release before awaiting the next); cancelling one task of the cycle frees the others."
	}
	return f
}

// maxClauses is how many of a cycle's tasks a deadlock's summary
// describes: the first and last half, and how many lie between (a ring of
// 1,000 tasks made an 83 KB sentence).
const maxClauses = 6

// cycleClauses joins the clauses of a cycle, each saying what one task
// waits for, eliding the middle of a long one.
func cycleClauses(clauses []string) string {
	if n := len(clauses); n > maxClauses {
		head, tail := clauses[:maxClauses/2], clauses[n-maxClauses/2:]
		mid := "… " + plural(n-maxClauses, "more task") + ", each waiting for the next …"
		clauses = append(append(slices.Clip(head), mid), tail...)
	}
	return strings.Join(clauses, "; ")
}

// describeRes names a resource for a sentence: "the lock made at
// main.go:12".
func describeRes(r *runtime.ResourceInfo) string {
	kind := r.Kind
	if kind == "" {
		kind = "resource"
	}
	if r.CreatedAt.IsZero() {
		return kind + " " + strconv.FormatUint(r.ID, 10)
	}
	if kind == waitSemaphore {
		return "a permit of the semaphore made at " + short(r.CreatedAt)
	}
	return "the " + kind + " made at " + short(r.CreatedAt)
}

// describeResID is describeRes with the resource's id, for resources made
// at one place: "the lock 7 made at main.go:21".
func describeResID(r *runtime.ResourceInfo) string {
	if r.CreatedAt.IsZero() {
		return describeRes(r) // with its id already
	}
	id := strconv.FormatUint(r.ID, 10)
	if r.Kind == waitSemaphore {
		return "a permit of the semaphore " + id + " made at " + short(r.CreatedAt)
	}
	return "the " + r.Kind + " " + id + " made at " + short(r.CreatedAt)
}

// runtimeDeadlocks adds the deadlocks the runtime saw form that the graph
// above did not find (say, resources it could not read), if their tasks
// still wait.
func (v *view) runtimeDeadlocks(out []wire.Finding, found map[uint64]bool) []wire.Finding {
	for _, d := range v.in.Deadlocks {
		if len(d.Tasks) == 0 || !slices.ContainsFunc(d.Tasks, func(id uint64) bool { return !found[id] }) {
			continue
		}
		live := true
		for _, id := range d.Tasks {
			if t := v.byID[id]; t == nil || t.State.Done() {
				live = false
			}
		}
		if !live {
			continue
		}
		f := wire.Finding{Kind: wire.KindDeadlock, Severity: wire.SeverityError}
		var ts []*runtime.TaskInfo
		var clauses []string
		var made []runtime.Frame
		for i, id := range d.Tasks {
			t := v.byID[id]
			ts = append(ts, t)
			v.told[id] = true
			ft := v.ref(t)
			if i < len(d.At) && !d.At[i].IsZero() {
				ft.At = wireFrame(d.At[i])
			}
			if len(f.Tasks) < maxListed {
				f.Tasks = append(f.Tasks, ft)
			}
			next := v.byID[d.Tasks[(i+1)%len(d.Tasks)]]
			what := "a lock"
			if i < len(d.Resources) {
				if r := v.res[d.Resources[i]]; r != nil {
					what = describeRes(r)
					made = append(made, r.CreatedAt)
				}
			}
			clauses = append(clauses, fmt.Sprintf("%q waits at %s for %s held by %q",
				t.Name, short(runtime.Frame{Function: ft.At.Function, File: ft.At.File, Line: ft.At.Line}), what, next.Name))
		}
		who := "Task " + strconv.Quote(ts[0].Name) + " deadlocks with itself"
		if len(ts) > 1 {
			who = upper(subject(ts)) + " deadlock"
		}
		f.Summary = who + ": " + cycleClauses(clauses) + "."
		f.Count = len(d.Tasks)
		f.Sites = sites(made...)
		f.Fix = "Take the locks in one order everywhere, or hold one at a time (release before awaiting the next); cancelling one task of the cycle frees the others."
		out = append(out, f)
	}
	return out
}
