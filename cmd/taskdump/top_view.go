package main

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/taskdump/taskdump/inspect/wire"
)

// topStyles are the view's styles, made for a topPalette. The selected
// row is also marked with "> ", so nothing depends on colour or
// attributes. The zero value styles nothing.
type topStyles struct {
	title, head, sel, dim, bad, warn, good, key lipgloss.Style
}

// topPalette is what the styles are made for. Colours are adaptive: one
// shade for dark terminals (until the terminal answers the view's
// question, never waited for), one for light; on a 16-colour terminal,
// colours of its own, so that warnings stay yellow and errors red. Plain
// is no style at all, for NO_COLOR. The zero value is a dark 256-colour
// terminal.
type topPalette struct {
	plain, light, ansi16 bool
}

// newTopStyles returns the styles of palette p.
func newTopStyles(p topPalette) topStyles {
	if p.plain {
		return topStyles{}
	}
	// c is a foreground colour: 256-colour shades for light and dark
	// backgrounds, then 16-colour ones.
	c := func(light, dark, light16, dark16 int) lipgloss.Style {
		var shade int
		switch {
		case p.ansi16 && p.light:
			shade = light16
		case p.ansi16:
			shade = dark16
		case p.light:
			shade = light
		default:
			shade = dark
		}
		if p.ansi16 {
			return lipgloss.NewStyle().Foreground(ansi.BasicColor(shade))
		}
		return lipgloss.NewStyle().Foreground(lipgloss.ANSIColor(shade))
	}
	bold := lipgloss.NewStyle().Bold(true)
	return topStyles{
		title: bold,
		head:  bold.Underline(true),
		sel:   lipgloss.NewStyle().Reverse(true),
		dim:   lipgloss.NewStyle().Faint(true),
		bad:   c(124, 203, 1, 9).Bold(true),
		warn:  c(130, 214, 3, 11),
		good:  c(22, 114, 2, 10),
		key:   bold,
	}
}

// noColor reports whether the environment asks for no styles: NO_COLOR
// set and not empty (https://no-color.org).
func noColor(getenv func(string) string) bool {
	return getenv("NO_COLOR") != ""
}

// View draws the screen: three header lines, the body, a status line and
// the keys. It reads the model and nothing else, and every text that came
// from the process goes through escape.
//
// The view takes the alternate screen: the terminal's contents come back
// when top quits.
func (m topModel) View() tea.View {
	v := tea.NewView(m.screen())
	v.AltScreen = true
	return v
}

// screen is the view's text, exactly the terminal's size.
func (m topModel) screen() string {
	w := max(m.width, 20)
	lines := m.header(w)
	body := m.body(w)
	for len(body) < m.bodyHeight() {
		body = append(body, "")
	}
	lines = append(lines, body[:m.bodyHeight()]...)
	lines = append(lines, m.statusLine(w))
	lines = append(lines, m.footer()...)
	if m.height > 0 && len(lines) > m.height {
		lines = lines[:m.height] // a very short terminal: the keys go first
	}
	for i, l := range lines {
		lines[i] = fitWidth(l, w, "…")
	}
	return strings.Join(lines, "\n")
}

