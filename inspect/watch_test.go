package inspect

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/runtime"
)

// TestRoutesServeWatchPaths: the stream's paths are routed.
func TestRoutesServeWatchPaths(t *testing.T) {
	for _, p := range []string{wire.PathWatch, wire.PathFlight} {
		if !slices.ContainsFunc(routes, func(rt struct {
			pattern string
			serve   endpoint
		}) bool {
			return rt.pattern == "GET "+p
		}) {
			t.Errorf("wire path %s has no GET route", p)
		}
	}
}

// watchLoop returns the messages' view of the loop named name.
func watchLoop(m *wire.WatchMessage, name string) (wire.WatchLoop, bool) {
	for _, wl := range m.Loops {
		if wl.Name == name {
			return wl, true
		}
	}
	return wire.WatchLoop{}, false
}

func taskNamed(ts []wire.Task, name string) (wire.Task, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return wire.Task{}, false
}

// streamOf runs c.Watch on a goroutine; messages arrive on the channel,
// Watch's error on the other once the test's context is cancelled.
func streamOf(t *testing.T, c *client.Client, interval time.Duration, opts ...client.WatchOption) (<-chan *wire.WatchMessage, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	msgs := make(chan *wire.WatchMessage, 1024)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, interval, func(m *wire.WatchMessage) error {
			select {
			case msgs <- m:
			default:
				return errors.New("test: the test does not read its messages")
			}
			return nil
		}, opts...)
	}()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("test: Watch did not return 20s after its context was cancelled")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return msgs, stop
}

// nextUntil reads messages until cond holds for one (checking that seq
// counts up by one), for up to 20s.
func nextUntil(t *testing.T, msgs <-chan *wire.WatchMessage, seq *uint64, what string, cond func(*wire.WatchMessage) bool) *wire.WatchMessage {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m.Seq != *seq+1 {
				t.Fatalf("message seq %d after %d, want %d", m.Seq, *seq, *seq+1)
			}
			*seq = m.Seq
			if cond(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no message with %s within 20s", what)
		}
	}
}

