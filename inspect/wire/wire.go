// Package wire holds the JSON types that the inspect agent serves and the
// taskdump CLI reads: task records, blocking events, loops, snapshots,
// cancel requests and errors. It is a leaf package: it imports neither the
// runtime nor the agent, so any program can speak the protocol.
//
// Every path of the protocol is versioned (/v1/...). Times are RFC 3339 with
// nanoseconds; durations are integer nanoseconds in fields ending in _ns.
// Zero values are omitted where noted by omitempty.
//
// # Compatibility
//
// /v1/process carries the schema of the JSON types (Process.Schema, this
// package's Schema). Adding a field, an endpoint, an error code or a value
// of an enumerated field keeps the schema: readers ignore what they do not
// know (DecodeTasks skips unknown keys as fast as known ones), so an older
// taskdump reads a newer agent. Removing or renaming a field, changing its
// type, its unit or its meaning bumps Schema; a path change bumps Version.
// A reader that finds a schema above its own says so (CheckSchema) rather
// than misread the answer.
//
// # Adding a field
//
// The fields of Task and Frame are written once, here: TaskFields,
// Task.AppendJSON and the fast decoder are generated from the struct tags
// by internal/gen (run go generate ./inspect/wire after editing a struct;
// TestGeneratedUpToDate fails until you do). Then fill the field in
// inspect's convert.go and refresh the golden file with
// go test ./inspect/wire -run TestGolden -update.
//
// # Stream and recordings
//
// GET /v1/watch (PathWatch) streams WatchMessages as JSON lines: a
// snapshot, then updates with only what changed, and a dropped count when
// the reader is slow; when the agent closes (the program ending), a last
// update, out of turn, then the end of the stream. A recording (taskdump record, the flight recorder at
// PathFlight) is a RecordingHeader line then the same messages. WatchMessage
// documents both as a contract; WatchState folds them, DecodeWatchMessage
// and WatchMessage.AppendJSON read and write them fast.
package wire

import (
	"fmt"
	"time"
)

//go:generate go run ./internal/gen/wiregen

// Version is the protocol version, the first element of every path.
const Version = "v1"

// Schema is the version of the JSON types of this package, served in
// Process.Schema. It changes only when a field is removed or changes type
// or meaning; added fields keep it (see the package doc).
const Schema = 1

// CheckSchema returns nil if this package understands the schema an agent
// reports (schema 0, from an agent that predates the field, is read as 1),
// or an error saying the agent is newer.
func CheckSchema(agent int) error {
	if agent > Schema {
		return fmt.Errorf("wire: the agent speaks wire schema %d, this reader understands schema %d: upgrade the reader", agent, Schema)
	}
	return nil
}

// Paths of the protocol. {id} is a decimal task id.
const (
	PathProcess  = "/v1/process"
	PathLoops    = "/v1/loops"
	PathTasks    = "/v1/tasks"    // GET; query: state, name, older_than, waiting_longer_than, loop, stacks, fields
	PathTask     = "/v1/tasks/"   // GET /v1/tasks/{id}, /v1/tasks/{id}/stack; POST /v1/tasks/{id}/cancel
	PathTree     = "/v1/tree"     // GET; query: fold=N folds N or more identical siblings (Collapse)
	PathBlocking = "/v1/blocking" // GET
	PathHistory  = "/v1/history"  // GET
	PathSnapshot = "/v1/snapshot" // GET; query: stacks=1
	// PathProfile is followed by a profile kind: GET /v1/profile/tasks,
	// /v1/profile/blocking, /v1/profile/cpu?seconds=N answer a gzipped
	// pprof protocol buffer (application/octet-stream), not JSON.
	PathProfile = "/v1/profile/"
)

