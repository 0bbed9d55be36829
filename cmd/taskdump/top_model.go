package main

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/taskdump/taskdump/inspect/wire"
)

// topData is everything taskdump top shows of a process at one moment: what
// the stream (or a recording) has said about it up to Taken. The view is a
// function of it and of the user's choices (topModel); nothing in it is
// trusted: every text is escaped when drawn.
type topData struct {
	Taken    time.Time
	PID      int
	Command  []string
	ReadOnly bool
	Loops    []topLoop
	// Ended are the tasks the last message says ended (the stream tells
	// each end once): how, when, with what error.
	Ended []wire.EndedTask
	// Tasks are the live tasks of every loop, read-only: the stream's
	// records, shared rather than copied (a change to a task comes as a
	// new record), so that 100,000 tasks are held once.
	Tasks    []*wire.Task
	Blocking []wire.BlockEvent
	Findings []wire.Finding
	// StepHist counts each task's steps by duration since the stream
	// began (see stepHist); nil from a source without a stream.
	StepHist map[uint64]stepHist
	// Dropped is how many updates the agent skipped so far.
	Dropped uint64
	// ClosedLoops is how many loops the last message that changed
	// anything closed; closedShown how many closed loops have tasks in
	// Tasks still (kept in the states they ended in).
	ClosedLoops int
	closedShown int
}

// severalLoops reports whether the tasks shown are of more than one loop:
// their names then read loop/name.
func (d *topData) severalLoops() bool { return len(d.Loops)+d.closedShown > 1 }

// liveLoop reports whether the loop id is one of d's live loops.
func (d *topData) liveLoop(id uint64) bool {
	return slices.ContainsFunc(d.Loops, func(l topLoop) bool { return l.ID == id })
}

// topLoop is one loop of the header: its summary, with its recent
// activity and lag (Stats) when HasStats says the source sent them (an
// agent that predates them does not).
type topLoop struct {
	wire.Loop
	HasStats bool
}

// Messages the model takes besides keys and window sizes.
type (
	// topDataMsg is a new state of the process.
	topDataMsg struct{ data topData }
	// topGoneMsg says the stream ended: the target exited or the agent went
	// away. The last state stays on screen. refused is the agent's answer
	// when it refused the stream before sending anything (busy: its
	// streams are all taken): top then quits with that error, as there is
	// no state to show.
	topGoneMsg struct {
		reason  string
		refused error
	}
	// topCancelMsg is the answer to a cancel.
	topCancelMsg struct {
		id    uint64
		name  string
		state string
		err   error
	}
	// topStackMsg carries a task's full stack, fetched when its detail view
	// opens and the stream did not carry it.
	topStackMsg struct {
		id    uint64
		stack []wire.Frame
		live  bool
		err   error
	}
	// topTickMsg advances a replay; gen tells stale ticks from the current one.
	topTickMsg struct{ gen int }
	// topClockMsg comes every second of a live view (topActions.clock):
	// the view counts those without a new state, to say when the agent
	// stopped answering (a stopped or hung process).
	topClockMsg struct{}
	// topResourcesMsg carries the awaitables of every loop, fetched while
	// the resources or a task's detail is on screen.
	topResourcesMsg struct {
		res []wire.Resource
		err error
	}
)

// topMode is what the body of the screen shows.
type topMode int

const (
	modeTasks topMode = iota
	modeDetail
	modeResources
	modeBlocking
	modeFindings
)

// Task table columns, in order.
const (
	colID = iota
	colName
	colState
	colBusy
	colSched
	colIdle
	colSteps
	colWaiting
	colAwaiting
	colLocation
	numCols
)

var colNames = [numCols]string{"ID", "NAME", "STATE", "BUSY", "SCHED", "IDLE", "STEPS", "WAITING", "AWAITING", "LOCATION"}