// TestWatchStream follows a real loop over the real socket: a snapshot
// with every task, then an update with a new task, then one with a task's
// end; folded, the messages give the live tasks the agent lists.
func TestWatchStream(t *testing.T) {
	evA, evB := runtime.NewEvent(), runtime.NewEvent()
	l := startLoop(t, "watched", func(ctx context.Context) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, evA.Wait(ctx) }, runtime.Named("a"))
	})
	a, c := listen(t, Options{})
	msgs, stop := streamOf(t, c, 100*time.Millisecond)
	var seq uint64
	var state wire.WatchState

	first := nextUntil(t, msgs, &seq, "the first message", func(*wire.WatchMessage) bool { return true })
	state.Apply(first)
	wl, ok := watchLoop(first, "watched")
	if first.Type != wire.WatchSnapshot || first.Process == nil || !ok {
		t.Fatalf("first message: type %q, process %v, loop found %v; want a snapshot with the process and the loop", first.Type, first.Process != nil, ok)
	}
	ta, ok := taskNamed(wl.New, "a")
	if !ok || ta.State != "pending" || ta.SuspendedAt.Line == 0 || ta.Awaiting == "" {
		t.Fatalf("snapshot's task a = %+v (found %v), want it pending, suspended at a line, awaiting something", ta, ok)
	}
	if first.Findings == nil {
		t.Errorf("snapshot without findings, want an array")
	}

	l.Submit(func(ctx context.Context) error { return evB.Wait(ctx) }, runtime.Named("b"))
	m := nextUntil(t, msgs, &seq, "task b new", func(m *wire.WatchMessage) bool {
		state.Apply(m)
		wl, _ := watchLoop(m, "watched")
		_, ok := taskNamed(wl.New, "b")
		return ok
	})
	if m.Type != wire.WatchUpdate {
		t.Errorf("message with b: type %q, want %q", m.Type, wire.WatchUpdate)
	}
	if wl, _ := watchLoop(m, "watched"); slices.ContainsFunc(wl.Changed, func(x wire.Task) bool { return x.Name == "a" }) {
		t.Errorf("task a listed as changed while it did not change")
	}

	l.CallSoonThreadsafe(evA.Set)
	nextUntil(t, msgs, &seq, "task a ended", func(m *wire.WatchMessage) bool {
		state.Apply(m)
		wl, _ := watchLoop(m, "watched")
		return slices.ContainsFunc(wl.Ended, func(e wire.EndedTask) bool { return e.ID == ta.ID && e.State == "finished" })
	})

	// Folded, the stream says what the agent lists.
	live, err := c.Tasks(context.Background(), client.TaskFilter{Loop: "watched"})
	if err != nil {
		t.Fatal(err)
	}
	var want, got []uint64
	for _, tk := range live {
		want = append(want, tk.ID)
	}
	for _, ls := range state.Loops {
		if ls.Loop.Name == "watched" {
			for id := range ls.Tasks {
				got = append(got, id)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("folded stream's tasks %v, agent's %v", got, want)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after cancel = %v, want context.Canceled", err)
	}
	waitFor(t, "the stream's slot to be given back", func() bool { return len(a.h.watch.slots) == 0 })
	l.CallSoonThreadsafe(evB.Set)
}

// TestWatchQuietLoop: once the snapshot is sent, a loop of idle tasks adds
// no task to the updates.
func TestWatchQuietLoop(t *testing.T) {
	startLoop(t, "quiet", func(ctx context.Context) {
		for range 2000 {
			runtime.Spawn(ctx, sleeper(time.Hour))
		}
	})
	_, c := listen(t, Options{FlightRecorder: -1})
	msgs, _ := streamOf(t, c, 100*time.Millisecond)
	var seq uint64
	first := nextUntil(t, msgs, &seq, "the snapshot", func(*wire.WatchMessage) bool { return true })
	if wl, _ := watchLoop(first, "quiet"); len(wl.New) < 2000 {
		t.Fatalf("snapshot lists %d tasks of the quiet loop, want at least 2000", len(wl.New))
	}
	// The main task's last suspension may come in the next message.
	for range 5 {
		m := nextUntil(t, msgs, &seq, "an update", func(*wire.WatchMessage) bool { return true })
		wl, _ := watchLoop(m, "quiet")
		if n := len(wl.New) + len(wl.Changed) + len(wl.Ended); n > 1 {
			t.Errorf("update %d lists %d tasks of a quiet loop, want at most 1", m.Seq, n)
		}
		if wl.Tasks < 2000 {
			t.Errorf("update %d: loop has %d tasks, want at least 2000", m.Seq, wl.Tasks)
		}
	}
}

// slowConn reads at most 16 KiB every 10ms: a reader slower than the
// stream, that still reads.
type slowConn struct{ net.Conn }

func (c slowConn) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	return c.Conn.Read(p[:min(len(p), 16<<10)])
}

// TestWatchSlowReader: a client that reads more slowly than the agent
// sends gets messages with a dropped count, whose seq has no gaps, and
// keeps its stream (the agent's write-stall rule does not drop a reader
// that reads).
func TestWatchSlowReader(t *testing.T) {
	startLoop(t, "busy", func(ctx context.Context) {
		for i := range 300 {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
						return 0, err
					}
				}
			}, runtime.Named(fmt.Sprintf("busy-%d", i)))
		}
	})
	a, _ := listen(t, Options{FlightRecorder: -1})
	conn, err := net.Dial("unix", a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /v1/watch?interval=100ms&stacks=1 HTTP/1.1\r\nHost: taskdump\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(slowConn{conn}), &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	// conn.Close ends the body: closing the body would read it to its end.
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, Content-Type %q; want 200 and application/x-ndjson", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	var seq, dropped uint64
	start := time.Now()
	for n := 0; dropped == 0 || n < 5; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatalf("after %d messages (%d dropped) in %v: %v", n, dropped, time.Since(start), err)
		}
		var m wire.WatchMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq != seq+1 {
			t.Fatalf("seq %d after %d", m.Seq, seq)
		}
		seq = m.Seq
		dropped += m.Dropped
		if time.Since(start) > 40*time.Second {
			t.Fatalf("no dropped count after %d messages in 40s", n)
		}
	}
	t.Logf("%d messages, %d ticks dropped, in %v", seq, dropped, time.Since(start))
}

