package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/taskdump/taskdump/inspect/wire"
)

// The view's model, without a terminal: messages in, View() out, compared
// with goldens in testdata/golden/top-*.txt (go test -run TestTop -update
// rewrites them). The styles are plain, as under NO_COLOR.

var topT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fr(fn, file string, line int) wire.Frame {
	return wire.Frame{Function: fn, File: file, Line: line, Kind: "user"}
}

// topFixture is a process with a parent, children, a lock holder and
// waiter, a running task, a hostile name and an ongoing blocking step.
func topFixture() topData {
	at := func(d time.Duration) time.Time { return topT0.Add(-d) }
	block := &wire.BlockEvent{Loop: "main", LoopID: 1, TaskID: 4, TaskName: "parse", Started: at(1500 * time.Millisecond),
		DurationNS: int64(1500 * time.Millisecond), Ongoing: true, At: fr("main.parse", "/src/app/parse.go", 42), Call: "time.Sleep"}
	return topData{
		Taken: topT0, PID: 4242, Command: []string{"./service", "-addr", ":8080"},
		Loops: []topLoop{{Loop: wire.Loop{ID: 1, Name: "main", Tasks: 5, Current: 4, CurrentForNS: int64(1500 * time.Millisecond), Blocking: block,
			Stats: wire.LoopStats{LagNS: int64(1200 * time.Microsecond), WindowNS: int64(time.Second), BusyNS: int64(250 * time.Millisecond), Ready: 2}}, HasStats: true}},
		Tasks: []*wire.Task{
			{ID: 1, Name: "main", State: "pending", Loop: "main", LoopID: 1, Function: "main.main.func1",
				SpawnedAt: fr("main.main", "/src/app/main.go", 20), SuspendedAt: fr("main.serve", "/src/app/main.go", 31),
				Awaiting: "gather(3 tasks)", Awaits: []uint64{2, 3, 4}, Created: at(time.Hour), Suspended: at(59 * time.Minute),
				Steps: 3, BusyNS: 120e3, SchedWaitNS: 40e3, IdleNS: int64(59 * time.Minute),
				Stack: []wire.Frame{fr("github.com/taskdump/taskdump/runtime.Gather", "/src/runtime/gather.go", 62), fr("main.serve", "/src/app/main.go", 31)}},
			{ID: 2, Name: "lock-holder", State: "pending", Loop: "main", LoopID: 1, ParentID: 1, Function: "main.hold",
				SpawnedAt: fr("main.serve", "/src/app/main.go", 25), SuspendedAt: fr("main.hold", "/src/app/lock.go", 12),
				Awaiting: "sleep(1h0m0s)", Created: at(10 * time.Minute), Suspended: at(9 * time.Minute), Steps: 2, BusyNS: 2e6, SchedWaitNS: 10e3, IdleNS: int64(9 * time.Minute)},
			{ID: 3, Name: "evil\x1b[2J\r\nname\u202e", State: "cancelling", Loop: "main", LoopID: 1, ParentID: 1, Function: "main.wait",
				SpawnedAt: fr("main.serve", "/src/app/main.go", 26), SuspendedAt: fr("main.wait", "/src/app/lock.go", 30),
				Awaiting: "lock", WaitKind: "lock", WaitResource: 20, Created: at(10 * time.Minute), Suspended: at(30 * time.Second), Steps: 1, BusyNS: 900, SchedWaitNS: 5e3, IdleNS: int64(30 * time.Second),
				CancelMsg: "shutdown\x07", CancelBy: "taskdump"},
			{ID: 4, Name: "parse", State: "pending", Running: true, Loop: "main", LoopID: 1, ParentID: 1, Function: "main.parse",
				SpawnedAt: fr("main.serve", "/src/app/main.go", 27), Created: at(2 * time.Second), Started: at(2 * time.Second), Steps: 7, BusyNS: int64(1600 * time.Millisecond), SchedWaitNS: 3e6},
			{ID: 12, Name: "handler-12", State: "pending", Loop: "main", LoopID: 1, ParentID: 2, Function: "main.handle",
				SpawnedAt: fr("main.hold", "/src/app/lock.go", 10), SuspendedAt: fr("main.handle", "/src/app/handler.go", 88),
				Awaiting: "queue.get", WaitKind: "queue.get", WaitResource: 21, Created: at(5 * time.Second), Suspended: at(4 * time.Second), Steps: 41, BusyNS: 30e6, SchedWaitNS: 1e6, IdleNS: int64(4 * time.Second)},
		},
		Blocking: []wire.BlockEvent{*block, {Loop: "main", LoopID: 1, TaskID: 12, TaskName: "handler-12", Started: at(time.Minute), DurationNS: 80e6,
			Stack: []wire.Frame{fr("main.handle", "/src/app/handler.go", 90)}}},
		Findings: []wire.Finding{{Kind: "blocking", Severity: "error", Summary: "task 4 parse blocks the loop for 1.5s in time.Sleep at parse.go:42",
			Tasks: []wire.FindingTask{{ID: 4, Name: "parse", State: "running", At: fr("main.parse", "/src/app/parse.go", 42)}},
			Fix:   "use runtime.Sleep(ctx, d), or move the blocking call to runtime.ToThread"}},
	}
}

// topResources are the fixture's awaitables: task 2 holds a lock task 3
// waits on; task 12 waits on an empty queue; a future nobody awaits.
func topResources() []wire.Resource {
	return []wire.Resource{
		{ID: 20, Kind: wire.ResourceLock, Loop: "main", LoopID: 1, CreatedAt: fr("main.serve", "/src/app/main.go", 22), CreatedBy: 1,
			Holders: []uint64{2}, Waiters: []uint64{3}, Set: true},
		{ID: 21, Kind: wire.ResourceQueue, Loop: "main", LoopID: 1, CreatedAt: fr("main.hold", "/src/app/lock.go", 9), CreatedBy: 2,
			Waiters: []uint64{12}, Cap: 10},
		{ID: 22, Kind: wire.ResourceFuture, Loop: "main", LoopID: 1},
	}
}

// topHarness drives a model as the program would: messages in, commands
// recorded.
type topHarness struct {
	t       *testing.T
	m       topModel
	cancels []uint64
	stacks  []uint64
	ticks   int
	quit    bool
}

func newTopHarness(t *testing.T, w, h int) *topHarness {
	th := &topHarness{t: t}
	act := topActions{
		cancel: func(id uint64, name string) tea.Cmd {
			th.cancels = append(th.cancels, id)
			return func() tea.Msg { return topCancelMsg{id: id, name: name, state: "cancelling"} }
		},
		stack: func(id uint64) tea.Cmd {
			th.stacks = append(th.stacks, id)
			return nil
		},
		resources: func() tea.Msg { return topResourcesMsg{res: topResources()} },
		tick: func(time.Duration, int) tea.Cmd {
			th.ticks++
			return nil
		},
	}
	th.m = newTopModel(topPalette{plain: true}, act)
	th.send(tea.WindowSizeMsg{Width: w, Height: h})
	return th
}

// send applies msg and runs the commands it returns (not ticks or
// waits), as the program would.
func (th *topHarness) send(msg tea.Msg) {
	th.t.Helper()
	next, cmd := th.m.Update(msg)
	th.m = next.(topModel)
	th.run(cmd)
}

// clock sends n of the view's one-second clock messages.
func (th *topHarness) clock(n int) {
	th.t.Helper()
	for range n {
		th.send(topClockMsg{})
	}
}

func (th *topHarness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case tea.QuitMsg:
		th.quit = true
	case tea.BatchMsg:
		for _, c := range msg {
			th.run(c)
		}
	case topCancelMsg, topStackMsg, topResourcesMsg:
		th.send(msg)
	default:
		// tea.Sequence's message is an unexported []tea.Cmd.
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
			for i := range v.Len() {
				th.run(v.Index(i).Interface().(tea.Cmd))
			}
		}
	}
}

