package doctor

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// RecentBlocking is how far back a finished blocking event still makes a
// blocking finding.
const RecentBlocking = 5 * time.Minute

// blockGroup is the blocking events at one call site (or of one task, when
// the watchdog did not catch the stack).
type blockGroup struct {
	at      runtime.Frame
	call    string
	n       int
	longest time.Duration
	total   time.Duration // how long its blocks held the loop in all
	last    time.Time     // when the latest one ended (or now, ongoing)
	ongoing *runtime.BlockEvent
	tasks   []uint64
	names   map[uint64]string
	guessed int // finished blocks without a stack counted here (site)
	// via is the task's own call that led to at through helpers: the
	// outermost user frame of a stack, when it is not at.
	via runtime.Frame
}

// blocking reports steps that block the loop now (error) or did in the
// last RecentBlocking (warning), one finding per call site.
func (v *view) blocking(out []wire.Finding) []wire.Finding {
	evs := v.in.Blocking
	if b := v.in.Snapshot.Blocking; b != nil {
		dup := false
		for i := range evs {
			if evs[i].TaskID == b.TaskID && evs[i].Started.Equal(b.Started) {
				dup = true
			}
		}
		if !dup {
			evs = append(evs[:len(evs):len(evs)], *b)
		}
	}
	type key struct {
		at   runtime.Frame
		task uint64
	}
	recent := func(ev *runtime.BlockEvent) bool {
		return ev.Ongoing || v.now.Sub(ev.Started.Add(ev.Duration)) <= RecentBlocking
	}
	// When capturing stacks is costly (many goroutines), the watchdog
	// captures only some blocks' (runtime's captureBudget): a task's
	// finished blocks without a stack count at the site of its latest
	// recent block with one, and the finding says how many were. A block
	// going on now is never placed by guess.
	type place struct {
		at   runtime.Frame
		call string
	}
	site := map[uint64]place{}
	for i := range evs {
		if ev := &evs[i]; !ev.At.IsZero() && recent(ev) {
			site[ev.TaskID] = place{ev.At, ev.Call}
		}
	}
	groups := map[key]*blockGroup{}
	var order []key
	for i := range evs {
		ev := &evs[i]
		if !recent(ev) {
			continue
		}
		end := ev.Started.Add(ev.Duration)
		k, call, guessed := key{at: ev.At}, ev.Call, false
		if ev.At.IsZero() {
			if p, ok := site[ev.TaskID]; ok && !ev.Ongoing {
				k.at, call, guessed = p.at, p.call, true
			} else {
				k.task = ev.TaskID
			}
		}
		g := groups[k]
		if g == nil {
			g = &blockGroup{at: k.at, names: map[uint64]string{}}
			groups[k] = g
			order = append(order, k)
		}
		if guessed {
			g.guessed++
		}
		g.n++
		g.longest = max(g.longest, ev.Duration)
		g.total += ev.Duration
		if call != "" {
			g.call = call
		}
		if f := outermostUser(ev.Stack); !f.IsZero() && f != k.at {
			g.via = f
		}
		if ev.Ongoing {
			g.ongoing = ev
			end = v.now
		}
		if end.After(g.last) {
			g.last = end
		}
		if _, ok := g.names[ev.TaskID]; !ok {
			g.tasks = append(g.tasks, ev.TaskID)
			g.names[ev.TaskID] = ev.TaskName
		}
		v.blocked[ev.TaskID] += overlap(ev.Started, end, v.now.Add(-v.in.Snapshot.Stats.Window), v.now)
	}
	// The worst first: what blocks the loop now, then by the time each
	// site held the loop (Diagnose keeps this order for blocking).
	slices.SortStableFunc(order, func(a, b key) int {
		ga, gb := groups[a], groups[b]
		return cmp.Or(cmp.Compare(boolRank(ga.ongoing == nil), boolRank(gb.ongoing == nil)), cmp.Compare(gb.total, ga.total))
	})
	for _, k := range order {
		out = append(out, v.blockFinding(groups[k]))
	}
	return out
}

