package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

func psCmd() *command {
	return &command{
		name: "ps", args: "", short: "list processes with a live agent",
		long: "Ps lists the processes of this user whose agent listens in the socket directory:\n" +
			"PID, command, loops and live tasks. Sockets of dead processes are removed.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			boolFlag(fs, &o.json, "json", false, "print a JSON array of process records")
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 0, "no arguments"); err != nil {
				return err
			}
			// Every agent is asked at once, each for at most
			// client.PsTimeout: one that never answers is marked and
			// delays the others by nothing.
			// Ps checks $TASKDUMP_DIR, and --dir is checked the same way.
			if o.dir != "" {
				if err := client.CheckDir(o.dir); err != nil {
					return err
				}
			}
			sts, removed, err := client.Ps(ctx, o.dir, client.PsTimeout)
			if err != nil {
				return err
			}
			e.flush()
			for _, p := range removed {
				e.errf("taskdump: removed stale socket %s\n", p)
			}
			if len(sts) == 0 {
				dir := o.dir
				if dir == "" {
					dir = client.DefaultDir()
				}
				e.errf("taskdump: no agent in %s\n", dir)
			}
			var procs []wire.Process
			var silent []client.Status
			for _, st := range sts {
				switch {
				case st.Err == nil:
					procs = append(procs, st.Process)
				case errors.Is(st.Err, client.ErrTimeout) && !o.json:
					silent = append(silent, st)
				default:
					e.errf("taskdump: pid %d: %s\n", st.PID, reason(st.Err))
				}
			}
			if o.json {
				if procs == nil {
					procs = []wire.Process{}
				}
				return writeJSONTo(e.stdout, procs)
			}
			tw := newTable(e.stdout)
			out := printer{tw}
			out.printf("PID\tCOMMAND\tLOOPS\tTASKS\n")
			for _, p := range procs {
				n := 0
				names := make([]string, len(p.Loops))
				for i, l := range p.Loops {
					n += l.Tasks
					names[i] = l.Name
				}
				out.printf("%d\t%s\t%s\t%d\n", p.PID, commandLine(p.Command), loopNames(names), n)
			}
			for _, st := range silent {
				out.printf("%d\t(no answer within %s)\t-\t-\n", st.PID, client.PsTimeout)
			}
			return tw.Flush()
		},
	}
}

// loopNames lists a process's loops for ps: the first three, then how
// many more (a process of 200 loops made a 1,700-character cell).
func loopNames(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ",") + fmt.Sprintf(",+%d more", len(names)-3)
	}
	return strings.Join(names, ",")
}

func commandLine(argv []string) string {
	if len(argv) == 0 {
		return "?"
	}
	s := filepath.Base(argv[0])
	if len(argv) > 1 {
		s += " " + strings.Join(argv[1:], " ")
	}
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:57]) + "..."
	}
	return s
}
