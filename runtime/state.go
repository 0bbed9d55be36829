package runtime

// State is where a task is in its life. The zero value is Pending.
//
// A task starts Pending, is Running while one of its steps executes on the
// loop, goes back to Pending when it suspends at an await, and moves to
// Cancelling once a cancel has been requested and not yet finished. It ends in
// exactly one of Finished, Failed or Cancelled.
type State uint8

// The states of a task.
const (
	Pending    State = iota // created or suspended: waiting to run or for what it awaits
	Running                 // one of its steps is executing on the loop goroutine
	Cancelling              // a cancel was requested; the task has not ended yet
	Finished                // its function returned a nil error
	Failed                  // its function returned a non-cancellation error or panicked
	Cancelled               // it was cancelled (its function returned an error wrapping ErrCancelled)
)

var stateNames = [...]string{"pending", "running", "cancelling", "finished", "failed", "cancelled"}

// String returns the lower-case name used in reprs and on the wire:
// "pending", "running", "cancelling", "finished", "failed" or "cancelled".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Done reports whether s is one of the final states.
func (s State) Done() bool { return s >= Finished }

// ParseState returns the State whose String is name.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}