// TestWatchStalledReaderDropped: a client that stops reading is dropped
// after the write stall, and its slot given back; the agent holds one
// message for it, never more.
func TestWatchStalledReaderDropped(t *testing.T) {
	startLoop(t, "busy2", func(ctx context.Context) {
		for range 300 {
			runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
				for {
					if err := runtime.Sleep(ctx, 10*time.Millisecond); err != nil {
						return 0, err
					}
				}
			})
		}
	})
	a, _ := listen(t, Options{FlightRecorder: -1})
	conn, err := net.Dial("unix", a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /v1/watch?interval=100ms&stacks=1 HTTP/1.1\r\nHost: taskdump\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to start", func() bool { return len(a.h.watch.slots) == 1 })
	// Read nothing: the socket's buffers fill, a write stalls, the agent
	// drops the connection and gives the slot back.
	deadline := time.Now().Add(30 * time.Second)
	for len(a.h.watch.slots) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a reader that reads nothing still holds its stream after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchErrors: bad queries are refused with a JSON error; past
// maxWatchers streams, a new one is told the agent is busy.
func TestWatchErrors(t *testing.T) {
	a, c := listen(t, Options{FlightRecorder: -1})
	ctx := context.Background()
	for _, tt := range []struct {
		interval time.Duration
		code     string
	}{
		{10 * time.Millisecond, wire.CodeBadRequest},
		{2 * time.Hour, wire.CodeBadRequest},
	} {
		err := c.Watch(ctx, tt.interval, func(*wire.WatchMessage) error { return nil })
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Code != tt.code {
			t.Errorf("Watch(%v) = %v, want an API error %q", tt.interval, err, tt.code)
		}
	}
	var stops []func() error
	for range maxPeerWatch {
		msgs, stop := streamOf(t, c, time.Second)
		stops = append(stops, stop)
		var seq uint64
		nextUntil(t, msgs, &seq, "a first message", func(*wire.WatchMessage) bool { return true })
	}
	if maxPeerWatch >= maxWatchers {
		t.Fatalf("one client may hold %d streams of %d: all of them", maxPeerWatch, maxWatchers)
	}
	// This process holds all a client may: one more is refused (a stream
	// it got would run until the timeout).
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := c.Watch(tctx, time.Second, func(*wire.WatchMessage) error { return nil })
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != wire.CodeBusy || !strings.Contains(ae.Message, "the most one client may hold") {
		t.Errorf("Watch past %d streams of one client = %v, want an API error %q naming the client's limit", maxPeerWatch, err, wire.CodeBusy)
	}
	// ...but other client processes still get theirs, up to maxWatchers.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var others []*child
	for range maxWatchers - maxPeerWatch {
		others = append(others, startChild(t, self, "watch", a.Path(), nil))
	}
	if got := len(a.h.watch.slots); got != maxWatchers {
		t.Errorf("%d streams open, want %d", got, maxWatchers)
	}
	stops[0]()
	stops = stops[1:]
	waitFor(t, "the stream's slot", func() bool { return len(a.h.watch.slots) == maxWatchers-1 })
	// The last slot: a fifth client process gets it, then one more is
	// told the agent is busy.
	msgs, stop := streamOf(t, c, time.Second)
	stops = append(stops, stop)
	var seq uint64
	nextUntil(t, msgs, &seq, "a first message", func(*wire.WatchMessage) bool { return true })
	if err := runChildWatch(t, self, a.Path()); !strings.Contains(err, "streams are open already") {
		t.Errorf("a client past %d streams in all: %q, want busy", maxWatchers, err)
	}
	for _, o := range others {
		o.stdin.Close()
	}
	for _, stop := range stops {
		stop()
	}
	waitFor(t, "every stream's slot", func() bool { return len(a.h.watch.slots) == 0 })
	waitFor(t, "every client's count", func() bool {
		a.h.watch.mu.Lock()
		defer a.h.watch.mu.Unlock()
		return len(a.h.watch.peers) == 0
	})
}

// runChildWatch runs a watch client process that is expected to be
// refused, and returns what it printed.
func runChildWatch(t *testing.T, bin, path string) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=watch", envChildArg+"="+path)
	pr, pw, err := os.Pipe() // held open: the child reads until it closes
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	cmd.Stdin = pr
	out, _ := cmd.Output()
	return string(out)
}

