package main

import (
	"cmp"
	"slices"

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
}

// apply folds one message of the stream or of a recording.
func (f *topFold) apply(m *wire.WatchMessage) {
	if m.Type == wire.WatchSnapshot {
		f.blocks = nil
	}
	f.st.Apply(m)
	for i := range m.Loops {
		f.blocks = append(f.blocks, m.Loops[i].BlockList...)
	}
	if n := len(f.blocks) - maxTopBlocks; n > 0 {
		f.blocks = slices.Delete(f.blocks, 0, n)
	}
}

// data is the view's data as of the last message: loops by id, tasks by
// id, the blocking events the loops still report as ongoing updated.
func (f *topFold) data() topData {
	p := &f.st.Process
	d := topData{Taken: f.st.Time, PID: p.PID, Command: p.Command, ReadOnly: p.ReadOnly,
		Findings: f.st.Findings, Dropped: f.st.Dropped}
	for _, ls := range f.st.Loops {
		d.Loops = append(d.Loops, topLoop{Loop: ls.Loop, Stats: ls.Stats, HasStats: true})
		for _, t := range ls.Tasks {
			d.Tasks = append(d.Tasks, *t)
		}
	}
	slices.SortFunc(d.Loops, func(a, b topLoop) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Tasks, func(a, b wire.Task) int { return cmp.Compare(a.ID, b.ID) })
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