// topActions are what the model asks of the world; nil ones are not
// offered (a replay cannot cancel).
type topActions struct {
	// cancel asks the agent to cancel a task; its command answers with a
	// topCancelMsg.
	cancel func(id uint64, name string) tea.Cmd
	// stack fetches a task's stack; its command answers with a topStackMsg.
	stack func(id uint64) tea.Cmd
	// resources fetches the awaitables; its command answers with a
	// topResourcesMsg.
	resources tea.Cmd
	// next waits for the next message of the stream.
	next tea.Cmd
	// tick makes the replay's clock: a topTickMsg{gen} after d. nil is
	// tea.Tick.
	tick func(d time.Duration, gen int) tea.Cmd
	// clock makes a command that sends a topClockMsg a second later (a
	// new one each time: tea.Tick's timer starts when it is made); nil: no
	// clock (the view never calls the stream quiet).
	clock func() tea.Cmd
	// interval is how often the stream sends a state.
	interval time.Duration
	// stopped reports whether the process is stopped (SIGSTOP: its agent
	// cannot answer), asked each second while no state comes; nil where
	// it cannot be told.
	stopped func() bool
}

// topReplay is the state of a replay: the recorded messages, where the
// player is, and how fast it goes. fold is the messages folded up to
// applied; stepping back folds again from the start (cheap: each update
// carries only what changed).
type topReplay struct {
	msgs    []wire.WatchMessage
	pos     int
	paused  bool
	speed   float64
	gen     int
	fold    *topFold
	applied int
}

func newTopReplay(msgs []wire.WatchMessage) *topReplay {
	return &topReplay{msgs: msgs, speed: 1, fold: &topFold{}}
}

// at returns the data as of message pos.
func (r *topReplay) at(pos int) topData {
	if pos < r.applied-1 {
		r.fold, r.applied = &topFold{}, 0
	}
	for ; r.applied <= pos; r.applied++ {
		r.fold.apply(&r.msgs[r.applied])
	}
	return r.fold.data()
}

// replaySpeeds are the speeds + and - step through.
var replaySpeeds = []float64{0.25, 0.5, 1, 2, 4, 8, 16, 32}

// topModel is taskdump top's state: the last data, the screen size and
// the user's choices. Update returns a new model; View draws it and
// nothing else.
type topModel struct {
	st  topStyles
	pal topPalette
	act topActions
	// askedAt is when the view asked the terminal its questions (the
	// program started; zero: asked none), answered says the answers
	// came: a quit waits for them (quit), quitting says one is waiting.
	askedAt  time.Time
	answered bool
	quitting bool
	width    int
	height   int

	data   topData
	loaded bool
	gone   string
	// fatal is the error top quits with (topGoneMsg.refused).
	fatal error
	// cancelled is the task of the last cancel the agent accepted, whose
	// end the status line follows (followCancel); 0 once it ended.
	cancelled     uint64
	cancelledName string
	// visKey is what vis was made from (fit).
	visKey visKey
	// quiet counts the seconds (topClockMsg) since the last new state.
	quiet int
	// stopped says the process was stopped at the last clock tick that
	// came without a new state.
	stopped bool

	mode     topMode
	sortCol  int
	sortDesc bool

	filter  string
	editing bool
	input   string

	// vis are the table's rows, filtered and sorted, as fit last saw them.
	vis    []*wire.Task
	selID  uint64
	offset int // first task row shown
	scroll int // first line of the detail, resources, blocking or findings body

	confirmID   uint64
	confirmName string
	status      string

	// stackID is the task the detail view shows, detail its last record
	// (kept when the task ends), stack its stack fetched on opening.
	stackID uint64
	detail  wire.Task
	// detailEnd is how the open task ended, once the stream said so.
	detailEnd *wire.EndedTask
	stack     []wire.Frame
	stackErr  string

	// res are the awaitables as last fetched (resLoaded), resErr why the
	// last fetch failed; resBusy says a fetch is under way.
	res       []wire.Resource
	resLoaded bool
	resErr    string
	resBusy   bool

	replay *topReplay

	// byID indexes data.Tasks for find; shared by the model's copies.
	byID *taskIndex
}

