package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/wire"
)

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
