package main

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// recordOpts are record's own flags.
type recordOpts struct {
	duration time.Duration
	interval time.Duration
	flight   bool
}

func recordCmd() *command {
	var ro recordOpts
	return &command{
		name: "record", args: "PID -o FILE", short: "write the stream of changes to a file, for top --replay",
		long: "Record writes the agent's stream of changes (a snapshot, then what changed every\n" +
			"--interval) to FILE as versioned JSON lines, gzip-compressed when FILE ends in\n" +
			".gz, until interrupted (Ctrl-C) or --duration has passed, then says what it\n" +
			"wrote. With --flight it writes the agent's flight recorder instead, the last\n" +
			"seconds before now (kept without stacks), and returns at once.\n" +
			"'taskdump top --replay FILE' plays a recording. The format is documented in\n" +
			"package inspect/wire (WatchMessage). --timeout bounds the connection and\n" +
			"--flight, not the recording.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVarP(&o.out, "output", "o", "", "write to this file (.gz: gzip-compressed)")
			fs.DurationVar(&ro.duration, "duration", 0, "stop after this long (0: until interrupted)")
			fs.DurationVar(&ro.interval, "interval", time.Second, "how often the agent sends what changed")
			boolFlag(fs, &o.stacks, "stacks", true, "include every task's full stack")
			boolFlag(fs, &ro.flight, "flight", false, "write the agent's flight recorder (the last seconds) and return")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			return runRecord(ctx, e, o, &ro, args)
		},
	}
}

// checkRecordArgs checks record's arguments and its output's path.
func checkRecordArgs(o *opts, ro *recordOpts, args []string) error {
	if err := wantArgs(args, 1, "PID"); err != nil {
		return err
	}
	switch {
	case o.out == "":
		return usagef("want -o FILE: the file to write the recording to")
	case stdoutName(o.out):
		return usagef("-o %s: a recording goes to a file (top --replay reads it back); for the stream itself on standard output, curl -N --unix-socket $(taskdump socket PID) 'http://x/v1/watch'", o.out)
	case ro.duration < 0:
		return usagef("bad --duration %s: want a positive duration (0: until interrupted)", ro.duration)
	case ro.interval < 100*time.Millisecond:
		return usagef("bad --interval %s: want at least 100ms", ro.interval)
	case ro.flight && ro.duration != 0:
		return usagef("--flight writes what the agent kept and returns: --duration does not apply")
	case ro.flight && (ro.interval != time.Second || !o.stacks):
		return usagef("--flight writes what the agent kept, as it kept it: --interval and --stacks do not apply")
	}
	return checkOutput(o.out)
}

// runRecord writes the stream of the process args[0] (or its flight
// recorder) to o.out, then says what it wrote and why the stream ended.
func runRecord(ctx context.Context, e *env, o *opts, ro *recordOpts, args []string) error {
	if err := checkRecordArgs(o, ro, args); err != nil {
		return err
	}
	c, err := dial(o.dir, args[0])
	if err != nil {
		return err
	}
	defer c.Close()

	// The file is created (or an existing one truncated) with the first
	// message: a recording that gets none (a stopped process, a busy
	// agent) leaves what was there alone.
	fw := &fileWriter{name: o.out}
	var openErr error // why the file could not be created
	var w io.Writer = fw
	var zw *gzip.Writer
	if strings.HasSuffix(o.out, ".gz") {
		zw = gzip.NewWriter(fw)
		w = zw
	}
	rec := client.NewRecorder(w)
	rec.Flight = ro.flight
	start := time.Now()
	var prog progress
	if e.stderrTTY && !ro.flight {
		prog.w, prog.width = e.stderr, func() int { return termWidth(os.Stderr) }
	}
	write := func(m *wire.WatchMessage) error {
		if fw.f == nil {
			f, err := createOutput(o.out)
			if err != nil {
				openErr = fmt.Errorf("record: %w", err)
				return openErr
			}
			fw.f = f
		}
		if err := rec.Write(m); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		if zw != nil {
			// Each message reaches the file: a recording cut short by a
			// kill keeps what came before.
			if err := zw.Flush(); err != nil {
				return fmt.Errorf("record: %w", err)
			}
		}
		prog.show(func() string { return recordStatus(args[0], o.out, rec, start, ro.duration) })
		return nil
	}

	var streamErr error
	if ro.flight {
		streamErr = c.Flight(ctx, write)
	} else {
		// The recording lasts until a signal or --duration; --timeout
		// (main's deadline on ctx) bounds only the connection.
		session, stop := session(o)
		defer stop()
		if ro.duration > 0 {
			var cancel context.CancelFunc
			session, cancel = context.WithTimeout(session, ro.duration)
			defer cancel()
		}
		var opts []client.WatchOption
		if o.stacks {
			opts = append(opts, client.WatchStacks())
		}
		streamErr = c.Watch(session, ro.interval, write, opts...)
		if session.Err() != nil && (errors.Is(streamErr, context.Canceled) || errors.Is(streamErr, context.DeadlineExceeded)) {
			streamErr = nil // interrupted, or --duration passed: the normal end
		}
	}
	prog.clear()
	if openErr != nil {
		return openErr
	}
	if fw.f == nil {
		if streamErr == nil {
			streamErr = errors.New("the agent sent nothing")
		}
		return fmt.Errorf("record: %w; %s not written", streamErr, o.out)
	}
	var closeErr error
	if zw != nil {
		closeErr = zw.Close()
	}
	if err := fw.f.Close(); closeErr == nil && err != nil {
		closeErr = fmt.Errorf("cannot write %s: %w", o.out, osErr(err))
	}
	if closeErr != nil {
		return fmt.Errorf("record: %w", closeErr)
	}
	what := "recorded"
	if ro.flight {
		what = "the flight recorder held"
	}
	e.outf("%s %s, %s, over %s: wrote %s (%d bytes)\n", what, plural(int(rec.Messages()), "message"), plural(rec.Tasks(), "task"),
		recordSpan(rec, ro.flight, start), o.out, fw.n)
	if ro.flight {
		sparseFlight(e, rec)
	}
	return streamEnd(ctx, e, c, streamErr)
}

