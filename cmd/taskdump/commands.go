package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// dial connects to the agent named by target: a PID, whose socket is
// looked for in dir (--dir; empty for the default), or a socket path.
func dial(dir, target string) (*client.Client, error) {
	if strings.ContainsRune(target, '/') || strings.HasSuffix(target, ".sock") {
		return client.DialPath(target)
	}
	pid, err := strconv.Atoi(target)
	if err != nil || pid <= 0 {
		return nil, usagef("bad PID %q: want a process id or the path of an agent's socket", target)
	}
	return client.Dial(pid, client.WithDir(dir))
}

func parseTaskID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, usagef("bad task id %q: want a positive number", s)
	}
	return id, nil
}

func wantArgs(args []string, n int, what string) error {
	if len(args) != n {
		return usagef("want %s, got %d argument(s)", what, len(args))
	}
	return nil
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// show dials target (in socket directory dir), fetches one value with get
// and prints it to e's standard output: as indented JSON if asJSON, else
// with render.
func show[T any](e *env, dir, target string, asJSON bool, get func(*client.Client) (T, error), render func(io.Writer, T) error) error {
	c, err := dial(dir, target)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := get(c)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONTo(e.stdout, v)
	}
	return render(e.stdout, v)
}

func psCmd() *command {
	return &command{
		name: "ps", args: "", short: "list processes with a live agent",
		long: "Ps lists the processes of this user whose agent listens in the socket directory:\n" +
			"PID, command, loops and live tasks. Sockets of dead processes are removed.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.json, "json", false, "print a JSON array of process records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 0, "no arguments"); err != nil {
				return err
			}
			// Every agent is asked at once, each for at most
			// client.PsTimeout: one that never answers is marked and
			// delays the others by nothing.
			// Ps checks $TASKDUMP_DIR, and --dir is checked the same way.
			if o.dir != "" {
				if err := client.CheckDir(o.dir); err != nil {
					return err
				}
			}
			sts, removed, err := client.Ps(ctx, o.dir, client.PsTimeout)
			if err != nil {
				return err
			}
			e.flush()
			for _, p := range removed {
				e.errf("taskdump: removed stale socket %s\n", p)
			}
			if len(sts) == 0 {
				dir := o.dir
				if dir == "" {
					dir = client.DefaultDir()
				}
				e.errf("taskdump: no agent in %s\n", dir)
			}
			var procs []wire.Process
			var silent []client.Status
			for _, st := range sts {
				switch {
				case st.Err == nil:
					procs = append(procs, st.Process)
				case errors.Is(st.Err, client.ErrTimeout) && !o.json:
					silent = append(silent, st)
				default:
					e.errf("taskdump: pid %d: %s\n", st.PID, reason(st.Err))
				}
			}
			if o.json {
				if procs == nil {
					procs = []wire.Process{}
				}
				return writeJSONTo(e.stdout, procs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			out := printer{tw}
			out.printf("PID\tCOMMAND\tLOOPS\tTASKS\n")
			for _, p := range procs {
				n := 0
				names := make([]string, len(p.Loops))
				for i, l := range p.Loops {
					n += l.Tasks
					names[i] = l.Name
				}
				out.printf("%d\t%s\t%s\t%d\n", p.PID, commandLine(p.Command), strings.Join(names, ","), n)
			}
			for _, st := range silent {
				out.printf("%d\t(no answer within %s)\t-\t-\n", st.PID, client.PsTimeout)
			}
			return tw.Flush()
		},
	}
}

func commandLine(argv []string) string {
	if len(argv) == 0 {
		return "?"
	}
	s := filepath.Base(argv[0])
	if len(argv) > 1 {
		s += " " + strings.Join(argv[1:], " ")
	}
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:57]) + "..."
	}
	return s
}