// keys presses keys by name: "enter", "esc", "up", "down", "left",
// "right", "space", "backspace", "ctrl+c", or the runes of any other
// string, one key each.
func (th *topHarness) keys(names ...string) *topHarness {
	th.t.Helper()
	for _, n := range names {
		if _, named := namedKeys[n]; named || utf8.RuneCountInString(n) == 1 {
			th.send(keyMsg(n))
			continue
		}
		for _, r := range n { // typed: Bubble Tea sends a message per key
			th.send(keyMsg(string(r)))
		}
	}
	return th
}

// namedKeys are the keys keyMsg knows by name.
var namedKeys = map[string]tea.KeyPressMsg{
	"enter":     {Code: tea.KeyEnter},
	"esc":       {Code: tea.KeyEscape},
	"up":        {Code: tea.KeyUp},
	"down":      {Code: tea.KeyDown},
	"left":      {Code: tea.KeyLeft},
	"right":     {Code: tea.KeyRight},
	"space":     {Code: tea.KeySpace, Text: " "},
	"backspace": {Code: tea.KeyBackspace},
	"ctrl+c":    {Code: 'c', Mod: tea.ModCtrl},
}

func keyMsg(n string) tea.KeyPressMsg {
	if k, ok := namedKeys[n]; ok {
		return k
	}
	r, size := utf8.DecodeRuneInString(n)
	switch {
	case size != len(n):
		return tea.KeyPressMsg{Code: tea.KeyExtended, Text: n} // one grapheme of several runes
	case r >= 'A' && r <= 'Z': // as a terminal sends it: shift and the key
		return tea.KeyPressMsg{Code: r - 'A' + 'a', ShiftedCode: r, Mod: tea.ModShift, Text: n}
	}
	return tea.KeyPressMsg{Code: r, Text: n}
}

// checkScreen fails unless the view fills exactly the terminal's rows and
// no line is wider than its columns, and holds no control character but
// the newlines between lines.
func checkScreen(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		// As the renderer measures (by character) and as a terminal
		// drawing graphemes does.
		if n := textWidth(l); n > w {
			t.Errorf("line %d is %d columns wide, want at most %d: %q", i+1, n, w, l)
		}
		if j := unsafeAt(l); j >= 0 {
			t.Errorf("line %d has a control character at byte %d: %q", i+1, j, l)
		}
	}
}

func TestTopViewGolden(t *testing.T) {
	replay := func(th *topHarness) {
		th.m.act = topActions{tick: th.m.act.tick} // as runTop makes a replay's
		th.m.replay = newTopReplay(topRecording())
		th.m.seek(0)
	}
	for _, tt := range []struct {
		name  string
		w, h  int
		setup func(th *topHarness)
		keys  []string
	}{
		{name: "list", w: 80, h: 24},
		{name: "connecting", w: 80, h: 24, setup: func(th *topHarness) { th.m.loaded = false; th.m.data = topData{} }},
		{name: "sort-busy-desc", w: 80, h: 24, keys: []string{">", ">", ">", "i"}},
		{name: "sort-back", w: 80, h: 24, keys: []string{"<", "<"}},
		{name: "select", w: 80, h: 24, keys: []string{"j", "j", "down", "k"}},
		{name: "filter-typing", w: 80, h: 24, keys: []string{"/", "hand"}},
		{name: "filter-applied", w: 80, h: 24, keys: []string{"/", "hand", "enter"}},
		{name: "filter-cleared", w: 80, h: 24, keys: []string{"/", "hand", "enter", "esc"}},
		{name: "filter-none", w: 80, h: 24, keys: []string{"/", "nomatch", "enter"}},
		{name: "filter-bad-glob", w: 80, h: 24, keys: []string{"/", "job-[", "enter"}},
		{name: "detail", w: 80, h: 24, keys: []string{"enter"}},
		{name: "detail-hostile", w: 80, h: 30, keys: []string{"j", "j", "enter"}},
		{name: "detail-back", w: 80, h: 24, keys: []string{"j", "enter", "esc"}},
		{name: "detail-queue", w: 80, h: 24, keys: []string{"G", "enter"}},
		{name: "resources", w: 80, h: 24, keys: []string{"r"}},
		{name: "blocking", w: 80, h: 24, keys: []string{"b"}},
		{name: "findings", w: 80, h: 24, keys: []string{"w"}},
		{name: "confirm", w: 80, h: 24, keys: []string{"j", "c"}},
		{name: "cancelled", w: 80, h: 24, keys: []string{"j", "c", "y"}},
		{name: "not-confirmed", w: 80, h: 24, keys: []string{"j", "c", "n"}},
		{name: "gone", w: 80, h: 24, setup: func(th *topHarness) { th.send(topGoneMsg{reason: "process 4242 exited"}) }},
		{name: "narrow", w: 60, h: 12},
		{name: "wide", w: 132, h: 16},
		{name: "replay", w: 80, h: 24, setup: replay},
		{name: "replay-step", w: 80, h: 24, setup: replay, keys: []string{"right", "right", "+", "+"}},
		{name: "replay-back", w: 80, h: 24, setup: replay, keys: []string{"right", "right", "left", "-"}},
		{name: "replay-resources", w: 80, h: 24, setup: replay, keys: []string{"r"}},
		{name: "replay-detail", w: 80, h: 30, setup: replay, keys: []string{"right", "right", "enter"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := newTopHarness(t, tt.w, tt.h)
			th.send(topDataMsg{topFixture()})
			if tt.setup != nil {
				tt.setup(th)
			}
			th.keys(tt.keys...)
			v := th.m.View().Content
			checkScreen(t, v, tt.w, tt.h)
			golden(t, "top-"+tt.name+".txt", v+"\n")
		})
	}
}

// TestStepHist: steps are counted in the bucket of their mean.
func TestStepHist(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		busy time.Duration
		want stepHist
	}{
		{1, 0, stepHist{1}},
		{3, 29 * time.Microsecond, stepHist{3}},
		{2, 20 * time.Microsecond, stepHist{0, 2}},
		{1, 999 * time.Microsecond, stepHist{0, 0, 1}},
		{4, 8 * time.Millisecond, stepHist{0, 0, 0, 4}},
		{1, 50 * time.Millisecond, stepHist{0, 0, 0, 0, 1}},
		{2, time.Second, stepHist{0, 0, 0, 0, 0, 2}},
	} {
		var h stepHist
		h.add(tt.n, tt.busy)
		if h != tt.want {
			t.Errorf("add(%d, %s) = %v, want %v", tt.n, tt.busy, h, tt.want)
		}
	}
}

// TestTopResize: the same model drawn at several sizes always fills the
// screen exactly, and the selection stays visible.
func TestTopResize(t *testing.T) {
	th := newTopHarness(t, 80, 24)
	d := topFixture()
	for i := range 200 {
		d.Tasks = append(d.Tasks, &wire.Task{ID: uint64(100 + i), Name: "bulk", State: "pending", Created: topT0})
	}
	th.send(topDataMsg{d})
	th.keys("G") // the last task
	for _, sz := range [][2]int{{80, 24}, {40, 10}, {200, 60}, {20, 8}, {80, 24}} {
		th.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		v := th.m.View().Content
		checkScreen(t, v, sz[0], sz[1])
		if !strings.Contains(v, "> 299") {
			t.Errorf("at %dx%d the selected task 299 is not shown:\n%s", sz[0], sz[1], v)
		}
	}
}

