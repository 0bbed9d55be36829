package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unsafe"
)

// Paths of the stream.
const (
	// PathWatch streams WatchMessages as JSON lines (application/x-ndjson)
	// until the client goes away: GET; query: interval (a duration such as
	// 500ms, default 1s, at least 100ms), stacks=1 (task records carry
	// Stack).
	PathWatch = "/v1/watch"
	// PathFlight answers the agent's flight recorder, the last seconds of
	// the stream, as JSON lines in the same shape: a snapshot of the
	// oldest moment kept, then the updates since, then the end of the body.
	PathFlight = "/v1/flight"
)

// Watch message types (WatchMessage.Type).
const (
	// WatchSnapshot is a full picture: every loop, each with all its live
	// tasks in New. It replaces whatever the reader knew. A stream starts
	// with one and may send another at any time (the agent does when it
	// lost track of what changed).
	WatchSnapshot = "snapshot"
	// WatchUpdate carries only what changed since the previous message.
	WatchUpdate = "update"
)

// WatchMessage is one message of the stream served at PathWatch and one line
// of a recording: a snapshot, then updates carrying only what changed. It
// is modelled on tokio console-api's TaskUpdate.
//
// # The stream
//
// Each message is one JSON object on one line, ending with '\n'. Seq counts
// the messages of one stream from 1, with no gaps; Time is when the agent
// took the message. The first message is a snapshot (Type WatchSnapshot,
// with Process); the next are updates (WatchUpdate). For each loop an update
// lists the loop's summary and stats (always), the tasks that appeared (New,
// full records), the tasks whose record changed (Changed, full records:
// state, suspension point, timings, awaiting), the tasks that ended (Ended,
// with their final state), and the blocking events that began since the
// previous message. A loop that has ended comes once with Closed set and is
// not listed again. A task that appeared and ended between two messages is
// listed in Ended only. Time alone changes no record: a task parked at an
// await is not listed again while it waits (readers compute how long from
// suspended and the message's time). In a stream with stacks (stacks=1), a
// changed task whose stack is the one last sent for it comes without it
// and is listed in SameStack.
//
// A reader keeps a map of live tasks per loop: on a snapshot it drops
// everything; on each message it stores New and Changed by id (keeping the
// stack of those in SameStack) and deletes Ended (WatchState does exactly
// this).
//
// Findings are the doctor's findings for the whole process, sent in full
// when they differ from the previous message's (a snapshot always carries
// them; an empty array means none); absent means unchanged.
//
// The agent never buffers more than one message per client: when a client
// reads more slowly than the interval, the ticks it missed are folded into
// the next message (which then carries everything that changed since the
// previous one) and Dropped says how many ticks were skipped.
//
// # Recording
//
// A recording (taskdump record, the flight recorder's dump) is a file of
// JSON lines: first a RecordingHeader line, whose format is
// "taskdump-recording" and version RecordingVersion, then the messages of
// the stream, one per line, as they came. A file whose name ends in .gz is
// gzip-compressed as a whole. A reader refuses a header with another format
// or a higher version, skips fields it does not know (as everywhere in this
// package), and bounds each line (MaxRecordingLine). Adding fields keeps
// version 1; removing or changing one bumps it.
type WatchMessage struct {
	Type string    `json:"type"` // WatchSnapshot or WatchUpdate
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Dropped is the number of ticks skipped before this message because
	// the client read too slowly; their changes are folded into this one.
	Dropped uint64 `json:"dropped,omitempty"`
	// Process is set in snapshots.
	Process *Process `json:"process,omitempty"`
	// Loops are the loops that exist (and, once, those that closed).
	Loops []WatchLoop `json:"loops"`
	// Findings are the doctor's findings, when they changed (see above);
	// nil (absent) means unchanged, an empty array means none.
	Findings []Finding `json:"findings,omitzero"`
}

// WatchLoop is one loop in a WatchMessage: its summary (Loop: id, name,
// task count, the step running now, an ongoing block, its stats), and what
// changed among its tasks.
type WatchLoop struct {
	Loop
	// New are the tasks that appeared since the previous message (in a
	// snapshot: every live task), full records.
	New []Task `json:"new,omitempty"`
	// Changed are the tasks whose record changed since the previous
	// message, full records.
	Changed []Task `json:"changed,omitempty"`
	// SameStack lists, in a stream that carries stacks (stacks=1), the
	// tasks of Changed whose stack is the one sent last for them: their
	// record here has none, the reader keeps the one it has.
	SameStack []uint64 `json:"same_stack,omitempty"`
	// Ended are the tasks that ended since the previous message.
	Ended []EndedTask `json:"ended,omitempty"`
	// BlockList are the blocking events that began since the previous
	// message (an ongoing one is also in Loop.Blocking).
	BlockList []BlockEvent `json:"blocking_events,omitempty"`
	// Closed says the loop has ended; it is not listed again. Ended then
	// lists how its tasks ended since the previous message.
	Closed bool `json:"closed,omitempty"`
}