func tasksCmd() *command {
	return &command{
		name: "tasks", args: "PID", short: "list live tasks: state, age, where suspended, what awaited",
		long: "Tasks lists the live tasks of every loop in the process, in creation order:\n" +
			"ID, NAME, STATE, AGE, SUSPENDED AT (file:line of the await) and AWAITING.\n" +
			"Ended tasks (finished, failed, cancelled) are listed by 'taskdump history'.\n" +
			"In a --name glob, * and ? match any characters, / included.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringSliceVar(&o.states, "state", nil, "only tasks in these states: pending, running, cancelling")
			fs.StringVar(&o.name, "name", "", "only tasks whose name matches this glob ('worker-*', 'fetch *')")
			fs.DurationVar(&o.olderThan, "older-than", 0, "only tasks created longer ago than this (10s)")
			fs.StringVar(&o.loop, "loop", "", "only tasks of this loop (name or id)")
			boolFlag(fs, &o.stacks, "stacks", false, "include every task's full stack (needs --json; for one task, see 'taskdump stack')")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of task records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if err := checkTaskFlags(o); err != nil {
				return err
			}
			c, err := dial(o.dir, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if o.loop != "" {
				if err := checkLoop(ctx, c, o.loop); err != nil {
					return err
				}
			}
			f := client.TaskFilter{States: o.states, Name: o.name, OlderThan: o.olderThan, Loop: o.loop, Stacks: o.stacks}
			if o.json {
				return c.WriteTasks(ctx, f, e.stdout)
			}
			f.Fields = tableFields
			ts, err := c.Tasks(ctx, f)
			if err != nil {
				return err
			}
			return renderTasks(e.stdout, ts, e.now())
		},
	}
}

// liveStates are the states a live task can be in: what tasks --state
// takes.
var liveStates = []string{"pending", "running", "cancelling"}

// checkTaskFlags checks the flags of tasks that need no agent to check.
func checkTaskFlags(o *opts) error {
	for _, st := range o.states {
		switch {
		case slices.Contains(liveStates, st):
		case st == "finished" || st == "failed" || st == "cancelled":
			return usagef("bad --state %q: tasks lists live tasks (pending, running, cancelling); 'taskdump history' lists the ended ones", st)
		default:
			return usagef("bad --state %q: want pending, running or cancelling", st)
		}
	}
	if o.olderThan < 0 {
		return usagef("bad --older-than %s: want a positive duration such as 10s", o.olderThan)
	}
	if o.stacks && !o.json {
		return usagef("--stacks needs --json (the table has no room for stacks; 'taskdump stack PID ID' prints one)")
	}
	return checkGlob(o.name)
}

// checkGlob checks the syntax of a --name glob.
func checkGlob(glob string) error {
	if glob == "" {
		return nil
	}
	if _, err := path.Match(glob, ""); err != nil {
		return usagef("bad --name pattern %q: %v", glob, err)
	}
	return nil
}

// checkLoop returns an error unless the process has a loop of that name or
// id.
func checkLoop(ctx context.Context, c *client.Client, loop string) error {
	loops, err := c.Loops(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(loops))
	for i, l := range loops {
		if l.Name == loop || strconv.FormatUint(l.ID, 10) == loop {
			return nil
		}
		names[i] = fmt.Sprintf("%s (id %d)", l.Name, l.ID)
	}
	if len(names) == 0 {
		return fmt.Errorf("no loop %q: the process has no running loop", loop)
	}
	return fmt.Errorf("no loop %q: the process has %s", loop, strings.Join(names, ", "))
}

// lastN returns the last n elements of s (all of them if n is 0).
func lastN[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// tableFields are the task fields the tasks table shows.
var tableFields = []string{"name", "state", "loop", "loop_id", "running", "created", "started", "suspended_at", "awaiting"}

func treeCmd() *command {
	return &command{
		name: "tree", args: "PID", short: "draw the await tree (who awaits whom, who spawned whom)",
		long: "Tree draws the live tasks as a tree: under each task, the tasks it awaits, then the\n" +
			"tasks it spawned that nobody awaits. Await cycles are flagged.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.json, "json", false, "print the tree as JSON")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			return show(e, o.dir, args[0], o.json,
				func(c *client.Client) (wire.Tree, error) { return c.Tree(ctx) },
				func(w io.Writer, t wire.Tree) error { renderTree(w, t); return nil })
		},
	}
}

