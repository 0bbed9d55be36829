// Package doctor finds what is wrong in a process's loops: it reads the
// runtime's records (snapshots, resources, blocking events, history) and
// returns ranked findings in the wire form that GET /v1/doctor serves and
// taskdump doctor prints. It runs in the agent, so the CLI stays free of
// the runtime.
//
// The kinds and what each means are DESIGN.md's "Diagnosis" table. Doctor
// must not cry wolf: a sleep is never stuck, a task waiting on other tasks
// is not stuck itself (what they wait on is), a consumer waiting on an
// empty queue is at most info, a pool of like tasks made at once is not a
// leak.
//
// Cost: Diagnose is linear in the number of tasks (a map entry and a group
// key per suspended task); Collect pauses the loop only for the runtime's
// snapshot copy.
package doctor

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// DefaultStuckAfter is how long a wait must last before doctor calls it
// stuck, unless Options.StuckAfter says otherwise.
const DefaultStuckAfter = 10 * time.Second

// maxListed bounds the tasks a finding lists; Finding.Count says how many
// it concerns.
const maxListed = 10

// Options tunes a diagnosis. The zero Options uses DefaultStuckAfter and
// the current time.
type Options struct {
	// StuckAfter is how long a wait (or an ignored cancel, or a loop with
	// nothing to do) lasts before it is a finding.
	StuckAfter time.Duration
	// Now is the time the diagnosis is made at (zero: time.Now()).
	Now time.Time
}

// Loop is what doctor reads of one loop: a snapshot of its live tasks (no
// stacks needed), the awaitables they hold and wait on, the deadlocks the
// runtime saw form, its recent blocking events and its history.
type Loop struct {
	Snapshot  runtime.LoopSnapshot
	Resources []runtime.ResourceInfo
	Deadlocks []runtime.Deadlock
	Blocking  []runtime.BlockEvent
	History   []runtime.TaskInfo
	// Retrieval says History's Retrieved flags are kept: without them no
	// failed task is called unretrieved.
	Retrieval bool
}

// runtimeRetrieval says this runtime records whether a failed task's error
// was retrieved (TaskInfo.Retrieved in its history).
const runtimeRetrieval = true

// Collect reads what Diagnose needs of a live loop, for a diagnosis with
// opts. Safe from any goroutine; it never waits for the loop to yield. The
// loop pauses while the runtime copies its task records (about 3 ms for
// 100,000 tasks) and, only when some task waits on a lock or a semaphore or
// has waited on a future, event or queue for opts.StuckAfter (when a
// finding may name a holder or where the awaitable was made), while it
// copies its awaitables (about 50 ms for 100,000 futures waited on).
func Collect(l *runtime.Loop, opts Options) Loop {
	opts = opts.withDefaults()
	in := Loop{
		Snapshot:  l.Snapshot(),
		Deadlocks: l.Deadlocks(),
		Blocking:  l.Blocking(),
		History:   l.History(),
		Retrieval: runtimeRetrieval,
	}
	if needResources(in.Snapshot.Tasks, opts) {
		in.Resources = l.Resources()
	}
	return in
}

// needResources reports whether a finding about tasks may need the
// awaitables they wait on: a lock or semaphore (its holders), or a future,
// event or queue waited on for StuckAfter (where it was made).
func needResources(ts []runtime.TaskInfo, opts Options) bool {
	old := opts.Now.Add(-opts.StuckAfter)
	for i := range ts {
		t := &ts[i]
		if !suspended(t) {
			continue
		}
		switch waitKind(t) {
		case waitLock, waitSemaphore:
			return true
		case waitFuture, waitEvent, waitGet, waitPut, waitJoin:
			if !since(t).After(old) {
				return true
			}
		}
	}
	return false
}

