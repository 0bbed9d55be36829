package inspect

import (
	"strings"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

func wireFrame(f runtime.Frame) wire.Frame { return wire.Frame(f) }

func wireFrames(fs []runtime.Frame) []wire.Frame {
	if fs == nil {
		return nil
	}
	out := make([]wire.Frame, len(fs))
	for i, f := range fs {
		out[i] = wire.Frame(f)
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
		Awaiting: ti.Awaiting, Awaits: ti.Awaits, Until: ti.Until,
		Created: ti.Created, Started: ti.Started, Suspended: ti.Suspended,
		Steps: ti.Steps, BusyNS: int64(ti.Busy), SchedWaitNS: int64(ti.SchedWait), IdleNS: int64(ti.Idle),
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
	at, call := ev.At, ev.Call
	if at.IsZero() || !isUserFunc(at.Function) {
		// The runtime may name a standard library frame (time.Sleep);
		// point at the user's call instead.
		if i := userFrame(ev.Stack); i >= 0 {
			at = ev.Stack[i]
			if i > 0 {
				call = ev.Stack[i-1].Function
			}
		}
	}
	out.At, out.Call = wireFrame(at), call
	return out
}

// runtimePkg is the import path of the task runtime, whose frames are
// machinery, not user code.
const runtimePkg = "github.com/taskdump/taskdump/runtime."

// isUserFunc reports whether fn (a full function name) belongs to user
// code: not the standard library (an import path without a dot in its
// first element, except main) and not the task runtime.
func isUserFunc(fn string) bool {
	if fn == "" || strings.HasPrefix(fn, runtimePkg) {
		return false
	}
	first, _, ok := strings.Cut(fn, "/")
	if !ok {
		// No slash: a standard package (time.Sleep) or main.
		return strings.HasPrefix(fn, "main.")
	}
	return strings.Contains(first, ".")
}

// userFrame returns the index of the innermost user frame of stack, or -1.
func userFrame(stack []runtime.Frame) int {
	for i, f := range stack {
		if isUserFunc(f.Function) {
			return i
		}
	}
	return -1
}

func wireLoop(s *runtime.LoopSnapshot) wire.Loop {
	lp := wire.Loop{ID: s.ID, Name: s.Name, Started: s.Started, Tasks: len(s.Tasks),
		Current: s.Current, CurrentForNS: int64(s.CurrentFor)}
	if s.Blocking != nil {
		b := wireBlock(s.Blocking)
		lp.Blocking = &b
	}
	return lp
}