// taskIndex maps task ids to their place in the slice it was built for,
// rebuilt when the slice changes: the resources view names up to nine
// tasks per awaitable, and 100,000 awaitables found each by a scan of
// 100,000 tasks took seconds per frame.
type taskIndex struct {
	of  **wire.Task // the slice's first element
	n   int
	pos map[uint64]int
}

func newTopModel(pal topPalette, act topActions) topModel {
	return topModel{st: newTopStyles(pal), pal: pal, act: act, width: 80, height: 24, byID: &taskIndex{}}
}

// answerWait bounds how long a quit waits for the terminal's answers.
const answerWait = 300 * time.Millisecond

// quit quits, once the terminal has answered the questions asked as the
// view started (its background colour; Bubble Tea's about its modes),
// or answerWait after they were asked: an answer that comes after the
// view has given the terminal back is typed into the shell.
func (m topModel) quit() (topModel, tea.Cmd) {
	left := answerWait - time.Since(m.askedAt)
	if m.askedAt.IsZero() || m.answered || left <= 0 {
		return m, tea.Quit
	}
	m.quitting = true
	return m, tea.Tick(left, func(time.Time) tea.Msg { return topQuitMsg{} })
}

// topQuitMsg ends a quit's wait for the terminal's answers.
type topQuitMsg struct{}

// Init starts waiting for the stream, or the replay's clock, and asks the
// terminal for its background colour (the answer, if one comes, picks the
// colours' shades).
func (m topModel) Init() tea.Cmd {
	if m.replay != nil {
		return tea.Batch(m.tick(), m.askBackground())
	}
	return tea.Batch(m.act.next, m.clock(), m.askBackground())
}

// askBackground is the command that asks the terminal for its background
// colour, nil with plain styles: nothing to choose.
func (m topModel) askBackground() tea.Cmd {
	if m.pal.plain {
		return nil
	}
	return tea.RequestBackgroundColor
}

// answer applies an answer of the terminal's: the styles its palette
// makes, and a waiting quit goes on once the last question's answer
// came (final).
func (m topModel) answer(pal topPalette, final bool) (tea.Model, tea.Cmd) {
	if !m.pal.plain {
		m.pal = pal
		m.st = newTopStyles(pal)
	}
	if final {
		m.answered = true
		if m.quitting {
			return m, tea.Quit
		}
	}
	return m, nil
}

// clock is the next topClockMsg's command, nil without a clock.
func (m topModel) clock() tea.Cmd {
	if m.act.clock == nil {
		return nil
	}
	return m.act.clock()
}

// followCancel updates the status line of an accepted cancel as the task
// goes: still cancelling, or gone from the live tasks (it ended).
func (m *topModel) followCancel() {
	if m.cancelled == 0 || !strings.HasPrefix(m.status, "cancel requested: ") {
		m.cancelled = 0
		return
	}
	for _, t := range m.data.Tasks {
		if t.ID == m.cancelled {
			m.status = fmt.Sprintf("cancel requested: task %d %s (%s)", t.ID, escape(m.cancelledName), escape(t.State))
			return
		}
	}
	m.status = fmt.Sprintf("cancel requested: task %d %s has ended", m.cancelled, escape(m.cancelledName))
	m.cancelled = 0
}

// quietAfter is how many seconds without a new state make a live view say
// so: three intervals, and at least three seconds.
func (m topModel) quietAfter() int {
	return max(3, int(3*m.act.interval/time.Second))
}