// TestTopKeys: what each key does to the model.
func TestTopKeys(t *testing.T) {
	for _, tt := range []struct {
		name     string
		keys     []string
		mode     topMode
		sel      uint64
		filter   string
		quit     bool
		cancels  []uint64
		stacks   []uint64
		sortCol  int
		sortDesc bool
	}{
		{name: "start", sel: 1},
		{name: "down", keys: []string{"j", "down"}, sel: 3},
		{name: "down-past-end", keys: []string{"G", "j", "j"}, sel: 12},
		{name: "up-past-start", keys: []string{"k", "up"}, sel: 1},
		{name: "keys-together", keys: []string{"\x00jj"}, sel: 3},
		{name: "quit", keys: []string{"q"}, sel: 1, quit: true},
		{name: "ctrl-c", keys: []string{"ctrl+c"}, sel: 1, quit: true},
		{name: "quit-detail", keys: []string{"enter", "q"}, mode: modeDetail, sel: 1, quit: true},
		{name: "quit-resources", keys: []string{"r", "q"}, mode: modeResources, sel: 1, quit: true},
		{name: "quit-blocking", keys: []string{"b", "q"}, mode: modeBlocking, sel: 1, quit: true},
		{name: "quit-findings", keys: []string{"w", "q"}, mode: modeFindings, sel: 1, quit: true},
		{name: "quit-confirm", keys: []string{"c", "q"}, sel: 1, quit: true},
		{name: "q-in-filter-is-text", keys: []string{"/", "q"}, sel: 1},
		{name: "open-fetches-stack", keys: []string{"j", "enter"}, mode: modeDetail, sel: 2, stacks: []uint64{2}},
		{name: "open-has-stack", keys: []string{"enter"}, mode: modeDetail, sel: 1},
		{name: "esc-back", keys: []string{"j", "enter", "esc"}, mode: modeTasks, sel: 2, stacks: []uint64{2}},
		{name: "esc-then-key-together", keys: []string{"r", "\x00alt-w"}, mode: modeFindings, sel: 1},
		{name: "esc-then-shifted-key", keys: []string{"\x00alt-G"}, sel: 12},
		{name: "esc-then-enter-together", keys: []string{"j", "r", "\x00alt-enter"}, mode: modeDetail, sel: 2, stacks: []uint64{2}},
		{name: "views", keys: []string{"r", "b", "w", "esc"}, mode: modeTasks, sel: 1},
		{name: "cancel-yes", keys: []string{"j", "c", "y"}, sel: 2, cancels: []uint64{2}},
		{name: "cancel-no", keys: []string{"j", "c", "n"}, sel: 2},
		{name: "cancel-esc", keys: []string{"j", "c", "esc"}, sel: 2},
		{name: "cancel-from-detail", keys: []string{"j", "j", "j", "j", "enter", "c", "y"}, mode: modeDetail, sel: 12, cancels: []uint64{12}, stacks: []uint64{12}},
		{name: "filter", keys: []string{"/", "hand", "enter"}, sel: 12, filter: "hand"},
		{name: "filter-glob", keys: []string{"/", "lock-*", "enter"}, sel: 2, filter: "lock-*"},
		{name: "filter-esc-typing", keys: []string{"/", "hand", "esc"}, sel: 1},
		{name: "filter-esc-after", keys: []string{"/", "hand", "enter", "esc"}, sel: 12},
		{name: "filter-backspace", keys: []string{"/", "handx", "backspace", "enter"}, sel: 12, filter: "hand"},
		{name: "filter-paste", keys: []string{"/", "\x00paste-hand", "enter"}, sel: 12, filter: "hand"},
		{name: "paste-is-no-key", keys: []string{"\x00paste-q"}, sel: 1},
		{name: "sort-next", keys: []string{">"}, sel: 1, sortCol: colName},
		{name: "sort-s", keys: []string{"s", "s"}, sel: 1, sortCol: colState},
		{name: "sort-prev-wraps", keys: []string{"<"}, sel: 1, sortCol: colLocation},
		{name: "sort-invert", keys: []string{"i"}, sel: 1, sortDesc: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := newTopHarness(t, 80, 24)
			th.send(topDataMsg{topFixture()})
			special := map[string]tea.Msg{
				"\x00alt-w": tea.KeyPressMsg{Code: 'w', Mod: tea.ModAlt},
				"\x00alt-G": tea.KeyPressMsg{Code: 'g', ShiftedCode: 'G', Mod: tea.ModAlt | tea.ModShift},
				// Keys that arrive as one message (an input method's).
				"\x00jj":        tea.KeyPressMsg{Code: tea.KeyExtended, Text: "jj"},
				"\x00alt-enter": tea.KeyPressMsg{Code: tea.KeyEnter, Mod: tea.ModAlt},
				// A paste may hold anything: the filter keeps what prints.
				"\x00paste-hand": tea.PasteMsg{Content: "ha\x1b\x07nd\r\n"},
				"\x00paste-q":    tea.PasteMsg{Content: "q"},
			}
			for _, k := range tt.keys {
				if msg, ok := special[k]; ok {
					th.send(msg)
					continue
				}
				th.keys(k)
			}
			m := th.m
			if m.mode != tt.mode || m.selID != tt.sel || m.filter != tt.filter || th.quit != tt.quit ||
				m.sortCol != tt.sortCol || m.sortDesc != tt.sortDesc {
				t.Errorf("mode %d sel %d filter %q quit %v sort %d desc %v; want mode %d sel %d filter %q quit %v sort %d desc %v",
					m.mode, m.selID, m.filter, th.quit, m.sortCol, m.sortDesc, tt.mode, tt.sel, tt.filter, tt.quit, tt.sortCol, tt.sortDesc)
			}
			if !slicesEqual(th.cancels, tt.cancels) || !slicesEqual(th.stacks, tt.stacks) {
				t.Errorf("cancels %v stacks %v; want %v %v", th.cancels, th.stacks, tt.cancels, tt.stacks)
			}
		})
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTopSortColumns: every column sorts, both ways, with ties broken by
// id.
func TestTopSortColumns(t *testing.T) {
	want := map[int][]uint64{
		colID:       {1, 2, 3, 4, 12},
		colName:     {3, 12, 2, 1, 4},
		colState:    {4, 3, 1, 2, 12},
		colBusy:     {3, 1, 2, 12, 4},
		colSched:    {3, 2, 1, 12, 4},
		colIdle:     {4, 12, 3, 2, 1},
		colSteps:    {3, 2, 1, 4, 12},
		colWaiting:  {4, 12, 3, 2, 1},
		colAwaiting: {4, 1, 3, 12, 2},
		colLocation: {4, 12, 2, 3, 1},
	}
	for col := range numCols {
		for _, desc := range []bool{false, true} {
			th := newTopHarness(t, 80, 24)
			th.send(topDataMsg{topFixture()})
			th.m.sortCol, th.m.sortDesc = col, desc
			var got []uint64
			for _, ts := range th.m.visible() {
				got = append(got, ts.ID)
			}
			w := append([]uint64(nil), want[col]...)
			if desc {
				for i, j := 0, len(w)-1; i < j; i, j = i+1, j-1 {
					w[i], w[j] = w[j], w[i]
				}
			}
			if !slicesEqual(got, w) {
				t.Errorf("sorted by %s desc=%v: %v, want %v", colNames[col], desc, got, w)
			}
		}
	}
}

// TestTopDetailFollows: the open task's record follows the stream, and
// its stack is fetched again once it has stepped.
func TestTopDetailFollows(t *testing.T) {
	th := newTopHarness(t, 80, 24)
	d := topFixture()
	th.send(topDataMsg{d})
	th.keys("j", "enter") // task 2, whose record has no stack
	th.send(topDataMsg{d})
	if want := []uint64{2}; !slicesEqual(th.stacks, want) {
		t.Fatalf("stacks fetched %v, want %v (no step, no new fetch)", th.stacks, want)
	}
	c := *d.Tasks[1] // a new record, as the stream sends a changed task
	c.Steps++
	c.Awaiting = "sleep(2s)"
	d.Tasks = slices.Clone(d.Tasks)
	d.Tasks[1] = &c
	th.send(topDataMsg{d})
	if want := []uint64{2, 2}; !slicesEqual(th.stacks, want) {
		t.Errorf("stacks fetched %v, want %v", th.stacks, want)
	}
	if v := th.m.View().Content; !strings.Contains(v, "awaiting   sleep(2s)") {
		t.Errorf("the detail does not follow the record:\n%s", v)
	}
	gone := d.Tasks[1]
	d.Tasks = slices.Delete(d.Tasks, 1, 2)
	d.Ended = []wire.EndedTask{{ID: gone.ID, Name: gone.Name, State: "failed", Finished: d.Taken.Add(-3 * time.Second), Error: "boom\x1b[2J"}}
	th.send(topDataMsg{d})
	v := th.m.View().Content
	if !strings.Contains(v, "this task has ended: failed 3.00s ago, after 9m57s: boom\\x1b[2J") ||
		!strings.Contains(v, "sleep(2s)") || !strings.Contains(v, "lock-holder  failed") {
		t.Errorf("the detail of an ended task, with how it ended:\n%s", v)
	}
	d.Ended = nil // the next message does not repeat the end
	th.send(topDataMsg{d})
	if v2 := th.m.View().Content; !strings.Contains(v2, "this task has ended: failed") {
		t.Errorf("the detail forgot how the task ended:\n%s", v2)
	}
}

// TestTopGone: when the stream ends the last state stays, and cancel is
// refused.
func TestTopGone(t *testing.T) {
	th := newTopHarness(t, 80, 24)
	th.send(topDataMsg{topFixture()})
	th.send(topGoneMsg{reason: "process 4242 exited"})
	th.keys("c")
	v := th.m.View().Content
	for _, want := range []string{"process 4242 exited; showing the last state", "ENDED 03:04:05", "12 handler"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if len(th.cancels) != 0 || th.m.confirmID != 0 {
		t.Errorf("cancel offered after the target went away: cancels %v confirm %d", th.cancels, th.m.confirmID)
	}
}

// TestTopCancelFollows: after a cancel the agent accepted, the status line
// follows the task: its state while it is live, then that it ended.
func TestTopCancelFollows(t *testing.T) {
	th := newTopHarness(t, 100, 24)
	d := topFixture()
	th.send(topDataMsg{d})
	th.keys("j", "c", "y")
	if len(th.cancels) != 1 {
		t.Fatalf("cancels %v, want one", th.cancels)
	}
	id := th.cancels[0]
	if !strings.Contains(th.m.status, fmt.Sprintf("cancel requested: task %d", id)) {
		t.Fatalf("status %q", th.m.status)
	}
	live := d // still live, in another state than the cancel's answer: the status follows it
	live.Tasks = slices.Clone(d.Tasks)
	for i, x := range live.Tasks {
		if x.ID == id {
			c := *x // records are read-only: a change is a new record, as the stream's
			c.State = "pending"
			live.Tasks[i] = &c
		}
	}
	th.send(topDataMsg{live})
	if want := fmt.Sprintf("cancel requested: task %d ", id); !strings.HasPrefix(th.m.status, want) || !strings.HasSuffix(th.m.status, "(pending)") {
		t.Errorf("status while the task lives: %q, want %q... (pending)", th.m.status, want)
	}
	gone := d
	gone.Tasks = slices.DeleteFunc(slices.Clone(d.Tasks), func(x *wire.Task) bool { return x.ID == id })
	th.send(topDataMsg{gone})
	if want := fmt.Sprintf("task %d", id); !strings.Contains(th.m.status, want) || !strings.HasSuffix(th.m.status, "has ended") {
		t.Errorf("status once the task ended: %q", th.m.status)
	}
}

// TestTopQuiet: a live view whose agent stops answering (a stopped or hung
// process) says so after three intervals, and a new state clears it.
func TestTopQuiet(t *testing.T) {
	th := newTopHarness(t, 100, 24)
	th.m.act.interval = 2 * time.Second // quiet after 6 s
	armed := 0
	th.m.act.clock = func() tea.Cmd {
		armed++
		return func() tea.Msg { return nil }
	}
	th.run(th.m.Init())
	if armed != 1 {
		t.Fatalf("Init armed the clock %d times, want 1", armed)
	}
	th.send(topDataMsg{topFixture()})
	for i := 1; i <= 7; i++ {
		th.send(topClockMsg{})
		if armed != i+1 {
			t.Fatalf("after %d clock messages the clock was armed %d times, want %d", i, armed, i+1)
		}
		v := th.m.View().Content
		quiet := strings.Contains(v, fmt.Sprintf("NO UPDATE FOR %ds (last 03:04:05)", i))
		if quiet != (i >= 6) || strings.Contains(v, "live 03:04:05") == quiet {
			t.Fatalf("after %ds without a state: quiet shown %v, want %v:\n%s", i, quiet, i >= 6, v)
		}
	}
	th.send(topDataMsg{topFixture()})
	if v := th.m.View().Content; !strings.Contains(v, "live 03:04:05") || strings.Contains(v, "NO UPDATE") {
		t.Errorf("a new state does not clear the quiet mark:\n%s", v)
	}
	th.send(topGoneMsg{reason: "process 4242 exited"})
	th.clock(10)
	if v := th.m.View().Content; !strings.Contains(v, "ENDED 03:04:05") {
		t.Errorf("an ended view is called quiet:\n%s", v)
	}
}

// TestTopReplayTicks: a playing replay advances on its own tick and
// ignores stale ones; pause stops it.
func TestTopReplayTicks(t *testing.T) {
	th := newTopHarness(t, 80, 24)
	th.m.replay = newTopReplay(topRecording())
	th.m.seek(0)
	gen := th.m.replay.gen
	th.send(topTickMsg{gen})
	if th.m.replay.pos != 1 {
		t.Fatalf("after a tick pos %d, want 1", th.m.replay.pos)
	}
	th.send(topTickMsg{gen - 1})
	if th.m.replay.pos != 1 {
		t.Fatalf("a stale tick moved pos to %d", th.m.replay.pos)
	}
	th.keys("space")
	th.send(topTickMsg{th.m.replay.gen})
	if th.m.replay.pos != 1 || !th.m.replay.paused {
		t.Fatalf("paused replay moved: pos %d paused %v", th.m.replay.pos, th.m.replay.paused)
	}
	th.keys("c")
	if len(th.cancels) != 0 || !strings.Contains(th.m.View().Content, "cancel: this is a replay") {
		t.Errorf("a replay offered to cancel:\n%s", th.m.View().Content)
	}
	// At the end, space plays again from the start.
	th.m.seek(len(th.m.replay.msgs) - 1)
	th.keys("space")
	if th.m.replay.pos != 0 || th.m.replay.paused {
		t.Errorf("space at the end: pos %d paused %v, want 0 and playing", th.m.replay.pos, th.m.replay.paused)
	}
}

// topRecording is a short recording: a snapshot, a task that appears, one
// that ends, a blocking step.
func topRecording() []wire.WatchMessage {
	loop := wire.Loop{ID: 1, Name: "main", Tasks: 2}
	// An agent lists its loops in the process record; without them the
	// Recorder (wire.WatchMessage.AppendJSON) misplaces the message's loops.
	proc := &wire.Process{PID: 77, Command: []string{"./rec"}, Loops: []wire.Loop{loop}}
	t1 := wire.Task{ID: 1, Name: "main", State: "pending", LoopID: 1, Awaiting: "sleep(1s)", Created: topT0, Suspended: topT0, Steps: 1}
	t2 := wire.Task{ID: 2, Name: "worker", State: "pending", LoopID: 1, Awaiting: "queue.get", Created: topT0, Suspended: topT0, Steps: 1}
	t3 := wire.Task{ID: 3, Name: "late", State: "pending", LoopID: 1, Created: topT0.Add(time.Second)}
	// main takes 3 steps of 50µs, then 2 of 10ms each.
	t1b, t1c := t1, t1
	t1b.Steps, t1b.BusyNS = 4, 150e3
	t1c.Steps, t1c.BusyNS = 6, 150e3+20e6
	return []wire.WatchMessage{
		{Type: wire.WatchSnapshot, Seq: 1, Time: topT0, Process: proc, Findings: []wire.Finding{},
			Loops: []wire.WatchLoop{{Loop: loop, New: []wire.Task{t1, t2}}}},
		{Type: wire.WatchUpdate, Seq: 2, Time: topT0.Add(time.Second),
			Loops: []wire.WatchLoop{{Loop: func() wire.Loop { l := loop; l.Stats = wire.LoopStats{LagNS: 5e3}; return l }(), New: []wire.Task{t3}, Changed: []wire.Task{t1b}}}},
		{Type: wire.WatchUpdate, Seq: 3, Time: topT0.Add(2 * time.Second), Dropped: 1,
			Loops: []wire.WatchLoop{{Loop: loop, Changed: []wire.Task{t1c}, Ended: []wire.EndedTask{{ID: 2, State: "finished"}},
				BlockList: []wire.BlockEvent{{TaskID: 1, TaskName: "main", Started: topT0.Add(1500 * time.Millisecond), DurationNS: 2e8}}}}},
	}
}

// TestTopFoldReuse: a message that changes no task hands the view the
// same task slice (no copy, no sort: an idle process of 100,000 tasks cost
// a third of a core), and one that adds, changes or ends a task a new one.
func TestTopFoldReuse(t *testing.T) {
	msgs := topRecording()
	loop := msgs[0].Loops[0].Loop
	quiet := wire.WatchMessage{Type: wire.WatchUpdate, Seq: 2, Time: topT0.Add(time.Second), Loops: []wire.WatchLoop{{Loop: loop}}}
	var f topFold
	f.apply(&msgs[0])
	d1 := f.data()
	f.apply(&quiet)
	d2 := f.data()
	if len(d2.Tasks) != 2 || &d2.Tasks[0] != &d1.Tasks[0] {
		t.Errorf("a message that changed no task gave a new task slice")
	}
	for i, m := range msgs[1:] {
		before := f.data()
		f.apply(&m)
		after := f.data()
		if len(after.Tasks) > 0 && len(before.Tasks) > 0 && &after.Tasks[0] == &before.Tasks[0] {
			t.Errorf("message %d changed tasks but the view kept the old slice", i+2)
		}
	}
	if got := f.data(); len(got.Tasks) != 2 || got.Tasks[0].Steps != 6 || got.Tasks[1].ID != 3 {
		t.Errorf("tasks after the recording: %+v", got.Tasks)
	}
	// A message with only a new task.
	f.apply(&wire.WatchMessage{Type: wire.WatchUpdate, Seq: 4, Time: topT0.Add(3 * time.Second),
		Loops: []wire.WatchLoop{{Loop: loop, New: []wire.Task{{ID: 4, Name: "newest", State: "pending", LoopID: 1}}}}})
	if got := f.data(); len(got.Tasks) != 3 || got.Tasks[2].ID != 4 {
		t.Errorf("a new task is not in the view's tasks: %+v", got.Tasks)
	}
	// A message with only a changed task.
	f.apply(&wire.WatchMessage{Type: wire.WatchUpdate, Seq: 5, Time: topT0.Add(4 * time.Second),
		Loops: []wire.WatchLoop{{Loop: loop, Changed: []wire.Task{{ID: 4, Name: "newest", State: "cancelling", LoopID: 1}}}}})
	if got := f.data(); len(got.Tasks) != 3 || got.Tasks[2].State != "cancelling" {
		t.Errorf("a changed task is stale in the view's tasks: %+v", got.Tasks)
	}
	// A snapshot (a resync) with no tasks left.
	f.apply(&wire.WatchMessage{Type: wire.WatchSnapshot, Seq: 6, Time: topT0.Add(5 * time.Second), Process: msgs[0].Process,
		Loops: []wire.WatchLoop{{Loop: loop}}})
	if got := f.data(); len(got.Tasks) != 0 {
		t.Errorf("an empty snapshot left %d tasks in the view", len(got.Tasks))
	}
}

// TestTopRowsFollow: the table's rows (reused while the tasks, filter and
// order are the same) follow a new task list and a new filter.
func TestTopRowsFollow(t *testing.T) {
	th := newTopHarness(t, 100, 24)
	d := topFixture()
	th.send(topDataMsg{d})
	n := len(th.m.vis)
	fewer := d
	fewer.Tasks = slices.Clone(d.Tasks[1:])
	th.send(topDataMsg{fewer})
	if len(th.m.vis) != n-1 {
		t.Errorf("rows after a task left: %d, want %d", len(th.m.vis), n-1)
	}
	th.keys("/", "hand", "enter")
	for _, r := range th.m.vis {
		if !strings.Contains(r.Name, "hand") {
			t.Errorf("row %q shown under the filter hand", r.Name)
		}
	}
}

// TestTopNotTerminal: top refuses a standard output that is not a
// terminal, and says what to use instead.
func TestTopNotTerminal(t *testing.T) {
	var out, errb strings.Builder
	code := run(context.Background(), []string{"top", "1"}, &env{stdout: &out, stderr: &errb, now: time.Now, flush: func() {}})
	if code != 1 || !strings.Contains(errb.String(), "tasks PID --json") || !strings.Contains(errb.String(), "taskdump record") {
		t.Errorf("exit %d, stderr %q; want 1 and a message naming tasks --json and record", code, errb.String())
	}
	if !errors.Is(errNotTerminal, errNotTerminal) || out.Len() != 0 {
		t.Errorf("stdout %q, want nothing", out.String())
	}
}

// TestTopLoadReplay: a recording is read plain or gzipped, and up to a
// last line cut short; another format, a newer version or schema, bad JSON
// and an empty recording are refused with a reason.
func TestTopLoadReplay(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeRecording(t, good, topRecording())
	gz := filepath.Join(dir, "good.jsonl.gz")
	writeRecording(t, gz, topRecording())
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hdr := func(version, schema int) string {
		return fmt.Sprintf(`{"format":%q,"version":%d,"schema":%d}`+"\n", wire.RecordingFormat, version, schema)
	}
	goodText := string(must(os.ReadFile(good)))
	gzText := string(must(os.ReadFile(gz)))
	lines := strings.SplitAfter(goodText, "\n")
	for _, tt := range []struct {
		name, file string
		msgs       int
		err        string
		note       string
	}{
		{"plain", good, 3, "", ""},
		{"gzip", gz, 3, "", ""},
		{"cut", write("cut.jsonl", goodText[:len(goodText)-10]), 2, "", "last line is cut short"},
		// A damaged line after good ones: what came before plays.
		{"damaged", write("damaged.jsonl", lines[0]+lines[1]+lines[2]+"{\"type\": x}\n"+lines[3]), 2, "", "ends before a damaged line: recording line 4"},
		// Whole lines, no gzip trailer (the recorder was killed): all here.
		{"gzip-unfinished", write("unfinished.gz", gzText[:len(gzText)-8]), 3, "", "every message in it is here"},
		{"snapshot", write("snap.json", `{"taken":"2026-11-27T00:00:00Z","process":{}}`+"\n"), 0, "looks like a taskdump snapshot", ""},
		{"empty", write("empty.jsonl", hdr(1, 1)), 0, "holds no messages", ""},
		{"missing", filepath.Join(dir, "nope"), 0, filepath.Join(dir, "nope") + ": no such file", ""},
		{"not-a-recording", write("x.json", `{"id":1}`+"\n"), 0, "not a taskdump recording", ""},
		{"newer-version", write("v2.jsonl", hdr(wire.RecordingVersion+1, 1)), 0, "upgrade", ""},
		{"newer-schema", write("s2.jsonl", hdr(1, wire.Schema+1)), 0, "upgrade", ""},
		{"bad-line", write("bad.jsonl", hdr(1, 1)+"{\"type\":\n"), 0, "line 2", ""},
		{"gzip-cut", write("cut.gz", "\x1f\x8b\x08"), 0, "gzip", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs, note, err := loadReplay(tt.file)
			if tt.note == "" && note != "" || !strings.Contains(note, tt.note) {
				t.Errorf("note %q, want one saying %q", note, tt.note)
			}
			if tt.err == "" {
				if err != nil || len(msgs) != tt.msgs {
					t.Fatalf("loadReplay: %d messages, %v; want %d", len(msgs), err, tt.msgs)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "top: ") {
				t.Fatalf("loadReplay: %v; want an error starting top: and containing %q", err, tt.err)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestExited: a zombie has exited; a live process has not (processExited).
func TestExited(t *testing.T) {
	if processExited(os.Getpid()) {
		t.Errorf("processExited(self) = true")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !processExited(cmd.Process.Pid) { // a zombie until Wait
		if time.Now().After(deadline) {
			t.Fatalf("processExited(%d) stays false after the child ended", cmd.Process.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Wait()
	if !processExited(cmd.Process.Pid) {
		t.Errorf("processExited(%d) = false after Wait", cmd.Process.Pid)
	}
}

// TestFrameFit: a frame too long for its room loses the start of its path
// first, then the end of its function; the file and line always show.
func TestFrameFit(t *testing.T) {
	f := wire.Frame{Function: "main.sleepHour", File: "/tmp/a/long/checkout/cmd/taskdump/testdata/fixture/main.go", Line: 75}
	tests := []struct {
		room int
		want string
	}{
		{200, "main.sleepHour  /tmp/a/long/checkout/cmd/taskdump/testdata/fixture/main.go:75"},
		{40, "main.sleepHour  …data/fixture/main.go:75"},
		{30, "main.sleepHour  …re/main.go:75"},
		{20, "main.sl…  main.go:75"},
	}
	for _, tt := range tests {
		got := frameFit(f, tt.room)
		if got != tt.want {
			t.Errorf("frameFit(room %d) = %q, want %q", tt.room, got, tt.want)
		}
		if w := textWidth(got); w > tt.room {
			t.Errorf("frameFit(room %d) is %d columns wide", tt.room, w)
		}
	}
}

// TestTopManyResources: the resources view of 20,000 awaitables, each with
// a waiter, lists the first maxViewResources (naming each waiter through
// the task index) and says how many more there are.
func TestTopManyResources(t *testing.T) {
	const n = 20_000
	th := newTopHarness(t, 120, 40)
	d := topData{Loops: []topLoop{{Loop: wire.Loop{ID: 1, Name: "main"}}}}
	var res []wire.Resource
	for i := range n {
		id := uint64(i + 1)
		d.Tasks = append(d.Tasks, &wire.Task{ID: id, Name: fmt.Sprintf("job-%d", id), State: "pending", Loop: "main", LoopID: 1})
		res = append(res, wire.Resource{ID: 100_000 + id, Kind: wire.ResourceFuture, Loop: "main", LoopID: 1, Waiters: []uint64{id}})
	}
	th.send(topDataMsg{data: d})
	th.send(topResourcesMsg{res: res})
	th.m.mode, th.m.resLoaded = modeResources, true
	lines := th.m.resourceList()
	if got, want := lines[len(lines)-1], fmt.Sprintf("  … and %d more held or awaited (taskdump resources PID lists them all)", n-maxViewResources); got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if got, want := lines[2], "      waiters 1 job-1 (pending)"; got != want {
		t.Errorf("first waiters line %q, want %q", got, want)
	}
	if got := th.m.find(n); got == nil || got.Name != fmt.Sprintf("job-%d", n) {
		t.Errorf("find(%d) = %v, want job-%d", n, got, n)
	}
	if got := th.m.find(n + 1); got != nil {
		t.Errorf("find(%d) = %v, want nil", n+1, got)
	}
}

// TestTopLoops: with several loops the table names a task loop/name, and
// the filter matches either form.
func TestTopLoops(t *testing.T) {
	th := newTopHarness(t, 120, 30)
	d := topData{Loops: []topLoop{{Loop: wire.Loop{ID: 1, Name: "a"}}, {Loop: wire.Loop{ID: 2, Name: "b"}}}}
	for i, l := range []string{"a", "b"} {
		d.Tasks = append(d.Tasks, &wire.Task{ID: uint64(i + 1), Name: "worker", State: "pending", Loop: l, LoopID: uint64(i + 1)})
	}
	th.send(topDataMsg{data: d})
	if got := taskCells(d.Tasks[1], time.Time{}, true)[colName]; got != "b/worker" {
		t.Errorf("name cell %q, want b/worker", got)
	}
	for _, tc := range []struct {
		filter string
		want   []uint64
	}{{"", []uint64{1, 2}}, {"worker", []uint64{1, 2}}, {"b/", []uint64{2}}, {"a/w*", []uint64{1}}} {
		th.m.filter = tc.filter
		var got []uint64
		for _, tk := range th.m.visible() {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("filter %q: tasks %v, want %v", tc.filter, got, tc.want)
		}
	}
	// The findings name each task's loop too, and the header says loops.
	th.m.filter = ""
	d.Findings = []wire.Finding{{Kind: "deadlock", Severity: "error", Summary: "x", Count: 2,
		Tasks: []wire.FindingTask{{ID: 1, Name: "worker", State: "pending", Loop: "a"}, {ID: 2, Name: "worker", State: "pending", Loop: "b"}}}}
	th.send(topDataMsg{data: d})
	th.keys("w")
	if v := th.m.View().Content; !strings.Contains(v, "task 1 a/worker (pending)") || !strings.Contains(v, "task 2 b/worker (pending)") || !strings.Contains(v, "nothing blocks the loops") {
		t.Errorf("findings of two loops:\n%s", v)
	}
	// The cancel question names the loop too.
	th.keys("esc", "down", "c")
	if v := th.m.View().Content; !strings.Contains(v, "Cancel task 2 b/worker? (y/n)") {
		t.Errorf("cancel question with two loops:\n%s", v)
	}
}

// TestTopHistRunningStep: a record sent while a step runs (its busy time
// counts the step so far) adds nothing to the step histogram; the step is
// counted, whole, once a record says it ended.
func TestTopHistRunningStep(t *testing.T) {
	rec := func(steps uint64, busy time.Duration, running bool) wire.Task {
		return wire.Task{ID: 1, Name: "w", State: "pending", Steps: steps, BusyNS: int64(busy), Running: running}
	}
	msgs := []*wire.WatchMessage{
		{Type: wire.WatchSnapshot, Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1}, New: []wire.Task{rec(1, 10*time.Microsecond, false)}}}},
		{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1}, Changed: []wire.Task{rec(2, 50*time.Millisecond, true)}}}},
		{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1}, Changed: []wire.Task{rec(2, 200*time.Millisecond, false)}}}},
	}
	var f topFold
	for _, m := range msgs {
		f.apply(m)
	}
	if got, want := f.data().StepHist[1], (stepHist{0, 0, 0, 0, 0, 1}); got != want {
		t.Errorf("histogram %v, want %v: one step of about 200ms", got, want)
	}
}

// TestTopHistPrunedBySnapshot: a snapshot the agent sends to start over
// lists every live task; the histograms of the others go.
func TestTopHistPrunedBySnapshot(t *testing.T) {
	rec := func(id, steps uint64) wire.Task {
		return wire.Task{ID: id, Name: "w", State: "pending", Steps: steps, BusyNS: int64(steps) * 1000}
	}
	var f topFold
	for round := range uint64(50) {
		id := 1000 + round
		f.apply(&wire.WatchMessage{Type: wire.WatchSnapshot, Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1}, New: []wire.Task{rec(id, 1)}}}})
		f.apply(&wire.WatchMessage{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{{Loop: wire.Loop{ID: 1}, Changed: []wire.Task{rec(id, 2)}}}})
	}
	if len(f.hist) != 1 || len(f.base) != 1 {
		t.Errorf("after 50 snapshots of one task each: %d histograms, %d bases; want 1 and 1", len(f.hist), len(f.base))
	}
}

