package inspect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/taskdump/taskdump/inspect/internal/doctor"
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// Limits of the stream.
const (
	watchDefault  = time.Second            // interval when the client names none
	watchMin      = 100 * time.Millisecond // the shortest interval a client may ask for
	watchMax      = time.Hour              // the longest
	maxWatchers   = 8                      // streams at once (each walks every loop each tick); more get 503
	maxPeerWatch  = maxWatchers / 2        // streams one client process may hold, so that none takes them all
	doctorEvery   = 5 * time.Second        // findings are recomputed at most this often, shared by all streams
	flightDefault = 30 * time.Second       // Options.FlightRecorder's zero value
	flightTick    = time.Second            // the flight recorder's interval
	flightShare   = 100                    // the recorder spends at most 1/flightShare of its time making messages
	flightMaxMem  = 32 << 20               // bytes of updates the flight recorder keeps, at most
)

// watchHub is what the streams of one handler share: the count of open
// streams, the cached findings and the flight recorder.
type watchHub struct {
	h     *handler
	slots chan struct{}
	mu    sync.Mutex
	// peers counts the open streams of each client process (by its pid,
	// from the socket's peer credentials, when it is known), guarded by
	// mu. A pid is a weak identity (a client that forks gets another), but
	// it keeps a client that loops on /v1/watch from locking others out.
	peers    map[int]int
	findings []wire.Finding
	foundAt  time.Time
	flight   *flight // nil unless an Agent runs one
	// streams counts the open streams, and ending says the Agent closes
	// (guarded by mu): closing is closed then, and drained once streams
	// is 0 after it.
	streams int
	ending  bool
	closing chan struct{}
	drained chan struct{}
}

func newWatchHub(h *handler) *watchHub {
	return &watchHub{
		h: h, slots: make(chan struct{}, maxWatchers), peers: map[int]int{},
		closing: make(chan struct{}), drained: make(chan struct{}),
	}
}

// startStream counts a new stream, or reports false when the Agent closes.
func (hub *watchHub) startStream() bool {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.ending {
		return false
	}
	hub.streams++
	return true
}

// endStream counts a stream as ended.
func (hub *watchHub) endStream() {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.streams--; hub.streams == 0 && hub.ending {
		close(hub.drained)
	}
}

// closeStreams asks every stream to send its last message and end, and
// waits for them, at most grace: the Agent then closes their connections
// whatever they are doing (a reader that reads nothing holds its stream's
// last write up to maxWriteStall). Calling it again does nothing.
func (hub *watchHub) closeStreams(grace time.Duration) {
	hub.mu.Lock()
	if hub.ending {
		hub.mu.Unlock()
		return
	}
	hub.ending = true
	close(hub.closing)
	if hub.streams == 0 {
		close(hub.drained)
	}
	hub.mu.Unlock()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-hub.drained:
	case <-t.C:
	}
}

// takePeer counts a new stream of the client process pid and reports
// false, counting nothing, if it holds maxPeerWatch already.
func (hub *watchHub) takePeer(pid int) bool {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.peers[pid] >= maxPeerWatch {
		return false
	}
	hub.peers[pid]++
	return true
}

// dropPeer counts a stream of pid as ended.
func (hub *watchHub) dropPeer(pid int) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.peers[pid]--; hub.peers[pid] <= 0 {
		delete(hub.peers, pid)
	}
}

// currentFindings returns the doctor's findings, computed at most once per
// doctorEvery for all streams (a diagnosis snapshots every loop). Do not
// modify the result.
func (hub *watchHub) currentFindings(now time.Time) []wire.Finding {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.findings == nil || now.Sub(hub.foundAt) >= doctorEvery || now.Before(hub.foundAt) {
		d := doctor.Process(doctor.Options{})
		hub.findings = d.Findings
		if hub.findings == nil {
			hub.findings = []wire.Finding{}
		}
		hub.foundAt = now
	}
	return hub.findings
}

// watcher makes the messages of one stream: it remembers, per loop, the
// change sequence number reported so far, and the last findings sent.
type watcher struct {
	hub      *watchHub
	stacks   bool
	seq      uint64
	loops    map[uint64]*watchCursor
	findings []byte // JSON of the findings last sent
	// sent is the stack last sent for each live task (with stacks): a
	// changed task whose stack is the same is listed in SameStack
	// instead of carrying it again.
	sent map[uint64][]wire.Frame
}

type watchCursor struct {
	loop      *runtime.Loop // kept for the ends of its tasks once it closes
	name      string
	since     uint64
	lastBlock time.Time // Started of the newest blocking event sent
}

func newWatcher(hub *watchHub, stacks bool) *watcher {
	return &watcher{hub: hub, stacks: stacks}
}

// next returns the stream's next message: a snapshot first (and whenever a
// loop lost track of its ended tasks), then updates. dropped is the number
// of ticks skipped before it.
func (w *watcher) next(dropped uint64) *wire.WatchMessage {
	now := time.Now()
	m := w.build(w.loops == nil)
	if m == nil {
		m = w.build(true)
	}
	w.seq++
	m.Seq, m.Time, m.Dropped = w.seq, now, dropped
	if f := w.hub.currentFindings(now); m.Type == wire.WatchSnapshot || !w.sameFindings(f) {
		m.Findings = f
		w.findings, _ = json.Marshal(f)
	}
	return m
}