// withDefaults fills in StuckAfter and Now.
func (o Options) withDefaults() Options {
	if o.StuckAfter <= 0 {
		o.StuckAfter = DefaultStuckAfter
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// Process collects every running loop of the process and diagnoses them.
func Process(opts Options) wire.Diagnosis {
	opts = opts.withDefaults()
	var in []Loop
	for _, l := range runtime.Loops() {
		in = append(in, Collect(l, opts))
	}
	return Diagnose(in, opts)
}

// Diagnose returns the findings of the given loops, ranked: errors, then
// warnings, then info; within a severity by kind (deadlock, stalled,
// blocking, cancel-ignored, stuck, leak, hog, unretrieved), then by the
// number of tasks concerned, except blocking findings, which stay in the
// order of the time each held the loop. Findings is never nil.
func Diagnose(loops []Loop, opts Options) wire.Diagnosis {
	opts = opts.withDefaults()
	out := []wire.Finding{}
	var from []int // the index in loops of each finding's loop
	for i := range loops {
		v := newView(&loops[i], opts)
		n := len(out)
		out = v.diagnose(out)
		for range out[n:] {
			from = append(from, i)
		}
	}
	out = mergeLoops(out, from)
	slices.SortStableFunc(out, func(a, b wire.Finding) int {
		return cmp.Or(
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			cmp.Compare(byCount(b), byCount(a)),
		)
	})
	return wire.Diagnosis{Findings: out}
}

// byCount is what ranks findings of one severity and kind: the number of
// tasks, but for blocking findings, which come ranked by time (blocking).
func byCount(f wire.Finding) int {
	if f.Kind == wire.KindBlocking {
		return 0
	}
	return f.Count
}

func severityRank(s string) int {
	switch s {
	case wire.SeverityError:
		return 0
	case wire.SeverityWarning:
		return 1
	}
	return 2
}

var kinds = []string{wire.KindDeadlock, wire.KindStalled, wire.KindBlocking, wire.KindCancelIgnored,
	wire.KindStuck, wire.KindLeak, wire.KindHog, wire.KindUnretrieved}

func kindRank(k string) int { return slices.Index(kinds, k) }

// view is one loop being diagnosed.
type view struct {
	in   *Loop
	opts Options
	now  time.Time
	// alive is when the loop last could run its tasks: now, or when the
	// step blocking it now began. Waits and ignored cancels are counted up
	// to it: a task cannot be stuck for the time a blocked loop kept it.
	alive time.Time
	d     time.Duration
	byID  map[uint64]*runtime.TaskInfo
	hist  map[uint64]*runtime.TaskInfo // the history by id, made at the first look (ended)
	res   map[uint64]*runtime.ResourceInfo
	// blocked is how long each task blocked the loop within the recent
	// window (that time is a blocking finding's, not a hog's).
	blocked map[uint64]time.Duration
	// told are tasks a finding already explains (a deadlock, a leak, a
	// stall): stuck does not repeat them.
	told map[uint64]bool
}

func newView(in *Loop, opts Options) *view {
	v := &view{in: in, opts: opts, now: opts.Now, alive: opts.Now, d: opts.StuckAfter,
		byID:    make(map[uint64]*runtime.TaskInfo, len(in.Snapshot.Tasks)),
		res:     make(map[uint64]*runtime.ResourceInfo, len(in.Resources)),
		blocked: make(map[uint64]time.Duration),
		told:    make(map[uint64]bool),
	}
	if b := in.Snapshot.Blocking; b != nil && !b.Started.IsZero() && b.Started.Before(v.alive) {
		v.alive = b.Started
	}
	for i := range in.Snapshot.Tasks {
		t := &in.Snapshot.Tasks[i]
		v.byID[t.ID] = t
	}
	for i := range in.Resources {
		r := &in.Resources[i]
		v.res[r.ID] = r
	}
	return v
}

func (v *view) diagnose(out []wire.Finding) []wire.Finding {
	out = v.blocking(out)
	out = v.deadlocks(out)
	out, stalled := v.stalled(out)
	out = v.cancelIgnored(out)
	out = v.leaks(out)
	if !stalled {
		out = v.stuck(out)
	}
	out = v.hog(out)
	out = v.unretrieved(out)
	for i := range out {
		if out[i].Loop == "" {
			out[i].Loop = v.in.Snapshot.Name
		}
		if out[i].Tasks == nil {
			out[i].Tasks = []wire.FindingTask{}
		}
		if out[i].Sites == nil {
			out[i].Sites = []wire.Frame{}
		}
		out[i].Count = max(out[i].Count, len(out[i].Tasks))
	}
	return out
}

// Wait kinds, as runtime.WaitInfo.Kind names them.
const (
	waitSleep     = "sleep"
	waitYield     = "yield"
	waitThread    = "to_thread"
	waitFuture    = "future"
	waitEvent     = "event"
	waitLock      = "lock"
	waitSemaphore = "semaphore"
	waitGet       = "queue.get"
	waitPut       = "queue.put"
	waitJoin      = "queue.join"
)

// waitKind is what t awaits: its WaitInfo's kind, or the first word of its
// awaiting text.
func waitKind(t *runtime.TaskInfo) string {
	if t.Wait.Kind != "" {
		return t.Wait.Kind
	}
	k := t.Awaiting
	if i := strings.IndexAny(k, " ("); i >= 0 {
		k = k[:i]
	}
	return k
}

// awaitsTasks reports whether a wait kind waits on other tasks (what those
// wait on is the finding, not the waiter).
func awaitsTasks(kind string) bool {
	switch kind {
	case "task", "gather", "wait", "as_completed", "wait_for", "shield", "taskgroup":
		return true
	}
	return false
}

// suspended reports whether t is suspended at an await (not running, not
// yet started, not done).
func suspended(t *runtime.TaskInfo) bool {
	return !t.Running && !t.State.Done() && !t.SuspendedAt.IsZero() && waitKind(t) != ""
}

// since is when t began waiting at its suspension point.
func since(t *runtime.TaskInfo) time.Time {
	if !t.Wait.Since.IsZero() {
		return t.Wait.Since
	}
	return t.Suspended
}

// waited is how long t has waited at its suspension point while the loop
// could run (up to v.alive).
func (v *view) waited(t *runtime.TaskInfo) time.Duration {
	return max(0, v.alive.Sub(since(t)))
}

// external reports whether t's wait can end without another task: a
// timer or a ToThread call.
func external(t *runtime.TaskInfo) bool {
	if t.Wait.External || !t.Until.IsZero() {
		return true
	}
	switch waitKind(t) {
	case waitSleep, waitYield, waitThread:
		return true
	}
	return false
}

// ref is t as a finding lists it, at where it waits or, running, where it
// blocks or the await its step resumed from; else where it was spawned.
func (v *view) ref(t *runtime.TaskInfo) wire.FindingTask {
	at := t.SuspendedAt
	if at.IsZero() {
		switch b := v.in.Snapshot.Blocking; {
		case b != nil && b.TaskID == t.ID && !b.At.IsZero():
			at = b.At
		case !t.ResumedFrom.IsZero():
			at = t.ResumedFrom
		default:
			at = t.SpawnedAt
		}
	}
	st := t.State.String()
	if t.Running {
		st = runtime.Running.String()
	}
	return wire.FindingTask{ID: t.ID, Name: t.Name, State: st, At: wireFrame(at), Loop: t.Loop}
}

// refs lists at most maxListed tasks.
func (v *view) refs(ts []*runtime.TaskInfo) []wire.FindingTask {
	out := make([]wire.FindingTask, 0, min(len(ts), maxListed))
	for _, t := range ts[:min(len(ts), maxListed)] {
		out = append(out, v.ref(t))
	}
	return out
}

// sites returns the distinct non-zero frames, in order.
func sites(fs ...runtime.Frame) []wire.Frame {
	out := []wire.Frame{}
	for _, f := range fs {
		w := wireFrame(f)
		if f.IsZero() || slices.Contains(out, w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// short is "file.go:42".
func short(f runtime.Frame) string {
	if f.File == "" {
		return "an unknown line"
	}
	return filepath.Base(f.File) + ":" + strconv.Itoa(f.Line)
}

// names lists up to three task names, quoted: `"a", "b", "c" and 4 more`.
func names(ts []*runtime.TaskInfo) string {
	var b strings.Builder
	n := min(len(ts), 3)
	for i, t := range ts[:n] {
		if i > 0 {
			if i == n-1 && len(ts) == n {
				b.WriteString(" and ")
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString(strconv.Quote(t.Name))
	}
	if len(ts) > n {
		fmt.Fprintf(&b, " and %d more", len(ts)-n)
	}
	return b.String()
}

// subject is `task "x"`, `tasks "a" and "b"` or `5 tasks ("a", "b", "c" and 2 more)`.
func subject(ts []*runtime.TaskInfo) string {
	switch {
	case len(ts) == 1:
		return "task " + strconv.Quote(ts[0].Name)
	case len(ts) <= 3:
		return "tasks " + names(ts)
	}
	return strconv.Itoa(len(ts)) + " tasks (" + names(ts) + ")"
}

// upper capitalises the first letter of a sentence.
func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// human rounds a duration for a sentence.
func human(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		// "5m", "1h", "1m30s": no "0s" or "0m" at the end.
		s := d.Round(time.Second).String()
		if strings.HasSuffix(s, "m0s") {
			s = s[:len(s)-2]
		}
		if strings.HasSuffix(s, "h0m") {
			s = s[:len(s)-2]
		}
		return s
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}

// article is "an" before an await kind that starts with a vowel ("an
// event"), else "a".
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an"
	}
	return "a"
}

// plural is "1 task" or "3 tasks".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