// tick schedules the replay's next step: the recorded gap to the next
// state, divided by the speed, at least 10ms and at most 2s.
func (m topModel) tick() tea.Cmd {
	r := m.replay
	if r == nil || r.paused || r.pos+1 >= len(r.msgs) {
		return nil
	}
	gap := r.msgs[r.pos+1].Time.Sub(r.msgs[r.pos].Time)
	d := time.Duration(float64(gap) / r.speed)
	d = min(max(d, 10*time.Millisecond), 2*time.Second)
	gen := r.gen
	if m.act.tick != nil {
		return m.act.tick(d, gen)
	}
	return tea.Tick(d, func(time.Time) tea.Msg { return topTickMsg{gen} })
}

// Update applies one message.
func (m topModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case topDataMsg:
		m.data, m.loaded, m.quiet, m.stopped = msg.data, true, 0, false
		m.followCancel()
		return m, tea.Batch(m.act.next, m.refresh(), m.fetchResources())
	case topClockMsg:
		if m.replay != nil || m.gone != "" {
			return m, nil
		}
		m.quiet++
		if m.act.stopped != nil && (!m.loaded || m.quiet >= m.quietAfter()) {
			m.stopped = m.act.stopped()
		}
		return m, m.clock()
	case topGoneMsg:
		if msg.refused != nil && !m.loaded {
			m.fatal = msg.refused
			return m.quit()
		}
		m.gone = msg.reason
		return m, nil
	case topCancelMsg:
		if msg.err != nil {
			m.status = fmt.Sprintf("cancel of task %d %s failed: %s", msg.id, escape(msg.name), escape(clean(msg.err.Error())))
		} else {
			m.status = fmt.Sprintf("cancel requested: task %d %s (%s)", msg.id, escape(msg.name), escape(msg.state))
			m.cancelled, m.cancelledName = msg.id, msg.name
		}
		return m, nil
	case topStackMsg:
		if msg.id == m.stackID {
			m.stack, m.stackErr = msg.stack, ""
			if msg.err != nil {
				m.stackErr = clean(msg.err.Error())
			}
		}
		return m, nil
	case topResourcesMsg:
		m.resBusy = false
		if msg.err != nil {
			m.resErr = clean(msg.err.Error())
		} else {
			m.res, m.resLoaded, m.resErr = msg.res, true, ""
		}
		return m, nil
	case topTickMsg:
		r := m.replay
		if r == nil || msg.gen != r.gen || r.paused {
			return m, nil
		}
		m.seek(r.pos + 1)
		return m, m.tick()
	}
	return m.terminal(msg)
}

// terminal applies a message from the terminal: its size, a key, a
// paste, an answer to the view's questions.
func (m topModel) terminal(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.fit()
		return m, nil
	case tea.BackgroundColorMsg:
		pal := m.pal
		pal.light = !msg.IsDark()
		return m.answer(pal, true)
	case tea.ColorProfileMsg:
		pal := m.pal
		pal.ansi16 = msg.Profile == colorprofile.ANSI
		return m.answer(pal, false)
	case tea.ModeReportMsg:
		// With plain styles the view asks nothing: the last question
		// is Bubble Tea's, about Unicode (mode 2027).
		return m.answer(m.pal, m.pal.plain && msg.Mode == ansi.ModeUnicodeCore)
	case topQuitMsg:
		return m, tea.Quit
	case tea.KeyPressMsg:
		if m.quitting {
			return m, nil
		}
		return m.key(msg)
	case tea.PasteMsg:
		if m.editing {
			m.input = appendInput(m.input, msg.Content)
		}
		return m, nil
	}
	return m, nil
}

