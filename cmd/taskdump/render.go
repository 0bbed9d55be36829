package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskdump/taskdump/inspect/wire"
)

// short renders a frame as file.go:42.
func short(f wire.Frame) string {
	if f.IsZero() {
		return ""
	}
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	return fmt.Sprintf("%s:%d", file, f.Line)
}

// age renders a duration compactly: 850ms, 12.3s, 4m05s, 2h10m.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func suspendedAt(t *wire.Task) string {
	switch {
	case t.Running:
		return "(running)"
	case !t.SuspendedAt.IsZero():
		return short(t.SuspendedAt)
	case t.Started.IsZero() && !t.Done():
		return "(not started)"
	}
	return "-" // ended, or between steps
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func multiLoop(ts []wire.Task) bool {
	for i := range ts {
		if ts[i].LoopID != ts[0].LoopID {
			return true
		}
	}
	return false
}

func renderTasks(w io.Writer, ts []wire.Task, now time.Time) error {
	return renderTaskTable(w, ts, now, "")
}

// renderTaskTable writes the tasks table: ID, NAME, STATE, AGE (since
// creation), WAITING (at the current await; - when not waiting), SUSPENDED
// AT and AWAITING, with a LOOP column first when the tasks belong to
// several loops and, after WAITING, extra ("BUSY" or "STEPS", the column
// tasks --sort sorted on) if not empty.
func renderTaskTable(w io.Writer, ts []wire.Task, now time.Time, extra string) error {
	tw := newTable(w)
	p := printer{tw}
	loops := multiLoop(ts)
	if loops {
		p.printf("LOOP\t")
	}
	p.printf("ID\tNAME\tSTATE\tAGE\tWAITING\t")
	if extra != "" {
		p.printf("%s\t", extra)
	}
	p.printf("SUSPENDED AT\tAWAITING\n")
	for i := range ts {
		t := &ts[i]
		if loops {
			p.printf("%s\t", t.Loop)
		}
		wait := "-"
		if d := waitingFor(t, now); d > 0 {
			wait = age(d)
		}
		p.printf("%d\t%s\t%s\t%s\t%s\t", t.ID, clip(t.Name), t.State, age(now.Sub(t.Created)), wait)
		switch extra {
		case "BUSY":
			p.printf("%s\t", compact(time.Duration(t.BusyNS))) // CPU time: a step is microseconds
		case "STEPS":
			p.printf("%d\t", t.Steps)
		}
		p.printf("%s\t%s\n", suspendedAt(t), orDash(t.Awaiting))
	}
	return tw.Flush()
}