// recordStatus is record's progress line.
func recordStatus(pid, out string, rec *client.Recorder, start time.Time, duration time.Duration) string {
	until := "Ctrl-C stops"
	if duration > 0 {
		until = fmt.Sprintf("until %s or Ctrl-C", duration)
	}
	return fmt.Sprintf("recording pid %s to %s: %s, %s, %s (%s)", pid, out, plural(int(rec.Messages()), "message"),
		plural(rec.Tasks(), "task"), time.Since(start).Round(time.Second), until)
}

// sparseFlight says so when the flight recorder's messages are seconds
// apart: it records less often on a large process.
func sparseFlight(e *env, rec *client.Recorder) {
	n := rec.Messages()
	if n < 2 {
		return
	}
	if gap := rec.Span() / time.Duration(n-1); gap >= 2*time.Second {
		e.outf("one message every %s on average: on a process this large the flight recorder records less often, to keep its cost near 1%% of a core (record without --flight takes one every --interval)\n", gap.Round(100*time.Millisecond))
	}
}

// progress is a status line on a terminal, redrawn at most once a second;
// with a nil w it shows nothing. width returns the terminal's width.
type progress struct {
	w     io.Writer
	width func() int
	shown time.Time
}

// show redraws the line with text(), unless it did less than a second ago.
// The line is cut to the terminal's width (a line that wraps could not be
// redrawn in place).
func (p *progress) show(text func() string) {
	if p.w == nil || time.Since(p.shown) < time.Second {
		return
	}
	p.shown = time.Now()
	line := []rune(escape(text()))
	if w := p.width() - 1; len(line) > w {
		line = append(line[:max(w-1, 0)], '…')
	}
	printer{p.w}.printf("\r\x1b[K%s", string(line))
}

// clear erases the line, if one was shown.
func (p *progress) clear() {
	if p.w != nil && !p.shown.IsZero() {
		printer{p.w}.printf("\r\x1b[K")
	}
}

// streamEnd says why a recording's stream stopped, once what came before
// is in the file: nil when it did not fail; nil, saying so, when it broke
// because the process exited (cleanly or killed, its socket left behind or
// not) or closed its agent, which ends a recording the way the process
// did; an error otherwise (an answer of the agent's, or an interrupt; the
// --timeout deadline on ctx bounds only the connection).
func streamEnd(ctx context.Context, e *env, c *client.Client, streamErr error) error {
	if streamErr == nil {
		return nil
	}
	var ae *client.APIError
	if errors.As(streamErr, &ae) || errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("record: the stream stopped: %w", streamErr)
	}
	if reason, ok := exitedReason(c.Path()); ok {
		e.outf("the recording ends there: %s\n", reason) // killed or not, socket left or not
		return nil
	}
	if agentGone(c.Path()) {
		e.outf("the recording ends there: the agent closed its socket\n")
		return nil
	}
	return fmt.Errorf("record: the stream stopped: %w", streamErr)
}

// createOutput opens name to write a recording to, creating it with mode
// 0600 or truncating it. It never follows a symbolic link at name (one
// planted there, in /tmp say, would have the recording overwrite the
// file it points to): that is an error that says so, as is a FIFO with no
// reader (open would wait for one). Errors name the
// user's path: "cannot write /tmp/r.jsonl: it is a symbolic link (not
// followed)". An existing file is refused when another user owns it
// (planted where the user writes, it would let its owner read the
// recording) before it is truncated; the user's own is truncated and
// made mode 0600, as a new one is: a recording holds the process's task
// names, stacks and errors.
func createOutput(name string) (*os.File, error) {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, symlinkErr(name)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|oNoFollow|oNonBlock, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, symlinkErr(name)
		}
		return nil, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	if !fi.Mode().IsRegular() {
		return f, nil // a device such as /dev/null, or a FIFO with a reader
	}
	if uid := fileOwner(fi); uid >= 0 && uid != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("cannot write %s: it belongs to uid %d, not to you (uid %d), who could read the recording: remove it or write elsewhere", name, uid, os.Geteuid())
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	if fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot write %s: %w", name, osErr(err))
		}
	}
	return f, nil
}

// symlinkErr is the error for an output path that is a symbolic link:
// remove it, says it, unless the system made it (/dev/stderr).
func symlinkErr(name string) error {
	if strings.HasPrefix(name, "/dev/") || strings.HasPrefix(name, "/proc/") {
		return fmt.Errorf("cannot write %s: it is a symbolic link (not followed): write to a file", name)
	}
	return fmt.Errorf("cannot write %s: it is a symbolic link (not followed): remove it or write elsewhere", name)
}

// recordSpan is how much time the recording covers, rounded for people.
func recordSpan(rec *client.Recorder, flight bool, start time.Time) string {
	d := time.Since(start)
	if flight {
		d = rec.Span()
	}
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}