// key handles one key press.
func (m topModel) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if k.Mod.Contains(tea.ModAlt) {
		// Esc and the key after it, read together, arrive as alt+key:
		// none is bound, so they are the two keys they were typed as.
		next, cmd := m.key(tea.KeyPressMsg{Code: tea.KeyEscape})
		next, cmd2 := next.(topModel).key(withoutAlt(k))
		return next, tea.Sequence(cmd, cmd2)
	}
	if utf8.RuneCountInString(k.Text) > 1 && !m.editing {
		// Keys typed faster than the view reads them may arrive
		// together: each is a key of its own.
		var cmds []tea.Cmd
		var next tea.Model = m
		for _, r := range k.Text {
			var cmd tea.Cmd
			next, cmd = next.(topModel).key(tea.KeyPressMsg{Code: r, Text: string(r)})
			cmds = append(cmds, cmd)
		}
		return next, tea.Sequence(cmds...)
	}
	s := k.String()
	switch {
	case s == "ctrl+c":
		return m.quit()
	case m.editing:
		return m.editKey(k)
	case m.confirmID != 0:
		return m.confirmKey(s)
	case s == "q":
		return m.quit()
	}
	if m.replay != nil {
		if cmd, ok := m.replayKey(s); ok {
			return m, cmd
		}
	}
	switch s {
	case "r":
		m.setMode(modeResources)
		return m, m.fetchResources()
	case "b":
		m.setMode(modeBlocking)
		return m, nil
	case "w":
		m.setMode(modeFindings)
		return m, nil
	}
	if m.mode != modeTasks {
		m.viewKey(s)
		return m, nil
	}
	return m.tableKey(s)
}

// withoutAlt is k without its alt modifier, with the text a printable key
// types (a key pressed with alt carries none).
func withoutAlt(k tea.KeyPressMsg) tea.KeyPressMsg {
	k.Mod &^= tea.ModAlt
	code := k.Code
	if k.Mod.Contains(tea.ModShift) && k.ShiftedCode != 0 {
		code = k.ShiftedCode
	}
	if k.Text == "" && k.Mod&^(tea.ModShift|lockMods) == 0 && code <= unicode.MaxRune && unicode.IsPrint(code) {
		k.Text = string(code)
	}
	return k
}

// maxInput bounds the filter prompt's input, in bytes.
const maxInput = 200

// appendInput is in followed by text's printable characters, as many as
// fit in maxInput bytes: a paste may hold anything.
func appendInput(in, text string) string {
	for _, r := range text {
		if !unicode.IsPrint(r) || len(in)+utf8.RuneLen(r) > maxInput {
			continue
		}
		in += string(r)
	}
	return in
}

// editKey handles a key while the filter prompt is open: Enter applies,
// Esc clears.
func (m topModel) editKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.Code {
	case tea.KeyEnter, tea.KeyKpEnter:
		m.filter, m.editing = strings.TrimSpace(m.input), false
		m.offset = 0
		m.fit()
	case tea.KeyEscape:
		m.filter, m.input, m.editing = "", "", false
		m.fit()
	case tea.KeyBackspace:
		if r := []rune(m.input); len(r) > 0 {
			m.input = string(r[:len(r)-1])
		}
	default:
		if k.Mod&^(tea.ModShift|lockMods) == 0 {
			m.input = appendInput(m.input, k.Text)
		}
	}
	return m, nil
}

// lockMods are the modifiers a terminal reports when a lock key is on
// (the kitty keyboard protocol does): a key typed with one is the key.
const lockMods = tea.ModCapsLock | tea.ModNumLock | tea.ModScrollLock

// confirmKey answers the cancel question: y cancels, q quits, anything
// else does not cancel.
func (m topModel) confirmKey(s string) (tea.Model, tea.Cmd) {
	id, name := m.confirmID, m.confirmName
	m.confirmID, m.confirmName = 0, ""
	switch s {
	case "y", "Y":
		m.status = fmt.Sprintf("cancelling task %d %s…", id, escape(name))
		return m, m.act.cancel(id, name)
	case "q":
		return m.quit()
	}
	m.status = "cancel: not confirmed"
	return m, nil
}

