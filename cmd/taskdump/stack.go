package main

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func stackCmd() *command {
	return &command{
		name: "stack", args: "PID ID", short: "print a task's full stack",
		long: "Stack prints the full stack of a task, innermost call first, as a Go traceback:\n" +
			"where a suspended task waits, or the live stack of a task whose step is running.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.all, "all", false, "also show the Go and task runtime frames between the user's frames")
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