// header: the process, its loops and tasks by state, and what blocks the
// loop right now.
func (m topModel) header(w int) []string {
	d := &m.data
	left := "taskdump top"
	if d.PID != 0 {
		left += fmt.Sprintf("  pid %d", d.PID)
	}
	if len(d.Command) > 0 {
		left += "  " + escape(strings.Join(d.Command, " "))
	}
	var right string
	switch {
	case m.replay != nil:
		r := m.replay
		play := "playing"
		switch {
		case r.paused:
			play = "paused"
		case r.pos == len(r.msgs)-1 && len(d.Loops) == 0 && d.ClosedLoops > 0:
			play = "end: its loops closed" // the process ended (its agent's last message)
		case r.pos == len(r.msgs)-1:
			play = "end"
		}
		right = fmt.Sprintf("replay %d/%d %s x%s %s", r.pos+1, len(r.msgs), clock(d.Taken), speedText(r.speed), play)
	case m.gone != "":
		right = "ENDED " + clock(d.Taken)
	case m.loaded && m.quiet >= m.quietAfter():
		right = fmt.Sprintf("NO UPDATE FOR %ds (last %s)", m.quiet, clock(d.Taken))
		if m.stopped {
			right = fmt.Sprintf("STOPPED: NO UPDATE FOR %ds (last %s)", m.quiet, clock(d.Taken))
		}
	case m.loaded:
		right = "live " + clock(d.Taken)
	case m.stopped:
		right = fmt.Sprintf("the process is stopped (kill -CONT resumes it): connecting %ds", m.quiet)
	case m.quiet >= 3:
		right = fmt.Sprintf("connecting %ds", m.quiet)
	default:
		right = "connecting"
	}
	lw := w - textWidth(right) - 1
	line1 := m.st.title.Render(padRight(fitWidth(left, max(lw, 0), "…"), max(lw, 0))) + " " + right

	var loops []string
	for _, l := range d.Loops {
		s := escape(l.Name)
		if st := l.Stats; l.HasStats {
			lag := time.Duration(st.LagNS)
			if b := l.Blocking; b != nil && b.Ongoing {
				// The lag is measured as steps start: while one blocks,
				// what is due waits at least as long as the block.
				lag = max(lag, time.Duration(b.DurationNS))
			}
			s += " lag " + compact(lag)
			if st.WindowNS > 0 {
				s += fmt.Sprintf(" busy %d%%", min(100*st.BusyNS/st.WindowNS, 100))
			}
			s += fmt.Sprintf(" ready %d", st.Ready)
		}
		loops = append(loops, s)
	}
	line2 := taskCounts(d.Tasks)
	switch len(loops) {
	case 0:
	case 1:
		line2 += " · loop " + loops[0]
	default:
		line2 += fmt.Sprintf(" · %d loops: %s", len(loops), strings.Join(loops, ", "))
	}
	if d.Dropped > 0 {
		line2 += fmt.Sprintf(" · dropped %d", d.Dropped)
	}
	return []string{line1, line2, m.blockLine()}
}

// taskCounts says how many tasks there are in each state.
func taskCounts(ts []*wire.Task) string {
	n := map[string]int{}
	for i := range ts {
		s := ts[i].State
		if ts[i].Running {
			s = "running"
		}
		n[s]++
	}
	var parts []string
	for _, s := range []string{"running", "pending", "cancelling", "finished", "failed", "cancelled"} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
			delete(n, s)
		}
	}
	var other []string
	for s := range n {
		other = append(other, fmt.Sprintf("%d %s", n[s], escape(s)))
	}
	slices.Sort(other)
	parts = append(parts, other...)
	s := plural(len(ts), "task")
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// blockLine says what blocks a loop right now: an ongoing blocking step
// (task, how long, the call and where), else the step that runs, else
// that the loop waits for work.
func (m topModel) blockLine() string {
	d := &m.data
	for _, l := range d.Loops {
		if b := l.Blocking; b != nil && b.Ongoing {
			s := fmt.Sprintf("BLOCKED %s by task %d %s", compact(time.Duration(b.DurationNS)), b.TaskID, escape(b.TaskName))
			if b.Call != "" {
				s += " in " + escape(b.Call)
			}
			if !b.At.IsZero() {
				s += " at " + escape(short(b.At))
			}
			if len(d.Loops) > 1 {
				s = "loop " + escape(l.Name) + " " + s
			}
			return m.st.bad.Render(s)
		}
	}
	for _, l := range d.Loops {
		if l.Current != 0 {
			name := ""
			if t := m.find(l.Current); t != nil {
				name = " " + escape(t.Name)
			}
			return fmt.Sprintf("now: task %d%s runs a step (%s)", l.Current, name, compact(time.Duration(l.CurrentForNS)))
		}
	}
	if !m.loaded {
		return "now: waiting for the first update"
	}
	s := "now: nothing blocks the loop"
	if len(d.Loops) > 1 {
		s = "now: nothing blocks the loops"
	}
	var last *wire.BlockEvent
	for i := range d.Blocking {
		if e := &d.Blocking[i]; last == nil || e.Started.After(last.Started) {
			last = e
		}
	}
	if last != nil {
		s = fmt.Sprintf("not blocked now · last block: %s, task %d %s", compact(time.Duration(last.DurationNS)), last.TaskID, escape(last.TaskName))
		if !last.At.IsZero() {
			s += ", " + escape(short(last.At))
		}
		s += ", " + compact(d.Taken.Sub(last.Started)) + " ago"
	}
	return s
}

// body draws the current view in at most bodyHeight lines.
func (m topModel) body(w int) []string {
	if !m.loaded {
		return []string{"", "  waiting for the first update from the agent…"}
	}
	if m.mode == modeTasks {
		return m.taskTable(w)
	}
	lines := m.viewLines(w)
	s := min(m.scroll, max(len(lines)-m.bodyHeight(), 0))
	return lines[s:]
}