func (w *watcher) sameFindings(f []wire.Finding) bool {
	b, err := json.Marshal(f)
	return err == nil && bytes.Equal(b, w.findings)
}

// taskList collects task records without the copies a slice grown by
// append makes: in chunks of at most taskChunk, joined once. A snapshot of
// 100,000 tasks allocates its 54 MB of records twice, where append
// allocated ~5 times.
type taskList struct {
	done [][]wire.Task
	cur  []wire.Task
	n    int
}

const taskChunk = 4096

func (l *taskList) add(t *wire.Task) {
	if len(l.cur) == cap(l.cur) {
		if l.cur != nil {
			l.done = append(l.done, l.cur)
		}
		l.cur = make([]wire.Task, 0, min(max(2*cap(l.cur), 16), taskChunk))
	}
	l.cur = append(l.cur, *t)
	l.n++
}

// slice returns the tasks added, in order; nil if none.
func (l *taskList) slice() []wire.Task {
	if l.done == nil {
		return l.cur
	}
	out := make([]wire.Task, 0, l.n)
	for _, c := range l.done {
		out = append(out, c...)
	}
	return append(out, l.cur...)
}

// build walks every loop from the cursors (from scratch with full), or
// returns nil when a loop lost track of what ended and a snapshot is due.
func (w *watcher) build(full bool) *wire.WatchMessage {
	m := &wire.WatchMessage{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{}}
	if full {
		m.Type = wire.WatchSnapshot
		w.loops = make(map[uint64]*watchCursor)
		if w.stacks {
			w.sent = make(map[uint64][]wire.Frame)
		}
	}
	opts := runtime.SnapshotOptions{Stacks: w.stacks}
	seen := make(map[uint64]bool)
	// Tasks suspended at the same place share the runtime's stack slice:
	// they share its conversion too.
	stacks := make(map[*runtime.Frame][]wire.Frame)
	for _, l := range runtime.Loops() {
		c := w.loops[l.ID()]
		if c == nil {
			c = &watchCursor{loop: l, name: l.Name()}
		}
		var wl wire.WatchLoop
		var news, changed taskList
		ch := l.EachTaskSince(c.since, opts, func(ti *runtime.TaskInfo, isNew bool) bool {
			var t wire.Task
			st := ti.Stack
			ti.Stack = nil
			wireTask(&t, ti)
			if w.stacks {
				if prev, ok := w.sent[t.ID]; ok && !isNew && sameFrames(prev, st) {
					wl.SameStack = append(wl.SameStack, t.ID)
				} else {
					var ws []wire.Frame
					if len(st) > 0 {
						var ok bool
						if ws, ok = stacks[&st[0]]; !ok {
							ws = wireFrames(st)
							stacks[&st[0]] = ws
						}
					}
					t.Stack = ws
					w.sent[t.ID] = ws
				}
			}
			if isNew {
				news.add(&t)
			} else {
				changed.add(&t)
			}
			return true
		})
		wl.New, wl.Changed = news.slice(), changed.slice()
		if ch.Lost {
			return nil
		}
		wl.Loop = wireLoop(&ch.LoopSnapshot)
		wl.Tasks = ch.Live
		wl.Ended = w.ended(wl.Ended, ch.Ended)
		for _, ev := range l.Blocking() {
			if !ev.Ongoing && ev.Started.After(c.lastBlock) {
				wl.BlockList = append(wl.BlockList, wireBlock(&ev))
				c.lastBlock = ev.Started
			}
		}
		c.since = ch.Seq
		w.loops[l.ID()] = c
		seen[l.ID()] = true
		m.Loops = append(m.Loops, wl)
	}
	for id, c := range w.loops {
		if !seen[id] {
			wl := wire.WatchLoop{Loop: wire.Loop{ID: id, Name: c.name}, Closed: true}
			// How its last tasks ended (cancelled by the loop's end,
			// finished, failed), unless the loop lost track of them.
			if ch := c.loop.EachTaskSince(c.since, runtime.SnapshotOptions{}, func(*runtime.TaskInfo, bool) bool { return true }); !ch.Lost {
				wl.Ended = w.ended(nil, ch.Ended)
			}
			m.Loops = append(m.Loops, wl)
			delete(w.loops, id)
		}
	}
	if full {
		p := w.hub.h.process(nil)
		p.Loops = make([]wire.Loop, len(m.Loops))
		for i := range m.Loops {
			p.Loops[i] = m.Loops[i].Loop
		}
		m.Process = &p
	}
	return m
}

// ended appends the tasks of ends to dst, forgetting the stacks sent for
// them.
func (w *watcher) ended(dst []wire.EndedTask, ends []runtime.TaskEnd) []wire.EndedTask {
	for _, e := range ends {
		delete(w.sent, e.ID)
		dst = append(dst, wire.EndedTask{ID: e.ID, Name: e.Name, State: e.State.String(), Finished: e.Finished, Error: e.Error})
	}
	return dst
}

