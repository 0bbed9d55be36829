package doctor

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// MinLeak is the fewest like tasks a leak finding is made of.
const MinLeak = 10

// fedCalls is how many thread-safe calls make a loop one that is fed from
// outside (runtime.LoopStats.Calls): a server whose handlers, on their own
// goroutines, hand the loop work. Such a loop waits for its next request
// when idle; stalled leaves it to stuck, which calls its idle consumers a
// note and its tasks stuck on futures, events and locks a warning. A loop
// that took a few calls (tasks submitted to start with) can still stall.
const fedCalls = 10

// stalled reports a loop with pending tasks and nothing that could wake
// any of them (no ready task, no timer, no ToThread call, no thread-safe
// call) for StuckAfter, unless the loop is fed from outside (fedCalls). It
// reports whether it did: its finding names the waiting tasks, so stuck
// does not repeat them.
func (v *view) stalled(out []wire.Finding) ([]wire.Finding, bool) {
	s := &v.in.Snapshot
	if len(s.Tasks) == 0 || s.Current != 0 || s.Blocking != nil {
		return out, false
	}
	st := s.Stats
	last := st.LastWork
	if last.IsZero() {
		// The runtime did not say: judge by the tasks alone (each waits on
		// something only another task can end, the last one suspended
		// long ago).
		for i := range s.Tasks {
			t := &s.Tasks[i]
			if !suspended(t) || external(t) {
				return out, false
			}
			last = maxTime(last, t.Suspended)
		}
	} else if st.Ready > 0 || st.Timers > 0 || st.Threads > 0 || st.Pending > 0 || st.Calls >= fedCalls {
		return out, false
	}
	idle := v.now.Sub(last)
	if last.IsZero() || idle < v.d {
		return out, false
	}
	// Name the tasks at the bottom of the waits first: those waiting on
	// other tasks only wait for them.
	var leaves, waiters []*runtime.TaskInfo
	var made []runtime.Frame
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if t.State.Done() {
			continue
		}
		if awaitsTasks(waitKind(t)) {
			waiters = append(waiters, t)
			continue
		}
		leaves = append(leaves, t)
		if r := v.res[t.Wait.Resource]; r != nil && t.Wait.Resource != 0 {
			made = append(made, r.CreatedAt)
		}
	}
	all := append(leaves, waiters...)
	for _, t := range all {
		v.told[t.ID] = true
	}
	var clauses []string
	for _, t := range leaves[:min(len(leaves), 3)] {
		clauses = append(clauses, fmt.Sprintf("%q waits on %s at %s", t.Name, waitKind(t), short(t.SuspendedAt)))
	}
	if len(leaves) > 3 {
		clauses = append(clauses, fmt.Sprintf("%d more", len(leaves)-3))
	}
	what := ""
	if len(clauses) > 0 {
		what = ": " + joinAnd(clauses)
	}
	f := wire.Finding{
		Kind: wire.KindStalled, Severity: wire.SeverityError, Count: len(all),
		Summary: fmt.Sprintf("Loop %q is stalled: %s wait and nothing can wake them (no ready task, timer, ToThread or thread-safe call for %s)%s.",
			s.Name, plural(len(all), "task"), human(idle), what),
		Tasks: v.refs(all),
		Sites: sites(made...),
		Fix:   "Whatever should set, resolve or fill what these tasks wait on never runs: check the code that should (it may have returned or failed early), and give such waits a timeout (runtime.WaitFor).",
	}
	return append(out, f), true
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// joinAnd joins "a", "b" and "c".
func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := ""
	for i, x := range s {
		switch {
		case i == 0:
		case i == len(s)-1:
			out += " and "
		default:
			out += ", "
		}
		out += x
	}
	return out
}

// groupKey is what makes tasks alike: where they were spawned, where they
// wait and on what.
type groupKey struct {
	spawned, at runtime.Frame
	kind        string
}