func stackCmd() *command {
	return &command{
		name: "stack", args: "PID ID", short: "print a task's full stack",
		long: "Stack prints the full stack of a task, innermost call first, as a Go traceback:\n" +
			"where a suspended task waits, or the live stack of a task whose step is running.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.all, "all", false, "also show the frames of the Go and task runtimes around the user's code")
			boolFlag(fs, &o.json, "json", false, "print the stack as JSON")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 2, "PID and task ID"); err != nil {
				return err
			}
			id, err := parseTaskID(args[1])
			if err != nil {
				return err
			}
			return show(e, o.dir, args[0], o.json,
				func(c *client.Client) (wire.StackResult, error) { return c.Stack(ctx, id) },
				func(w io.Writer, s wire.StackResult) error { renderStack(w, s, e.now(), o.all); return nil })
		},
	}
}

func blockingCmd() *command {
	return &command{
		name: "blocking", args: "PID", short: "show what blocks the loop now and recent blocking steps",
		long: "Blocking shows the steps that ran longer than the loop's slow-step threshold and\n" +
			"so blocked every other task, each with its task, duration and stack: recent ones,\n" +
			"oldest first, then the ongoing one, if any (as --json orders them too).\n" +
			"Move such work into runtime.ToThread.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.IntVarP(&o.last, "last", "n", 0, "only the last N events (0: all the agent keeps)")
			boolFlag(fs, &o.all, "all", false, "also show the frames of the Go and task runtimes around the user's code")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of blocking events")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.last < 0 {
				return usagef("bad -n %d: want a positive count (0: all)", o.last)
			}
			return show(e, o.dir, args[0], o.json,
				func(c *client.Client) ([]wire.BlockEvent, error) {
					evs, err := c.Blocking(ctx)
					if err == nil && evs == nil {
						evs = []wire.BlockEvent{} // JSON [] rather than null
					}
					return lastN(evs, o.last), err
				},
				func(w io.Writer, evs []wire.BlockEvent) error { renderBlocking(w, evs, o.all); return nil })
		},
	}
}

func historyCmd() *command {
	return &command{
		name: "history", args: "PID", short: "list recently finished tasks and how they ended",
		long: "History lists the recently finished tasks of every loop, oldest first (as --json\n" +
			"orders them too), with how each ended (finished, failed, cancelled) and its error.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.IntVarP(&o.last, "last", "n", 0, "only the last N tasks to end (0: all the agent keeps)")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of task records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.last < 0 {
				return usagef("bad -n %d: want a positive count (0: all)", o.last)
			}
			get := func(c *client.Client) ([]wire.Task, error) {
				ts, err := c.History(ctx)
				if err == nil && ts == nil {
					ts = []wire.Task{} // JSON [] rather than null
				}
				return lastN(ts, o.last), err
			}
			return show(e, o.dir, args[0], o.json, get,
				func(w io.Writer, ts []wire.Task) error { return renderHistory(w, ts, e.now()) })
		},
	}
}

func snapshotCmd() *command {
	return &command{
		name: "snapshot", args: "PID", short: "write everything (tasks, stacks, history, blocking) as one JSON file",
		long: "Snapshot writes one JSON document with the process, every loop, every live task with\n" +
			"its stack, the history and the blocking events. With -o FILE, FILE is replaced\n" +
			"only once the whole document is written.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVarP(&o.out, "output", "o", "-", "write to this file (- for standard output)")
			boolFlag(fs, &o.stacks, "stacks", true, "include every task's full stack")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			toStdout := o.out == "-" || o.out == ""
			if !toStdout {
				if err := checkOutput(o.out); err != nil {
					return err
				}
			}
			c, err := dial(o.dir, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if toStdout {
				return c.WriteSnapshot(ctx, o.stacks, e.stdout)
			}
			n, err := writeFileAtomic(o.out, 0o600, func(w io.Writer) error { return c.WriteSnapshot(ctx, o.stacks, w) })
			if err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			e.outf("wrote %s (%d bytes)\n", o.out, n)
			return nil
		},
	}
}

