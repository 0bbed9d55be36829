package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func profileCmd() *command {
	return &command{
		name: "profile", args: "PID", short: "write a pprof profile: pending tasks, what blocked the loop, or CPU by task",
		long: "Profile writes a gzipped pprof profile for go tool pprof, its web UI and flame graphs.\n" +
			"--kind tasks: one sample per live task (a count and the time suspended), its stack\n" +
			"with the user's await line on top, labelled task.name, state, loop and awaiting.\n" +
			"--kind blocking: one sample per recent step that blocked the loop (nanoseconds\n" +
			"blocked and a count), the stack captured while it blocked, labelled task.name.\n" +
			"--kind cpu: the process's CPU profile over --duration (1s to 30s); samples taken\n" +
			"in a task are labelled task.id, task.name and loop: where a hog's steps go\n" +
			"(go tool pprof -top -lines -tagfocus task.name=NAME FILE). --timeout bounds\n" +
			"the connection, not the profile. It then says how many samples it holds and\n" +
			"how many were taken in tasks (on standard error when the profile goes to\n" +
			"standard output): none means the process used no CPU meanwhile.\n" +
			"Open it with: go tool pprof -top -lines FILE",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVar(&o.kind, "kind", wire.ProfileTasks, "profile kind: tasks, blocking or cpu")
			fs.StringVarP(&o.out, "output", "o", "-", "write to this file (- for standard output, if it is not a terminal)")
			fs.DurationVar(&o.cpuFor, "duration", 0, "with --kind cpu: how long to profile, whole seconds from 1s to 30s (0: 5s)")
		},
		run: runProfile,
	}
}

func runProfile(ctx context.Context, e *env, o *opts, args []string) error {
	if err := wantArgs(args, 1, "PID"); err != nil {
		return err
	}
	if o.kind == wire.ProfileCPU && o.cpuFor == 0 {
		o.cpuFor = 5 * time.Second
	}
	switch {
	case o.kind != wire.ProfileTasks && o.kind != wire.ProfileBlocking && o.kind != wire.ProfileCPU:
		return usagef("bad --kind %q: want tasks, blocking or cpu", o.kind)
	case o.kind != wire.ProfileCPU && o.cpuFor != 0:
		return usagef("--duration is for --kind cpu: a %s profile is taken at once", o.kind)
	case o.kind == wire.ProfileCPU && (o.cpuFor < time.Second || o.cpuFor > wire.MaxCPUSeconds*time.Second || o.cpuFor%time.Second != 0):
		return usagef("bad --duration %s: want whole seconds from 1s to %ds", o.cpuFor, wire.MaxCPUSeconds)
	}
	toStdout := stdoutName(o.out)
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
	var data []byte
	var began time.Time
	if o.kind == wire.ProfileCPU {
		began = e.now()
		data, err = cpuProfile(c, o)
	} else {
		data, err = c.Profile(ctx, o.kind)
	}
	if err != nil {
		return err
	}
	if toStdout {
		if _, err := e.stdout.Write(data); err != nil {
			return err
		}
		if o.kind == wire.ProfileCPU {
			for _, line := range describeCPU(ctx, c, data, began, args[0]) {
				e.errf("cpu profile: %s\n", line)
			}
		}
		return nil
	}
	// 0600, as snapshots and recordings: a profile holds the same
	// function names and, labelled, task names.
	n, err := writeFileAtomic(o.out, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	e.outf("wrote %s (%d bytes)\n", o.out, n)
	if o.kind == wire.ProfileCPU {
		for _, line := range describeCPU(ctx, c, data, began, args[0]) {
			e.outf("%s\n", line)
		}
	}
	return nil
}

// describeCPU says what a CPU profile that began at began holds
// (cpuSummary), or that it could not be read, and names the tasks whose
// samples carry no task labels because their step began before it (a
// goroutine's labels are set as a step begins, by the goroutine itself):
// the blocking events that overlap its start tell them.
func describeCPU(ctx context.Context, c *client.Client, data []byte, began time.Time, pid string) []string {
	s, err := summarizeCPU(data)
	if err != nil {
		return []string{fmt.Sprintf("its samples could not be counted: %v", err)}
	}
	var early []string
	seen := map[uint64]bool{}
	evs, _ := c.Blocking(ctx) // without them, the summary alone
	for _, ev := range evs {
		d := time.Duration(ev.DurationNS)
		if !ev.Started.Before(began) || !ev.Started.Add(d).After(began) || seen[ev.TaskID] {
			continue
		}
		seen[ev.TaskID] = true
		early = append(early, fmt.Sprintf("task %d %q was in a step that began before the profile (it blocked the loop %s): its samples carry no task labels; taskdump blocking %s shows where it runs",
			ev.TaskID, ev.TaskName, d.Round(time.Millisecond), pid))
	}
	if len(early) > 0 && s.samples > 0 && s.inTasks == 0 {
		return append([]string{plural(int(s.samples), "sample") + ", none labelled with a task:"}, early...)
	}
	return append([]string{s.String()}, early...)
}

// cpuProfile takes the process's CPU profile over o.cpuFor: --timeout
// bounds the connection, so the request gets that long on top of the
// profile's own; an interrupt stops it (session).
func cpuProfile(c *client.Client, o *opts) ([]byte, error) {
	s, stop := session(o)
	defer stop()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		s, cancel = context.WithTimeout(s, o.timeout+o.cpuFor)
		defer cancel()
	}
	return c.CPUProfile(s, o.cpuFor)
}