// TestTopRefused: an agent that refuses the stream before sending
// anything (its streams are all taken) makes top quit with its error, not
// show an empty view as if the process had ended; once data came, the
// last state stays.
func TestTopRefused(t *testing.T) {
	busy := errors.New("busy: 8 streams are open already")
	m := newTopModel(topPalette{plain: true}, topActions{})
	next, cmd := m.Update(topGoneMsg{reason: "the agent went away: " + busy.Error(), refused: busy})
	if fm := next.(topModel); !errors.Is(fm.fatal, busy) || cmd == nil {
		t.Fatalf("refused before any data: fatal %v, cmd %v; want the error and a quit", fm.fatal, cmd)
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Errorf("the command is not a quit")
	}
	th := newTopHarness(t, 80, 24)
	th.send(topDataMsg{topFixture()})
	th.send(topGoneMsg{reason: "process 4242 exited", refused: busy})
	if th.m.fatal != nil || th.m.gone == "" {
		t.Errorf("after data: fatal %v, gone %q; want the last state kept", th.m.fatal, th.m.gone)
	}
}

// TestTopStoppedProcess: while no state comes, top asks whether the
// process is stopped (SIGSTOP) and says so, attaching or attached.
func TestTopStoppedProcess(t *testing.T) {
	th := newTopHarness(t, 120, 24)
	stopped := true
	th.m.act.stopped = func() bool { return stopped }
	th.m.act.clock = func() tea.Cmd { return func() tea.Msg { return nil } }
	th.clock(2)
	if v := th.m.View().Content; !strings.Contains(v, "the process is stopped (kill -CONT resumes it): connecting 2s") {
		t.Errorf("attaching to a stopped process:\n%s", v)
	}
	stopped = false
	th.clock(1)
	if v := th.m.View().Content; !strings.Contains(v, "connecting 3s") || strings.Contains(v, "stopped") {
		t.Errorf("attaching, the process resumed:\n%s", v)
	}
	th.send(topDataMsg{topFixture()})
	stopped = true
	th.clock(3)
	if v := th.m.View().Content; !strings.Contains(v, "STOPPED: NO UPDATE FOR 3s (last 03:04:05)") {
		t.Errorf("attached, the process stopped:\n%s", v)
	}
}