func nodeLine(t *wire.Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (#%d) %s", clip(t.Name), t.ID, t.State)
	switch {
	case t.Running && t.State != "running":
		b.WriteString(", running")
	case t.Awaiting != "":
		b.WriteString(": " + t.Awaiting)
	}
	if s := short(t.SuspendedAt); s != "" {
		b.WriteString(" at " + s)
	}
	return b.String()
}

// chainShown is how many tasks of a long chain (each the only child of
// the one above) the tree draws: the first and last half.
const chainShown = 6

// singleChain returns the nodes below n while each is its parent's only
// child: n's only child, its only child, and so on (the last may have
// several).
func singleChain(n *wire.TreeNode) []*wire.TreeNode {
	var chain []*wire.TreeNode
	for len(n.Children) == 1 {
		n = n.Children[0]
		chain = append(chain, n)
	}
	return chain
}

// treeLabel is a node's line of the tree, after its branch.
func treeLabel(n *wire.TreeNode) string {
	line := nodeLine(&n.Task)
	if n.Edge == "spawned" {
		line = "(spawned) " + line
	}
	if n.Cycle {
		line += "  <- AWAIT CYCLE"
	}
	if n.Ref {
		line += "  (awaited by several tasks; shown above)"
	}
	if len(n.Folded) > 0 {
		line += "  × " + strconv.Itoa(1+len(n.Folded)) + " (also " + taskIDs(n.Folded, 3) + ")"
	}
	return line
}

func renderTree(w io.Writer, tr wire.Tree) {
	p := printer{w}
	loop := ""
	many := false
	for _, r := range tr.Roots {
		if r.Task.Loop != tr.Roots[0].Task.Loop {
			many = true
		}
	}
	var walk func(n *wire.TreeNode, prefix string, last bool)
	walk = func(n *wire.TreeNode, prefix string, last bool) {
		branch, next := "├── ", "│   "
		if last {
			branch, next = "└── ", "    "
		}
		p.printf("%s%s%s\n", prefix, branch, treeLabel(n))
		switch {
		case n.Deeper > 0 && len(n.Children) > 0: // a chain cut short: its deepest task follows
			p.printf("%s%s⋮ %s, each under the one above, not shown (the tree stops %d levels deep); the deepest:\n",
				prefix, next, plural(n.Deeper, "more task"), wire.MaxTreeDepth)
		case n.Deeper > 0:
			p.printf("%s%s⋮ %s below, not shown: the tree stops %d levels deep (taskdump tasks lists them)\n",
				prefix, next, plural(n.Deeper, "more task"), wire.MaxTreeDepth)
		}
		if chain := singleChain(n); len(chain) > chainShown {
			// A long chain of tasks each under the one above: its first
			// and last few, without indenting each level.
			pfx := prefix + next
			for _, c := range chain[:chainShown/2] {
				p.printf("%s└── %s\n", pfx, treeLabel(c))
				pfx += "    "
			}
			p.printf("%s⋮ %s, each under the one above\n", pfx, plural(len(chain)-chainShown, "more task"))
			walk(chain[len(chain)-chainShown/2], pfx, true)
			return
		}
		for i, c := range n.Children {
			walk(c, prefix+next, i == len(n.Children)-1)
		}
	}
	for i, r := range tr.Roots {
		if many && r.Task.Loop != loop {
			loop = r.Task.Loop
			p.printf("loop %s\n", loop)
		}
		last := i == len(tr.Roots)-1 || (many && tr.Roots[i+1].Task.Loop != loop)
		walk(r, "", last)
	}
	if len(tr.Roots) == 0 {
		p.printf("(no live tasks)\n")
	}
	for _, c := range tr.Cycles {
		ids := make([]string, len(c))
		for i, id := range c {
			ids[i] = fmt.Sprint(id)
		}
		p.printf("await cycle: %s\n", strings.Join(ids, " -> "))
	}
}

// taskIDs renders ids as "#13, #14, #15, +46": at most max of them, then
// how many more.
func taskIDs(ids []uint64, max int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == max {
			b.WriteString(", +" + strconv.Itoa(len(ids)-max))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("#" + strconv.FormatUint(id, 10))
	}
	return b.String()
}

func writeFrames(p printer, fs []wire.Frame, indent string) {
	for _, f := range fs {
		if f.File == "" && f.Line == 0 {
			p.printf("%s%s\n", indent, f.Function) // not a call: the runtime's note (a stack cut short)
			continue
		}
		p.printf("%s%s(...)\n%s\t%s:%d\n", indent, f.Function, indent, f.File, f.Line)
	}
}

// Frame kinds, as the agent names them (wire.Frame.Kind). The runtime
// decides each frame's kind; this file never looks at function names.
const (
	kindUser        = "user"
	kindTaskRuntime = "task-runtime"
	kindGoRuntime   = "go-runtime"
)

// trimMachinery keeps the frames a reader of the user's code wants, by
// kind: the frames down to the first user frame (the call the user's code
// made there: runtime.Sleep, time.Sleep) and, below it, the user frames;
// it leaves out the frames of the Go and task runtimes between user frames
// (sort.Slice under a user's less function, say) and returns how many.
// A frame of unknown kind (an older agent's) is kept.
func trimMachinery(fs []wire.Frame) ([]wire.Frame, int) {
	first := slices.IndexFunc(fs, func(f wire.Frame) bool { return f.Kind == kindUser })
	if first < 0 {
		return fs, 0
	}
	out := slices.Clone(fs[:first+1])
	for _, f := range fs[first+1:] {
		if f.Kind != kindTaskRuntime && f.Kind != kindGoRuntime {
			out = append(out, f)
		}
	}
	return out, len(fs) - len(out)
}

func renderStack(w io.Writer, s wire.StackResult, now time.Time, all bool) {
	p := printer{w}
	t := &s.Task
	status := t.State
	if s.Live {
		status = "running: live stack"
	} else if t.Awaiting != "" {
		status += ", awaiting " + t.Awaiting
	}
	if !t.Suspended.IsZero() && !s.Live {
		status += ", suspended for " + age(now.Sub(t.Suspended))
	}
	p.printf("task %d %q on loop %s [%s]:\n", t.ID, clip(t.Name), clip(t.Loop), status)
	if len(s.Stack) == 0 {
		p.printf("(no stack: the task has not started yet)\n")
		return
	}
	writeStack(p, s.Stack, "", all)
}

// writeStack writes the frames of st, each line prefixed by indent; unless
// all, without the runtime frames trimMachinery cuts, and a line saying how
// many it cut.
func writeStack(p printer, st []wire.Frame, indent string, all bool) {
	cut := 0
	if !all {
		st, cut = trimMachinery(st)
	}
	writeFrames(p, st, indent)
	if cut > 0 {
		p.printf("%s... %s of the Go and task runtimes (--all shows them)\n", indent, plural(cut, "frame"))
	}
}

// plural renders n and the noun, with an s unless n is 1: "1 frame",
// "7 frames".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// noBlockStack is what `blocking` says of an event without a stack.
const noBlockStack = "(no stack: the step ended before the watchdog looked, or the watchdog rationed its captures)"

// renderBlocking writes the blocking events oldest first, as the agent
// keeps them and blocking --json prints them: the ongoing one, if any, is
// the last.
func renderBlocking(w io.Writer, evs []wire.BlockEvent, all bool) {
	p := printer{w}
	if len(evs) == 0 {
		p.printf("no blocking steps recorded\n")
		return
	}
	for i := range evs {
		ev := &evs[i]
		if i > 0 {
			p.printf("\n")
		}
		d := age(time.Duration(ev.DurationNS))
		started := ev.Started.Local().Format("15:04:05.000")
		if ev.Ongoing {
			p.printf("BLOCKING NOW: task %d %q has blocked loop %s for %s (since %s)\n", ev.TaskID, clip(ev.TaskName), clip(ev.Loop), d, started)
		} else {
			p.printf("task %d %q blocked loop %s for %s (started %s)\n", ev.TaskID, clip(ev.TaskName), clip(ev.Loop), d, started)
		}
		if !ev.At.IsZero() {
			call := ""
			if ev.Call != "" {
				call = " calling " + ev.Call
			}
			p.printf("    at %s %s%s\n", ev.At.Function, short(ev.At), call)
		} else if len(ev.Stack) == 0 {
			p.printf("    %s\n", noBlockStack)
		}
		writeStack(p, ev.Stack, "    ", all)
	}
}

// renderHistory writes the ended tasks oldest first, as the agent keeps
// them.
func renderHistory(w io.Writer, ts []wire.Task, now time.Time) error {
	tw := newTable(w)
	p := printer{tw}
	p.printf("ID\tNAME\tSTATE\tENDED\tLIVED\tSTEPS\tERROR\n")
	for i := range ts {
		t := &ts[i]
		p.printf("%d\t%s\t%s\t%s ago\t%s\t%d\t%s\n", t.ID, clip(t.Name), t.State, age(now.Sub(t.Finished)),
			compact(t.Finished.Sub(t.Created)), t.Steps, orDash(oneLine(t.Error)))
	}
	return tw.Flush()
}

// oneLine joins the lines of s with spaces and shortens it to at most 80
// runes.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:77]) + "..."
	}
	return s
}
