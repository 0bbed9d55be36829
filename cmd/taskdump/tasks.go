package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
)

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

// tableFields are the task fields the tasks table shows.
var tableFields = []string{"name", "state", "loop", "loop_id", "running", "created", "started", "suspended_at", "awaiting"}