// TestWatchEndsOnClose: closing the agent ends its streams; Watch returns
// an error, and nothing is left running.
func TestWatchEndsOnClose(t *testing.T) {
	dir := t.TempDir() + "/sock"
	a, err := Listen(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.DialPath(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan error, 1)
	first := make(chan struct{})
	var once sync.Once
	go func() {
		got <- c.Watch(context.Background(), 100*time.Millisecond, func(*wire.WatchMessage) error {
			once.Do(func() { close(first) })
			return nil
		})
	}()
	<-first
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err == nil {
			t.Error("Watch returned nil when the agent closed")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Watch still running 20s after the agent closed")
	}
}

// TestWatchLastMessageOnClose: when the agent closes, as a program does on
// its way out, each stream gets a last message before it ends, whatever its
// interval: a loop that ended since the last tick shows up ended, with its
// tasks, and the stream ends cleanly.
func TestWatchLastMessageOnClose(t *testing.T) {
	ev := runtime.NewEvent()
	l := runtime.NewLoop(runtime.WithName("ending"))
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- l.Run(context.Background(), func(ctx context.Context) error {
			close(started)
			return ev.Wait(ctx)
		})
	}()
	<-started
	a, c := listen(t, Options{})
	msgs := make(chan *wire.WatchMessage, 16)
	watched := make(chan error, 1)
	go func() {
		watched <- c.Watch(context.Background(), time.Hour, func(m *wire.WatchMessage) error {
			msgs <- m
			return nil
		})
	}()
	var seq uint64
	var main wire.Task
	nextUntil(t, msgs, &seq, "the loop's main task", func(m *wire.WatchMessage) bool {
		wl, ok := watchLoop(m, "ending")
		if ok && len(wl.New) == 1 {
			main = wl.New[0]
		}
		return main.ID != 0
	})
	l.CallSoonThreadsafe(ev.Set)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	last := nextUntil(t, msgs, &seq, "the last message", func(*wire.WatchMessage) bool { return true })
	wl, ok := watchLoop(last, "ending")
	if !ok || !wl.Closed || !slices.ContainsFunc(wl.Ended, func(e wire.EndedTask) bool { return e.ID == main.ID && e.State == "finished" }) {
		t.Errorf("last message's loop %+v (found %v), want it closed, with task %d finished", wl, ok, main.ID)
	}
	select {
	case err := <-watched:
		if err == nil || !strings.Contains(err.Error(), "ended the stream") {
			t.Errorf("Watch = %v, want the agent's end of the stream", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Watch still running 20s after the agent closed")
	}
}

// TestFlightDumpReachesNow: a recorder that records seldom (its messages
// are costly: 100,000 tasks) records one more when it is dumped, so the
// dump ends at the present, not at its last tick.
func TestFlightDumpReachesNow(t *testing.T) {
	flightWaitFor = func(time.Duration) time.Duration { return time.Hour }
	t.Cleanup(func() { flightWaitFor = flightWait }) // after the agent's Close, a cleanup made later
	l := startLoop(t, "seldom", nil)
	a, c := listen(t, Options{})
	waitFor(t, "the recorder's first message", func() bool {
		a.h.watch.flight.mu.Lock()
		defer a.h.watch.flight.mu.Unlock()
		return len(a.h.watch.flight.msgs) > 0
	})
	time.Sleep(2 * flightTick) // the last message more than a tick, and ten times its cost, old
	l.Submit(func(ctx context.Context) error { return runtime.Sleep(ctx, time.Hour) }, runtime.Named("late"))
	var state wire.WatchState
	var msgs int
	dump := func() {
		t.Helper()
		msgs = 0
		err := c.Flight(context.Background(), func(m *wire.WatchMessage) error {
			msgs++
			state.Apply(m)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dump()
	found := false
	for _, ls := range state.Loops {
		for _, tk := range ls.Tasks {
			found = found || tk.Name == "late"
		}
	}
	if !found || msgs != 2 {
		t.Errorf("dump of %d messages, task late found %v; want 2 messages, the last with the task spawned since the recorder's tick", msgs, found)
	}
	// A second dump at once: the last message is fresh, none is added.
	dump()
	if msgs != 2 {
		t.Errorf("dump right after a dump has %d messages, want the same 2", msgs)
	}
}

// TestFlightRecorder: the agent keeps the last seconds of the stream; the
// dump is a snapshot of the oldest moment kept then updates, numbered from
// 1, and folded it gives the live tasks, even once older messages were
// folded into the recorder's base (a task that ended there is gone).
func TestFlightRecorder(t *testing.T) {
	ev := runtime.NewEvent()
	var early, stays uint64
	l := startLoop(t, "flown", func(ctx context.Context) {
		early = runtime.Spawn(ctx, func(ctx context.Context) (int, error) { return 0, ev.Wait(ctx) }, runtime.Named("early")).ID()
		stays = runtime.Spawn(ctx, sleeper(time.Hour), runtime.Named("stays")).ID()
	})
	a, c := listen(t, Options{FlightRecorder: 2 * time.Second})
	waitFor(t, "the recorder's first message", func() bool {
		a.h.watch.flight.mu.Lock()
		defer a.h.watch.flight.mu.Unlock()
		return len(a.h.watch.flight.msgs) > 0
	})
	l.CallSoonThreadsafe(ev.Set)
	// Wait until what the early task's end was in has been folded.
	waitFor(t, "the recorder to fold its oldest messages", func() bool {
		f := a.h.watch.flight
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.base.Seq >= 3
	})
	var msgs []*wire.WatchMessage
	if err := c.Flight(context.Background(), func(m *wire.WatchMessage) error { msgs = append(msgs, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 || msgs[0].Type != wire.WatchSnapshot || msgs[0].Process == nil {
		t.Fatalf("dump of %d messages, first %+v; want a snapshot with the process, then updates", len(msgs), msgs[0])
	}
	var state wire.WatchState
	for i, m := range msgs {
		if m.Seq != uint64(i+1) {
			t.Errorf("message %d has seq %d", i, m.Seq)
		}
		if i > 0 && m.Type != wire.WatchUpdate {
			t.Errorf("message %d of type %q, want an update", i, m.Type)
		}
		state.Apply(m)
	}
	var ids []uint64
	for _, ls := range state.Loops {
		if ls.Loop.Name == "flown" {
			for id := range ls.Tasks {
				ids = append(ids, id)
			}
		}
	}
	if !slices.Contains(ids, stays) || slices.Contains(ids, early) {
		t.Errorf("folded dump has tasks %v of loop flown; want %d (stays) and not %d (ended early)", ids, stays, early)
	}

	_, c2 := listen(t, Options{FlightRecorder: -1})
	err := c2.Flight(context.Background(), func(*wire.WatchMessage) error { return nil })
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != wire.CodeNotFound {
		t.Errorf("Flight with the recorder off = %v, want an API error %q", err, wire.CodeNotFound)
	}
}

// TestWatchStacks: with stacks, a task that keeps changing at the same
// await comes without its stack after the first time (listed in
// SameStack), one that moves comes with its new stack; folded, every task
// has the stack of where it waits.
func TestWatchStacks(t *testing.T) {
	startLoop(t, "stacked", func(ctx context.Context) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				if err := runtime.Sleep(ctx, 5*time.Millisecond); err != nil {
					return 0, err
				}
			}
		}, runtime.Named("same"))
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			for {
				if err := runtime.Sleep(ctx, 30*time.Millisecond); err != nil {
					return 0, err
				}
				if err := runtime.Sleep(ctx, 70*time.Millisecond); err != nil {
					return 0, err
				}
			}
		}, runtime.Named("moving"))
	})
	_, c := listen(t, Options{FlightRecorder: -1})
	msgs, _ := streamOf(t, c, 100*time.Millisecond, client.WatchStacks())
	var seq uint64
	var state wire.WatchState
	var same, moved int
	for range 15 {
		m := nextUntil(t, msgs, &seq, "a message", func(*wire.WatchMessage) bool { return true })
		state.Apply(m)
		wl, _ := watchLoop(m, "stacked")
		for _, tk := range wl.Changed {
			inSame := slices.Contains(wl.SameStack, tk.ID)
			if inSame && tk.Stack != nil {
				t.Errorf("task %s in SameStack with a stack", tk.Name)
			}
			if tk.Name == "same" && inSame {
				same++
			}
			if tk.Name == "moving" && !inSame && len(tk.Stack) > 0 {
				moved++
			}
		}
		for _, ls := range state.Loops {
			if ls.Loop.Name != "stacked" {
				continue
			}
			for _, tk := range ls.Tasks {
				if tk.SuspendedAt.Line == 0 {
					continue // running, or not yet started
				}
				if !slices.ContainsFunc(tk.Stack, func(f wire.Frame) bool { return f.Line == tk.SuspendedAt.Line && f.File == tk.SuspendedAt.File }) {
					t.Fatalf("message %d: folded task %s suspended at %d has stack %v", m.Seq, tk.Name, tk.SuspendedAt.Line, tk.Stack)
				}
			}
		}
	}
	if same == 0 || moved == 0 {
		t.Errorf("in 15 messages: %d times the same stack omitted, %d moves with a new stack; want some of each", same, moved)
	}
}

// TestFlightWait: the flight recorder ticks every second while a tick
// costs under 10ms, and waits whole seconds enough to spend at most 1%
// of its time beyond that, a minute at most.
func TestFlightWait(t *testing.T) {
	for _, tt := range []struct{ cost, want time.Duration }{
		{0, time.Second},
		{9 * time.Millisecond, time.Second},
		{10 * time.Millisecond, 2 * time.Second},
		{55 * time.Millisecond, 6 * time.Second},
		{time.Hour, time.Minute},
	} {
		if got := flightWait(tt.cost); got != tt.want {
			t.Errorf("flightWait(%v) = %v, want %v", tt.cost, got, tt.want)
		}
	}
}

// TestFlightOnBlock: with FlightOnBlock, a step that blocks the loop makes
// the flight recorder write a gzipped recording there, which the client's
// reader reads, with the block in it.
func TestFlightOnBlock(t *testing.T) {
	dir := privateDir(t)
	startLoop(t, "blocky", func(ctx context.Context) {
		runtime.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := runtime.Sleep(ctx, 1500*time.Millisecond); err != nil {
				return 0, err
			}
			time.Sleep(300 * time.Millisecond) //taskvet:ignore the blocking step this test needs
			return 0, runtime.Sleep(ctx, time.Hour)
		}, runtime.Named("blocker"))
	})
	listen(t, Options{FlightOnBlock: dir})
	var files []string
	waitFor(t, "a flight recording in "+dir, func() bool {
		files, _ = filepath.Glob(filepath.Join(dir, "taskdump-flight-*.jsonl.gz"))
		return len(files) > 0
	})
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", files[0], fi.Mode().Perm())
	}
	rec, err := client.ReadRecording(f)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Header.Flight || rec.Header.Process.PID != os.Getpid() {
		t.Errorf("header %+v, want a flight recording of this process", rec.Header)
	}
	sawBlock := false
	for {
		m, err := rec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, wl := range m.Loops {
			if wl.Blocking != nil && wl.Blocking.TaskName == "blocker" || slices.ContainsFunc(wl.BlockList, func(ev wire.BlockEvent) bool { return ev.TaskName == "blocker" }) {
				sawBlock = true
			}
		}
	}
	if !sawBlock {
		t.Errorf("the flight recording does not show the blocking step of task blocker")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".taskdump-flight-*")); len(left) > 0 {
		t.Errorf("temporary files left in %s: %v", dir, left)
	}
}