func keyOf(t *runtime.TaskInfo) groupKey {
	return groupKey{spawned: t.SpawnedAt, at: t.SuspendedAt, kind: waitKind(t)}
}

// groups returns the suspended tasks that pass keep, grouped by keyOf, in
// order of first appearance (creation order).
func (v *view) groups(keep func(t *runtime.TaskInfo) bool) ([]groupKey, map[groupKey][]*runtime.TaskInfo) {
	m := map[groupKey][]*runtime.TaskInfo{}
	var order []groupKey
	for i := range v.in.Snapshot.Tasks {
		t := &v.in.Snapshot.Tasks[i]
		if !suspended(t) || v.told[t.ID] || !keep(t) {
			continue
		}
		k := keyOf(t)
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = append(m[k], t)
	}
	return order, m
}

// leaks reports groups of like tasks that keep growing, (nearly) none of
// their kind finishing: at least MinLeak of them, made over StuckAfter or
// longer, the newest made recently, the oldest waiting for StuckAfter, and
// fewer tasks spawned at the same place in the history than a tenth of
// them. Tasks that loop on short sleeps never wait long at one: for them
// the oldest's age counts instead, when the tasks that spawned them have
// ended (keepalives of finished uploads; not a server's per-client
// heartbeats, spawned by a live accept loop).
func (v *view) leaks(out []wire.Finding) []wire.Finding {
	order, m := v.groups(func(*runtime.TaskInfo) bool { return true })
	ended := map[runtime.Frame]int{}
	for i := range v.in.History {
		ended[v.in.History[i].SpawnedAt]++
	}
	for _, k := range order {
		ts := m[k]
		if len(ts) < MinLeak || k.spawned.IsZero() {
			continue
		}
		oldest, newest := ts[0].Created, ts[0].Created
		waited := ts[0]
		for _, t := range ts {
			if t.Created.Before(oldest) {
				oldest = t.Created
			}
			if t.Created.After(newest) {
				newest = t.Created
			}
			if v.waited(t) > v.waited(waited) {
				waited = t
			}
		}
		partial := !v.historySince(oldest)
		if n := v.endedSince(ended[k.spawned], oldest); n > 0 && n*10 >= float64(len(ts)) {
			// Tasks of their kind end: not a leak, unless they are few
			// next to the pile.
			continue
		}
		span := newest.Sub(oldest)
		old := v.waited(waited)
		if k.kind == waitSleep && v.orphans(ts) {
			old = max(old, v.alive.Sub(oldest))
		}
		if span < v.d || v.now.Sub(newest) > max(v.d, span/4) || old < v.d {
			continue // made at once (a pool), no longer growing, or young
		}
		rate := float64(len(ts)-1) / span.Seconds()
		for _, t := range ts {
			v.told[t.ID] = true
		}
		var made runtime.Frame
		if r := v.res[ts[0].Wait.Resource]; r != nil && ts[0].Wait.Resource != 0 {
			made = r.CreatedAt
		}
		f := wire.Finding{
			Kind: wire.KindLeak, Severity: wire.SeverityWarning, Count: len(ts),
			Summary: fmt.Sprintf("%d tasks spawned at %s (%s) pile up waiting on %s at %s: %s more every second, the oldest for %s, and %s.",
				len(ts), short(k.spawned), names(ts), k.kind, short(k.at), strconv.FormatFloat(rate, 'f', 1, 64), human(v.waited(waited)),
				noneEnded(ended[k.spawned], "finished", partial)),
			Tasks: v.refs(ts),
			Sites: sites(k.spawned, k.at, made),
			Fix:   "These tasks wait for something that never comes: make sure it is resolved (or the task cancelled) on every path, or await it with a timeout (runtime.WaitFor), and stop spawning tasks that cannot finish.",
		}
		if k.kind == waitSleep {
			v.sleepLeak(&f, ts, rate, func(verb string) string { return noneEnded(ended[k.spawned], verb, partial) }, v.alive.Sub(oldest))
		}
		out = append(out, f)
	}
	return out
}

