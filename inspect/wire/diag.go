package wire

// PathDoctor answers GET with a Diagnosis; query: stuck_after (a duration
// such as 10s, default 10s).
const PathDoctor = "/v1/doctor"

// Finding kinds, as DESIGN.md's "Diagnosis" names them.
const (
	KindBlocking      = "blocking"       // a step blocks the loop now, or did recently
	KindDeadlock      = "deadlock"       // a cycle of tasks through lock or semaphore holders
	KindStalled       = "stalled"        // pending tasks and nothing that could wake any of them
	KindStuck         = "stuck"          // a task waited on a future, event, queue or lock too long
	KindLeak          = "leak"           // a group of like tasks that keeps growing, none finishing
	KindHog           = "hog"            // a task that takes most of the loop's time in short steps, or a saturated loop
	KindCancelIgnored = "cancel-ignored" // asked to cancel, still running
	KindUnretrieved   = "unretrieved"    // failed tasks whose error nobody retrieved
)

// Finding severities, worst first.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Diagnosis is what GET /v1/doctor answers: the findings, worst first
// (errors, then warnings, then info). No findings is an empty array.
type Diagnosis struct {
	Findings []Finding `json:"findings"`
}

// Finding is one thing wrong (or worth knowing) in a process.
type Finding struct {
	Kind     string `json:"kind"`     // one of the Kind constants
	Severity string `json:"severity"` // one of the Severity constants
	// Summary is one sentence naming the task(s) and the line at fault.
	Summary string `json:"summary"`
	// Tasks are the tasks concerned, At being where each waits or runs. A
	// group of like tasks lists a few of them; Count says how many.
	Tasks []FindingTask `json:"tasks"`
	// Sites are the other frames that matter: spawn sites, where the
	// awaited resource was made, the blocking call.
	Sites []Frame `json:"sites"`
	// Fix is one sentence on what to change.
	Fix string `json:"fix"`
	// Loop names the loop of the tasks; Count is the number of tasks the
	// finding concerns (at least len(Tasks)).
	Loop  string `json:"loop,omitempty"`
	Count int    `json:"count,omitempty"`
	// Loops, when more than one, is how many loops made this same finding
	// (same kind, fix, sites and lines; a process running the same code on
	// several loops): Loop is the first of them, the summary names the
	// others, Count and Tasks cover them all. Zero means Loop's alone.
	Loops int `json:"loops,omitempty"`
}

// FindingTask is one task of a finding.
type FindingTask struct {
	ID    uint64 `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	At    Frame  `json:"at"`
	// Loop names the task's loop (a finding of several loops lists tasks
	// of each).
	Loop string `json:"loop,omitempty"`
}

// Problem reports whether f is a warning or an error (the severities that
// make taskdump doctor exit 3).
func (f *Finding) Problem() bool {
	return f.Severity == SeverityError || f.Severity == SeverityWarning
}
