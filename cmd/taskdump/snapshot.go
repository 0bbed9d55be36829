package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

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
			toStdout := stdoutName(o.out)
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
