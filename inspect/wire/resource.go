package wire

import "time"

// PathResources answers GET with a JSON array of Resource: the awaitables
// of every loop, loop by loop, in the order the runtime lists them.
const PathResources = "/v1/resources"

// Resource kinds, as the runtime names them (runtime.ResourceInfo.Kind).
const (
	ResourceFuture    = "future"
	ResourceEvent     = "event"
	ResourceLock      = "lock"
	ResourceSemaphore = "semaphore"
	ResourceQueue     = "queue"
	ResourceTaskGroup = "taskgroup"
	ResourceToThread  = "to_thread"
)

// Resource is one awaitable of a loop (a Future, Event, Lock, Semaphore,
// Queue, TaskGroup or ToThread call): its identity, where it was made,
// and who holds and waits on it. Task ids name tasks of the same loop.
type Resource struct {
	ID     uint64 `json:"id"`
	Kind   string `json:"kind"` // one of the Resource constants
	Loop   string `json:"loop"`
	LoopID uint64 `json:"loop_id"`
	// CreatedAt is the user's call that made it (NewLock, NewQueue,
	// ToThread...), zero for a zero-value Lock or Event; CreatedBy the id
	// of the task that made it (0: made outside a task); Created the start
	// of the step that made it (zero: made outside the loop).
	CreatedAt Frame     `json:"created_at"`
	CreatedBy uint64    `json:"created_by,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	// Holders hold it: a Lock's holder, a Semaphore's permit holders (one
	// entry per permit, the 64 oldest: Cap-Len permits are taken in all),
	// a ToThread call's caller, a TaskGroup's owner.
	Holders []uint64 `json:"holders"`
	// Waiters wait on it, in the order they will be served (a Queue's
	// getters); Putters are a Queue's tasks waiting for room.
	Waiters []uint64 `json:"waiters"`
	Putters []uint64 `json:"putters,omitempty"`
	// Len and Cap: a Queue's length and maxsize (0: unbounded); a
	// Semaphore's free permits and initial value. Zero for other kinds.
	Len int `json:"len"`
	Cap int `json:"cap"`
	// Set: an Event is set, a Lock is locked. LastSet and LastCleared are
	// when an Event was last set and cleared (absent: never).
	Set         bool      `json:"set"`
	LastSet     time.Time `json:"last_set,omitzero"`
	LastCleared time.Time `json:"last_cleared,omitzero"`
}
