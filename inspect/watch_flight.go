package inspect

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
)

// flight is the Agent's flight recorder: a stream of its own, one message
// per flightTick, of which it keeps the last keep (and at most
// flightMaxMem bytes of them, as encoded); what falls out is folded into
// base, the state before the oldest message kept.
type flight struct {
	keep    time.Duration
	onBlock string    // FlightOnBlock's directory, or ""
	wrote   time.Time // when it last wrote there (run only)
	w       *watcher  // used by run only
	scratch []byte    // used by run only: to measure a message
	stop    chan struct{}
	done    chan struct{}
	// now takes a dump's request for a message of the present: run makes
	// one, unless its last is recent (see run), and closes the channel.
	now chan chan struct{}
	// wait is how long run waits after a tick that cost its argument
	// (flightWait).
	wait func(time.Duration) time.Duration

	mu   sync.Mutex
	base wire.WatchState
	msgs []flightMsg // oldest first
	size int         // bytes of msgs, encoded
	// panicked is the value of the last panic a tick recovered, or "".
	panicked string
}

type flightMsg struct {
	m    *wire.WatchMessage
	size int
}

// startFlight starts the flight recorder of the hub, keeping the last keep
// of the stream. Agent.Close stops it (stopFlight).
func (hub *watchHub) startFlight(keep time.Duration, onBlock string) {
	f := &flight{keep: keep, onBlock: onBlock, w: newWatcher(hub, false), stop: make(chan struct{}), done: make(chan struct{}),
		now: make(chan chan struct{}), wait: flightWaitFor}
	hub.flight = f
	go f.run()
}

// stopFlight stops the flight recorder, if any, and waits for it.
func (hub *watchHub) stopFlight() {
	if f := hub.flight; f != nil {
		close(f.stop)
		<-f.done
	}
}

// run records a message every flightTick, or less often when making one
// costs more than flightShare of that time (a loop of thousands of busy
// tasks, 100,000 tasks): the recorder's cost stays near that share of a
// core, and the messages say in Dropped how many ticks each covers. A dump
// (fresh) has it record one at once, so that what it holds reaches the
// present however seldom it records, unless its last message is recent:
// a tick old, and ten times what it cost ago.
func (f *flight) run() {
	defer close(f.done)
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	var last time.Time
	var asked []chan struct{}
	for {
		start := time.Now()
		var dropped uint64
		if !last.IsZero() {
			dropped = uint64(max(start.Sub(last)/flightTick-1, 0))
		}
		f.tick(dropped)
		last = start
		for _, c := range asked {
			close(c)
		}
		asked = nil
		end := time.Now()
		cost := end.Sub(start)
		t.Reset(f.wait(cost))
	wait:
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				break wait
			case c := <-f.now:
				// A tick on request only if the last is a tick old and
				// ten times its cost ago: a client that dumps in a loop
				// costs at most a tenth of a core.
				if time.Since(end) < max(flightTick, 10*cost) {
					close(c) // what it holds is recent enough
					continue
				}
				t.Stop() // no stale tick after Stop (Go 1.23 timers)
				asked = append(asked, c)
				break wait
			}
		}
	}
}

// fresh has run record a message of the present, unless its last is
// recent (see run), and waits for it (or for ctx, or the recorder's end).
func (f *flight) fresh(ctx context.Context) {
	c := make(chan struct{})
	select {
	case f.now <- c:
	case <-ctx.Done():
		return
	case <-f.done:
		return
	}
	select {
	case <-c:
	case <-ctx.Done():
	case <-f.done:
	}
}

// tick makes and records one message, and writes FlightOnBlock's file
// when it is due. A panic in it (a bug: the recorder runs on its own
// goroutine, where nothing else would recover it) does not take the
// process down: it is kept in panicked, and the next tick starts over
// from a snapshot.
func (f *flight) tick(dropped uint64) {
	defer func() {
		if v := recover(); v != nil {
			f.w = newWatcher(f.w.hub, false)
			f.mu.Lock()
			f.panicked = fmt.Sprint(v)
			f.mu.Unlock()
		}
	}()
	m := f.w.next(dropped)
	f.record(m)
	if f.onBlock != "" && blocked(m) && time.Since(f.wrote) >= flightFileEvery {
		f.wrote = time.Now()
		f.writeFile(m.Time)
	}
}

// flightWaitFor is the wait of the recorders started from now on:
// flightWait; a test sets another before it starts one.
var flightWaitFor = flightWait

// flightWait is how long the recorder waits after a tick that cost took:
// a whole number of flightTick, at least one, so that cost is at most
// flightShare of it (and at most a minute).
func flightWait(cost time.Duration) time.Duration {
	n := int64(cost/(flightTick/flightShare)) + 1 // ticks
	return time.Duration(min(n, 60)) * flightTick
}

