package main

import (
	"context"
	"io"
	"path"
	"slices"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func historyCmd() *command {
	return &command{
		name: "history", args: "PID", short: "list recently finished tasks and how they ended",
		long: "History lists the recently finished tasks of every loop, oldest first (as --json\n" +
			"orders them too), with how each ended (finished, failed, cancelled) and its error.\n" +
			"--state and --name keep some of them; -n the last N of those.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.IntVarP(&o.last, "last", "n", 0, "only the last N tasks to end (0: all the agent keeps)")
			fs.StringSliceVar(&o.states, "state", nil, "only tasks that ended so: finished, failed, cancelled")
			nameFlag(fs, &o.name, "only tasks whose name matches this glob ('upload-*')")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of task records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.last < 0 {
				return usagef("bad -n %d: want a positive count (0: all)", o.last)
			}
			for _, st := range o.states {
				if !slices.Contains(endStates, st) {
					return usagef("bad --state %q: history lists ended tasks: want finished, failed or cancelled ('taskdump tasks' lists live ones)", st)
				}
			}
			if err := checkGlob(o.name); err != nil {
				return err
			}
			get := func(c *client.Client) ([]wire.Task, error) {
				ts, err := c.History(ctx)
				ts = slices.DeleteFunc(ts, func(t wire.Task) bool {
					if len(o.states) > 0 && !slices.Contains(o.states, t.State) {
						return true
					}
					ok, _ := path.Match(o.name, t.Name) // checked above
					return o.name != "" && !ok
				})
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

// endStates are the states an ended task can be in: what history --state
// takes.
var endStates = []string{"finished", "failed", "cancelled"}