// viewKey handles a key in the detail, resources, blocking and findings
// views: scrolling, Esc back to the table, c to cancel from the detail.
func (m *topModel) viewKey(s string) {
	switch s {
	case "esc", "backspace":
		m.setMode(modeTasks)
	case "up", "k":
		m.scroll = max(m.scroll-1, 0)
	case "down", "j":
		m.scroll++
	case "pgup":
		m.scroll = max(m.scroll-m.bodyHeight(), 0)
	case "pgdown", "space":
		m.scroll += m.bodyHeight()
	case "home", "g":
		m.scroll = 0
	case "end", "G":
		m.scroll = m.lastScroll()
	case "c":
		if m.mode == modeDetail {
			m.askCancel()
		}
	}
	// Past the end, the view shows its last screenful: the key after
	// moves from there.
	m.scroll = min(m.scroll, m.lastScroll())
}

// tableKey handles a key in the task table: selection, sorting, the
// filter, Enter to open a task, c to cancel it.
func (m topModel) tableKey(s string) (tea.Model, tea.Cmd) {
	switch s {
	case "up", "k":
		m.move(-1)
	case "down", "j":
		m.move(1)
	case "pgup":
		m.move(-m.rows())
	case "pgdown":
		m.move(m.rows())
	case "home", "g":
		m.move(-1 << 30)
	case "end", "G":
		m.move(1 << 30)
	case "<", ",":
		m.sortCol = (m.sortCol + numCols - 1) % numCols
		m.fit()
	case ">", ".", "s":
		m.sortCol = (m.sortCol + 1) % numCols
		m.fit()
	case "i":
		m.sortDesc = !m.sortDesc
		m.fit()
	case "/":
		m.editing, m.input = true, m.filter
	case "esc":
		if m.filter != "" {
			m.filter, m.input = "", ""
			m.fit()
		}
	case "enter":
		if t := m.selected(); t != nil {
			m.mode, m.scroll = modeDetail, 0
			m.stackID, m.detail, m.stack, m.stackErr = t.ID, *t, nil, ""
			var cmd tea.Cmd
			if len(t.Stack) == 0 && m.act.stack != nil && m.gone == "" {
				cmd = m.act.stack(t.ID)
			}
			return m, tea.Batch(cmd, m.fetchResources())
		}
	case "c":
		m.askCancel()
	}
	return m, nil
}

// replayKey handles the player's keys: space pauses (and, at the end,
// plays again from the start), left and right step, + and - change the
// speed.
func (m *topModel) replayKey(s string) (tea.Cmd, bool) {
	r := m.replay
	switch s {
	case "space":
		if r.pos == len(r.msgs)-1 {
			m.seek(0) // at the end: from the start again
			r.paused = false
		} else {
			r.paused = !r.paused
		}
		r.gen++
		return m.tick(), true
	case "left", "h":
		r.paused = true
		r.gen++
		m.seek(r.pos - 1)
		return nil, true
	case "right", "l":
		r.paused = true
		r.gen++
		m.seek(r.pos + 1)
		return nil, true
	case "+", "=":
		if i := slices.Index(replaySpeeds, r.speed); i+1 < len(replaySpeeds) {
			r.speed = replaySpeeds[i+1]
		}
		r.gen++
		return m.tick(), true
	case "-", "_":
		if i := slices.Index(replaySpeeds, r.speed); i > 0 {
			r.speed = replaySpeeds[i-1]
		}
		r.gen++
		return m.tick(), true
	}
	return nil, false
}

// seek shows the replay's state at pos, clamped to the recording.
func (m *topModel) seek(pos int) {
	r := m.replay
	if len(r.msgs) == 0 {
		return
	}
	r.pos = min(max(pos, 0), len(r.msgs)-1)
	m.data, m.loaded = r.at(r.pos), true
	m.refresh()
}

// refresh follows new data: the detail view's record and the selection.
//
// It returns the command that fetches the open task's stack again when the
// task moved on since (it stepped: its step count changed).
func (m *topModel) refresh() tea.Cmd {
	var cmd tea.Cmd
	if m.mode == modeDetail {
		if t := m.find(m.stackID); t != nil {
			if t.Steps != m.detail.Steps && len(t.Stack) == 0 && m.act.stack != nil {
				cmd = m.act.stack(t.ID)
			}
			m.detail, m.detailEnd = *t, nil
		} else {
			for i := range m.data.Ended {
				if e := m.data.Ended[i]; e.ID == m.detail.ID {
					m.detailEnd = &e
				}
			}
		}
	}
	m.fit()
	return cmd
}

