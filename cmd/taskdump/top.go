package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// topOpts are top's own flags.
type topOpts struct {
	replay   string
	interval time.Duration
}

func topCmd() *command {
	var to topOpts
	return &command{
		name: "top", args: "PID | --replay FILE", short: "a live full-screen view of the tasks",
		long: "Top shows a live, full-screen view of a process's tasks, updated every second:\n" +
			"the loops, their lag and what blocks them now, and a table of tasks.\n\n" +
			"Keys:\n" +
			"  up/down, j/k  select a task\n" +
			"  enter         open it: stack, spawn site, parent, children, timings,\n" +
			"                what it awaits and who holds it (esc goes back)\n" +
			"  < > (or s)    sort by the previous/next column; i inverts the sort\n" +
			"  /             filter by name: Enter applies, Esc clears\n" +
			"  r b w         resources, blocking events, doctor's findings\n" +
			"  c             cancel the selected task (asks y/n)\n" +
			"  q             quit, from any view\n\n" +
			"With --replay FILE it plays a recording made by 'taskdump record' in the same\n" +
			"view: space pauses, left/right step, + and - change the speed.\n\n" +
			"Standard output must be a terminal; scripts use 'taskdump tasks PID --json' or\n" +
			"'taskdump record PID -o FILE'. --timeout bounds each request, not the session.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVar(&to.replay, "replay", "", "play the recording FILE (made by taskdump record) instead of attaching")
			fs.DurationVar(&to.interval, "interval", time.Second, "how often the view is updated")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error { return runTop(ctx, e, o, &to, args) },
	}
}

// errNotTerminal refuses to draw a full-screen view into a pipe or file.
var errNotTerminal = errors.New("top: standard output is not a terminal; for scripts use 'taskdump tasks PID --json', " +
	"and 'taskdump record PID -o FILE' to save the stream")