// TestTopResourcesCount: a long list of waiters says how many first, where
// the view's edge cannot cut it off.
func TestTopResourcesCount(t *testing.T) {
	th := newTopHarness(t, 60, 24)
	th.send(topDataMsg{topFixture()})
	var ids []uint64
	for i := range 90_000 {
		ids = append(ids, uint64(1000+i))
	}
	th.m.act.resources = func() tea.Msg {
		return topResourcesMsg{res: []wire.Resource{{ID: 7, Kind: "event", LoopID: 1, Waiters: ids}}}
	}
	th.keys("r")
	if v := th.m.View().Content; !strings.Contains(v, "waiters (90000) ") {
		t.Errorf("the resources view does not count the waiters:\n%s", v)
	}
}

// TestTopClosedLoopKept: the tasks of a loop the stream closes stay in the
// view, in the states they ended in and with nothing awaited, named
// loop/name while another loop runs, until the next message that changes
// anything; cancel refuses them.
func TestTopClosedLoopKept(t *testing.T) {
	a, b := wire.Loop{ID: 1, Name: "a"}, wire.Loop{ID: 2, Name: "b"}
	pending := func(id uint64, l wire.Loop) wire.Task {
		return wire.Task{ID: id, Name: fmt.Sprintf("t%d", id), State: "pending", Loop: l.Name, LoopID: l.ID,
			Awaiting: "sleep(1s)", SuspendedAt: wire.Frame{File: "main.go", Line: 9}}
	}
	var f topFold
	f.apply(&wire.WatchMessage{Type: wire.WatchSnapshot, Loops: []wire.WatchLoop{
		{Loop: a, New: []wire.Task{pending(1, a), pending(2, a)}}, {Loop: b, New: []wire.Task{pending(3, b)}}}})
	// Loop a closes: task 1 cancelled, task 4 began and ended unseen, task
	// 2's end not told.
	f.apply(&wire.WatchMessage{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{{Loop: b},
		{Loop: a, Closed: true, Ended: []wire.EndedTask{{ID: 1, Name: "t1", State: "cancelled"}, {ID: 4, Name: "t4", State: "finished"}}}}})
	d := f.data()
	got := map[uint64]string{}
	for _, tk := range d.Tasks {
		got[tk.ID] = tk.State + " " + tk.Awaiting
	}
	want := map[uint64]string{1: "cancelled ", 2: "pending sleep(1s)", 3: "pending sleep(1s)", 4: "finished "}
	if !maps.Equal(got, want) || d.ClosedLoops != 1 || !d.severalLoops() {
		t.Errorf("tasks %v, %d closed loops; want %v and 1", got, d.ClosedLoops, want)
	}
	th := newTopHarness(t, 120, 30)
	th.send(topDataMsg{data: d})
	th.keys("c")
	if v := th.m.View().Content; !strings.Contains(v, "a/t1") || !strings.Contains(v, "cancel: task 1 has ended (cancelled)") {
		t.Errorf("view after c on the closed loop's task:\n%s", v)
	}
	th.keys("down", "c") // task 2: its end not told, its loop closed
	if v := th.m.View().Content; !strings.Contains(v, "cancel: task 2's loop has closed") || len(th.cancels) != 0 {
		t.Errorf("view after c on a closed loop's task not told ended:\n%s", v)
	}
	// An update without a change keeps them; one with a change ends them.
	f.apply(&wire.WatchMessage{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{{Loop: b}}})
	if n := len(f.data().Tasks); n != 4 {
		t.Errorf("%d tasks after a quiet update, want the 4 still", n)
	}
	f.apply(&wire.WatchMessage{Type: wire.WatchUpdate, Loops: []wire.WatchLoop{{Loop: b, Changed: []wire.Task{pending(3, b)}}}})
	if d := f.data(); len(d.Tasks) != 1 || d.ClosedLoops != 0 || d.severalLoops() {
		t.Errorf("after a change: %d tasks, %d closed loops; want task 3 alone", len(d.Tasks), d.ClosedLoops)
	}
}

