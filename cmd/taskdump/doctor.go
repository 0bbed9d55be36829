package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// errProblems says doctor printed a finding that is a warning or an error:
// taskdump exits with status 3.
var errProblems = errors.New("taskdump: doctor found problems")

// exitProblems is the exit status of a doctor that found a warning or an
// error.
const exitProblems = 3

func doctorCmd() *command {
	return &command{
		name: "doctor", args: "PID", short: "say what is wrong: the tasks and the lines at fault, and the fix",
		long: "Doctor reads the process's loops and prints ranked findings, errors first, each with\n" +
			"the task(s), the file:line at fault, one sentence of why and the fix. The kinds:\n" +
			"  blocking        a step blocks the loop now, or did recently (the call at its line)\n" +
			"  deadlock        tasks wait on each other through lock or semaphore holders\n" +
			"  stalled         pending tasks and nothing that could wake any of them\n" +
			"  stuck           a wait on a future, event, queue or lock longer than --stuck-after\n" +
			"  leak            like tasks that keep piling up, none ever finishing\n" +
			"  hog             a task that takes most of the loop's time in short steps, or\n" +
			"                  many that keep it busy, ready tasks waiting 100ms or more\n" +
			"  cancel-ignored  asked to cancel, still running after --stuck-after\n" +
			"  unretrieved     failed tasks whose error nobody retrieved\n" +
			"A sleep is never stuck; a consumer idle on an empty queue is only info.\n" +
			"Exit status: 0 when no finding is a warning or an error, 3 when one is, 1 when\n" +
			"the process cannot be read.",
		flags: func(fs *pflag.FlagSet, o *opts) {
			fs.DurationVar(&o.stuckAfter, "stuck-after", 10*time.Second, "a wait, an ignored cancel or an idle loop this long is a finding")
			boolFlag(fs, &o.json, "json", false, `print {"findings": [...]}`)
		},
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			if o.stuckAfter <= 0 {
				return usagef("bad --stuck-after %s: want a positive duration", o.stuckAfter)
			}
			var d wire.Diagnosis
			running := -1 // loops running, when the output needs it
			err := show(e, o.dir, args[0], o.json,
				func(c *client.Client) (wire.Diagnosis, error) {
					var err error
					d, err = c.Doctor(ctx, o.stuckAfter)
					if d.Findings == nil {
						d.Findings = []wire.Finding{} // JSON [] rather than null
					}
					if err == nil && !o.json && len(d.Findings) == 0 {
						// Nothing found: say whether there was anything to
						// look at (a process whose loops have all ended).
						if loops, lerr := c.Loops(ctx); lerr == nil {
							running = len(loops)
						} else {
							e.errf("taskdump: could not ask which loops run (%v): if none does, doctor had nothing to read\n", lerr)
						}
					}
					return d, err
				},
				func(w io.Writer, d wire.Diagnosis) error { renderDoctor(w, d, o.stuckAfter, running); return nil })
			if err != nil {
				return err
			}
			for i := range d.Findings {
				if d.Findings[i].Problem() {
					return errProblems
				}
			}
			return nil
		},
	}
}

// humanTasks is how many tasks of a finding the human output lists (--json
// has all the agent sent).
const humanTasks = 5

// maxSummary bounds a finding's summary as doctor prints it: the doctor
// bounds what it writes (a few tasks named, a long cycle elided), but the
// names and errors it quotes are the process's.
const maxSummary = 4096

// renderDoctor writes the findings in the agent's order (worst first),
// each as a block: severity, kind and loop (the first and how many more
// when several loops made the same finding); the summary; the tasks with
// where each is (at most humanTasks; and in which loop, when several); the
// sites; the fix. running is the number of loops running in the process
// (-1: not known): with no finding and no loop, there was nothing to read.
func renderDoctor(w io.Writer, d wire.Diagnosis, stuckAfter time.Duration, running int) {
	p := printer{w}
	counts := map[string]int{}
	for _, f := range d.Findings {
		counts[f.Severity]++
	}
	if len(d.Findings) == 0 && running == 0 {
		p.printf("no loop is running in this process: nothing to diagnose (doctor reads loops while they run; those that ended are gone)\n")
		return
	}
	if counts[wire.SeverityError]+counts[wire.SeverityWarning] == 0 {
		p.printf("no problems found (waits under %s are not counted)", age(stuckAfter))
		if n := counts[wire.SeverityInfo]; n > 0 {
			p.printf("; %s", plural(n, "note"))
		}
		p.printf("\n")
	} else {
		var parts []string
		for _, s := range []string{wire.SeverityError, wire.SeverityWarning} {
			if n := counts[s]; n > 0 {
				parts = append(parts, plural(n, s))
			}
		}
		if n := counts[wire.SeverityInfo]; n > 0 {
			parts = append(parts, plural(n, "note"))
		}
		p.printf("%s (waits of %s or more count)\n", strings.Join(parts, ", "), threshold(stuckAfter))
	}
	for i := range d.Findings {
		f := &d.Findings[i]
		p.printf("\n%s %s", strings.ToUpper(f.Severity), f.Kind)
		switch {
		case f.Loops > 1 && f.Loop == "":
			p.printf(" (%d loops)", f.Loops)
		case f.Loops > 1:
			p.printf(" (loop %s and %d more)", clip(f.Loop), f.Loops-1)
		case f.Loop != "":
			p.printf(" (loop %s)", clip(f.Loop))
		}
		p.printf("\n    %s\n", clipAt(flat(f.Summary), maxSummary))
		for _, t := range f.Tasks[:min(len(f.Tasks), humanTasks)] {
			at := short(t.At)
			if at == "" {
				at = "-"
			}
			where := " at" // where it waits or runs
			if wire.Ended(t.State) {
				where = ", spawned at" // it ended: its spawn is the place to look
			}
			p.printf("    task %d %q %s%s %s", t.ID, clip(t.Name), t.State, where, at)
			if t.At.Function != "" {
				p.printf(" in %s", t.At.Function)
			}
			if f.Loops > 1 && t.Loop != "" {
				p.printf(" (loop %s)", clip(t.Loop))
			}
			p.printf("\n")
		}
		if more := max(f.Count, len(f.Tasks)) - min(len(f.Tasks), humanTasks); more > 0 {
			p.printf("    ... and %d more\n", more)
		}
		if len(f.Sites) > 0 {
			var ss []string
			for _, s := range f.Sites {
				ss = append(ss, short(s))
			}
			p.printf("    sites: %s\n", strings.Join(ss, ", "))
		}
		p.printf("    fix: %s\n", flat(f.Fix))
	}
}

// flat joins the lines of s with spaces (a sentence from the agent is one
// line; the printer escapes anything else).
func flat(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// threshold renders --stuck-after as age does, or exactly below a
// millisecond (age would say 0ms).
func threshold(d time.Duration) string {
	if d < time.Millisecond {
		return d.String()
	}
	return age(d)
}