// record keeps m and folds into base what is now older than keep or over
// the memory bound (never the newest message).
func (f *flight) record(m *wire.WatchMessage) {
	b, err := m.AppendJSON(f.scratch[:0])
	if err != nil {
		return
	}
	f.scratch = b[:0]
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, flightMsg{m: m, size: len(b)})
	f.size += len(b)
	cut := m.Time.Add(-f.keep)
	n := 0
	for n < len(f.msgs)-1 && (f.msgs[n].m.Time.Before(cut) || f.size > flightMaxMem) {
		f.base.Apply(f.msgs[n].m)
		f.size -= f.msgs[n].size
		f.msgs[n] = flightMsg{}
		n++
	}
	if n > 0 {
		f.msgs = slices.Delete(f.msgs, 0, n)
	}
}

// dump returns what the recorder holds as a stream: a snapshot of the
// oldest moment kept, then the updates since, numbered from 1.
func (f *flight) dump() []*wire.WatchMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*wire.WatchMessage, 0, len(f.msgs)+1)
	if len(f.msgs) > 0 && f.msgs[0].m.Type != wire.WatchSnapshot {
		out = append(out, stateSnapshot(&f.base))
	}
	for _, fm := range f.msgs {
		out = append(out, fm.m)
	}
	for i, m := range out {
		c := *m // stored messages are shared: renumber a copy
		c.Seq = uint64(i + 1)
		out[i] = &c
	}
	return out
}

// flightFileEvery is the least time between two files of FlightOnBlock.
const flightFileEvery = time.Minute

// blocked reports whether m shows a step blocking a loop now or one that
// did since the previous message.
func blocked(m *wire.WatchMessage) bool {
	for i := range m.Loops {
		if m.Loops[i].Blocking != nil || len(m.Loops[i].BlockList) > 0 {
			return true
		}
	}
	return false
}

// writeFile writes what the recorder holds to a new gzipped recording in
// the FlightOnBlock directory, mode 0600. The file appears whole, or not
// at all.
func (f *flight) writeFile(now time.Time) {
	msgs := f.dump()
	if len(msgs) == 0 || msgs[0].Process == nil {
		return
	}
	name := filepath.Join(f.onBlock, fmt.Sprintf("taskdump-flight-%d-%s.jsonl.gz", os.Getpid(), now.UTC().Format("20060102T150405.000Z")))
	// Written whole to a new hidden file (mode 0600, never an existing
	// file or a link), then renamed: whoever lists the directory sees a
	// whole recording or none.
	file, err := os.CreateTemp(f.onBlock, ".taskdump-flight-*.tmp")
	if err != nil {
		return
	}
	tmp := file.Name()
	defer os.Remove(tmp) // gone once renamed; left by nothing otherwise
	zw := gzip.NewWriter(file)
	hdr := wire.RecordingHeader{Format: wire.RecordingFormat, Version: wire.RecordingVersion,
		Schema: msgs[0].Process.Schema, Started: now, Flight: true, Process: *msgs[0].Process}
	b, err := json.Marshal(&hdr)
	if err == nil {
		_, err = zw.Write(append(b, '\n'))
	}
	b = nil
	for _, m := range msgs {
		if err != nil {
			break
		}
		b, err = m.WriteJSON(zw, b)
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := file.Close(); err == nil && cerr == nil {
		_ = os.Rename(tmp, name)
	}
}

// stateSnapshot returns s as a snapshot message: loops by id, tasks by id.
func stateSnapshot(s *wire.WatchState) *wire.WatchMessage {
	m := &wire.WatchMessage{Type: wire.WatchSnapshot, Seq: s.Seq, Time: s.Time, Loops: []wire.WatchLoop{}, Findings: s.Findings}
	if m.Findings == nil {
		m.Findings = []wire.Finding{}
	}
	ids := make([]uint64, 0, len(s.Loops))
	for id := range s.Loops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	p := s.Process
	p.Loops = nil
	for _, id := range ids {
		ls := s.Loops[id]
		wl := wire.WatchLoop{Loop: ls.Loop, New: make([]wire.Task, 0, len(ls.Tasks))}
		for _, t := range ls.Tasks {
			wl.New = append(wl.New, *t)
		}
		slices.SortFunc(wl.New, func(a, b wire.Task) int { return compareUint(a.ID, b.ID) })
		m.Loops = append(m.Loops, wl)
		p.Loops = append(p.Loops, ls.Loop)
	}
	m.Process = &p
	return m
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// serveFlight answers GET /v1/flight: the flight recorder's content as
// JSON lines, a snapshot then updates (wire.WatchMessage), rendered in
// memory, then written. 404 (not_found) when there is no flight recorder:
// Options.FlightRecorder is negative, or the handler is not an Agent's.
func (h *handler) serveFlight(q *exchange) *apiError {
	f := h.watch.flight
	if f == nil {
		return errorf(http.StatusNotFound, wire.CodeNotFound, "no flight recorder: it runs in an Agent whose Options.FlightRecorder is not negative")
	}
	f.fresh(q.r.Context())
	var buf []byte
	for _, m := range f.dump() {
		var err error
		if buf, err = m.AppendJSON(buf); err != nil {
			return errorf(http.StatusInternalServerError, wire.CodeInternal, "encoding: %v", err)
		}
		buf = append(buf, '\n')
	}
	q.release()
	q.w.Header().Set("Content-Type", "application/x-ndjson")
	q.w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = q.w.Write(buf) // a write error means the peer left
	return nil
}