// TestFlightRecorderPanic: a panic while the flight recorder makes a
// message (here: a hub without its handler) is recovered on the
// recorder's own goroutine, where nothing else would catch it: the
// process lives on, the recorder keeps ticking and still stops.
func TestFlightRecorderPanic(t *testing.T) {
	hub := &watchHub{} // no handler: making a snapshot's process record panics
	hub.startFlight(time.Second, "")
	defer hub.stopFlight()
	waitFor(t, "the recorder to recover a panic", func() bool {
		hub.flight.mu.Lock()
		defer hub.flight.mu.Unlock()
		return hub.flight.panicked != ""
	})
	hub.flight.mu.Lock()
	defer hub.flight.mu.Unlock()
	if len(hub.flight.msgs) != 0 {
		t.Errorf("the recorder kept %d messages of ticks that panicked", len(hub.flight.msgs))
	}
}

// TestStreamsRefusedWhileClosing: once the Agent closes, a new stream is
// refused (503, busy) rather than started and cut; closing again does
// nothing, and with no stream open it does not wait.
func TestStreamsRefusedWhileClosing(t *testing.T) {
	hub := newWatchHub(newHandler(Options{}, false))
	if !hub.startStream() {
		t.Fatal("startStream refused before the close")
	}
	hub.endStream()
	start := time.Now()
	hub.closeStreams(time.Minute)
	hub.closeStreams(time.Minute)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("closeStreams with no stream open took %s", d)
	}
	if hub.startStream() {
		t.Error("startStream after the close started a stream")
	}
}