func profileCmd() *command {
	return &command{
		name: "profile", args: "PID", short: "write a pprof profile of pending tasks or of what blocked the loop",
		long: "Profile writes a gzipped pprof profile for go tool pprof, its web UI and flame graphs.\n" +
			"--kind tasks: one sample per live task (a count and the time suspended), its stack\n" +
			"with the user's await line on top, labelled task.name, state, loop and awaiting.\n" +
			"--kind blocking: one sample per recent step that blocked the loop (nanoseconds\n" +
			"blocked and a count), the stack captured while it blocked, labelled task.name.\n" +
			"Open it with: go tool pprof -top -lines FILE",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVar(&o.kind, "kind", wire.ProfileTasks, "profile kind: tasks or blocking")
			fs.StringVarP(&o.out, "output", "o", "-", "write to this file (- for standard output, if it is not a terminal)")
		},
		run: runProfile,
	}
}

func runProfile(ctx context.Context, e *env, o *opts, args []string) error {
	if err := wantArgs(args, 1, "PID"); err != nil {
		return err
	}
	if o.kind != wire.ProfileTasks && o.kind != wire.ProfileBlocking {
		return usagef("bad --kind %q: want tasks or blocking", o.kind)
	}
	toStdout := o.out == "-" || o.out == ""
	if toStdout && e.stdoutTTY {
		return usagef("refusing to write a binary profile to a terminal: use -o FILE or redirect standard output")
	}
	if !toStdout {
		if err := checkOutput(o.out); err != nil {
			return err
		}
	}
	c, err := dial(o.dir, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	data, err := c.Profile(ctx, o.kind)
	if err != nil {
		return err
	}
	if toStdout {
		_, err := e.stdout.Write(data)
		return err
	}
	n, err := writeFileAtomic(o.out, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	e.outf("wrote %s (%d bytes)\n", o.out, n)
	return nil
}

// checkOutput refuses an -o path that names a directory, before anything
// is fetched.
func checkOutput(name string) error {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return usagef("-o %s is a directory: give the name of a file to write", name)
	}
	return nil
}

// writeFileAtomic writes what write produces to a temporary file next to
// name, with mode perm, then renames it over name: name ends up with all
// of it or is left as it was. It returns the number of bytes written.
// Errors name the user's path, never the temporary file: "cannot write
// /x/snap.json: no such file or directory", "/tmp is a directory".
func writeFileAtomic(name string, perm os.FileMode, write func(io.Writer) error) (int64, error) {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return 0, fmt.Errorf("%s is a directory: give the name of a file to write", name)
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".taskdump-"+filepath.Base(name)+"-*")
	if err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	defer os.Remove(tmp.Name())
	fw := &fileWriter{f: tmp, name: name}
	if err := write(fw); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return 0, fmt.Errorf("cannot write %s: %w", name, osErr(err))
	}
	return fw.n, nil
}

// fileWriter writes to the temporary file of writeFileAtomic; its errors
// name the user's path.
type fileWriter struct {
	f    *os.File
	name string
	n    int64
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		err = fmt.Errorf("cannot write %s: %w", w.name, osErr(err))
	}
	return n, err
}