// find returns the live task id, or nil.
func (m *topModel) find(id uint64) *wire.Task {
	ts := m.data.Tasks
	if len(ts) == 0 {
		return nil
	}
	x := m.byID
	if x == nil || len(ts) < 64 {
		for i := range ts {
			if ts[i].ID == id {
				return ts[i]
			}
		}
		return nil
	}
	if x.of != &ts[0] || x.n != len(ts) {
		x.of, x.n = &ts[0], len(ts)
		x.pos = make(map[uint64]int, len(ts))
		for i := range ts {
			if _, dup := x.pos[ts[i].ID]; !dup {
				x.pos[ts[i].ID] = i
			}
		}
	}
	if i, ok := x.pos[id]; ok {
		return ts[i]
	}
	return nil
}

// fetchResources asks for the awaitables when a view that shows them is
// open, the source can fetch them, and no fetch is under way.
func (m *topModel) fetchResources() tea.Cmd {
	if m.act.resources == nil || m.resBusy || m.gone != "" || (m.mode != modeResources && m.mode != modeDetail) {
		return nil
	}
	m.resBusy = true
	return m.act.resources
}

func (m *topModel) setMode(mode topMode) {
	if m.mode != mode {
		m.mode, m.scroll = mode, 0
		m.fit()
	}
}

// askCancel asks to confirm the cancel of the selected task.
func (m *topModel) askCancel() {
	t := m.selected()
	switch {
	case t == nil:
		m.status = "cancel: no task selected"
	case m.replay != nil:
		m.status = "cancel: this is a replay"
	case m.act.cancel == nil || m.gone != "":
		m.status = "cancel: not attached"
	case m.data.ReadOnly:
		m.status = "cancel: the agent is read-only"
	case t.Done():
		m.status = fmt.Sprintf("cancel: task %d has ended (%s)", t.ID, t.State)
	case !m.data.liveLoop(t.LoopID):
		m.status = fmt.Sprintf("cancel: task %d's loop has closed", t.ID)
	default:
		// With several loops, the question names the task's loop too
		// (loop/name, as the table does): ids alone are easy to misread.
		m.confirmID, m.confirmName = t.ID, tableName(t, m.data.severalLoops())
	}
}

// visKey is what the table's rows (topModel.vis) were made from: the same
// key, the same rows. The tasks are known by their slice, which a new
// state replaces only when a task changed (topFold.data); the clock
// counts only for the WAITING order.
type visKey struct {
	tasks  **wire.Task
	n      int
	loops  int
	filter string
	col    int
	desc   bool
	now    time.Time
}

func (m *topModel) visKeyNow() visKey {
	k := visKey{n: len(m.data.Tasks), loops: len(m.data.Loops), filter: m.filter, col: m.sortCol, desc: m.sortDesc}
	if k.n > 0 {
		k.tasks = &m.data.Tasks[0]
	}
	if m.sortCol == colWaiting {
		k.now = m.data.Taken
	}
	return k
}

// visible returns the tasks the table shows: filtered by name, sorted.
func (m *topModel) visible() []*wire.Task {
	ts := make([]*wire.Task, 0, len(m.data.Tasks))
	for _, t := range m.data.Tasks {
		if m.filter == "" || nameMatches(m.filter, t.Name) || m.data.severalLoops() && nameMatches(m.filter, tableName(t, true)) {
			ts = append(ts, t)
		}
	}
	now := m.data.Taken
	slices.SortStableFunc(ts, func(a, b *wire.Task) int {
		c := compareCol(m.sortCol, a, b, now)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if m.sortDesc {
			c = -c
		}
		return c
	})
	return ts
}