func runTop(ctx context.Context, e *env, o *opts, to *topOpts, args []string) error {
	if to.replay != "" {
		if len(args) != 0 {
			return usagef("want either PID or --replay FILE, not both")
		}
	} else if err := wantArgs(args, 1, "PID (or --replay FILE)"); err != nil {
		return err
	}
	if to.interval < 100*time.Millisecond {
		return usagef("bad --interval %s: want at least 100ms", to.interval)
	}
	if to.replay != "" {
		// A file that cannot be opened first: that matters more than
		// where the view would have gone (decoding it waits for a
		// terminal to show it on).
		f, err := os.Open(to.replay)
		if err != nil {
			return fmt.Errorf("top: %s: %w", to.replay, osErr(err))
		}
		f.Close()
	}
	if !e.stdoutTTY {
		return errNotTerminal
	}
	// The session lasts until the user quits or a signal comes; --timeout
	// bounds each request, not the view.
	session, stop := session(o)
	defer stop()
	m := newTopModel(topPalette{plain: noColor(os.Getenv)}, topActions{})
	if to.replay != "" {
		msgs, note, err := loadReplay(to.replay)
		if err != nil {
			return err
		}
		m.replay = newTopReplay(msgs)
		m.seek(0)
		m.status = note
	} else {
		c, err := dial(o.dir, args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		feed := make(chan tea.Msg, 1)
		go watchFeed(session, c, to.interval, o.timeout, feed)
		m.act = liveActions(session, c, o.timeout, feed)
		m.act.interval = to.interval
		m.act.clock = func() tea.Cmd { return tea.Tick(time.Second, func(time.Time) tea.Msg { return topClockMsg{} }) }
		if pid, err := strconv.Atoi(args[0]); err == nil && pid > 0 {
			m.act.stopped = func() bool { return processStopped(pid) }
		}
	}
	m.askedAt = time.Now() // Bubble Tea asks as it starts, the view in Init
	p := tea.NewProgram(m, tea.WithContext(session), tea.WithOutput(os.Stdout))
	final, err := p.Run()
	stop()
	if fm, ok := final.(topModel); ok && fm.fatal != nil {
		return fmt.Errorf("top: %w", fm.fatal)
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("top: %w", err)
	}
	return nil
}

// liveActions are the model's ways to reach the agent; each request is
// bounded by timeout (0: none).
func liveActions(ctx context.Context, c *client.Client, timeout time.Duration, feed <-chan tea.Msg) topActions {
	bounded := func() (context.Context, context.CancelFunc) {
		if timeout > 0 {
			return context.WithTimeout(ctx, timeout)
		}
		return context.WithCancel(ctx)
	}
	return topActions{
		next: func() tea.Msg {
			select {
			case m, ok := <-feed:
				if ok {
					return m
				}
			case <-ctx.Done():
			}
			return nil
		},
		cancel: func(id uint64, name string) tea.Cmd {
			return func() tea.Msg {
				ctx, cancel := bounded()
				defer cancel()
				res, err := c.Cancel(ctx, id, "cancelled from taskdump top")
				state := res.State
				if res.LoopBlocked {
					state += "; loop " + res.Loop + " is blocked: delivered when it regains control"
				}
				return topCancelMsg{id: id, name: name, state: state, err: err}
			}
		},
		resources: func() tea.Msg {
			ctx, cancel := bounded()
			defer cancel()
			res, err := c.Resources(ctx)
			return topResourcesMsg{res: res, err: err}
		},
		stack: func(id uint64) tea.Cmd {
			return func() tea.Msg {
				ctx, cancel := bounded()
				defer cancel()
				res, err := c.Stack(ctx, id)
				return topStackMsg{id: id, stack: res.Stack, live: res.Live, err: err}
			}
		},
	}
}

// watchFeed sends the process's state to feed as the agent's stream
// (/v1/watch) tells it, one message every interval, until ctx ends or the
// stream does; then a topGoneMsg saying why, and it closes feed. An agent
// that predates the stream (its answer is a 404) is polled instead: a
// snapshot and the doctor's findings every interval.
func watchFeed(ctx context.Context, c *client.Client, interval, timeout time.Duration, feed chan<- tea.Msg) {
	defer close(feed)
	send := func(m tea.Msg) error {
		select {
		case feed <- m:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var fold topFold
	pid, got := 0, false
	err := c.Watch(ctx, interval, func(m *wire.WatchMessage) error {
		got = true
		fold.apply(m)
		if m.Process != nil {
			pid = m.Process.PID
		}
		return send(topDataMsg{fold.data()})
	})
	var ae *client.APIError
	if !got && errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		pollFeed(ctx, c, interval, timeout, send)
		return
	}
	if ctx.Err() == nil {
		gone := topGoneMsg{reason: topGoneReason(pid, err)}
		if !got && errors.As(err, &ae) {
			gone.refused = err // busy, say: nothing to show
		}
		_ = send(gone) // the view may have quit: nothing to tell
	}
}

// pollFeed feeds the view from an agent without a stream: a snapshot and
// the doctor's findings every interval.
func pollFeed(ctx context.Context, c *client.Client, interval, timeout time.Duration, send func(tea.Msg) error) {
	pid := 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		d, err := pollOnce(ctx, c, timeout)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			_ = send(topGoneMsg{reason: topGoneReason(pid, err)}) // the view may have quit: nothing to tell
			return
		}
		pid = d.PID
		if send(topDataMsg{d}) != nil {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// pollOnce reads a snapshot and the doctor's findings.
func pollOnce(ctx context.Context, c *client.Client, timeout time.Duration) (topData, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	s, err := c.Snapshot(ctx, false)
	if err != nil {
		return topData{}, err
	}
	d := fromSnapshot(s)
	if diag, err := c.Doctor(ctx, 0); err == nil {
		d.Findings = diag.Findings
	}
	return d, nil
}

// fromSnapshot is the view's data from a full snapshot.
func fromSnapshot(s wire.Snapshot) topData {
	d := topData{Taken: s.Taken, PID: s.Process.PID, Command: s.Process.Command, ReadOnly: s.Process.ReadOnly}
	for _, l := range s.Loops {
		d.Loops = append(d.Loops, topLoop{Loop: l.Loop, HasStats: l.Stats.WindowNS > 0})
		for i := range l.TaskList {
			d.Tasks = append(d.Tasks, &l.TaskList[i])
		}
		d.Blocking = append(d.Blocking, l.BlockList...)
	}
	return d
}

// topGoneReason says why the stream ended: the process exited (it is
// given up to 2s to finish exiting, since its agent closes first), the
// agent sent more than the client accepts, or the agent went away.
func topGoneReason(pid int, err error) string {
	for i := 0; pid > 0 && i < 20; i++ {
		if processExited(pid) {
			return fmt.Sprintf("process %d exited", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if errors.Is(err, client.ErrTooLarge) {
		return "the stream stopped: " + clean(err.Error())
	}
	return "the agent went away: " + clean(err.Error())
}

// loadReplay reads a recording made by taskdump record (client.
// ReadRecording: plain or gzipped; other formats, newer versions and
// over-long lines refused). A last line cut short, as a killed recorder
// leaves it, or a line that is no message after some that are, ends the
// replay at the messages before it, and note says so (note also says when
// a gzipped recording lacks only its trailer: nothing is lost). A replay holds every message in memory: a recording of more
// than maxReplayMessages, or whose messages hold more than maxReplayBytes
// once decoded, is refused (a few kilobytes of gzip can expand to tens of
// millions of tiny messages, and gigabytes once decoded; each message is
// bounded by the wire decoder, wire.ErrTooLarge).
func loadReplay(name string) (msgs []wire.WatchMessage, note string, err error) {
	return loadReplayMax(name, maxReplayMessages, maxReplayBytes)
}

const (
	// maxReplayMessages bounds the messages top --replay holds: 1,000,000
	// is 28 hours of a recording at the shortest --interval, 100ms.
	maxReplayMessages = 1_000_000
	// maxReplayBytes bounds what they hold decoded (wire's Footprint):
	// a snapshot of 1,000,000 tasks and an hour of 1,000 tasks changing
	// every second each hold about 2 GiB.
	maxReplayBytes = 4 << 30
)

func loadReplayMax(name string, maxMsgs int, maxBytes int64) (msgs []wire.WatchMessage, note string, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, "", fmt.Errorf("top: %s: %w", name, osErr(err))
	}
	defer f.Close()
	rec, err := client.ReadRecording(f)
	if err != nil {
		if strings.HasPrefix(strings.TrimSpace(firstLine(name)), `{"taken"`) {
			err = fmt.Errorf("%w (it looks like a taskdump snapshot: top --replay plays what taskdump record writes)", err)
		}
		return nil, "", fmt.Errorf("top: %s: %w", name, err)
	}
	var held int64
	for {
		m, err := rec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, client.ErrUnfinished) && len(msgs) > 0 {
			note = "the recording's compressed stream has no end (was its recorder killed?): every message in it is here"
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && len(msgs) > 0 {
			note = "the recording's last line is cut short (was its recorder killed?): the replay ends before it"
			break
		}
		if err != nil && len(msgs) > 0 && !errors.Is(err, client.ErrTooLarge) {
			// A damaged line: play what came before it.
			note = "the replay ends before a damaged line: " + clean(err.Error())
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("top: %s: %w", name, err)
		}
		if len(msgs) == maxMsgs {
			return nil, "", fmt.Errorf("top: %s holds more than %d messages, more than a replay holds in memory: record a shorter one (--duration)", name, maxMsgs)
		}
		if held += m.Footprint(); held > maxBytes {
			return nil, "", fmt.Errorf("top: %s holds more than %d MiB once decoded, more than a replay holds in memory: record a shorter one (--duration)", name, maxBytes>>20)
		}
		msgs = append(msgs, *m)
	}
	if len(msgs) == 0 {
		return nil, "", fmt.Errorf("top: %s holds no messages", name)
	}
	return msgs, note, nil
}

// firstLine returns the start of name's first line ("" if it cannot be
// read): a hint of what the file is.
func firstLine(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 64)
	n, _ := io.ReadFull(f, b)
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	return line
}