// outermostUser returns the last user frame of stack (innermost first):
// the task function's own, or zero.
func outermostUser(stack []runtime.Frame) runtime.Frame {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Kind == runtime.FrameUser {
			return stack[i]
		}
	}
	return runtime.Frame{}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (v *view) blockFinding(g *blockGroup) wire.Finding {
	f := wire.Finding{Kind: wire.KindBlocking, Severity: wire.SeverityWarning, Count: len(g.tasks)}
	var spawned []runtime.Frame
	var ts []*runtime.TaskInfo
	for _, id := range g.tasks {
		t := v.byID[id]
		if t == nil {
			t = v.ended(id)
		}
		if t == nil {
			t = &runtime.TaskInfo{ID: id, Name: g.names[id], State: runtime.Finished}
		}
		ts = append(ts, t)
		spawned = append(spawned, t.SpawnedAt)
		ft := v.ref(t)
		now := g.ongoing != nil && g.ongoing.TaskID == id
		if now {
			ft.State = runtime.Running.String()
		}
		if !g.at.IsZero() && (now || t.SuspendedAt.IsZero()) {
			// Where it runs (blocking now) or, ended or running another
			// step, the blocking call; a task waiting now is at its await
			// (the blocking call is the finding's first site).
			ft.At = wireFrame(g.at)
		}
		if len(f.Tasks) < maxListed {
			f.Tasks = append(f.Tasks, ft)
		}
	}
	what := "a blocking call"
	if g.call != "" {
		what = g.call
	}
	where := what + " at " + short(g.at)
	if !g.via.IsZero() {
		where += ", called from " + short(g.via)
	}
	if g.at.IsZero() {
		where = "a step without a stack (it ended before the watchdog looked, or the watchdog rationed its captures)"
	}
	who := subject(ts)
	switch {
	case g.ongoing != nil:
		f.Severity = wire.SeverityError
		who = "task " + fmt.Sprintf("%q", g.ongoing.TaskName)
		f.Summary = fmt.Sprintf("%s blocks the loop now: %s has run for %s, and every other task waits.",
			upper(who), where, human(g.ongoing.Duration))
	case g.n == 1:
		f.Summary = fmt.Sprintf("%s blocked the loop for %s, %s ago: %s.",
			upper(who), human(g.longest), human(v.now.Sub(g.last)), where)
	default:
		f.Summary = fmt.Sprintf("%s blocked the loop %d times in the last %s, up to %s each: %s.",
			upper(who), g.n, human(RecentBlocking), human(g.longest), where)
	}
	if g.guessed > 0 {
		f.Summary += fmt.Sprintf(" (%d of these without a stack: counted at the task's last block with one.)", g.guessed)
	}
	f.Sites = sites(append([]runtime.Frame{g.at, g.via}, spawned...)...)
	switch {
	case g.at.IsZero():
		// No block of the task was caught with a stack: its code may not be
		// the cause (a collection of a very large heap, or a starved
		// machine, also holds the loop's thread), so do not point at it.
		f.Fix = "No stack was caught, so the cause is not known: look at what the task does between its awaits (taskdump stack, taskdump profile while it runs); if it only awaits, the Go runtime (a garbage collection of a very large heap) or a busy machine held the loop."
	case strings.HasSuffix(g.call, "time.Sleep"):
		f.Fix = "Wait with runtime.Sleep(ctx, d), which lets the other tasks run; move other blocking work into runtime.ToThread(ctx, fn)."
	case strings.HasPrefix(g.call, "sync."):
		f.Fix = "A sync primitive that waits holds the whole loop: between tasks use runtime.Lock, Semaphore, Event or Queue, which suspend only the task; for state shared with goroutines, have them hold the sync lock only briefly, or take it in runtime.ToThread(ctx, fn)."
	default:
		f.Fix = "Move the blocking call into runtime.ToThread(ctx, fn), so that the loop runs the other tasks meanwhile."
	}
	return f
}

// ended returns the history record of task id, or nil. The first call
// indexes the history (up to 1,000 records by default).
func (v *view) ended(id uint64) *runtime.TaskInfo {
	if v.hist == nil {
		v.hist = make(map[uint64]*runtime.TaskInfo, len(v.in.History))
		for i := range v.in.History {
			v.hist[v.in.History[i].ID] = &v.in.History[i]
		}
	}
	return v.hist[id]
}