// tableName is the task's name in the table: "loop/name" with loops.
func tableName(t *wire.Task, loops bool) string {
	if loops {
		return t.Loop + "/" + t.Name
	}
	return t.Name
}

// badGlob returns why filter, taken as a glob (it has *, ? or [), is not a
// valid one, or nil.
func badGlob(filter string) error {
	if !strings.ContainsAny(filter, "*?[") {
		return nil
	}
	_, err := path.Match(filter, "")
	return err
}

// nameMatches reports whether a task's name matches the filter: as a glob
// when the filter has *, ? or [, else as a substring, ignoring case.
func nameMatches(filter, name string) bool {
	if strings.ContainsAny(filter, "*?[") {
		ok, err := path.Match(filter, name)
		return ok && err == nil
	}
	return strings.Contains(strings.ToLower(name), strings.ToLower(filter))
}

var stateOrder = map[string]int{"running": 0, "cancelling": 1, "pending": 2, "failed": 3, "cancelled": 4, "finished": 5}

func compareCol(col int, a, b *wire.Task, now time.Time) int {
	switch col {
	case colName:
		return strings.Compare(a.Name, b.Name)
	case colState:
		return cmp.Compare(stateRank(a), stateRank(b))
	case colBusy:
		return cmp.Compare(a.BusyNS, b.BusyNS)
	case colSched:
		return cmp.Compare(a.SchedWaitNS, b.SchedWaitNS)
	case colIdle:
		return cmp.Compare(a.IdleNS, b.IdleNS)
	case colSteps:
		return cmp.Compare(a.Steps, b.Steps)
	case colWaiting:
		return cmp.Compare(waitingFor(a, now), waitingFor(b, now))
	case colAwaiting:
		return strings.Compare(a.Awaiting, b.Awaiting)
	case colLocation:
		return strings.Compare(suspendedAt(a), suspendedAt(b))
	}
	return cmp.Compare(a.ID, b.ID)
}

func stateRank(t *wire.Task) int {
	if t.Running {
		return -1
	}
	if r, ok := stateOrder[t.State]; ok {
		return r
	}
	return len(stateOrder)
}

// selected returns the selected task, or nil.
func (m *topModel) selected() *wire.Task { return m.find(m.selID) }

// move moves the selection by d rows of the table.
func (m *topModel) move(d int) {
	ts := m.vis
	if len(ts) == 0 {
		return
	}
	i := slices.IndexFunc(ts, func(t *wire.Task) bool { return t.ID == m.selID })
	i = min(max(i+d, 0), len(ts)-1)
	m.selID = ts[i].ID
	m.fit()
}

// fit keeps the selection on a visible task (the first one when the
// selected task is gone or filtered out) and in the window of rows shown.
func (m *topModel) fit() {
	if k := m.visKeyNow(); k != m.visKey || m.vis == nil {
		m.vis, m.visKey = m.visible(), k
	}
	ts := m.vis
	i := slices.IndexFunc(ts, func(t *wire.Task) bool { return t.ID == m.selID })
	if i < 0 {
		if m.mode == modeDetail {
			// The open task ended: the detail says so; the table moves on.
			return
		}
		m.selID = 0
		if len(ts) > 0 {
			i = min(m.offset, len(ts)-1)
			m.selID = ts[i].ID
		}
	}
	rows := m.rows()
	if i < m.offset {
		m.offset = i
	}
	if i >= m.offset+rows {
		m.offset = i - rows + 1
	}
	m.offset = max(min(m.offset, len(ts)-rows), 0)
}

// Screen layout: three header lines, the body, a status line and two
// lines of keys.
const topChrome = 6

func (m *topModel) bodyHeight() int { return max(m.height-topChrome, 1) }

// rows is how many task rows fit under the table's header.
func (m *topModel) rows() int { return max(m.bodyHeight()-1, 1) }