// sameFrames reports whether the stack sent, ws, is the stack rs.
func sameFrames(ws []wire.Frame, rs []runtime.Frame) bool {
	if len(ws) != len(rs) {
		return false
	}
	for i := range ws {
		if ws[i] != wireFrame(rs[i]) {
			return false
		}
	}
	return true
}

func wireStats(s runtime.LoopStats) wire.LoopStats {
	return wire.LoopStats{
		LastWork: s.LastWork, Ready: s.Ready, Timers: s.Timers, Threads: s.Threads, Pending: s.Pending,
		LagNS: int64(s.Lag), WindowNS: int64(s.Window), BusyNS: int64(s.Busy),
	}
}

// parseInterval reads the interval query parameter.
func parseInterval(s string) (time.Duration, *apiError) {
	if s == "" {
		return watchDefault, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < watchMin || d > watchMax {
		return 0, errorf(http.StatusBadRequest, wire.CodeBadRequest, "bad interval %q: want a duration from %v to %v, such as 1s", clip(s), watchMin, watchMax)
	}
	return d, nil
}

// serveWatch streams the watch messages (wire.WatchMessage) as JSON lines,
// one per interval, until the client leaves or the agent closes (with a
// last message: Agent.Close). It holds
// no request slot (it gives it back at once) but one of maxWatchers stream
// slots, and a client process may hold at most maxPeerWatch of them. It never holds more than one message: while a write waits for a
// slow reader, ticks pass, and the next message folds in what changed
// during them, with Dropped saying how many. Each write must make progress
// within maxWriteStall, as every answer of the Agent (so a reader that
// stops reading for that long is dropped), but a reader that reads, even
// slowly, keeps its stream.
func (h *handler) serveWatch(q *exchange) *apiError {
	query := q.r.URL.Query()
	interval, err := parseInterval(query.Get("interval"))
	if err != nil {
		return err
	}
	stacks, err := parseBool(query.Get("stacks"))
	if err != nil {
		return err
	}
	if q.havePeer && q.peer.PID > 0 {
		// One client process may hold only some of the streams: a client
		// that opens them in a loop must not lock every other one out. A
		// pid of 0 (a client in another pid namespace) or -1 (macOS, where
		// the credentials carry none) names no process: those clients
		// share only the overall limit.
		if !h.watch.takePeer(q.peer.PID) {
			q.w.Header().Set("Retry-After", "1")
			return errorf(http.StatusServiceUnavailable, wire.CodeBusy, "busy: process %d has %d streams open already (the most one client may hold)", q.peer.PID, maxPeerWatch)
		}
		defer h.watch.dropPeer(q.peer.PID)
	}
	select {
	case h.watch.slots <- struct{}{}:
	default:
		q.w.Header().Set("Retry-After", "1")
		return errorf(http.StatusServiceUnavailable, wire.CodeBusy, "busy: %d streams are open already", maxWatchers)
	}
	defer func() { <-h.watch.slots }()
	if !h.watch.startStream() {
		q.w.Header().Set("Retry-After", "1")
		return errorf(http.StatusServiceUnavailable, wire.CodeBusy, "busy: the agent is closing")
	}
	defer h.watch.endStream()
	q.release()
	rc := http.NewResponseController(q.w)
	// The server's ReadTimeout would end the stream's context: the
	// stream's only reading is watching for the client to leave.
	_ = rc.SetReadDeadline(time.Time{})
	hd := q.w.Header()
	hd.Set("Content-Type", "application/x-ndjson")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	ctx := q.r.Context()
	w := newWatcher(h.watch, stacks)
	start := time.Now()
	var k int64 // the tick of the message being sent
	var dropped uint64
	var buf []byte
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		// Written as it is encoded, 64 KiB at a time: a snapshot of
		// 100,000 tasks with stacks (~110 MB) is never held whole.
		var err error
		if buf, err = w.next(dropped).WriteJSON(q.w, buf); err != nil {
			return nil // the client left or stalled (or, never seen, an encoding error: nothing to say on a stream already started)
		}
		if err := flushStream(rc); err != nil {
			return nil // the client left or stalled
		}
		// The next tick due; those that passed while this message was
		// made and written are skipped and counted.
		next := int64(time.Since(start)/interval) + 1
		dropped = uint64(max(next-k-1, 0))
		k = next
		timer.Reset(time.Until(start.Add(time.Duration(k) * interval)))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-h.watch.closing:
			// The Agent closes, most often as the program ends: one last
			// message, so that what the end left (tasks ended, loops
			// closed) reaches top and record, and the stream ends cleanly.
			if _, err := w.next(0).WriteJSON(q.w, buf); err == nil {
				_ = flushStream(rc)
			}
			return nil
		}
	}
}

// flushStream flushes the message just written, within maxWriteStall of
// progress (the Agent's stallWriter sets the deadline of each write; the
// flush gets its own).
func flushStream(rc *http.ResponseController) error {
	_ = rc.SetWriteDeadline(time.Now().Add(maxWriteStall)) // unsupported off the Agent: no deadline
	return rc.Flush()
}
