package main

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func treeCmd() *command {
	return &command{
		name: "tree", args: "PID", short: "draw the await tree (who awaits whom, who spawned whom)",
		long: "Tree draws the live tasks as a tree: under each task, the tasks it awaits, then the\n" +
			"tasks it spawned that nobody awaits. Await cycles are flagged.\n\n" +
			"Three or more identical siblings (the same state, function, suspension point and\n" +
			"awaiting, with identical subtrees) are drawn once, with × N and the others' ids, as\n" +
			"parallel stacks views do: worker-1 ... worker-50 asleep at one line make one line.\n" +
			"--all draws each.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.all, "all", false, "draw identical siblings one by one, not folded into one line")
			boolFlag(fs, &o.json, "json", false, "print the tree as JSON (every task: never folded)")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.json {
				return writeTreeJSON(ctx, e, o.dir, args[0])
			}
			return show(e, o.dir, args[0], false,
				func(c *client.Client) (wire.Tree, error) {
					if o.all {
						return c.Tree(ctx)
					}
					return c.FoldedTree(ctx, foldMin) // folded by the agent: 100,000 alike tasks are a few nodes
				},
				func(w io.Writer, t wire.Tree) error {
					if !o.all {
						t = wire.Collapse(t, foldMin) // an older agent's tree comes whole
					}
					renderTree(w, t)
					return nil
				})
		},
	}
}

// foldMin is how many identical siblings tree folds into one line: two
// are shown as they are.
const foldMin = 3

// writeTreeJSON prints the whole tree as JSON, indented as it comes from the
// agent: never decoded, so a tree of 100,000 tasks costs a copy, not its
// records in memory twice (2.8 s and 550 MB before).
func writeTreeJSON(ctx context.Context, e *env, dir, target string) error {
	c, err := dial(dir, target)
	if err != nil {
		return err
	}
	defer c.Close()
	d := newIndenter(e.stdout, client.MaxCopyBytes)
	if err := c.WriteTree(ctx, d); err != nil {
		return err
	}
	return d.close()
}