// changesHands reports whether every lock or semaphore ts wait on was
// taken within StuckAfter (a group of like tasks may wait on several, one
// lock per key) and is not kept by a task that ended, and how long ago
// the first's was; for producers waiting on full queues, whether every
// one had an item taken within StuckAfter.
func (v *view) changesHands(ts []*runtime.TaskInfo) (time.Duration, bool) {
	var first time.Duration
	for i, t := range ts {
		r := v.res[t.Wait.Resource]
		if r == nil || t.Wait.Resource == 0 || r.LastTaken.IsZero() || v.alive.Sub(r.LastTaken) >= v.d {
			return 0, false
		}
		if gone, _, handed := v.endedHolders(r.ID, r.Holders); gone != "" && len(handed) == 0 && !v.liveHolder(r) {
			return 0, false // taken, then kept by a task that ended: stuck
		}
		if i == 0 {
			first = v.alive.Sub(r.LastTaken)
		}
	}
	return first, len(ts) > 0
}

// liveHolder reports whether a semaphore has a holder that is live: its
// permits still change hands, though one that ended kept its own.
func (v *view) liveHolder(r *runtime.ResourceInfo) bool {
	if r.Kind != "semaphore" {
		return false
	}
	for _, h := range r.Holders {
		if v.byID[h] != nil {
			return true
		}
	}
	return false
}

// queued words f for tasks that wait on a lock or semaphore that changes
// hands (last taken ago, within StuckAfter): they queue for it, as a
// semaphore that bounds a batch makes them, rather than stall: a note.
func queued(f *wire.Finding, head string, r *runtime.ResourceInfo, ago time.Duration) {
	turn := "it changes hands"
	switch {
	case r.Kind == "semaphore" && r.Cap == 1:
		turn = "its permit changes hands"
	case r.Kind == "semaphore":
		turn = fmt.Sprintf("its %d permits change hands", r.Cap)
	}
	f.Severity = wire.SeverityInfo
	f.Summary = fmt.Sprintf("%s: %s (last taken %s ago), so they queue for it rather than stall.", head, turn, human(max(ago, 0)))
	f.Fix = "Nothing to fix if the queue drains. If waits this long matter, hold it for less time (less work while holding it, no long awaits) or let more in at once."
}

// endedSince estimates how many tasks of a kind ended since t, n of them
// being in the history: n if the history reaches back to t; else n scaled
// up from the span the history covers to t's (a history of the last
// 1,000 ended tasks, filled by others in 2s, holds few of a kind that ends
// once a minute).
func (v *view) endedSince(n int, t time.Time) float64 {
	if n == 0 || v.historySince(t) {
		return float64(n)
	}
	// The history is read after now was taken: its newest may be later.
	h := v.in.History
	newest := v.now
	if last := h[len(h)-1].Finished; last.After(newest) {
		newest = last
	}
	covered := newest.Sub(h[0].Finished)
	if covered <= 0 {
		return float64(n) // of no span: nothing to scale by
	}
	return float64(n) * max(float64(v.now.Sub(t))/float64(covered), 1)
}

// orphans reports whether most of ts were spawned by tasks that have
// ended. Tasks handed to the loop from outside (Submit) have no parent:
// they never count as orphans.
func (v *view) orphans(ts []*runtime.TaskInfo) bool {
	n := 0
	for _, t := range ts {
		if t.ParentID != 0 && v.byID[t.ParentID] == nil {
			n++
		}
	}
	return n*2 > len(ts)
}

// noneEnded says how many tasks of a group's kind ended: "none has
// finished", "only 3 have finished" (verb: "finished" or "ended"); when
// the history dropped ends since the group began (partial), as far as it
// tells.
func noneEnded(n int, verb string, partial bool) string {
	var s string
	switch n {
	case 0:
		s = "none has " + verb
	case 1:
		s = "only 1 has " + verb
	default:
		s = fmt.Sprintf("only %d have %s", n, verb)
	}
	if partial {
		s += " as far as the history goes (it dropped older ends)"
	}
	return s
}