// hog reports the task that takes most of a busy loop's recent time in
// steps under the slow-step threshold. A task whose recent time is mostly
// steps that blocked is a blocking finding instead; one that crossed the
// threshold now and then (a loaded machine stretches short steps) is
// still a hog.
func (v *view) hog(out []wire.Finding) []wire.Finding {
	st := v.in.Snapshot.Stats
	if st.Window <= 0 || st.Busy*2 < st.Window {
		return out // the loop is idle at least half the time: nobody waits long
	}
	var top *runtime.TaskInfo
	for i := range v.in.Snapshot.Tasks {
		t := &v.in.Snapshot.Tasks[i]
		if top == nil || t.RecentBusy > top.RecentBusy {
			top = t
		}
	}
	if top == nil || top.RecentBusy*2 < st.Busy || v.blocked[top.ID]*2 >= top.RecentBusy {
		return v.saturated(out)
	}
	share := float64(top.RecentBusy) / float64(st.Window) * 100
	lag := ""
	if st.Lag > 0 {
		lag = fmt.Sprintf("; tasks that become ready wait %s to run", human(st.Lag))
	}
	ref := v.ref(top)
	steps := "in steps too short to count as blocking"
	if at := top.SuspendedAt; !at.IsZero() || !top.ResumedFrom.IsZero() {
		if at.IsZero() {
			at = top.ResumedFrom
		}
		steps = fmt.Sprintf("in steps too short to count as blocking (those between its awaits at %s)", short(at))
	}
	return append(out, wire.Finding{
		Kind: wire.KindHog, Severity: wire.SeverityWarning,
		Summary: fmt.Sprintf("Task %q (spawned at %s) took %.0f%% of the loop's time over the last %s, %s%s.",
			top.Name, short(top.SpawnedAt), share, human(st.Window), steps, lag),
		Tasks: []wire.FindingTask{ref},
		Sites: sites(top.SpawnedAt),
		Fix: fmt.Sprintf("Move the CPU-heavy work into runtime.ToThread(ctx, fn), or cut it into shorter pieces with an await of runtime.Yield(ctx) between them. "+
			"The lines its steps spend their time on: taskdump profile %d --kind cpu -o cpu.pb.gz, then go tool pprof -top -lines -tagfocus task.name=%s cpu.pb.gz", os.Getpid(), pprofTag(top.Name)),
	})
}