// viewLines are all the lines of the detail, resources, blocking or
// findings view, at width w; nil for the table.
func (m topModel) viewLines(w int) []string {
	switch m.mode {
	case modeDetail:
		return m.detailLines(w)
	case modeResources:
		return m.resourceLines(w)
	case modeBlocking:
		return m.blockingLines(w)
	case modeFindings:
		return m.findingLines(w)
	}
	return nil
}

// lastScroll is the last line a view's body can start at: its last
// screenful.
func (m topModel) lastScroll() int {
	return max(len(m.viewLines(max(m.width, 20)))-m.bodyHeight(), 0)
}

// taskTable draws the column headers and the visible rows of the table.
func (m topModel) taskTable(w int) []string {
	ts := m.vis
	if len(ts) == 0 {
		if m.filter != "" {
			if err := badGlob(m.filter); err != nil {
				return []string{"", fmt.Sprintf("  bad pattern %q: %v (Esc clears the filter)", escape(m.filter), err)}
			}
			return []string{"", fmt.Sprintf("  no task's name matches %q (Esc clears the filter)", escape(m.filter))}
		}
		return []string{"", "  no live tasks"}
	}
	end := min(m.offset+m.rows(), len(ts))
	shown := ts[m.offset:end]
	cells := make([][numCols]string, len(shown))
	for i, t := range shown {
		cells[i] = taskCells(t, m.data.Taken, m.data.severalLoops())
	}
	heads := colNames
	arrow := "▲"
	if m.sortDesc {
		arrow = "▼"
	}
	heads[m.sortCol] += arrow
	widths := colWidths(w-2, heads, cells)
	lines := []string{"  " + m.st.head.Render(joinCells(heads, widths))}
	for i, t := range shown {
		row := joinCells(cells[i], widths)
		switch {
		case t.ID == m.selID:
			lines = append(lines, m.st.sel.Render("> "+row))
		case t.State == "failed" || t.State == "cancelling":
			lines = append(lines, "  "+m.st.warn.Render(row))
		case t.Running:
			lines = append(lines, "  "+m.st.good.Render(row))
		default:
			lines = append(lines, "  "+row)
		}
	}
	return lines
}

// taskCells renders one task's cells, escaped; with loops, the name is
// the task's loop's and its own, "loop/name" (several loops may run the
// same code, and their tasks the same names).
func taskCells(t *wire.Task, now time.Time, loops bool) [numCols]string {
	state := t.State
	if t.Running {
		state = "running"
	}
	wait := "-"
	if d := waitingFor(t, now); d > 0 {
		wait = compact(d)
	}
	return [numCols]string{
		colID:       strconv.FormatUint(t.ID, 10),
		colName:     escape(tableName(t, loops)),
		colState:    escape(state),
		colBusy:     compact(time.Duration(t.BusyNS)),
		colSched:    compact(time.Duration(t.SchedWaitNS)),
		colIdle:     compact(time.Duration(t.IdleNS)),
		colSteps:    strconv.FormatUint(t.Steps, 10),
		colWaiting:  wait,
		colAwaiting: orDash(escape(t.Awaiting)),
		colLocation: escape(suspendedAt(t)),
	}
}

// flexCols share what the fixed columns leave.
var flexCols = []int{colName, colAwaiting, colLocation}