// sleepLeak words f for tasks that pile up asleep: they wait for no one,
// so the question is whether anything ends them. Tasks that have slept
// once, each until a time, may end when they wake (sessions that last a
// minute, spawned one a second, pile up for that minute): that is a note,
// unless they sleep longer than maxFirstSleep. Others (that wake and sleep
// again, or stepped before they slept) are a warning: nothing seen ends
// them. ended says how many of their kind ended, with the verb given;
// age is how long the oldest has lived.
func (v *view) sleepLeak(f *wire.Finding, ts []*runtime.TaskInfo, rate float64, ended func(verb string) string, age time.Duration) {
	once := true
	var first time.Time
	var longest time.Duration // of their sleeps, from when each began
	for _, t := range ts {
		if t.Steps > 1 || t.Until.IsZero() {
			once = false
			break
		}
		if first.IsZero() || t.Until.Before(first) {
			first = t.Until
		}
		longest = max(longest, t.Until.Sub(t.Suspended))
	}
	k := keyOf(ts[0])
	head := fmt.Sprintf("%d tasks spawned at %s (%s) pile up asleep at %s: %s more every second",
		len(ts), short(k.spawned), names(ts), short(k.at), strconv.FormatFloat(rate, 'f', 1, 64))
	wake := max(first.Sub(v.now), 0)
	if once && longest <= maxFirstSleep {
		f.Severity = wire.SeverityInfo
		f.Summary = fmt.Sprintf("%s, each in its first sleep; %s, and the first wakes in %s.", head, ended("ended yet"), human(wake))
		f.Fix = "Nothing to do if they end when they wake. If they sleep again and nothing cancels them, they pile up for good: cancel each when what it serves goes away."
		return
	}
	f.Summary = fmt.Sprintf("%s, the oldest has lived %s, and %s.", head, human(age), ended("ended"))
	if once {
		f.Summary = fmt.Sprintf("%s, each in its first sleep, the first for %s more, and %s.", head, human(wake), ended("ended"))
	}
	f.Fix = "Something must end these tasks: cancel each when what it serves goes away (keep it, or spawn it in a TaskGroup that ends with it), or give its loop or sleep an end, and stop spawning tasks that never finish."
}

// maxFirstSleep is the longest first sleep of tasks piling up that is a
// note (sleepLeak): they may end when they wake. Sleeping longer (a
// "forever" sleep of 146 years) is no sign they will.
const maxFirstSleep = 24 * time.Hour

// producerGone words f, a note about idle consumers (DESIGN: info at
// most), for a queue whose last producer, h (the task that last put into
// it, in the history), has ended: nothing may come again, and if it
// failed, its consumers may wait on work that died with it.
func (v *view) producerGone(f *wire.Finding, head string, r *runtime.ResourceInfo, h *runtime.TaskInfo, extra *[]runtime.Frame) {
	*extra = append(*extra, h.SpawnedAt)
	f.Summary = fmt.Sprintf("%s: the last task that put into it, task %d %q, has ended", head, h.ID, h.Name)
	if !r.LastPut.IsZero() {
		f.Summary += fmt.Sprintf(" (its last item came %s ago)", human(v.now.Sub(r.LastPut)))
	}
	if h.State == runtime.Failed {
		f.Summary += fmt.Sprintf(", failed: %q", h.Error)
	}
	f.Summary += "."
	f.Fix = "Nothing to do if the producers are done and the consumers should idle. If more should come, see why the producer ended (if it failed, its error), or end the consumers' wait: cancel them, or put a last item that tells them to stop."
}