// EndedTask is a task that ended: its id and final state (finished,
// failed, cancelled), with when and, for a failure, the error.
type EndedTask struct {
	ID       uint64    `json:"id"`
	Name     string    `json:"name,omitempty"`
	State    string    `json:"state"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// LoopStats is a loop's recent activity.
type LoopStats struct {
	// LastWork is when the loop last had work.
	LastWork time.Time `json:"last_work,omitzero"`
	// Ready tasks ready to run now, Timers pending, ToThread calls in
	// flight (Threads), thread-safe calls not yet run (Pending).
	Ready   int `json:"ready"`
	Timers  int `json:"timers"`
	Threads int `json:"threads"`
	Pending int `json:"pending"`
	// LagNS is the recent loop lag: how long ready tasks waited to run.
	LagNS int64 `json:"lag_ns"`
	// BusyNS is how long steps ran in the recent window of WindowNS.
	WindowNS int64 `json:"window_ns"`
	BusyNS   int64 `json:"busy_ns"`
}

// Recording format identifiers (RecordingHeader).
const (
	RecordingFormat  = "taskdump-recording"
	RecordingVersion = 1
	// MaxRecordingLine bounds one line of a recording or of the stream a
	// reader accepts: sized, like the client's bound on a task list, for
	// a first snapshot of 1,000,000 tasks (about 830 bytes each). A
	// reader's line grows as it reads, so the bound costs nothing until
	// a line is that long.
	MaxRecordingLine = 5 << 28 // 1.25 GiB
)

// RecordingHeader is the first line of a recording.
type RecordingHeader struct {
	Format  string `json:"format"`  // RecordingFormat
	Version int    `json:"version"` // RecordingVersion
	// Schema is the wire Schema of the agent recorded.
	Schema int `json:"schema"`
	// Started is when the recording began; Flight says it is a dump of
	// the agent's flight recorder (whose first message is older).
	Started time.Time `json:"started"`
	Flight  bool      `json:"flight,omitempty"`
	// Process is the process recorded, as /v1/process answered.
	Process Process `json:"process"`
}

// WatchState is what a reader of the stream knows: the live tasks of each
// loop, as the messages applied so far tell. The zero WatchState is empty
// and ready to use; it is not safe for concurrent use.
type WatchState struct {
	// Process is the process of the last snapshot.
	Process Process
	// Time and Seq are those of the last message applied.
	Time time.Time
	Seq  uint64
	// Loops are the open loops by id; Tasks their live tasks by id.
	Loops map[uint64]*WatchLoopState
	// Findings are the doctor's latest findings.
	Findings []Finding
	// Dropped is the sum of the messages' Dropped.
	Dropped uint64
}

// WatchLoopState is one loop of a WatchState.
type WatchLoopState struct {
	Loop  Loop
	Stats LoopStats
	Tasks map[uint64]*Task
}

// Apply folds m into s: a snapshot replaces everything, an update stores
// New and Changed tasks by id (a Changed task listed in SameStack keeps
// the stack it had), deletes Ended ones and closed loops.
//
// The records s holds are never changed: a changed task gets a new
// record, so a caller may keep pointers to them. s holds the records of a
// snapshot where m has them (100,000 tasks are held once, not twice):
// do not change m's tasks after. Those of an update are copied, so that
// one task that does not change again does not keep its whole update.
func (s *WatchState) Apply(m *WatchMessage) {
	if m.Type == WatchSnapshot || s.Loops == nil {
		s.Loops = make(map[uint64]*WatchLoopState, len(m.Loops))
	}
	if m.Process != nil {
		s.Process = *m.Process
	}
	s.Time, s.Seq = m.Time, m.Seq
	s.Dropped += m.Dropped
	if m.Findings != nil {
		s.Findings = m.Findings
	}
	for i := range m.Loops {
		wl := &m.Loops[i]
		if wl.Closed {
			delete(s.Loops, wl.ID)
			continue
		}
		ls := s.Loops[wl.ID]
		if ls == nil {
			ls = &WatchLoopState{Tasks: make(map[uint64]*Task, len(wl.New))}
			s.Loops[wl.ID] = ls
		}
		ls.Loop, ls.Stats = wl.Loop, wl.Stats
		for j := range wl.New {
			if m.Type == WatchSnapshot {
				ls.Tasks[wl.New[j].ID] = &wl.New[j]
				continue
			}
			t := wl.New[j]
			ls.Tasks[t.ID] = &t
		}
		var same map[uint64]bool
		if len(wl.SameStack) > 0 {
			same = make(map[uint64]bool, len(wl.SameStack))
			for _, id := range wl.SameStack {
				same[id] = true
			}
		}
		for j := range wl.Changed {
			t := wl.Changed[j]
			if old := ls.Tasks[t.ID]; old != nil && same[t.ID] {
				t.Stack = old.Stack
			}
			ls.Tasks[t.ID] = &t
		}
		for _, e := range wl.Ended {
			delete(ls.Tasks, e.ID)
		}
	}
}

// AppendJSON appends m as one JSON object (without a newline) to dst and
// returns the extended buffer. It is what json.Marshal gives, but for the
// keys' order (each loop's task lists come last), and several times faster
// on long task lists: their records are written by Task.AppendJSON.
// WriteJSON writes the same bytes without holding them all.
func (m *WatchMessage) AppendJSON(dst []byte) ([]byte, error) {
	return m.appendJSON(dst, nil)
}

// spillAt is the size at which WriteJSON writes out what it has encoded.
const spillAt = 64 << 10

// WriteJSON writes m to w as AppendJSON encodes it, followed by a newline,
// in pieces of about 64 KiB: a message of 100,000 tasks with their stacks
// (~110 MB) is never held whole, where appending it to one buffer
// allocated ~5 times its size as the buffer grew. buf is a buffer to reuse
// (nil for none); WriteJSON returns it for the next call. After an error w
// may have received part of the message.
func (m *WatchMessage) WriteJSON(w io.Writer, buf []byte) ([]byte, error) {
	spill := func(b []byte) ([]byte, error) {
		_, err := w.Write(b)
		return b[:0], err
	}
	buf, err := m.appendJSON(buf[:0], spill)
	if err != nil {
		return buf[:0], err
	}
	buf = append(buf, '\n')
	_, err = w.Write(buf)
	return buf[:0], err
}

// appendJSON is AppendJSON; with spill, it hands spill what it has encoded
// whenever that reaches spillAt, and goes on with what spill returns.
func (m *WatchMessage) appendJSON(dst []byte, spill func([]byte) ([]byte, error)) ([]byte, error) {
	env := *m
	env.Loops = nil
	b, err := json.Marshal(&env)
	if err != nil {
		return dst, err
	}
	// The message's own key, not the process record's (whose loops are
	// null when it has none).
	i := topLevelKey(b, `"loops":null`)
	if i < 0 {
		return dst, errLoopsKey
	}
	dst = append(dst, b[:i]...)
	dst = append(dst, `"loops":[`...)
	for j := range m.Loops {
		if j > 0 {
			dst = append(dst, ',')
		}
		if dst, err = m.Loops[j].appendJSON(dst, spill); err != nil {
			return dst, err
		}
	}
	dst = append(dst, ']')
	return append(dst, b[i+len(`"loops":null`):]...), nil
}

var errLoopsKey = jsonError("wire: encoding a watch message: no loops key")

// topLevelKey returns the index in the JSON object b of key (with what
// follows it, as `"loops":null`) as a member of b itself, not of an object
// or array nested in it, or -1. Strings are skipped whole.
func topLevelKey(b []byte, key string) int {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			if depth == 1 && bytes.HasPrefix(b[i:], []byte(key)) {
				return i
			}
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return -1
}

type jsonError string

func (e jsonError) Error() string { return string(e) }

func (wl *WatchLoop) appendJSON(dst []byte, spill func([]byte) ([]byte, error)) ([]byte, error) {
	rest := *wl
	rest.New, rest.Changed = nil, nil
	b, err := json.Marshal(&rest)
	if err != nil {
		return dst, err
	}
	dst = append(dst, b[:len(b)-1]...) // without its '}'
	for _, l := range [2]struct {
		key string
		ts  []Task
	}{{`,"new":[`, wl.New}, {`,"changed":[`, wl.Changed}} {
		if len(l.ts) == 0 {
			continue
		}
		dst = append(dst, l.key...)
		for k := range l.ts {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = l.ts[k].AppendJSON(dst, 0)
			if spill != nil && len(dst) >= spillAt {
				if dst, err = spill(dst); err != nil {
					return dst, err
				}
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// UnmarshalJSON decodes a loop of a watch message, its task lists with
// DecodeTasks's decoder (several times faster than encoding/json, same
// result).
func (wl *WatchLoop) UnmarshalJSON(data []byte) error {
	// Into a loop that holds something already, encoding/json merges
	// field by field (and element by element): leave that to it.
	if reflect.ValueOf(wl).Elem().IsZero() {
		d := decoder{data: data, budget: decodeBudget(len(data), watchFactor)}
		var out WatchLoop
		if err := d.watchLoop(&out); err == nil && d.end() {
			*wl = out
			return nil
		}
	}
	return json.Unmarshal(data, (*plainLoop)(wl))
}

// plainLoop is WatchLoop decoded by encoding/json alone.
type plainLoop WatchLoop

// DecodeWatchMessage decodes one message of the stream (a line without its
// newline). It is json.Unmarshal into a WatchMessage, with the same result
// for any input, several times faster on the agent's own output: task
// records go through DecodeTasks's decoder, and only the small rest
// through encoding/json.
func DecodeWatchMessage(data []byte) (*WatchMessage, error) {
	d := decoder{data: data, budget: decodeBudget(len(data), watchFactor)}
	m := new(WatchMessage)
	var rest []byte
	seen := false
	err := d.object(func(k string) error {
		if k == "loops" && !seen {
			seen = true
			m.Loops = []WatchLoop{}
			return d.array(func() error {
				if err := d.charge(unsafe.Sizeof(WatchLoop{})); err != nil {
					return err
				}
				m.Loops = append(grow(&d, m.Loops), WatchLoop{})
				return d.watchLoop(&m.Loops[len(m.Loops)-1])
			})
		}
		if strings.EqualFold(k, "loops") {
			return errSlow // repeated, or cased otherwise: encoding/json's rules
		}
		var err error
		rest, err = d.member(rest, k)
		return err
	})
	if err == nil && d.end() {
		if err = d.unmarshal(rest, m); err == nil {
			return m, nil
		}
	}
	if errors.Is(err, errBudget) {
		return nil, tooLarge("a watch message", data, watchFactor)
	}
	// The slow path has what the fast one left (DecodeTasks).
	if _, err := weigh(data, 0, d.budget); errors.Is(err, errBudget) {
		return nil, tooLarge("a watch message", data, watchFactor)
	}
	m = new(WatchMessage)
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("wire: decoding a watch message: %w", err)
	}
	return m, nil
}

// watchLoop reads a WatchLoop object: task lists fast, the rest through
// encoding/json.
func (d *decoder) watchLoop(wl *WatchLoop) error {
	var rest []byte
	var seenNew, seenChanged bool
	err := d.object(func(k string) error {
		switch {
		case k == "new" && !seenNew:
			seenNew = true
			return d.taskList(&wl.New)
		case k == "changed" && !seenChanged:
			seenChanged = true
			return d.taskList(&wl.Changed)
		case strings.EqualFold(k, "new") || strings.EqualFold(k, "changed"):
			return errSlow
		}
		var err error
		rest, err = d.member(rest, k)
		return err
	})
	if err != nil {
		return err
	}
	if rest == nil {
		return nil
	}
	p := plainLoop{New: wl.New, Changed: wl.Changed}
	if err := d.unmarshalJSON(append(rest, '}'), &p); err != nil {
		return err
	}
	*wl = WatchLoop(p)
	return nil
}

// taskList reads an array of tasks, or null.
func (d *decoder) taskList(ts *[]Task) error {
	d.ws()
	if d.i+4 <= len(d.data) && string(d.data[d.i:d.i+4]) == "null" {
		d.i += 4
		return nil
	}
	out := []Task{}
	err := d.array(func() error {
		if err := d.charge(unsafe.Sizeof(Task{})); err != nil {
			return err
		}
		out = append(grow(d, out), Task{})
		return d.task(&out[len(out)-1])
	})
	*ts = out
	return err
}

// member appends the key k and the raw value that follows to the object
// being built in rest ("{" first), checking the value's syntax.
func (d *decoder) member(rest []byte, k string) ([]byte, error) {
	d.ws()
	start := d.i
	if err := d.skip(0); err != nil {
		return rest, err
	}
	if rest == nil {
		rest = append(rest, '{')
	} else {
		rest = append(rest, ',')
	}
	rest = append(rest, '"')
	rest = append(rest, k...) // str accepted it: plain ASCII, no escapes
	rest = append(rest, '"', ':')
	return append(rest, d.data[start:d.i]...), nil
}

// end reports whether only white space is left.
func (d *decoder) end() bool {
	d.ws()
	return d.i == len(d.data)
}

// unmarshal decodes the members other than loops into m.
func (d *decoder) unmarshal(rest []byte, m *WatchMessage) error {
	if rest == nil {
		return nil
	}
	loops := m.Loops
	if err := d.unmarshalJSON(append(rest, '}'), m); err != nil {
		return err
	}
	m.Loops = loops
	return nil
}

// unmarshalJSON decodes data with encoding/json once what that can
// allocate (weigh) is charged to the decode's budget.
func (d *decoder) unmarshalJSON(data []byte, v any) error {
	w, err := weigh(data, 0, d.budget)
	if err != nil {
		return err
	}
	d.budget -= w
	return json.Unmarshal(data, v)
}