// colWidths fits the columns in w: each fixed column as wide as its
// widest cell, the text columns at least 8 wide, then LOCATION, NAME and
// AWAITING widened to 12 in that order, then in turn while their cells
// want it and room is left.
func colWidths(w int, heads [numCols]string, cells [][numCols]string) [numCols]int {
	var want, got [numCols]int
	for c := range numCols {
		want[c] = textWidth(heads[c])
		for _, r := range cells {
			want[c] = max(want[c], textWidth(r[c]))
		}
		got[c] = want[c]
	}
	room := w - (numCols - 1)
	for c := range numCols {
		if !slices.Contains(flexCols, c) {
			room -= got[c]
		}
	}
	for _, c := range flexCols {
		got[c] = min(want[c], max(textWidth(heads[c]), 8))
		room -= got[c]
	}
	// A whole file:line first, then names, then what is awaited, up to 12
	// columns each; then all of them in turn.
	for _, c := range []int{colLocation, colName, colAwaiting} {
		if add := min(max(min(want[c], 12)-got[c], 0), max(room, 0)); add > 0 {
			got[c] += add
			room -= add
		}
	}
	for room > 0 {
		grew := false
		for _, c := range flexCols {
			if room > 0 && got[c] < want[c] {
				got[c]++
				room--
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	return got
}

// numeric columns are aligned right.
func rightAligned(c int) bool {
	switch c {
	case colID, colBusy, colSched, colIdle, colSteps, colWaiting:
		return true
	}
	return false
}

func joinCells(cells [numCols]string, widths [numCols]int) string {
	var b strings.Builder
	for c := range numCols {
		if c > 0 {
			b.WriteByte(' ')
		}
		s := fitWidth(cells[c], widths[c], "…")
		if rightAligned(c) {
			b.WriteString(strings.Repeat(" ", widths[c]-textWidth(s)) + s)
		} else if c < numCols-1 {
			b.WriteString(padRight(s, widths[c]))
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

func padRight(s string, w int) string {
	return s + strings.Repeat(" ", max(w-textWidth(s), 0))
}

// detailHead is the detail view's title and, for a task that has ended,
// how (once the stream said so); now is the time its record is read
// against: the end, for a task that ended, so that its times stop there.
func (m topModel) detailHead() (lines []string, now time.Time) {
	t := &m.detail
	now = m.data.Taken
	state := t.State
	if t.Running {
		state = "running"
	}
	end := m.detailEnd
	if end != nil && end.ID == t.ID {
		state = end.State
		if !end.Finished.IsZero() {
			now = end.Finished
		}
	} else {
		end = nil
	}
	title := fmt.Sprintf("TASK %d %s  %s  loop %s", t.ID, escape(t.Name), escape(state), escape(t.Loop))
	lines = []string{m.st.title.Render(title)}
	switch {
	case end != nil:
		s := "  this task has ended: " + escape(end.State)
		if !end.Finished.IsZero() {
			s += " " + compact(m.data.Taken.Sub(end.Finished)) + " ago, after " + compact(end.Finished.Sub(t.Created))
		}
		if end.Error != "" {
			s += ": " + escape(end.Error)
		}
		lines = append(lines, m.st.warn.Render(s+"; its last record follows"))
	case m.find(t.ID) == nil:
		lines = append(lines, m.st.warn.Render("  this task has ended; its last record follows"))
	}
	return lines, now
}

// detailLines draws the open task: what it is, where it was spawned, its
// parent and children, what it awaits and who holds that, its timings
// and its stack.
func (m topModel) detailLines(w int) []string {
	t := &m.detail
	lines, now := m.detailHead()
	field := func(k, v string) { lines = append(lines, fmt.Sprintf("  %-10s %s", k, v)) }
	room := w - 13 // "  " + a 10-column key + " "
	field("function", orDash(escape(t.Function)))
	field("spawned", frameFit(t.SpawnedAt, room))
	if t.ParentID != 0 {
		field("parent", m.taskRef(t.ParentID))
	} else {
		field("parent", "none (a root task)")
	}
	var kids []string
	for _, c := range m.data.Tasks {
		if c.ParentID == t.ID {
			kids = append(kids, fmt.Sprintf("%d %s", c.ID, escape(c.Name)))
		}
	}
	if len(kids) == 0 {
		field("children", "none")
	} else {
		field("children", fmt.Sprintf("%d: %s", len(kids), strings.Join(kids, ", ")))
	}
	switch {
	case t.Running:
		field("awaiting", "nothing: it runs a step now")
	case t.Awaiting != "":
		since := ""
		if d := waitingFor(t, now); d > 0 {
			since = " for " + compact(d)
		}
		field("awaiting", escape(t.Awaiting)+since)
	default:
		field("awaiting", "-")
	}
	if !t.SuspendedAt.IsZero() {
		field("at", frameFit(t.SuspendedAt, room))
	}
	for _, id := range t.Awaits {
		field("awaits", m.taskRef(id))
	}
	if t.WaitExternal {
		field("wakes", "without another task (a timer, a ToThread call, a thread-safe call)")
	}
	lines = append(lines, m.holderLines(t)...)
	if t.CancelMsg != "" || t.CancelBy != "" {
		field("cancel", strings.TrimSpace(escape(t.CancelMsg)+" "+escape(t.CancelBy)))
	}
	if t.Error != "" {
		field("error", escape(t.Error))
	}
	if !t.Created.IsZero() {
		field("age", compact(now.Sub(t.Created)))
	}
	field("timings", fmt.Sprintf("busy %s  sched %s  idle %s  steps %d",
		compact(time.Duration(t.BusyNS)), compact(time.Duration(t.SchedWaitNS)), compact(time.Duration(t.IdleNS)), t.Steps))
	lines = append(lines, m.stepLines(t)...)
	lines = append(lines, "", m.st.head.Render("STACK")+" (innermost first)")
	stack := t.Stack
	if len(stack) == 0 && m.stackID == t.ID {
		stack = m.stack
	}
	switch {
	case len(stack) > 0:
		for _, f := range stack {
			if f.File == "" && f.Line == 0 && f.Function != "" {
				lines = append(lines, "  "+escape(f.Function)) // the runtime's note (a stack cut short)
				continue
			}
			lines = append(lines, "  "+orDash(escape(f.Function)), "      "+escape(fileLine(f)))
		}
	case m.stackErr != "":
		lines = append(lines, "  unavailable: "+escape(m.stackErr))
	case m.replay != nil || m.gone != "":
		lines = append(lines, "  not recorded; the suspension point is "+frameText(t.SuspendedAt))
	default:
		lines = append(lines, "  loading…")
	}
	return lines
}

// stepLines say how long the task's steps took: the mean over its life,
// and a histogram of the steps seen since the stream began. The records
// carry a task's total busy time and step count, not each step's
// duration, so the steps between two messages are counted at their mean,
// and the view says so.
func (m topModel) stepLines(t *wire.Task) []string {
	if t.Steps == 0 {
		return []string{"  step time  no step yet"}
	}
	mean := time.Duration(t.BusyNS / int64(t.Steps))
	lines := []string{fmt.Sprintf("  step time  mean %s over %s", compact(mean), plural(int(t.Steps), "step"))}
	if m.data.StepHist == nil {
		return append(lines, "             (no histogram: this source does not stream the task's changes)")
	}
	h, ok := m.data.StepHist[t.ID]
	var total uint64
	for _, n := range h {
		total += n
	}
	if !ok || total == 0 {
		return append(lines, "             (no step since the view began: no histogram yet)")
	}
	lines = append(lines, fmt.Sprintf("  histogram  %s since the view began, each update's at their mean:", plural(int(total), "step")))
	labels := []string{"<10µs", "<100µs", "<1ms", "<10ms", "<100ms", "≥100ms"}
	var most uint64
	for _, n := range h {
		most = max(most, n)
	}
	for i, n := range h {
		bar := strings.Repeat("█", int((n*30+most-1)/most))
		lines = append(lines, fmt.Sprintf("  %10s %-30s %d", labels[i], bar, n))
	}
	return lines
}

// taskRef names a task by id, with its name and state when it is live.
func (m topModel) taskRef(id uint64) string {
	if t := m.find(id); t != nil {
		state := t.State
		if t.Running {
			state = "running"
		}
		return fmt.Sprintf("%d %s (%s)", id, escape(t.Name), escape(state))
	}
	return fmt.Sprintf("%d (not live)", id)
}

// holderLines say what t waits on and who holds it, and what t holds,
// from the awaitables last fetched (resources come from a request of
// their own, not from the stream).
func (m topModel) holderLines(t *wire.Task) []string {
	var lines []string
	field := func(k, v string) { lines = append(lines, fmt.Sprintf("  %-10s %s", k, v)) }
	if !m.resLoaded {
		switch {
		case t.WaitResource == 0:
		case m.resErr != "":
			field("waits on", fmt.Sprintf("%s #%d (who holds it is unknown: %s)", escape(t.WaitKind), t.WaitResource, escape(m.resErr)))
		case m.act.resources == nil:
			field("waits on", fmt.Sprintf("%s #%d (the source has no resource records: who holds it is unknown)", escape(t.WaitKind), t.WaitResource))
		default:
			field("waits on", fmt.Sprintf("%s #%d (loading who holds it…)", escape(t.WaitKind), t.WaitResource))
		}
		return lines
	}
	for i := range m.res {
		r := &m.res[i]
		if r.LoopID != t.LoopID {
			continue
		}
		waits := r.ID == t.WaitResource && t.WaitResource != 0 || slices.Contains(r.Waiters, t.ID) || slices.Contains(r.Putters, t.ID)
		if waits {
			field("waits on", resourceText(r))
			switch r.Kind {
			case wire.ResourceLock, wire.ResourceSemaphore:
				if len(r.Holders) == 0 {
					field("held by", "nobody")
				}
				for _, h := range r.Holders {
					field("held by", m.taskRef(h))
				}
			case wire.ResourceQueue:
				field("with it", fmt.Sprintf("%s waiting to get, %s waiting to put",
					plural(len(r.Waiters), "task"), plural(len(r.Putters), "task")))
			}
		}
		if slices.Contains(r.Holders, t.ID) && r.Kind != wire.ResourceTaskGroup {
			field("holds", resourceText(r))
		}
	}
	return lines
}

// resourceText names an awaitable: kind, id, state, where and by whom it
// was made.
func resourceText(r *wire.Resource) string {
	s := fmt.Sprintf("%s #%d", escape(r.Kind), r.ID)
	switch r.Kind {
	case wire.ResourceLock:
		if r.Set {
			s += " (locked)"
		}
	case wire.ResourceEvent:
		if r.Set {
			s += " (set)"
		} else {
			s += " (clear)"
		}
	case wire.ResourceQueue:
		if r.Cap > 0 {
			s += fmt.Sprintf(" (%d of %d)", r.Len, r.Cap)
		} else {
			s += fmt.Sprintf(" (%d queued)", r.Len)
		}
	case wire.ResourceSemaphore:
		s += fmt.Sprintf(" (%d of %d free)", r.Len, r.Cap)
	}
	if !r.CreatedAt.IsZero() {
		s += " made at " + escape(short(r.CreatedAt))
	}
	if r.CreatedBy != 0 {
		s += fmt.Sprintf(" by task %d", r.CreatedBy)
	}
	return s
}

// frameText renders a frame as "function  file:line", "-" when unknown.
func frameText(f wire.Frame) string {
	if f.IsZero() {
		return "-"
	}
	return escape(f.Function) + "  " + escape(fileLine(f))
}

// frameFit is frameText in at most room columns: what is cut is the start
// of the file's path ("…/fixture/main.go:75"), then the end of the
// function, so the file and line stay readable at 80 columns.
func frameFit(f wire.Frame, room int) string {
	full := frameText(f)
	if f.IsZero() || textWidth(full) <= room {
		return full
	}
	fn, fl := escape(f.Function), escape(fileLine(f))
	if keep := room - textWidth(fn) - 3; keep >= len([]rune(filepath.Base(fl))) {
		r := []rune(fl)
		return fn + "  …" + string(r[max(len(r)-keep, 0):])
	}
	base := escape(filepath.Base(f.File) + ":" + strconv.Itoa(f.Line))
	return fitWidth(fn, max(room-textWidth(base)-2, 1), "…") + "  " + base
}

func fileLine(f wire.Frame) string {
	if f.File == "" {
		return "?"
	}
	return f.File + ":" + strconv.Itoa(f.Line)
}

// resourceLines draws the resources view: the awaitables tasks wait on
// and who holds them, or, from a source that sends none, the tasks
// grouped by what they await.
func (m topModel) resourceLines(w int) []string {
	d := &m.data
	if m.resLoaded {
		return m.resourceList()
	}
	if m.act.resources != nil && m.resErr == "" {
		return []string{m.st.head.Render("RESOURCES"), "  loading…"}
	}
	type group struct {
		what  string
		tasks []uint64
	}
	var gs []*group
	idx := map[string]*group{}
	for _, t := range d.Tasks {
		if t.Awaiting == "" {
			continue
		}
		g := idx[t.Awaiting]
		if g == nil {
			g = &group{what: t.Awaiting}
			idx[t.Awaiting] = g
			gs = append(gs, g)
		}
		g.tasks = append(g.tasks, t.ID)
	}
	slices.SortStableFunc(gs, func(a, b *group) int {
		if c := cmp.Compare(len(b.tasks), len(a.tasks)); c != 0 {
			return c
		}
		return strings.Compare(a.what, b.what)
	})
	why := "a recording has no resource records"
	if m.resErr != "" {
		why = "the agent sent no resource records: " + escape(m.resErr)
	}
	lines := []string{m.st.head.Render("RESOURCES"), "  (" + why + "; tasks grouped by what they await)",
		fmt.Sprintf("  %5s  %s", "TASKS", "AWAITING")}
	for _, g := range gs {
		lines = append(lines, fmt.Sprintf("  %5d  %s  (%s)", len(g.tasks), escape(g.what), idList(g.tasks, 6)))
	}
	if len(gs) == 0 {
		lines = append(lines, "  no task awaits anything")
	}
	return lines
}

// maxViewResources bounds the awaitables the resources view lists (those
// with the most waiters first): it is redrawn at every update.
const maxViewResources = 1000

// resourceList lists the awaitables that someone holds or waits on, those
// with waiters first; the rest are counted.
func (m topModel) resourceList() []string {
	var busy []*wire.Resource
	for i := range m.res {
		if r := &m.res[i]; len(r.Holders)+len(r.Waiters)+len(r.Putters) > 0 {
			busy = append(busy, r)
		}
	}
	slices.SortStableFunc(busy, func(a, b *wire.Resource) int {
		if c := cmp.Compare(len(b.Waiters)+len(b.Putters), len(a.Waiters)+len(a.Putters)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	lines := []string{m.st.head.Render("RESOURCES") + fmt.Sprintf(" %s, %d held or awaited, those with waiters first", plural(len(m.res), "awaitable"), len(busy))}
	if len(busy) == 0 {
		return append(lines, "  no task holds or waits on any")
	}
	more := 0
	if len(busy) > maxViewResources {
		busy, more = busy[:maxViewResources], len(busy)-maxViewResources
	}
	for _, r := range busy {
		lines = append(lines, "  "+resourceText(r))
		for _, l := range []struct {
			label string
			ids   []uint64
		}{{"held by", r.Holders}, {"waiters", r.Waiters}, {"putters", r.Putters}} {
			if len(l.ids) == 0 {
				continue
			}
			if len(l.ids) > maxRefs {
				// How many, first: a long line is cut at the view's edge.
				l.label += fmt.Sprintf(" (%d)", len(l.ids))
			}
			lines = append(lines, "      "+l.label+" "+m.refs(l.ids))
		}
	}
	if more > 0 {
		lines = append(lines, fmt.Sprintf("  … and %d more held or awaited (taskdump resources PID lists them all)", more))
	}
	return lines
}

// refs names tasks by id and name.
func (m topModel) refs(ids []uint64) string {
	if len(ids) == 0 {
		return "nobody"
	}
	var s []string
	for i, id := range ids {
		if i == maxRefs {
			s = append(s, fmt.Sprintf("and %d more", len(ids)-i))
			break
		}
		s = append(s, m.taskRef(id))
	}
	return strings.Join(s, ", ")
}

// maxRefs is how many tasks refs names before it counts the rest.
const maxRefs = 8

// idList writes up to n ids, then how many more.
func idList(ids []uint64, n int) string {
	var s []string
	for i, id := range ids {
		if i == n {
			s = append(s, fmt.Sprintf("+%d", len(ids)-n))
			break
		}
		s = append(s, "task "+strconv.FormatUint(id, 10))
	}
	return strings.Join(s, ", ")
}

// blockingLines draws the blocking events, the newest first.
func (m topModel) blockingLines(w int) []string {
	evs := slices.Clone(m.data.Blocking)
	slices.SortStableFunc(evs, func(a, b wire.BlockEvent) int { return b.Started.Compare(a.Started) })
	lines := []string{m.st.head.Render("BLOCKING EVENTS") + fmt.Sprintf(" %d, the newest first", len(evs))}
	if len(evs) == 0 {
		return append(lines, "  no step has blocked the loop")
	}
	for _, e := range evs {
		what := "blocked"
		if e.Ongoing {
			what = "BLOCKS NOW"
		}
		s := fmt.Sprintf("  %s  %s for %s: task %d %s", clock(e.Started), what, compact(time.Duration(e.DurationNS)), e.TaskID, escape(e.TaskName))
		if e.Ongoing {
			s = m.st.bad.Render(s)
		}
		lines = append(lines, s)
		at := e.At
		if at.IsZero() && len(e.Stack) > 0 {
			at = e.Stack[0]
		}
		if e.Call != "" || !at.IsZero() {
			lines = append(lines, "      "+strings.TrimSpace(escape(e.Call)+" at "+frameText(at)))
		}
	}
	return lines
}

// wrapWords cuts s into lines of at most w columns at its spaces only (a
// command in a fix, "--kind cpu", must not break at its hyphens); a word
// longer than w is cut where it must.
func wrapWords(s string, w int) []string {
	var lines []string
	line, first := "", true
	for _, word := range strings.Split(s, " ") { // "a  b" keeps its two spaces
		switch {
		case first:
			line, first = word, false
		case textWidth(line)+1+textWidth(word) <= w:
			line += " " + word
		case word == "":
			continue // a second space at the end of a line
		default:
			lines = append(lines, line)
			line = word
		}
		for textWidth(line) > w {
			head := fitWidth(line, w, "")
			if head == "" { // one character wider than w
				_, n := utf8.DecodeRuneInString(line)
				head = line[:n]
			}
			lines = append(lines, head)
			line = line[len(head):]
		}
	}
	return append(lines, line)
}

// findingLines draws doctor's findings, worst first, wrapped to the width.
func (m topModel) findingLines(w int) []string {
	fs := m.data.Findings
	lines := []string{m.st.head.Render("DOCTOR") + " " + plural(len(fs), "finding")}
	if len(fs) == 0 {
		return append(lines, "  no findings")
	}
	wrap := func(indent, s string) {
		iw := textWidth(indent)
		for i, l := range wrapWords(s, max(w-iw, 10)) {
			if i == 1 {
				indent = strings.Repeat(" ", iw)
			}
			lines = append(lines, indent+l)
		}
	}
	for _, f := range fs {
		head := fmt.Sprintf("%s %s", strings.ToUpper(escape(f.Severity)), escape(f.Kind))
		switch f.Severity {
		case wire.SeverityError:
			head = m.st.bad.Render(head)
		case wire.SeverityWarning:
			head = m.st.warn.Render(head)
		}
		lines = append(lines, "  "+head)
		wrap("    ", escape(f.Summary))
		for _, t := range f.Tasks {
			name := escape(t.Name)
			if t.Loop != "" && m.data.severalLoops() {
				name = escape(t.Loop) + "/" + name // as the table names tasks of several loops
			}
			wrap("    ", fmt.Sprintf("task %d %s (%s) at %s", t.ID, name, escape(t.State), frameText(t.At)))
		}
		if f.Count > len(f.Tasks) {
			lines = append(lines, fmt.Sprintf("    … %d tasks in all", f.Count))
		}
		if f.Fix != "" {
			wrap("    fix: ", escape(f.Fix))
		}
	}
	return lines
}

// statusLine: the filter being typed, the cancel to confirm, that the
// target is gone, or the last message.
func (m topModel) statusLine(w int) string {
	switch {
	case m.editing:
		return "filter by name: " + escape(m.input) + "█  (Enter applies, Esc clears)"
	case m.confirmID != 0:
		return m.st.warn.Render(fmt.Sprintf("Cancel task %d %s? (y/n)", m.confirmID, escape(m.confirmName)))
	}
	var parts []string
	if m.gone != "" {
		parts = append(parts, m.st.bad.Render(escape(m.gone)+"; showing the last state"))
	}
	if m.status != "" {
		parts = append(parts, m.status)
	}
	if m.filter != "" && m.mode == modeTasks {
		parts = append(parts, fmt.Sprintf("filter %q: %d of %d tasks (Esc clears)", escape(m.filter), len(m.vis), len(m.data.Tasks)))
	}
	return strings.Join(parts, " · ")
}

// footer lists the keys of the current view in two lines: moving
// around, then views and actions.
func (m topModel) footer() []string {
	var nav, act [][2]string
	switch m.mode {
	case modeTasks:
		nav = [][2]string{{"↑↓/jk", "select"}, {"enter", "open"}, {"/", "filter"}, {"< >", "sort"}, {"i", "invert"}}
		if m.filter != "" {
			nav = append(nav, [2]string{"esc", "clear filter"})
		}
	default:
		nav = [][2]string{{"esc", "back"}, {"↑↓/jk", "scroll"}}
	}
	if m.replay != nil {
		act = [][2]string{{"space", "pause"}, {"←→", "step"}, {"+/-", "speed"}}
	}
	act = append(act, [2]string{"r", "resources"}, [2]string{"b", "blocking"}, [2]string{"w", "doctor"})
	if m.replay == nil && !m.data.ReadOnly && m.gone == "" && (m.mode == modeTasks || m.mode == modeDetail) {
		act = append(act, [2]string{"c", "cancel"}) // not offered where it is refused
	}
	act = append(act, [2]string{"q", "quit"})
	line := func(keys [][2]string) string {
		var parts []string
		for _, k := range keys {
			parts = append(parts, m.st.key.Render(k[0])+" "+k[1])
		}
		return strings.Join(parts, "  ")
	}
	return []string{line(nav), line(act)}
}

// compact renders a duration in at most 6 columns: 0, 830ns, 12µs, 340ms,
// 1.25s, 12.5s, 4m05s, 2h10m, 3d04h.
func compact(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 100*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// clock renders a time of day, UTC, as 15:04:05.
func clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.UTC().Format("15:04:05")
}

func speedText(s float64) string { return strconv.FormatFloat(s, 'g', -1, 64) }
