package inspect

import (
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// wireFrame converts a frame; its kind is the runtime's, by name.
func wireFrame(f runtime.Frame) wire.Frame {
	return wire.Frame{Function: f.Function, File: f.File, Line: f.Line, Kind: f.Kind.String()}
}

// wireFrames converts a stack as the runtime shaped it: no frame is added,
// dropped or reordered here.
func wireFrames(fs []runtime.Frame) []wire.Frame {
	if fs == nil {
		return nil
	}
	out := make([]wire.Frame, len(fs))
	for i, f := range fs {
		out[i] = wireFrame(f)
	}
	return out
}

// wireTask converts a task record; it allocates only for the stack and the
// suspension frame.
func wireTask(dst *wire.Task, ti *runtime.TaskInfo) {
	*dst = wire.Task{
		ID: ti.ID, Name: ti.Name, State: ti.State.String(), Loop: ti.Loop, LoopID: ti.LoopID,
		ParentID: ti.ParentID, Running: ti.Running, Function: ti.Function,
		SpawnedAt: wireFrame(ti.SpawnedAt), SuspendedAt: wireFrame(ti.SuspendedAt),
		Awaiting: ti.Awaiting, Awaits: orEmpty(ti.Awaits),
		WaitKind: ti.Wait.Kind, WaitResource: ti.Wait.Resource, WaitingSince: ti.Wait.Since, WaitExternal: ti.Wait.External,
		Until:   ti.Until,
		Created: ti.Created, Started: ti.Started, Suspended: ti.Suspended,
		Steps: ti.Steps, BusyNS: int64(ti.Busy), RecentBusyNS: int64(ti.RecentBusy), SchedWaitNS: int64(ti.SchedWait), IdleNS: int64(ti.Idle),
		CancelMsg: ti.CancelMsg, CancelBy: ti.CancelBy,
		Stack:    wireFrames(ti.Stack),
		Finished: ti.Finished, Error: ti.Error,
	}
}

func wireBlock(ev *runtime.BlockEvent) wire.BlockEvent {
	out := wire.BlockEvent{
		Loop: ev.Loop, LoopID: ev.LoopID, TaskID: ev.TaskID, TaskName: ev.TaskName,
		Started: ev.Started, DurationNS: int64(ev.Duration), Ongoing: ev.Ongoing,
		Stack: wireFrames(ev.Stack), Call: ev.Call,
	}
	if out.Stack == nil {
		out.Stack = []wire.Frame{}
	}
	out.At = wireFrame(ev.At) // the runtime's, computed once: not re-derived here
	return out
}

func wireLoop(s *runtime.LoopSnapshot) wire.Loop {
	lp := wire.Loop{ID: s.ID, Name: s.Name, Started: s.Started, Tasks: len(s.Tasks),
		Current: s.Current, CurrentForNS: int64(s.CurrentFor), Stats: wireStats(s.Stats)}
	if s.Blocking != nil {
		b := wireBlock(s.Blocking)
		lp.Blocking = &b
	}
	return lp
}

// orEmpty returns ids, or an empty list (not nil, which JSON writes as
// null) if there are none: a task record's awaits is always a list.
func orEmpty(ids []uint64) []uint64 {
	if ids == nil {
		return []uint64{}
	}
	return ids
}
