package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func tasksCmd() *command {
	return &command{
		name: "tasks", args: "PID", short: "list live tasks: state, age, where suspended, what awaited",
		long: "Tasks lists the live tasks of every loop in the process, in creation order:\n" +
			"ID, NAME, STATE, AGE (since the task was created), WAITING (how long it has waited at\n" +
			"its current await; - while it runs or before it starts), SUSPENDED AT (file:line of\n" +
			"the await) and AWAITING. Ended tasks (finished, failed, cancelled) are listed by\n" +
			"'taskdump history'. In a --name glob, * and ? match any characters, / included.\n\n" +
			"--sort orders the rows by one of " + strings.Join(taskSortKeys, ", ") + ",\n" +
			"smallest first (ages and durations shortest first, names and states alphabetically;\n" +
			"ties keep creation order). A - prefix (--sort=-waiting) or --reverse inverts it;\n" +
			"sorting on busy or steps adds that column.\n\n" +
			"--group collapses the tasks of one loop in one state suspended at the same point (and,\n" +
			"with --stacks, with the same stack) into one row: COUNT, NAME (shared, or the names'\n" +
			"common prefix and *), OLDEST and NEWEST age. Groups come largest first; --sort takes\n" +
			strings.Join(groupSortKeys, ", ") + " there.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringSliceVar(&o.states, "state", nil, "only tasks in these states: pending, running, cancelling")
			nameFlag(fs, &o.name, "only tasks whose name matches this glob ('worker-*', 'fetch *')")
			fs.DurationVar(&o.olderThan, "older-than", 0, "only tasks whose age, the time since they were created, is over this (10s)")
			fs.DurationVar(&o.waitingLongerThan, "waiting-longer-than", 0, "only tasks that have waited at their current await for over this (10s)")
			fs.StringVar(&o.loop, "loop", "", "only tasks of this loop (name or id)")
			fs.StringVar(&o.sortBy, "sort", "", "sort by this column: "+strings.Join(taskSortKeys, ", ")+" (-COLUMN: the other way)")
			boolFlag(fs, &o.reverse, "reverse", false, "invert the order (of --sort, or of creation)")
			boolFlag(fs, &o.group, "group", false, "one row per suspension point: count, oldest and newest age")
			boolFlag(fs, &o.stacks, "stacks", false, "include every task's full stack (needs --json, or --group to group by stack)")
			boolFlag(fs, &o.json, "json", false, "print a JSON array of task records (of groups, with --group)")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if err := checkTaskFlags(o); err != nil {
				return err
			}
			sort, err := parseSort(o.sortBy, o.reverse, o.group)
			if err != nil {
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
			f := client.TaskFilter{States: o.states, Name: o.name, OlderThan: o.olderThan, WaitingLongerThan: o.waitingLongerThan,
				Loop: o.loop, Stacks: o.stacks}
			if o.json && !o.group && sort == (taskSort{}) {
				return c.WriteTasks(ctx, f, e.stdout) // exact, streamed
			}
			if !o.json {
				f.Fields = append(slices.Clone(tableFields), sort.fields()...)
				if o.stacks {
					f.Fields = append(f.Fields, "stack") // --group --stacks: grouped by stack
				}
			}
			ts, err := tasksOf(ctx, c, f)
			if err != nil {
				return err
			}
			now := e.now()
			if o.group {
				gs := groupTasks(ts)
				sortGroups(gs, sort, now)
				if o.json {
					if gs == nil {
						gs = []*taskGroup{}
					}
					return writeJSONTo(e.stdout, gs)
				}
				return renderGroups(e.stdout, gs, now) // no group: the header alone
			}
			sortTasks(ts, sort, now)
			if o.json {
				if ts == nil {
					ts = []wire.Task{}
				}
				return writeJSONTo(e.stdout, ts)
			}
			return renderTaskTable(e.stdout, ts, now, sort.column())
		},
	}
}

// tasksOf returns the tasks f selects. An agent older than this taskdump
// refuses the fields it does not know (waiting_since, say): then it asks
// again for whole records, and the columns of the missing fields show -.
func tasksOf(ctx context.Context, c *client.Client, f client.TaskFilter) ([]wire.Task, error) {
	ts, err := c.Tasks(ctx, f)
	var ae *client.APIError
	if len(f.Fields) > 0 && errors.As(err, &ae) && ae.Code == wire.CodeBadRequest && strings.Contains(ae.Message, "bad fields") {
		f.Fields = nil
		return c.Tasks(ctx, f)
	}
	return ts, err
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
	if o.waitingLongerThan < 0 {
		return usagef("bad --waiting-longer-than %s: want a positive duration such as 10s", o.waitingLongerThan)
	}
	if o.stacks && !o.json && !o.group {
		return usagef("--stacks needs --json or --group (the table has no room for stacks; 'taskdump stack PID ID' prints one)")
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
var tableFields = []string{"name", "state", "loop", "loop_id", "running", "created", "started", "suspended_at", "awaiting", "waiting_since"}