// endedHolders names the holders of ids (those of resource res, a lock or
// a semaphore) that
// have ended, as the history records them, with how they ended (up to
// three, then how many more); "" if none has. A holder neither live nor in
// the history is left out: it may have started after the snapshot (read
// before the awaitables), or left the history. spawned is where the first
// was spawned; handed are the live tasks they spawned, which may have been
// handed the lock or permit to release (runtime locks and semaphores are
// not owned by the task that took them).
func (v *view) endedHolders(res uint64, ids []uint64) (names string, spawned runtime.Frame, handed []*runtime.TaskInfo) {
	var parts []string
	n := 0
	gone := map[uint64]bool{}
	for _, id := range ids {
		if v.byID[id] != nil {
			continue
		}
		h := v.ended(id)
		if h == nil {
			continue
		}
		gone[id] = true
		n++
		if len(parts) == 3 {
			continue
		}
		if spawned.IsZero() {
			spawned = h.SpawnedAt
		}
		if h.Error != "" {
			parts = append(parts, fmt.Sprintf("task %d %q (%s: %q)", id, h.Name, h.State, h.Error))
		} else {
			parts = append(parts, fmt.Sprintf("task %d %q (%s)", id, h.Name, h.State))
		}
	}
	if n > len(parts) {
		parts = append(parts, fmt.Sprintf("%d more", n-len(parts)))
	}
	if n > 0 {
		for i := range v.in.Snapshot.Tasks {
			// A task it spawned that waits for the same lock was not
			// handed it.
			if t := &v.in.Snapshot.Tasks[i]; gone[t.ParentID] && !t.State.Done() && t.Wait.Resource != res {
				handed = append(handed, t)
			}
		}
	}
	return strings.Join(parts, ", "), spawned, handed
}

// stuck reports tasks that have waited on a future, event, queue, lock or
// semaphore for StuckAfter or longer while the loop lives, alike tasks
// grouped. A consumer waiting on an empty queue is info.
func (v *view) stuck(out []wire.Finding) []wire.Finding {
	order, m := v.groups(func(t *runtime.TaskInfo) bool {
		if v.waited(t) <= v.d {
			return false
		}
		if waitKind(t) == waitThread {
			return true // a call that does not return: a note
		}
		if external(t) {
			return false
		}
		switch waitKind(t) {
		case waitFuture, waitEvent, waitLock, waitSemaphore, waitGet, waitPut, waitJoin:
			return true
		}
		return false
	})
	for _, k := range order {
		out = append(out, v.stuckFinding(k, m[k]))
	}
	return out
}