// pprofTag writes a task name as go tool pprof's -tagfocus value for the
// shell: a regular expression anchored at both ends (pprof matches any
// part of a label otherwise), with its metacharacters escaped, commas
// (pprof splits the value on them) and all but printable ASCII as \x
// escapes, single-quoted (a quote in the name ends the quoting, is
// escaped, and starts it again).
func pprofTag(name string) string {
	var b strings.Builder
	b.WriteString("'^")
	for _, r := range name {
		switch {
		case r == ',':
			b.WriteString(`\x2c`)
		case r == '\'':
			b.WriteString(`'\''`)
		case r < 0x20 || r >= 0x7f:
			fmt.Fprintf(&b, `\x{%x}`, r)
		case strings.ContainsRune(`\.+*?()|[]{}^$`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("$'")
	return b.String()
}

// saturatedLag is the loop lag from which a busy loop is saturated: the
// slow-step threshold's default, a wait the watchdog would report as a
// block.
const saturatedLag = 100 * time.Millisecond

// saturated reports a loop kept busy by many tasks, none of them a hog:
// tasks or thread-safe calls wait to run now (Ready, Pending), those that became ready waited
// saturatedLag or more (Lag, a moving average that stays put while the
// loop idles: Ready tells an idle loop), and steps that did not block took
// half the recent window or more (a burst that began a few seconds ago
// shares the window with the quiet before it). It names
// the spawn site whose tasks took the most of that time: live tasks by
// their recent busy time, and tasks that began and ended within the
// window by theirs (from the history, which holds only the last ended
// tasks: the share is then a least). Time in steps that blocked is the
// blocking findings'. A loop fed from outside (a service) gets a warning;
// one that is not (a batch job busy with its work) a note.
func (v *view) saturated(out []wire.Finding) []wire.Finding {
	st := v.in.Snapshot.Stats
	var blocked time.Duration
	for _, d := range v.blocked {
		blocked += d
	}
	busy := st.Busy - blocked
	if st.Window <= 0 || st.Ready+st.Pending == 0 || st.Lag < saturatedLag || busy*2 < st.Window {
		return out
	}
	g := v.busiestSite()
	if g == nil {
		return out
	}
	share := fmt.Sprintf("%.0f%%", float64(min(g.busy, st.Window))/float64(st.Window)*100)
	if g.partial {
		share = "at least " + share
	}
	who := plural(len(g.live), "live task")
	if g.ended > 0 {
		who += fmt.Sprintf(" and %s that began and ended in that time", plural(g.ended, "task"))
	}
	f := wire.Finding{
		Kind: wire.KindHog, Severity: wire.SeverityWarning, Count: len(g.live),
		Summary: fmt.Sprintf("The loop was busy %.0f%% of the last %s and tasks that become ready wait %s to run: it has more work than it can run. The tasks spawned at %s took the most, %s of the loop's time (%s).",
			float64(min(busy, st.Window))/float64(st.Window)*100, human(st.Window), human(st.Lag), short(g.at), share, who),
		Sites: sites(g.at),
		Fix:   "Do less on the loop: move CPU-heavy work into runtime.ToThread(ctx, fn), bound how many of these tasks run at once (a runtime.Semaphore), or spread them over several loops.",
	}
	if g.bounded {
		f.Fix = "Do less on the loop: move CPU-heavy work into runtime.ToThread(ctx, fn), let fewer of these tasks run at once (their semaphore's permits), or spread them over several loops."
	}
	if st.Calls < fedCalls {
		f.Severity = wire.SeverityInfo
		f.Summary += " Nothing outside the loop waits for it (it takes no requests from other goroutines): a batch job may mean to use it all."
	}
	for _, t := range g.live[:min(len(g.live), maxListed)] {
		f.Tasks = append(f.Tasks, v.ref(t))
	}
	return append(out, f)
}

// siteBusy is the recent busy time of the tasks of one spawn site.
type siteBusy struct {
	at      runtime.Frame
	busy    time.Duration
	live    []*runtime.TaskInfo // busiest first
	ended   int                 // tasks that began and ended in the window
	partial bool                // the history does not reach back to the window's start
	bounded bool                // some of them wait on a semaphore
}

// busiestSite returns the spawn site whose tasks took the most of the
// loop's recent window, leaving out time in steps that blocked, or nil.
func (v *view) busiestSite() *siteBusy {
	st := v.in.Snapshot.Stats
	from := v.now.Add(-st.Window)
	groups := make(map[runtime.Frame]*siteBusy)
	get := func(at runtime.Frame) *siteBusy {
		g := groups[at]
		if g == nil {
			g = &siteBusy{at: at}
			groups[at] = g
		}
		return g
	}
	for i := range v.in.Snapshot.Tasks {
		t := &v.in.Snapshot.Tasks[i]
		b := t.RecentBusy - v.blocked[t.ID]
		if b <= 0 || t.SpawnedAt.IsZero() {
			continue
		}
		g := get(t.SpawnedAt)
		g.busy += b
		g.live = append(g.live, t)
		g.bounded = g.bounded || t.Wait.Kind == "semaphore"
	}
	partial := !v.historySince(from)
	for i := range v.in.History {
		t := &v.in.History[i]
		// Only tasks whose whole life is in the window: their busy time
		// is recent. A task that ended between the snapshot and the
		// history's reading is counted once, live.
		if !t.Created.After(from) || t.Busy <= 0 || t.SpawnedAt.IsZero() || v.byID[t.ID] != nil {
			continue
		}
		g := get(t.SpawnedAt)
		g.busy += t.Busy
		g.ended++
	}
	var top *siteBusy
	for _, g := range groups {
		if top == nil || g.busy > top.busy || g.busy == top.busy && short(g.at) < short(top.at) {
			top = g
		}
	}
	if top != nil {
		top.partial = partial
		slices.SortFunc(top.live, func(a, b *runtime.TaskInfo) int { return cmp.Compare(b.RecentBusy, a.RecentBusy) })
	}
	return top
}

// historyDropped reports whether the history lacks tasks that ended: it
// holds the last ones only (or none: WithHistorySize(0)).
func (v *view) historyDropped() bool {
	return v.in.Snapshot.Stats.Ended > uint64(len(v.in.History))
}

// historySince reports whether the history holds every task that ended
// since t.
func (v *view) historySince(t time.Time) bool {
	return !v.historyDropped() || len(v.in.History) > 0 && v.in.History[0].Finished.Before(t)
}

// overlap returns how much of [start, end] lies in [from, to].
func overlap(start, end, from, to time.Time) time.Duration {
	if start.Before(from) {
		start = from
	}
	if end.After(to) {
		end = to
	}
	return max(end.Sub(start), 0)
}

// wireFrame converts a runtime frame, its kind by name.
func wireFrame(f runtime.Frame) wire.Frame {
	return wire.Frame{Function: f.Function, File: f.File, Line: f.Line, Kind: f.Kind.String()}
}
