package doctor

import (
	"fmt"
	"strconv"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// cancelIgnored reports tasks asked to cancel StuckAfter ago or more that
// still run: where the cancellation reached them (and was swallowed) and
// where they are now.
func (v *view) cancelIgnored(out []wire.Finding) []wire.Finding {
	for i := range v.in.Snapshot.Tasks {
		t := &v.in.Snapshot.Tasks[i]
		if t.State != runtime.Cancelling || t.CancelRequested.IsZero() || v.alive.Sub(t.CancelRequested) < v.d {
			continue
		}
		v.told[t.ID] = true
		asked := ""
		if t.CancelMsg != "" {
			asked = fmt.Sprintf(" (%q)", t.CancelMsg)
		}
		where := ""
		if !t.CancelAt.IsZero() {
			where = fmt.Sprintf(": it got the cancellation at %s and went on", short(t.CancelAt))
		}
		now := "still runs"
		if !t.SuspendedAt.IsZero() {
			now = fmt.Sprintf("now waits at %s on %s", short(t.SuspendedAt), t.Awaiting)
		}
		out = append(out, wire.Finding{
			Kind: wire.KindCancelIgnored, Severity: wire.SeverityWarning,
			Summary: fmt.Sprintf("Task %q was asked to cancel %s ago%s and has not ended%s; it %s.",
				t.Name, human(v.alive.Sub(t.CancelRequested)), asked, where, now),
			Tasks: []wire.FindingTask{v.ref(t)},
			Sites: sites(t.CancelAt, t.SpawnedAt),
			Fix:   "When an await returns an error wrapping runtime.ErrCancelled (errors.Is(err, context.Canceled)), clean up and return it instead of going on.",
		})
	}
	return out
}

// unretrievedGrace is how long a failed task's error may wait for the
// task that awaits it to run before it counts as never retrieved.
const unretrievedGrace = time.Second

// unretrieved reports failed tasks of the history whose error nobody
// retrieved, grouped by spawn site, with the error text.
func (v *view) unretrieved(out []wire.Finding) []wire.Finding {
	if !v.in.Retrieval {
		return out
	}
	grace := min(v.d, unretrievedGrace)
	type group struct {
		ts   []*runtime.TaskInfo
		errs map[string]int
	}
	groups := map[runtime.Frame]*group{}
	var order []runtime.Frame
	for i := range v.in.History {
		t := &v.in.History[i]
		if t.State != runtime.Failed || t.Retrieved || v.now.Sub(t.Finished) < grace {
			continue
		}
		g := groups[t.SpawnedAt]
		if g == nil {
			g = &group{errs: map[string]int{}}
			groups[t.SpawnedAt] = g
			order = append(order, t.SpawnedAt)
		}
		g.ts = append(g.ts, t)
		g.errs[t.Error]++
	}
	for _, at := range order {
		g := groups[at]
		last := g.ts[len(g.ts)-1]
		others := ""
		if len(g.errs) > 1 {
			others = fmt.Sprintf(" (and %d other errors)", len(g.errs)-1)
		}
		f := wire.Finding{
			Kind: wire.KindUnretrieved, Severity: wire.SeverityWarning, Count: len(g.ts),
			Summary: fmt.Sprintf("%s spawned at %s failed and nobody retrieved the error: %s%s.",
				upper(subject(g.ts)), short(at), strconv.Quote(last.Error), others),
			Sites: sites(at),
			Fix:   "Keep the task and await it (or call Result, or spawn it in a TaskGroup) and handle its error; a task spawned and forgotten loses its error.",
		}
		for _, t := range g.ts[max(0, len(g.ts)-maxListed):] {
			f.Tasks = append(f.Tasks, wire.FindingTask{ID: t.ID, Name: t.Name, State: t.State.String(), At: wireFrame(t.SpawnedAt), Loop: t.Loop})
		}
		out = append(out, f)
	}
	return out
}