func (v *view) stuckFinding(k groupKey, ts []*runtime.TaskInfo) wire.Finding {
	first := ts[0]
	longest := v.waited(first)
	for _, t := range ts {
		longest = max(longest, v.waited(t))
	}
	r := v.res[first.Wait.Resource]
	if first.Wait.Resource == 0 {
		r = nil
	}
	f := wire.Finding{Kind: wire.KindStuck, Severity: wire.SeverityWarning, Count: len(ts), Tasks: v.refs(ts)}
	what := article(k.kind) + " " + k.kind
	var made runtime.Frame
	switch {
	case k.kind == waitThread:
		what = "a ToThread call"
	case r != nil && !r.CreatedAt.IsZero():
		made = r.CreatedAt
		what = fmt.Sprintf("%s %s (made at %s)", article(r.Kind), r.Kind, short(r.CreatedAt))
	}
	verb := "have"
	if len(ts) == 1 {
		verb = "has"
	}
	head := fmt.Sprintf("%s %s waited %s at %s on %s", upper(subject(ts)), verb, human(longest), short(k.at), what)
	if len(ts) > 1 {
		head = fmt.Sprintf("%s %s waited up to %s at %s on %s", upper(subject(ts)), verb, human(longest), short(k.at), what)
	}
	var extra []runtime.Frame
	switch k.kind {
	case waitFuture:
		f.Summary = head + ", and nothing has resolved it."
		f.Fix = "Resolve the future (SetResult, SetError or Cancel) on every path, including errors, or await it with a timeout (runtime.WaitFor)."
	case waitEvent:
		f.Summary = head + ", and nothing has set it."
		f.Fix = "Set the event on every path that should wake its waiters, or wait with a timeout (runtime.WaitFor)."
	case waitLock, waitSemaphore:
		if ago, ok := v.changesHands(ts); ok {
			queued(&f, head, r, ago)
			break
		}
		holder := ""
		f.Fix = "Release it on every path (defer Unlock or Release right after taking it) and do not hold it across long awaits."
		if r != nil && len(r.Holders) > 0 {
			if gone, spawned, handed := v.endedHolders(r.ID, r.Holders); gone != "" && len(handed) == 0 {
				// The bug is the ended task's: it took the lock (or a
				// permit) and returned without giving it back.
				holder = ", held by " + gone + ", which ended without releasing it"
				extra = append(extra, spawned)
				f.Fix = "Release it on every path, errors included: defer Unlock or Release right after taking it. Nothing else will: the task that holds it has ended."
			} else if gone != "" {
				// It may have handed the lock on to a task it spawned, which
				// is to release it.
				holder = fmt.Sprintf(", taken by %s, which has ended: unless a task it spawned (%s) releases it, nothing will", gone, names(handed))
				extra = append(extra, spawned)
				f.Fix = "If the task that takes it hands it on, the task it hands it to must release it on every path (defer Unlock or Release); otherwise release it before the task that took it ends."
			} else if h := v.byID[r.Holders[0]]; h != nil {
				holder = fmt.Sprintf(", held by %q", h.Name)
				if !h.SuspendedAt.IsZero() {
					holder += fmt.Sprintf(", which waits at %s on %s", short(h.SuspendedAt), h.Awaiting)
					extra = append(extra, h.SuspendedAt)
				}
			}
		}
		f.Summary = head + holder + "."
	case waitGet:
		f.Severity = wire.SeverityInfo
		f.Summary = head + ": an idle consumer, nothing has been put there since."
		f.Fix = "Nothing to do if the queue is idle; if items should be arriving, check that its producers run."
		if r != nil && r.LastPutBy != 0 && v.byID[r.LastPutBy] == nil {
			if h := v.ended(r.LastPutBy); h != nil {
				v.producerGone(&f, head, r, h, &extra)
			}
		}
	case waitPut:
		if ago, ok := v.changesHands(ts); ok {
			// Backpressure: the consumers drain it, more slowly than the
			// producers fill it.
			f.Severity = wire.SeverityInfo
			f.Summary = fmt.Sprintf("%s: the queue is full, and its consumers take from it (last %s ago) more slowly than it fills, so the producers wait their turn.", head, human(max(ago, 0)))
			f.Fix = "Nothing to fix if the producers may wait: that is what a bounded queue is for. If they may not, add consumers or make them faster, or make the queue bigger."
			break
		}
		f.Summary = head + ": the queue is full and nothing takes from it."
		if r != nil && !r.LastTaken.IsZero() {
			f.Summary = fmt.Sprintf("%s: the queue is full and nothing has taken from it for %s.", head, human(max(v.alive.Sub(r.LastTaken), 0)))
		}
		f.Fix = "Check that the queue's consumers run (and are not stuck themselves), or make the queue bigger."
	case waitJoin:
		f.Summary = head + ": some items taken from the queue were never marked done."
		f.Fix = "Call TaskDone once for every item taken with Get, on every path (defer it)."
	case waitThread:
		// Long work offloaded is what ToThread is for; a call that never
		// returns (a driver call without a deadline) looks the same.
		f.Severity = wire.SeverityInfo
		f.Summary = head + ": its function has not returned."
		f.Fix = "Nothing to do if the work is that long. If it should have returned, a goroutine dump of the process (SIGQUIT) shows where its function waits: give what it calls a deadline or a context."
	}
	f.Sites = sites(append([]runtime.Frame{made, first.SpawnedAt}, extra...)...)
	return f
}
