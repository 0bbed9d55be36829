package main

import (
	"cmp"
	"slices"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// maxTopBlocks bounds the blocking events the view keeps (the newest).
const maxTopBlocks = 200

// topFold is what the view keeps of a stream: the messages folded by
// wire.WatchState, and the blocking events seen (which the messages carry
// once, when they begin). The zero topFold is empty.
type topFold struct {
	st     wire.WatchState
	blocks []wire.BlockEvent
	hist   map[uint64]*stepHist
	// base is each task's steps and busy time as of its last record that
	// was not running: a running record's busy time counts a step that
	// has not ended, which the histogram counts once it has.
	base map[uint64]histBase
	// tasks and hists are data's tasks, by id, and step histograms as of
	// the last message that changed a task; stale says one did since. A
	// process whose 100,000 tasks are idle sends messages that change
	// none: data then hands out the same (read-only) slice and map rather
	// than copying and sorting them every second.
	tasks []*wire.Task
	hists map[uint64]stepHist
	stale bool
	// ended are the tasks the last message says ended.
	ended []wire.EndedTask
	// closed are the tasks of the loops that the last message that
	// changed anything closed (closedN of them), each in the state it
	// ended in: the view keeps them, as a process that exits leaves them
	// (its agent's last message closes its loops), until something else
	// changes.
	closed  []*wire.Task
	closedN int
}

// histBase is a task's steps and busy time (ns) the histogram counted to.
type histBase struct {
	steps uint64
	busy  int64
}

// stepHistBounds are the upper bounds of stepHist's buckets; the last
// bucket has none.
var stepHistBounds = []time.Duration{10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond,
	10 * time.Millisecond, 100 * time.Millisecond}

// stepHist counts a task's steps by duration, as far as the stream tells:
// a record carries only a task's total busy time and step count, so the
// steps a task took between two messages are counted at their mean.
type stepHist [6]uint64

// add counts n steps that took busy in all.
func (h *stepHist) add(n uint64, busy time.Duration) {
	mean := busy / time.Duration(n)
	i := 0
	for i < len(stepHistBounds) && mean >= stepHistBounds[i] {
		i++
	}
	h[i] += n
}

// apply folds one message of the stream or of a recording.
func (f *topFold) apply(m *wire.WatchMessage) {
	if m.Type == wire.WatchSnapshot {
		f.blocks = nil
	}
	f.countSteps(m)
	f.ended = nil // a new slice each message: the view keeps the last one
	for i := range m.Loops {
		f.ended = append(f.ended, m.Loops[i].Ended...)
	}
	loops := len(f.st.Loops)
	changed := m.Type == wire.WatchSnapshot
	for i := range m.Loops {
		if wl := &m.Loops[i]; len(wl.New) > 0 || len(wl.Changed) > 0 || len(wl.Ended) > 0 || wl.Closed {
			changed = true
		}
	}
	if changed {
		f.closed, f.closedN = f.closedTasks(m), 0
		for i := range m.Loops {
			if m.Loops[i].Closed {
				f.closedN++
			}
		}
		f.stale = true
	}
	f.st.Apply(m)
	if len(f.st.Loops) != loops || f.tasks == nil {
		f.stale = true
	}
	for i := range m.Loops {
		f.blocks = append(f.blocks, m.Loops[i].BlockList...)
	}
	if n := len(f.blocks) - maxTopBlocks; n > 0 {
		f.blocks = slices.Delete(f.blocks, 0, n)
	}
}

// closedTasks returns the tasks of the loops m closes, as the state
// before m holds them, in the states m says they ended in (a task that
// began and ended between two messages has only its id and name).
func (f *topFold) closedTasks(m *wire.WatchMessage) []*wire.Task {
	var out []*wire.Task
	for i := range m.Loops {
		wl := &m.Loops[i]
		if !wl.Closed {
			continue
		}
		var live map[uint64]*wire.Task
		if ls := f.st.Loops[wl.ID]; ls != nil {
			live = ls.Tasks
		}
		ended := make(map[uint64]bool, len(wl.Ended))
		for _, e := range wl.Ended {
			ended[e.ID] = true
			t := &wire.Task{ID: e.ID, Name: e.Name, Loop: wl.Name, LoopID: wl.ID}
			if old := live[e.ID]; old != nil {
				c := *old // the stream's records are read-only
				t = &c
			}
			// As an ended task's record reads: no wait, no suspension.
			t.State, t.Running, t.Finished, t.Error = e.State, false, e.Finished, e.Error
			t.Awaiting, t.Awaits, t.SuspendedAt, t.Suspended, t.Stack, t.RecentBusyNS = "", nil, wire.Frame{}, time.Time{}, nil, 0
			t.WaitKind, t.WaitResource, t.WaitingSince, t.WaitExternal, t.Until = "", 0, time.Time{}, false, time.Time{}
			out = append(out, t)
		}
		for id, t := range live {
			if !ended[id] {
				out = append(out, t) // its end not told (a loop that lost track): as last seen
			}
		}
	}
	return out
}

// countSteps adds to the step histograms the steps m's records say ended
// since each task's base (its last record that was not running), before m
// is folded into the state.
func (f *topFold) countSteps(m *wire.WatchMessage) {
	if f.hist == nil {
		f.hist = make(map[uint64]*stepHist)
	}
	if f.base == nil || m.Type == wire.WatchSnapshot {
		f.resetBases(m)
	}
	for i := range m.Loops {
		wl := &m.Loops[i]
		ls := f.st.Loops[wl.ID]
		for j := range wl.New {
			if t := &wl.New[j]; !t.Running {
				f.base[t.ID] = histBase{t.Steps, t.BusyNS}
			}
		}
		for j := range wl.Changed {
			t := &wl.Changed[j]
			if t.Running {
				continue // its step has not ended: counted once it has
			}
			b, ok := f.base[t.ID]
			if !ok && ls != nil {
				if old := ls.Tasks[t.ID]; old != nil && !old.Running {
					b, ok = histBase{old.Steps, old.BusyNS}, true
				}
			}
			f.base[t.ID] = histBase{t.Steps, t.BusyNS}
			if !ok || t.Steps <= b.steps || t.BusyNS < b.busy {
				continue
			}
			h := f.hist[t.ID]
			if h == nil {
				h = new(stepHist)
				f.hist[t.ID] = h
			}
			h.add(t.Steps-b.steps, time.Duration(t.BusyNS-b.busy))
		}
		for _, e := range wl.Ended {
			delete(f.hist, e.ID)
			delete(f.base, e.ID)
		}
	}
}

// resetBases starts the histograms' bases over. A snapshot (the first, or
// one the agent sends to start over) lists every live task: the
// histograms of the tasks it leaves out, which have ended, go.
func (f *topFold) resetBases(m *wire.WatchMessage) {
	f.base = make(map[uint64]histBase)
	if m.Type != wire.WatchSnapshot {
		return
	}
	live := make(map[uint64]bool)
	for i := range m.Loops {
		for j := range m.Loops[i].New {
			live[m.Loops[i].New[j].ID] = true
		}
	}
	for id := range f.hist {
		if !live[id] {
			delete(f.hist, id)
		}
	}
}

// data is the view's data as of the last message: loops by id, tasks by
// id, the blocking events the loops still report as ongoing updated.
func (f *topFold) data() topData {
	p := &f.st.Process
	d := topData{Taken: f.st.Time, PID: p.PID, Command: p.Command, ReadOnly: p.ReadOnly,
		Findings: f.st.Findings, Dropped: f.st.Dropped}
	for _, ls := range f.st.Loops {
		d.Loops = append(d.Loops, topLoop{Loop: ls.Loop, HasStats: true})
	}
	slices.SortFunc(d.Loops, func(a, b topLoop) int { return cmp.Compare(a.ID, b.ID) })
	if f.stale || f.tasks == nil {
		var ts []*wire.Task
		for _, ls := range f.st.Loops {
			for _, t := range ls.Tasks {
				ts = append(ts, t) // Apply replaces a changed task's record: this one stays as it is
			}
		}
		ts = append(ts, f.closed...)
		slices.SortFunc(ts, func(a, b *wire.Task) int { return cmp.Compare(a.ID, b.ID) })
		hs := make(map[uint64]stepHist, len(f.hist))
		for id, h := range f.hist {
			hs[id] = *h
		}
		f.tasks, f.hists, f.stale = ts, hs, false
	}
	d.Tasks, d.StepHist, d.Ended = f.tasks, f.hists, f.ended
	d.ClosedLoops = f.closedN
	shown := make(map[uint64]bool)
	for _, t := range f.closed {
		if _, live := f.st.Loops[t.LoopID]; !live && !shown[t.LoopID] {
			shown[t.LoopID] = true
			d.closedShown++
		}
	}
	d.Blocking = slices.Clone(f.blocks)
	for i := range d.Blocking {
		e := &d.Blocking[i]
		if !e.Ongoing {
			continue
		}
		// The loop's summary says whether the block still goes on.
		e.Ongoing = false
		for _, l := range d.Loops {
			if b := l.Blocking; b != nil && b.TaskID == e.TaskID && b.Started.Equal(e.Started) {
				*e = *b
			}
		}
	}
	return d
}