// osErr returns the system error inside a *fs.PathError or *os.LinkError,
// whose message would name the temporary file.
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func cancelCmd() *command {
	return &command{
		name: "cancel", args: "PID [ID...]", short: "cancel tasks by id or name",
		long: "Cancel asks the loop to cancel tasks, by id and/or by --name glob. The request is\n" +
			"accepted even while a step blocks the loop; the loop delivers it when it regains\n" +
			"control. With --wait, waits for each task to end and prints how it ended.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVar(&o.name, "name", "", "also cancel every live task whose name matches this glob")
			fs.StringVar(&o.msg, "msg", "", "cancel message, shown in the task's error")
			boolFlag(fs, &o.wait, "wait", false, "wait for the tasks to end and print how they ended")
		},
		run: runCancel,
	}
}

func runCancel(ctx context.Context, e *env, o *opts, args []string) error {
	if len(args) < 1 {
		return usagef("want PID and task IDs or --name")
	}
	ids, err := cancelIDs(args[1:], o.name)
	if err != nil {
		return err
	}
	c, err := dial(o.dir, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	if o.name != "" {
		ts, err := c.Tasks(ctx, client.TaskFilter{Name: o.name})
		if err != nil {
			return err
		}
		if len(ts) == 0 && len(ids) == 0 {
			return fmt.Errorf("no live task matches %q", o.name)
		}
		for _, t := range ts {
			if !slices.Contains(ids, t.ID) {
				ids = append(ids, t.ID)
			}
		}
	}
	requested, failed, err := sendCancels(ctx, e, c, ids, o.msg)
	if err != nil || requested == nil {
		return err
	}
	if o.wait {
		failed += waitCancelled(ctx, e, c, requested)
	}
	if failed > 0 && len(ids) == 1 {
		// The reason is printed already; exit non-zero.
		return errAlreadyReported
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cancels failed", failed, len(ids))
	}
	return nil
}

// cancelIDs parses the task ids of cancel's arguments, without repeats, and
// checks that there is something to cancel.
func cancelIDs(args []string, glob string) ([]uint64, error) {
	var ids []uint64
	for _, a := range args {
		id, err := parseTaskID(a)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && glob == "" {
		return nil, usagef("want task IDs or --name GLOB")
	}
	return ids, checkGlob(glob)
}

// sendCancels asks the agent to cancel each task and prints each answer.
// It returns the cancels the agent accepted and how many it refused for
// reasons of their own (no such task, already finished: printed). An
// answer that is not about one task (a read-only agent, a refused user, a
// broken connection) is returned as the error, once; if the process exited
// after a cancel was sent, that is printed and the requests are nil.
func sendCancels(ctx context.Context, e *env, c *client.Client, ids []uint64, msg string) ([]wire.CancelResult, int, error) {
	requested := []wire.CancelResult{}
	failed := 0
	for i, id := range ids {
		r, err := c.Cancel(ctx, id, msg)
		var ae *client.APIError
		switch {
		case err == nil:
		case !errors.As(err, &ae) && ctx.Err() == nil && agentGone(c.Path()):
			// The connection failed and nothing listens any more: the
			// process exited, most likely because this cancel ended the
			// task its life hung on. Its tasks are gone with it.
			e.outf("task %d: %s after the cancel was sent\n", id, goneReason(c.Path()))
			return nil, 0, nil
		case ae == nil || errors.Is(err, client.ErrReadOnly) || errors.Is(err, client.ErrPermission):
			// Not about this task: every other cancel would get the same
			// answer. Say it once.
			if left := len(ids) - i; len(ids) > 1 {
				err = fmt.Errorf("%w (%s not cancelled)", err, plural(left, "task"))
			}
			return nil, 0, err
		default:
			failed++
			e.errf("taskdump: %s\n", reason(err))
			continue
		}
		requested = append(requested, r)
		if r.LoopBlocked {
			e.outf("task %d %q: cancel requested (loop %s is blocked: delivered when it regains control)\n", r.ID, r.Name, r.Loop)
		} else {
			e.outf("task %d %q: cancel requested\n", r.ID, r.Name)
		}
	}
	e.flush()
	return requested, failed, nil
}

// waitCancelled waits for each requested task to end and prints how it
// ended, or that the process exited meanwhile. It returns how many waits
// failed (printed).
func waitCancelled(ctx context.Context, e *env, c *client.Client, requested []wire.CancelResult) int {
	failed := 0
	for _, r := range requested {
		t, err := waitEnded(ctx, c, r.ID)
		switch {
		case errors.Is(err, errTaskGone):
			e.outf("task %d %q: ended; its record is gone (its loop closed, or the history dropped it)\n", r.ID, r.Name)
		case errors.Is(err, errAgentGone):
			// Its end ended the process (or the process closed its
			// agent): the cancel was delivered, and the other tasks are
			// gone with the process.
			e.outf("task %d %q: %s before the task's end could be read\n", r.ID, r.Name, goneReason(c.Path()))
			return failed
		case err != nil:
			failed++
			e.errf("taskdump: task %d: %s\n", r.ID, reason(err))
		case t.Error != "":
			e.outf("task %d %q: %s: %s\n", t.ID, t.Name, t.State, t.Error)
		default:
			e.outf("task %d %q: %s\n", t.ID, t.Name, t.State)
		}
		e.flush()
	}
	return failed
}

// errAlreadyReported makes run exit 1 without printing again.
var errAlreadyReported = errors.New("")

// errTaskGone is returned by waitEnded when the task is neither live nor
// in the history.
var errTaskGone = errors.New("the task's record is gone")

// errAgentGone is returned by waitEnded when the agent stopped answering
// and its socket is gone or refuses connections.
var errAgentGone = errors.New("the agent went away")

// waitEnded polls the task until it has ended, then returns its final
// record from the history. If the task is in neither, it returns
// errTaskGone; if the agent goes away meanwhile — the task's end ended the
// process — errAgentGone.
func waitEnded(ctx context.Context, c *client.Client, id uint64) (wire.Task, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	transportErrs := 0
	for {
		t, err := c.Task(ctx, id)
		var ae *client.APIError
		switch {
		case err == nil:
			transportErrs = 0
			if t.Done() {
				return t, nil
			}
		case errors.Is(err, client.ErrNoTask):
			// Ended, and its loop closed or the history dropped it.
			return t, errTaskGone
		case ctx.Err() != nil:
			return t, fmt.Errorf("waiting for task %d to end: %w", id, ctx.Err())
		case errors.As(err, &ae):
			return t, err
		default:
			// The connection failed: the process may have exited.
			if agentGone(c.Path()) {
				return t, errAgentGone
			}
			if transportErrs++; transportErrs > 5 {
				return t, err
			}
		}
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("waiting for task %d to end: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// agentGone reports whether nothing listens on the socket at path any
// more.
func agentGone(path string) bool {
	c, err := client.DialPath(path)
	if err != nil {
		return errors.Is(err, client.ErrNoAgent)
	}
	c.Close()
	return false
}

// goneReason says why the agent at the socket path went away: "process
// 4242 exited" if the process named by the socket's file name has exited
// (within a second), else "the agent closed its socket".
func goneReason(sock string) string {
	pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(sock), ".sock"))
	if err != nil || pid <= 0 {
		return "the agent closed its socket"
	}
	for range 50 {
		if processExited(pid) {
			return fmt.Sprintf("process %d exited", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "the agent closed its socket"
}

// processExited reports whether pid has no process, or only a zombie
// whose parent has not yet waited for it.
func processExited(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] == 'Z' || stat[i+2] == 'X'
	}
	return false
}

func socketCmd() *command {
	return &command{
		name: "socket", args: "PID", short: "print the path of a process's agent socket (for curl)",
		long: "Socket prints the path of the socket the agent of process PID listens on, once it has\n" +
			"checked that the agent answers there, so other tools can talk to it:\n" +
			"  curl --unix-socket \"$(taskdump socket PID)\" http://x/v1/tasks",
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			c, err := dial(o.dir, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Process(ctx); err != nil {
				return err
			}
			e.outf("%s\n", c.Path())
			return nil
		},
	}
}
