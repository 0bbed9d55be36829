package main

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func blockingCmd() *command {
	return &command{
		name: "blocking", args: "PID", short: "show what blocks the loop now and recent blocking steps",
		long: "Blocking shows the steps that ran longer than the loop's slow-step threshold and\n" +
			"so blocked every other task, each with its task, duration and stack: recent ones,\n" +
			"oldest first, then the ongoing one, if any (as --json orders them too).\n" +
			"Move such work into runtime.ToThread.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.IntVarP(&o.last, "last", "n", 0, "only the last N events (0: all the agent keeps)")
			boolFlag(fs, &o.all, "all", false, "also show the Go and task runtime frames between the user's frames")
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
