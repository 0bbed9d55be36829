package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func resourcesCmd() *command {
	return &command{
		name: "resources", args: "PID", short: "list the awaitables: locks, queues, events, futures... who holds, who waits",
		long: "Resources lists the awaitables of every loop (futures, events, locks, semaphores,\n" +
			"queues, task groups, ToThread calls): ID, KIND, CREATED AT (file:line of the call\n" +
			"that made it), BY (the task that made it), STATE (a lock's holder, a semaphore's free\n" +
			"permits and holders, a queue's length, whether an event is set) and WAITERS (the\n" +
			"tasks waiting on it, in the order they will be served; a queue's putters after put:).\n" +
			"A future is listed only while tasks await it.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.StringVar(&o.kind, "kind", "", "only awaitables of this kind: "+strings.Join(resourceKinds, ", "))
			boolFlag(fs, &o.json, "json", false, "print a JSON array of resource records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.kind != "" && !slices.Contains(resourceKinds, o.kind) {
				return usagef("bad --kind %q: want one of %s", o.kind, strings.Join(resourceKinds, ", "))
			}
			return show(e, o.dir, args[0], o.json,
				func(c *client.Client) ([]wire.Resource, error) {
					rs, err := c.Resources(ctx)
					if o.kind != "" {
						rs = slices.DeleteFunc(rs, func(r wire.Resource) bool { return r.Kind != o.kind })
					}
					return rs, err
				},
				func(w io.Writer, rs []wire.Resource) error { return renderResources(w, rs, e.now()) })
		},
	}
}

// resourceKinds are the kinds resources --kind takes.
var resourceKinds = []string{wire.ResourceFuture, wire.ResourceEvent, wire.ResourceLock, wire.ResourceSemaphore,
	wire.ResourceQueue, wire.ResourceTaskGroup, wire.ResourceToThread}

// renderResources writes the resources table: one row per awaitable, in
// the agent's order, with a LOOP column when they belong to several loops.
func renderResources(w io.Writer, rs []wire.Resource, now time.Time) error {
	if len(rs) == 0 {
		printer{w}.printf("(no awaitables)\n")
		return nil
	}
	tw := newTable(w)
	p := printer{tw}
	loops := slices.ContainsFunc(rs, func(r wire.Resource) bool { return r.LoopID != rs[0].LoopID })
	if loops {
		p.printf("LOOP\t")
	}
	p.printf("ID\tKIND\tCREATED AT\tBY\tSTATE\tWAITERS\n")
	for i := range rs {
		r := &rs[i]
		if loops {
			p.printf("%s\t", r.Loop)
		}
		by := "-"
		if r.CreatedBy != 0 {
			by = strconv.FormatUint(r.CreatedBy, 10)
		}
		p.printf("%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, orDash(short(r.CreatedAt)), by, resourceState(r, now), resourceWaiters(r))
	}
	return tw.Flush()
}

// resourceState says what a resource's record holds, by kind: "held by
// 9", "free", "1/3 free, held by 4 5", "len 2/10", "set 3.0s ago".
func resourceState(r *wire.Resource, now time.Time) string {
	held := func() string {
		// A semaphore lists its 64 oldest holders; Cap-Len are taken.
		return "held by " + resIDs(r.Holders, max(len(r.Holders), r.Cap-r.Len), 8)
	}
	switch r.Kind {
	case wire.ResourceLock:
		switch {
		case len(r.Holders) > 0:
			return held()
		case r.Set:
			return "locked" // handed to a waiter that has not resumed
		}
		return "free"
	case wire.ResourceSemaphore:
		s := fmt.Sprintf("%d/%d free", r.Len, r.Cap)
		if len(r.Holders) > 0 {
			s += ", " + held()
		}
		return s
	case wire.ResourceQueue:
		if r.Cap == 0 {
			return fmt.Sprintf("len %d (unbounded)", r.Len)
		}
		return fmt.Sprintf("len %d/%d", r.Len, r.Cap)
	case wire.ResourceEvent:
		switch {
		case r.Set && !r.LastSet.IsZero():
			return "set " + age(now.Sub(r.LastSet)) + " ago"
		case r.Set:
			return "set"
		case !r.LastCleared.IsZero():
			return "clear since " + age(now.Sub(r.LastCleared)) + " ago"
		}
		return "clear"
	case wire.ResourceFuture:
		return "pending"
	case wire.ResourceTaskGroup:
		if len(r.Holders) > 0 {
			return "owned by " + resIDs(r.Holders, len(r.Holders), 8)
		}
	case wire.ResourceToThread:
		if len(r.Holders) > 0 {
			return "called by " + resIDs(r.Holders, len(r.Holders), 8)
		}
		return "running"
	}
	if len(r.Holders) > 0 {
		return held()
	}
	return "-"
}

// resourceWaiters lists the waiting tasks, a queue's putters after
// "put:"; "-" if none.
func resourceWaiters(r *wire.Resource) string {
	var parts []string
	if len(r.Waiters) > 0 {
		parts = append(parts, resIDs(r.Waiters, len(r.Waiters), 10))
	}
	if len(r.Putters) > 0 {
		parts = append(parts, "put: "+resIDs(r.Putters, len(r.Putters), 10))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

// resIDs renders task ids separated by spaces, at most max of them and then
// "+N more" of the total (a semaphore lists only its oldest holders).
func resIDs(ids []uint64, total, max int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == max {
			b.WriteString(" +" + strconv.Itoa(total-max) + " more")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	return b.String()
}