// TestTopReplayEndsWithProcess: a recording whose last message closes the
// process's loops (its agent's last message) says so at its end.
func TestTopReplayEndsWithProcess(t *testing.T) {
	a := wire.Loop{ID: 1, Name: "main"}
	msgs := []wire.WatchMessage{
		{Type: wire.WatchSnapshot, Seq: 1, Loops: []wire.WatchLoop{{Loop: a, New: []wire.Task{{ID: 1, Name: "serve", State: "pending", LoopID: 1}}}}},
		{Type: wire.WatchUpdate, Seq: 2, Loops: []wire.WatchLoop{{Loop: a, Closed: true, Ended: []wire.EndedTask{{ID: 1, Name: "serve", State: "cancelled"}}}}},
	}
	th := newTopHarness(t, 100, 24)
	th.m.replay = newTopReplay(msgs)
	th.m.seek(1)
	if v := th.m.View().Content; !strings.Contains(v, "end: its loops closed") || !row("serve").MatchString(v) {
		t.Errorf("the replay's end:\n%s", v)
	}
	// A loop that closes with no task left to end says so too.
	msgs[1].Loops[0].Ended = nil
	msgs[0].Loops[0].New = nil
	th.m.replay = newTopReplay(msgs)
	th.m.seek(1)
	if v := th.m.View().Content; !strings.Contains(v, "end: its loops closed") {
		t.Errorf("the replay's end, no task:\n%s", v)
	}
}

// TestWrapWords: the findings view wraps at spaces only, so that a command
// in a fix is never cut at a hyphen ("--kind"); a word wider than the view
// is cut where it must.
func TestWrapWords(t *testing.T) {
	for _, tt := range []struct {
		s    string
		w    int
		want []string
	}{
		{"taskdump profile PID --kind cpu", 22, []string{"taskdump profile PID", "--kind cpu"}},
		{"a  b", 10, []string{"a  b"}},
		{"abcdefghij x", 4, []string{"abcd", "efgh", "ij x"}},
		{"", 5, []string{""}},
	} {
		if got := wrapWords(tt.s, tt.w); !slices.Equal(got, tt.want) {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
	}
}

// TestTopPalette: the view asks the terminal for its background colour
// (unless its styles are plain) and the answer picks the shades (dark
// until it comes); on a 16-colour terminal warnings are yellow, errors
// red, and the light and dark shades its own.
func TestTopPalette(t *testing.T) {
	render := func(m tea.Model) string {
		st := m.(topModel).st
		return st.bad.Render("x") + st.warn.Render("x") + st.good.Render("x")
	}
	send := func(m tea.Model, msgs ...tea.Msg) tea.Model {
		for _, msg := range msgs {
			m, _ = m.Update(msg)
		}
		return m
	}
	light := tea.BackgroundColorMsg{Color: color.White}
	dark := tea.BackgroundColorMsg{Color: color.Black}
	ansi16 := tea.ColorProfileMsg{Profile: colorprofile.ANSI}
	start := newTopModel(topPalette{}, topActions{})
	for _, tt := range []struct {
		name string
		msgs []tea.Msg
		want string
	}{
		{"dark until answered", nil, "\x1b[1;38;5;203mx\x1b[m\x1b[38;5;214mx\x1b[m\x1b[38;5;114mx\x1b[m"},
		{"light", []tea.Msg{light}, "\x1b[1;38;5;124mx\x1b[m\x1b[38;5;130mx\x1b[m\x1b[38;5;22mx\x1b[m"},
		{"dark again", []tea.Msg{light, dark}, "\x1b[1;38;5;203mx\x1b[m\x1b[38;5;214mx\x1b[m\x1b[38;5;114mx\x1b[m"},
		{"16 colours, dark", []tea.Msg{ansi16}, "\x1b[1;91mx\x1b[m\x1b[93mx\x1b[m\x1b[92mx\x1b[m"},
		{"16 colours, light", []tea.Msg{ansi16, light}, "\x1b[1;31mx\x1b[m\x1b[33mx\x1b[m\x1b[32mx\x1b[m"},
	} {
		if got := render(send(start, tt.msgs...)); got != tt.want {
			t.Errorf("%s: bad, warn, good render %q, want %q", tt.name, got, tt.want)
		}
	}

	plain := newTopModel(topPalette{plain: true}, topActions{})
	if plain.askBackground() != nil {
		t.Error("plain styles ask the terminal for its background")
	}
	if got := render(send(plain, light, ansi16)); got != "xxx" {
		t.Errorf("plain styles render %q after the terminal's answers, want %q", got, "xxx")
	}
	if msg := start.askBackground()(); reflect.TypeOf(msg) != reflect.TypeOf(tea.RequestBackgroundColor()) {
		t.Errorf("askBackground sends %T, want tea.RequestBackgroundColor's message", msg)
	}
}

// TestTopQuitWaitsForAnswers: a quit right after the view started waits
// for the terminal's answers to its questions (they would be typed into
// the shell after it), at most answerWait; keys meanwhile do nothing.
func TestTopQuitWaitsForAnswers(t *testing.T) {
	unicode := tea.ModeReportMsg{Mode: ansi.ModeUnicodeCore, Value: ansi.ModeReset}
	for _, tt := range []struct {
		name    string
		pal     topPalette
		asked   time.Duration // how long ago the questions were asked; 0: none
		answers []tea.Msg
		quit    bool
	}{
		{"nothing asked", topPalette{}, 0, nil, true},
		{"no answer yet", topPalette{}, time.Millisecond, nil, false},
		{"background answered", topPalette{}, time.Millisecond, []tea.Msg{tea.BackgroundColorMsg{Color: color.Black}}, true},
		{"modes answered, background not", topPalette{}, time.Millisecond, []tea.Msg{unicode}, false},
		{"plain: modes answered", topPalette{plain: true}, time.Millisecond, []tea.Msg{unicode}, true},
		{"no answer in time", topPalette{}, answerWait, nil, true},
		{"late wait ends", topPalette{}, time.Millisecond, []tea.Msg{topQuitMsg{}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := newTopHarness(t, 80, 24)
			th.m.pal = tt.pal
			if tt.asked > 0 {
				th.m.askedAt = time.Now().Add(-tt.asked)
			}
			th.send(topDataMsg{topFixture()})
			next, cmd := th.m.Update(keyMsg("q"))
			th.m = next.(topModel)
			if th.m.quitting {
				cmd = nil // the wait's timer, not run here: its topQuitMsg is an answer below
			}
			th.run(cmd)
			th.keys("j") // ignored while quitting
			for _, a := range tt.answers {
				th.send(a)
			}
			if th.quit != tt.quit {
				t.Errorf("quit = %v, want %v", th.quit, tt.quit)
			}
			if !tt.quit && th.m.selID != 1 {
				t.Errorf("a key while quitting moved the selection to %d", th.m.selID)
			}
		})
	}
}

// TestTopKittyKeys: what a terminal speaking the kitty keyboard protocol
// sends (Bubble Tea 2 asks for it): keypad Enter, and keys with a lock
// modifier on, type into the filter as the keys they are.
func TestTopKittyKeys(t *testing.T) {
	th := newTopHarness(t, 80, 24)
	th.send(topDataMsg{topFixture()})
	th.keys("/")
	for _, r := range "han" {
		th.send(tea.KeyPressMsg{Code: r, Text: string(r), Mod: tea.ModNumLock})
	}
	th.send(tea.KeyPressMsg{Code: 'd', Text: "d", Mod: tea.ModCapsLock | tea.ModNumLock})
	th.send(tea.KeyPressMsg{Code: tea.KeyKpEnter, Mod: tea.ModNumLock})
	if th.m.editing || th.m.filter != "hand" {
		t.Errorf("after / han d and keypad Enter: editing %v, filter %q; want the filter %q applied", th.m.editing, th.m.filter, "hand")
	}
}

// TestTopViewEnd: G shows a view's last screenful, and the key after
// moves from there.
func TestTopViewEnd(t *testing.T) {
	th := newTopHarness(t, 80, 12)
	d := topFixture()
	th.send(topDataMsg{d})
	th.keys("w")
	for range 20 {
		th.m.data.Findings = append(th.m.data.Findings, th.m.data.Findings...)
		if len(th.m.data.Findings) > 40 {
			break
		}
	}
	last := th.m.lastScroll()
	if last == 0 {
		t.Fatal("the findings view fits the screen: nothing to scroll")
	}
	for _, tt := range []struct {
		keys []string
		want int
	}{
		{[]string{"G"}, last},
		{[]string{"G", "k"}, last - 1},
		{[]string{"g"}, 0},
		{[]string{"G", "j", "j", "k"}, last - 1},
	} {
		th.keys("g")
		th.keys(tt.keys...)
		if th.m.scroll != tt.want {
			t.Errorf("%v: scroll %d, want %d", tt.keys, th.m.scroll, tt.want)
		}
	}
}

// TestTextWidth: text is measured and cut to fit both a terminal that
// draws grapheme clusters whole and one (or a renderer) that measures
// each character.
func TestTextWidth(t *testing.T) {
	for _, tt := range []struct {
		s     string
		width int
		cut4  string
	}{
		{"abcdef", 6, "abc…"},
		{"a👩‍💻b", 6, "a…"},    // a ZWJ sequence: 2 columns as one grapheme, 4 by character
		{"a❤️bcd", 6, "a❤️…"}, // VS16: 2 columns as a grapheme, 1 by character
		{"日本語の", 8, "日…"},
		{"héllo", 5, "hél…"},
	} {
		if got := textWidth(tt.s); got != tt.width {
			t.Errorf("textWidth(%q) = %d, want %d", tt.s, got, tt.width)
		}
		if got := fitWidth(tt.s, 4, "…"); got != tt.cut4 {
			t.Errorf("fitWidth(%q, 4) = %q, want %q", tt.s, got, tt.cut4)
		}
	}
	if got := wrapWords("👩‍💻👩‍💻👩‍💻", 5); !slices.Equal(got, []string{"👩‍💻", "👩‍💻", "👩‍💻"}) {
		t.Errorf("wrapWords of three ZWJ emoji at 5 columns = %q, want one a line", got)
	}
}

func TestNoColor(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"", false}, {"1", true}, {"0", true}, {"yes", true}} {
		getenv := func(k string) string {
			if k == "NO_COLOR" {
				return tt.v
			}
			return ""
		}
		if got := noColor(getenv); got != tt.want {
			t.Errorf("noColor with NO_COLOR=%q = %v, want %v", tt.v, got, tt.want)
		}
	}
}
