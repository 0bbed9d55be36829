package main

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

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
