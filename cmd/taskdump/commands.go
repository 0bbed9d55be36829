package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect"
	"github.com/taskdump/taskdump/inspect/wire"
)

// dial connects to the agent named by target: a PID or a socket path.
func dial(target string) (*inspect.Client, error) {
	if strings.ContainsRune(target, '/') || strings.HasSuffix(target, ".sock") {
		return inspect.DialPath(target)
	}
	pid, err := strconv.Atoi(target)
	if err != nil || pid <= 0 {
		return nil, usagef("bad PID %q: want a process id or the path of an agent's socket", target)
	}
	return inspect.Dial(pid)
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

// show dials target, fetches one value with get and prints it to e's
// standard output: as indented JSON if asJSON, else with render.
func show[T any](e *env, target string, asJSON bool, get func(*inspect.Client) (T, error), render func(io.Writer, T) error) error {
	c, err := dial(target)
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
			found, removed, err := inspect.Scan("")
			if err != nil {
				return err
			}
			e.flush()
			for _, p := range removed {
				fmt.Fprintf(e.stderr, "taskdump: removed stale socket %s\n", p)
			}
			var procs []wire.Process
			for _, f := range found {
				c, err := inspect.DialPath(f.Path)
				if err != nil {
					continue
				}
				p, err := c.Process(ctx)
				c.Close()
				if err != nil {
					fmt.Fprintf(e.stderr, "taskdump: pid %d: %s\n", f.PID, reason(err))
					continue
				}
				procs = append(procs, p)
			}
			if o.json {
				if procs == nil {
					procs = []wire.Process{}
				}
				return writeJSONTo(e.stdout, procs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PID\tCOMMAND\tLOOPS\tTASKS")
			for _, p := range procs {
				n := 0
				names := make([]string, len(p.Loops))
				for i, l := range p.Loops {
					n += l.Tasks
					names[i] = l.Name
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\n", p.PID, commandLine(p.Command), strings.Join(names, ","), n)
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
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func tasksCmd() *command {
	return &command{
		name: "tasks", args: "PID", short: "list live tasks: state, age, where suspended, what awaited",
		long: "Tasks lists the live tasks of every loop in the process, in creation order:\n" +
			"ID, NAME, STATE, AGE, SUSPENDED AT (file:line of the await) and AWAITING.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringSliceVar(&o.states, "state", nil, "only tasks in these states (pending, running, cancelling)")
			fs.StringVar(&o.name, "name", "", "only tasks whose name matches this glob (worker-*)")
			fs.DurationVar(&o.olderThan, "older-than", 0, "only tasks created longer ago than this (10s)")
			fs.StringVar(&o.loop, "loop", "", "only tasks of this loop (name or id)")
			boolFlag(fs, &o.stacks, "stacks", false, "with --json, include every task's full stack")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of task records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.name != "" {
				if _, err := path.Match(o.name, ""); err != nil {
					return usagef("bad --name pattern %q: %v", o.name, err)
				}
			}
			c, err := dial(args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			f := inspect.TaskFilter{States: o.states, Name: o.name, OlderThan: o.olderThan, Loop: o.loop, Stacks: o.stacks}
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
			return show(e, args[0], o.json,
				func(c *inspect.Client) (wire.Tree, error) { return c.Tree(ctx) },
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
			return show(e, args[0], o.json,
				func(c *inspect.Client) (wire.StackResult, error) { return c.Stack(ctx, id) },
				func(w io.Writer, s wire.StackResult) error { renderStack(w, s, e.now(), o.all); return nil })
		},
	}
}

func blockingCmd() *command {
	return &command{
		name: "blocking", args: "PID", short: "show what blocks the loop now and recent blocking steps",
		long: "Blocking shows the steps that ran longer than the loop's slow-step threshold and\n" +
			"so blocked every other task: the ongoing one, if any, and recent ones, each with its\n" +
			"task, duration and stack. Move such work into runtime.ToThread.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.all, "all", false, "also show the frames of the Go and task runtimes around the user's code")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of blocking events")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			return show(e, args[0], o.json,
				func(c *inspect.Client) ([]wire.BlockEvent, error) { return c.Blocking(ctx) },
				func(w io.Writer, evs []wire.BlockEvent) error { renderBlocking(w, evs, o.all); return nil })
		},
	}
}

func historyCmd() *command {
	return &command{
		name: "history", args: "PID", short: "list recently finished tasks and how they ended",
		long: "History lists the recently finished tasks of every loop, oldest first, with how each\n" +
			"ended (finished, failed, cancelled) and its error.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.json, "json", false, "print a JSON array of task records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			get := func(c *inspect.Client) ([]wire.Task, error) {
				ts, err := c.History(ctx)
				if err == nil && ts == nil {
					ts = []wire.Task{} // JSON [] rather than null
				}
				return ts, err
			}
			return show(e, args[0], o.json, get,
				func(w io.Writer, ts []wire.Task) error { return renderHistory(w, ts, e.now()) })
		},
	}
}

func snapshotCmd() *command {
	return &command{
		name: "snapshot", args: "PID", short: "write everything (tasks, stacks, history, blocking) as one JSON file",
		long: "Snapshot writes one JSON document with the process, every loop, every live task with\n" +
			"its stack, the history and the blocking events.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVarP(&o.out, "output", "o", "-", "write to this file (- for standard output)")
			boolFlag(fs, &o.stacks, "stacks", true, "include every task's full stack")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			c, err := dial(args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if o.out == "-" || o.out == "" {
				return c.WriteSnapshot(ctx, o.stacks, e.stdout)
			}
			tmp, err := os.CreateTemp(filepath.Dir(o.out), ".taskdump-snapshot-*")
			if err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			defer os.Remove(tmp.Name())
			if err := c.WriteSnapshot(ctx, o.stacks, tmp); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			if err := os.Rename(tmp.Name(), o.out); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			fi, _ := os.Stat(o.out)
			var n int64
			if fi != nil {
				n = fi.Size()
			}
			fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", o.out, n)
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
	c, err := dial(args[0])
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
	if err := writeFileAtomic(o.out, data); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", o.out, len(data))
	return nil
}

// writeFileAtomic writes data to a temporary file next to name, then renames
// it: name is either the whole data or untouched.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".taskdump-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
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
	var ids []uint64
	for _, a := range args[1:] {
		id, err := parseTaskID(a)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && o.name == "" {
		return usagef("want task IDs or --name GLOB")
	}
	if o.name != "" {
		if _, err := path.Match(o.name, ""); err != nil {
			return usagef("bad --name pattern %q: %v", o.name, err)
		}
	}
	c, err := dial(args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	if o.name != "" {
		ts, err := c.Tasks(ctx, inspect.TaskFilter{Name: o.name})
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
	var failed []error
	var requested []wire.CancelResult
	for _, id := range ids {
		r, err := c.Cancel(ctx, id, o.msg)
		if err != nil {
			e.flush()
			failed = append(failed, err)
			fmt.Fprintf(e.stderr, "taskdump: %s\n", reason(err))
			continue
		}
		requested = append(requested, r)
		line := fmt.Sprintf("task %d %q: cancel requested", r.ID, r.Name)
		if r.LoopBlocked {
			line += " (loop " + r.Loop + " is blocked: delivered when it regains control)"
		}
		fmt.Fprintln(e.stdout, line)
	}
	e.flush()
	if o.wait {
		for _, r := range requested {
			t, err := waitEnded(ctx, c, r.ID)
			if err != nil {
				e.flush()
				failed = append(failed, err)
				fmt.Fprintf(e.stderr, "taskdump: task %d: %s\n", r.ID, reason(err))
				continue
			}
			line := fmt.Sprintf("task %d %q: %s", t.ID, t.Name, t.State)
			if t.Error != "" {
				line += ": " + t.Error
			}
			fmt.Fprintln(e.stdout, line)
			e.flush()
		}
	}
	if len(failed) > 0 && len(ids) == 1 {
		// The reason is printed already; exit non-zero.
		return errAlreadyReported
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d cancels failed", len(failed), len(ids))
	}
	return nil
}

// errAlreadyReported makes run exit 1 without printing again.
var errAlreadyReported = errors.New("")

// waitEnded polls the task until it has ended, then returns its final
// record from the history.
func waitEnded(ctx context.Context, c *inspect.Client, id uint64) (wire.Task, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		t, err := c.Task(ctx, id)
		if err != nil {
			if errors.Is(err, inspect.ErrNoTask) {
				// Ended and already dropped from the history.
				return wire.Task{ID: id, State: "ended"}, nil
			}
			return t, err
		}
		if t.Done() {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("waiting for task %d to end: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}