// Profile kinds served under PathProfile.
const (
	ProfileTasks    = "tasks"    // one sample per live task, its suspension stack
	ProfileBlocking = "blocking" // one sample per blocking event, its stack
	// ProfileCPU is the process's CPU profile over ?seconds= (1 to
	// MaxCPUSeconds, 5 if absent); each sample taken in a task carries the
	// labels task.id, task.name and loop.
	ProfileCPU = "cpu"
)

// MaxCPUSeconds bounds the seconds of a ProfileCPU request.
const MaxCPUSeconds = 30

// Frame is one stack frame: a function and the file:line of the call. File
// is an absolute path. The zero Frame means unknown.
type Frame struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	// Kind is whose code the frame runs, as the runtime tells (runtime.
	// FrameKind): "user" (the program's), "task-runtime" (the task runtime:
	// an awaiting function such as runtime.Sleep) or "go-runtime" (the Go
	// runtime and standard library: time.Sleep); empty for the unknown
	// frame and from agents that predate the field. Renderers and profiles
	// filter frames by it and never by function names.
	Kind string `json:"kind,omitempty"`
}

// IsZero reports whether f is the unknown frame.
func (f Frame) IsZero() bool { return f == Frame{} }

// Task is one task record. Live tasks come from /v1/tasks; ended ones from
// /v1/history, with Finished and Error set.
type Task struct {
	ID       uint64 `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"` // pending, running, cancelling, finished, failed, cancelled
	Loop     string `json:"loop"`
	LoopID   uint64 `json:"loop_id"`
	ParentID uint64 `json:"parent_id"`
	Running  bool   `json:"running,omitempty"`
	Function string `json:"function"`
	// SpawnedAt is where the task was spawned; SuspendedAt is the user's
	// await call where it is suspended: the zero Frame (function and file
	// "", line 0) before its first step, while it runs and once it has
	// ended. Both are always written, as DESIGN lists them.
	SpawnedAt   Frame    `json:"spawned_at"`
	SuspendedAt Frame    `json:"suspended_at"`
	Awaiting    string   `json:"awaiting"`
	Awaits      []uint64 `json:"awaits"`
	// WaitKind is what the task awaits, structured: the first word of
	// Awaiting ("sleep", "future", "lock", "queue.get", "to_thread"...; see
	// runtime.WaitInfo). WaitResource is the id of the awaitable waited on
	// (a Resource of /v1/resources; absent when the task waits on tasks,
	// in Awaits, or on time). WaitingSince is when it began waiting at
	// this await; WaitExternal says the wait can end without another task
	// doing anything (a timer, a ToThread call, a yield). All absent while
	// the task is not waiting.
	WaitKind     string    `json:"wait_kind,omitempty"`
	WaitResource uint64    `json:"wait_resource,omitempty"`
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	WaitExternal bool      `json:"wait_external,omitempty"`
	Until        time.Time `json:"until,omitzero"`
	Created      time.Time `json:"created"`
	Started      time.Time `json:"started,omitzero"`
	Suspended    time.Time `json:"suspended,omitzero"`
	Steps        uint64    `json:"steps"`
	BusyNS       int64     `json:"busy_ns"`
	// RecentBusyNS is how long its steps ran in its loop's recent window
	// (Loop.Stats.WindowNS): its share of the loop is RecentBusyNS over
	// Loop.Stats.BusyNS; absent when 0, as it is for most tasks of a
	// long list.
	RecentBusyNS int64  `json:"recent_busy_ns,omitempty"`
	SchedWaitNS  int64  `json:"sched_wait_ns"`
	IdleNS       int64  `json:"idle_ns"`
	CancelMsg    string `json:"cancel_msg,omitempty"`
	CancelBy     string `json:"cancel_by,omitempty"`
	// Stack is the full suspension stack, innermost first, when asked for.
	Stack    []Frame   `json:"stack,omitempty"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// Done reports whether the task has ended.
func (t *Task) Done() bool { return Ended(t.State) }

// Ended reports whether state is one a task ends in: finished, failed or
// cancelled.
func Ended(state string) bool {
	switch state {
	case "finished", "failed", "cancelled":
		return true
	}
	return false
}

// BlockEvent is a step that ran longer than the loop's slow-step threshold,
// blocking every other task of its loop; Ongoing while it still does.
type BlockEvent struct {
	Loop       string    `json:"loop"`
	LoopID     uint64    `json:"loop_id"`
	TaskID     uint64    `json:"task_id"`
	TaskName   string    `json:"task_name"`
	Started    time.Time `json:"started"`
	DurationNS int64     `json:"duration_ns"`
	Ongoing    bool      `json:"ongoing"`
	// Stack is the blocked goroutine's stack, innermost first.
	Stack []Frame `json:"stack"`
	// At is the innermost user frame, Call what it was calling there.
	At   Frame  `json:"at,omitzero"`
	Call string `json:"call,omitempty"`
}

// Loop summarises one running loop.
type Loop struct {
	ID      uint64    `json:"id"`
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
	Tasks   int       `json:"tasks"`
	// Current is the id of the task whose step is running (0 if none), and
	// CurrentForNS how long it has run.
	Current      uint64      `json:"current,omitempty"`
	CurrentForNS int64       `json:"current_for_ns,omitempty"`
	Blocking     *BlockEvent `json:"blocking,omitempty"`
	// Stats is the loop's recent activity: when it last had work, what
	// could wake it, its lag and busy time.
	Stats LoopStats `json:"stats"`
}

// Process describes the process the agent runs in. Schema is the agent's
// wire Schema.
type Process struct {
	Schema    int       `json:"schema"`
	PID       int       `json:"pid"`
	UID       int       `json:"uid"`
	Command   []string  `json:"command"`
	GoVersion string    `json:"go_version"`
	ReadOnly  bool      `json:"read_only"`
	Started   time.Time `json:"started"`
	Loops     []Loop    `json:"loops"`
}

// LoopSnapshot is one loop's live tasks at one moment.
type LoopSnapshot struct {
	Loop
	Taken     time.Time    `json:"taken"`
	TaskList  []Task       `json:"task_list"`
	History   []Task       `json:"history"`
	BlockList []BlockEvent `json:"blocking_events"`
}

// Snapshot is everything the agent knows, as /v1/snapshot returns it.
type Snapshot struct {
	Taken   time.Time      `json:"taken"`
	Process Process        `json:"process"`
	Loops   []LoopSnapshot `json:"loops"`
}

// CancelRequest is the optional body of POST /v1/tasks/{id}/cancel.
type CancelRequest struct {
	Msg string `json:"msg,omitempty"`
}

// CancelResult answers a cancel. Requested is true when the request was
// handed to the loop; LoopBlocked says the loop was blocked by a step at the
// time, so delivery waits until it regains control.
type CancelResult struct {
	ID          uint64 `json:"id"`
	Name        string `json:"name"`
	Loop        string `json:"loop"`
	Requested   bool   `json:"requested"`
	State       string `json:"state"`
	LoopBlocked bool   `json:"loop_blocked,omitempty"`
}

// StackResult answers GET /v1/tasks/{id}/stack. Live is true when the stack
// is that of the running goroutine rather than the suspension stack.
type StackResult struct {
	Task  Task    `json:"task"`
	Live  bool    `json:"live"`
	Stack []Frame `json:"stack"`
}

// Error codes carried by Error.
const (
	CodeBadRequest = "bad_request"
	CodeNotFound   = "not_found" // unknown path
	CodeNoSuchTask = "no_such_task"
	CodeFinished   = "task_finished"
	CodePermission = "permission_denied"
	CodeReadOnly   = "read_only"
	CodeTooLarge   = "too_large"
	CodeBusy       = "busy"
	CodeMethod     = "method_not_allowed"
	CodeInternal   = "internal"
)

// Error is the body of every non-2xx answer.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"error"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }
