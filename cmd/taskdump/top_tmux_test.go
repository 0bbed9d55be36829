package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/wire"
)

// End-to-end tests of taskdump top in a real terminal: tmux runs the real
// binary against a real process; send-keys types, capture-pane reads the
// screen. scripts/tools.sh installs tmux; without it these tests skip.

// tmuxTerm is one tmux server, private to a test, with one window.
type tmuxTerm struct {
	t    *testing.T
	sock string
}

// newTmux starts a private tmux server running command (a shell command
// line) in a w×h window, and kills it when the test ends.
func newTmux(t *testing.T, w, h int, env []string, command string) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (scripts/tools.sh installs it): the terminal tests of taskdump top need it")
	}
	tm := &tmuxTerm{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	// The command ends by printing its status and then waits, so that the
	// screen can still be read after it quits.
	// The terminal is a user's, not the test's: variables a CI machine sets
	// or a developer's colour settings are cleared; env adds what a test
	// wants.
	unset := "-u CI -u NO_COLOR -u CLICOLOR -u CLICOLOR_FORCE -u COLORTERM"
	line := fmt.Sprintf("env %s %s %s; echo EXIT=$?; sleep 600", unset, strings.Join(env, " "), command)
	tm.run("new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), "-s", "top", line)
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmuxTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys types keys, one send-keys each (tmux key names: Enter, Escape, Up,
// Left, Space, or literal text).
func (tm *tmuxTerm) keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		tm.run("send-keys", "-t", "top", k)
	}
}

// screen returns what the window shows, without attributes.
func (tm *tmuxTerm) screen() string { return tm.run("capture-pane", "-p", "-t", "top") }

// wait returns the screen once it matches re, and fails the test after
// 30 seconds.
func (tm *tmuxTerm) wait(what string, re *regexp.Regexp) string {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.screen()
		if re.MatchString(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %s (%s):\n%s", what, re, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (tm *tmuxTerm) waitFor(s string) string {
	tm.t.Helper()
	return tm.wait(strconv.Quote(s), regexp.MustCompile(regexp.QuoteMeta(s)))
}

// waitGone waits until s is no longer on the screen.
func (tm *tmuxTerm) waitGone(s string) string {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := tm.screen()
		if !strings.Contains(scr, s) {
			return scr
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q is still on the screen:\n%s", s, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// taskID returns the id of the live task named name in the process.
func taskID(t *testing.T, p *proc, name string) uint64 {
	t.Helper()
	var ts []wire.Task
	if err := json.Unmarshal([]byte(ok(t, p.dir, "tasks", strconv.Itoa(p.pid), "--json")), &ts); err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.Name == name {
			return x.ID
		}
	}
	t.Fatalf("no task %q in pid %d", name, p.pid)
	return 0
}

// row matches the table row of the task named name.
func row(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[> ] +\d+ ` + regexp.QuoteMeta(name) + ` `)
}

var liveClock = regexp.MustCompile(`live (\d\d:\d\d:\d\d)`)

// TestTopTmux drives taskdump top at 80×24 against the fixture: the table
// and its updates, the filter, sorting, the detail view, the other views,
// cancel with its confirmation, a resize, and q.
func TestTopTmux(t *testing.T) {
	p := startProc(t, bins.fixture, "-name", "worker-a", "-name", "worker-b", "-name", "idler")
	tm := newTmux(t, 80, 24, []string{"TASKDUMP_DIR=" + p.dir}, bins.taskdump+" top "+strconv.Itoa(p.pid))

	// The list: the header, every column, the tasks.
	s := tm.wait("the task list", row("worker-b"))
	for _, want := range []string{"pid " + strconv.Itoa(p.pid), "loop fixture lag", "ID▲ NAME", "STATE", "BUSY", "SCHED", "IDLE", "STEPS", "WAITING", "AWAITING", "LOCATION", "q quit"} {
		if !strings.Contains(s, want) {
			t.Errorf("the screen lacks %q:\n%s", want, s)
		}
	}
	if n := len(strings.Split(strings.TrimRight(s, "\n"), "\n")); n > 24 {
		t.Errorf("the screen has %d lines at 80x24", n)
	}

	// Updates: the clock moves every second, and a task cancelled by
	// another taskdump leaves the table.
	first := liveClock.FindStringSubmatch(s)
	if first == nil {
		t.Fatalf("no live clock on the screen:\n%s", s)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := liveClock.FindStringSubmatch(tm.screen())
		if c != nil && c[1] != first[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clock stayed at %s for 30s", first[1])
		}
		time.Sleep(200 * time.Millisecond)
	}
	ok(t, p.dir, "cancel", strconv.Itoa(p.pid), strconv.FormatUint(taskID(t, p, "idler"), 10))
	tm.waitGone("idler ")

	// The filter: typed after /, applied by Enter, cleared by Esc.
	tm.keys("/", "worker")
	tm.waitFor("filter by name: worker")
	tm.keys("Enter")
	s = tm.waitFor(`filter "worker": 2 of`)
	if row("main").MatchString(s) || !row("worker-a").MatchString(s) {
		t.Errorf("the filtered table shows other tasks or lacks worker-a:\n%s", s)
	}

	// Sorting: > moves to NAME, i inverts: worker-b comes first.
	tm.keys(">", "i")
	s = tm.waitFor("NAME▼")
	if a, b := strings.Index(s, "worker-a"), strings.Index(s, "worker-b"); a < 0 || b < 0 || b > a {
		t.Errorf("sorted by name, descending, worker-b is not above worker-a:\n%s", s)
	}

	// The detail of the selected task (worker-b, the first row, after g):
	// its stack with file:line, spawn site, parent; Esc goes back.
	tm.keys("g", "Enter")
	s = tm.waitFor("STACK")
	for _, re := range []string{`TASK \d+ worker-b`, `spawned +main\.\S+ +\S+/fixture/main\.go:\d+`, `parent +\d+ `, `main\.go:\d+`, `step time`} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("the detail view lacks %s:\n%s", re, s)
		}
	}
	tm.keys("Escape")
	tm.waitGone("STACK")
	tm.keys("Escape") // clears the filter
	tm.wait("the whole table again", row("main"))

	// What a task waits on and who holds it.
	tm.keys("/", "lock-waiter", "Enter")
	tm.waitFor(`filter "lock-waiter": 1 of`)
	tm.keys("Enter")
	tm.wait("the lock's holder", regexp.MustCompile(`waits on +lock #\d+ \(locked\) made at main\.go:\d+(?s:.*)held by +\d+ lock-holder`))
	tm.keys("Escape", "Escape")
	tm.wait("the whole table again", row("main"))

	// The other views.
	for _, v := range [][2]string{{"r", "held by"}, {"b", "BLOCKING EVENTS"}, {"w", "DOCTOR"}} {
		tm.keys(v[0])
		tm.waitFor(v[1])
	}
	tm.keys("Escape")
	tm.wait("the table", row("worker-a"))

	// Cancel: c asks, n declines, c y cancels the selected task.
	tm.keys("/", "worker-a", "Enter")
	tm.waitFor(`filter "worker-a": 1 of`)
	tm.keys("c")
	tm.wait("the question", regexp.MustCompile(`Cancel task \d+ worker-a\? \(y/n\)`))
	tm.keys("n")
	tm.waitFor("cancel: not confirmed")
	if !row("worker-a").MatchString(tm.screen()) {
		t.Fatalf("worker-a left after the cancel was declined")
	}
	tm.keys("c")
	tm.waitFor("(y/n)")
	tm.keys("y")
	tm.wait("the cancel's answer", regexp.MustCompile(`cancel requested: task \d+ worker-a`))
	tm.waitFor(`filter "worker-a": 0 of`)
	var ts []wire.Task
	json.Unmarshal([]byte(ok(t, p.dir, "tasks", strconv.Itoa(p.pid), "--json", "--name", "worker-a")), &ts)
	if len(ts) != 0 {
		t.Errorf("worker-a is still live after the cancel: %+v", ts)
	}
	tm.keys("Escape")

	// A resize: the view fills the new size.
	tm.run("resize-window", "-t", "top", "-x", "120", "-y", "40")
	s = tm.wait("the footer on the 40th line", regexp.MustCompile(`(?s)^(?:[^\n]*\n){39}[^\n]*q quit`))
	if !strings.Contains(s, "worker-b") {
		t.Errorf("after the resize the table lacks worker-b:\n%s", s)
	}

	// q quits with status 0, from the detail view.
	tm.keys("Enter")
	tm.waitFor("STACK")
	tm.keys("q")
	tm.waitFor("EXIT=0")
}

// TestTopTmuxTargetExits: when the process exits, the view says so and
// keeps the last state on screen, its tasks in the states they ended in
// (the agent's last message, as the process closes it); q still quits
// with status 0.
func TestTopTmuxTargetExits(t *testing.T) {
	p := startProc(t, bins.fixture, "-name", "last-words")
	tm := newTmux(t, 100, 24, []string{"TASKDUMP_DIR=" + p.dir}, bins.taskdump+" top "+strconv.Itoa(p.pid))
	tm.wait("the task list", row("last-words"))
	p.stop(t)
	s := tm.wait("that the process exited", regexp.MustCompile(`process \d+ exited; showing the last state`))
	if !regexp.MustCompile(`(?m)^[> ] +\d+ last-words +cancelled `).MatchString(s) || !strings.Contains(s, "ENDED") {
		t.Errorf("the last state is not kept on screen, last-words cancelled:\n%s", s)
	}
	tm.keys("q")
	tm.waitFor("EXIT=0")
}

// TestTopTmuxStopped: a process that stops answering (SIGSTOP) is marked
// as such in the header after three intervals; once it runs again, the
// view is live again.
func TestTopTmuxStopped(t *testing.T) {
	p := startProc(t, bins.fixture, "-name", "frozen")
	tm := newTmux(t, 100, 24, []string{"TASKDUMP_DIR=" + p.dir}, bins.taskdump+" top "+strconv.Itoa(p.pid))
	tm.wait("the task list", row("frozen"))
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGCONT) }) // before its stop, if the test fails here
	tm.wait("the quiet mark", regexp.MustCompile(`NO UPDATE FOR \d+s \(last \d\d:\d\d:\d\d\)`))
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	tm.wait("the view live again", regexp.MustCompile(`live \d\d:\d\d:\d\d`))
	tm.keys("q")
	tm.waitFor("EXIT=0")
}

// TestTopTmuxColor: styles (bold headers and keys, coloured states) on a
// colour terminal; plain text under NO_COLOR.
func TestTopTmuxColor(t *testing.T) {
	p := startProc(t, bins.fixture)
	for _, tt := range []struct {
		env    []string
		styled bool
	}{
		{[]string{"TERM=xterm-256color"}, true},
		{[]string{"TERM=xterm-256color", "NO_COLOR=1"}, false},
	} {
		env := append([]string{"TASKDUMP_DIR=" + p.dir}, tt.env...)
		tm := newTmux(t, 80, 24, env, bins.taskdump+" top "+strconv.Itoa(p.pid))
		tm.wait("the task list", row("lock-holder"))
		s := tm.run("capture-pane", "-e", "-p", "-t", "top")
		if got := strings.Contains(s, "\x1b["); got != tt.styled {
			t.Errorf("%v: styles on screen = %v, want %v:\n%q", tt.env, got, tt.styled, s)
		}
		tm.keys("q")
		tm.waitFor("EXIT=0")
	}
}

// TestTopTmuxRefusesPipe: with standard output not a terminal, top
// refuses and points to tasks --json and record.
func TestTopTmuxRefusesPipe(t *testing.T) {
	p := startProc(t, bins.fixture)
	r := td(t, p.dir, "top", strconv.Itoa(p.pid))
	if r.code != 1 || !strings.Contains(r.stderr, "tasks PID --json") || !strings.Contains(r.stderr, "record") || r.stdout != "" {
		t.Errorf("taskdump top | cat: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// writeRecording writes msgs as taskdump record does (client.Recorder),
// gzip-compressed when name ends in .gz.
func writeRecording(t *testing.T, name string, msgs []wire.WatchMessage) {
	t.Helper()
	var b bytes.Buffer
	var w io.Writer = &b
	var zw *gzip.Writer
	if strings.HasSuffix(name, ".gz") {
		zw = gzip.NewWriter(&b)
		w = zw
	}
	rec := client.NewRecorder(w)
	for i := range msgs {
		if err := rec.Write(&msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if zw != nil {
		zw.Close()
	}
	if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTopTmuxReplay plays a recording: it starts at the first message and
// plays on; space pauses; left and right step; + and - change the speed;
// the position is shown; Enter, the views and q work as live.
func TestTopTmuxReplay(t *testing.T) {
	name := filepath.Join(t.TempDir(), "rec.jsonl.gz")
	msgs := topRecording()
	// Slow enough that the test reads each step: 30 s between messages.
	for i := range msgs {
		msgs[i].Time = topT0.Add(time.Duration(i) * 30 * time.Second)
	}
	writeRecording(t, name, msgs)
	tm := newTmux(t, 80, 24, nil, bins.taskdump+" top --replay "+name)
	s := tm.waitFor("replay 1/3 03:04:05 x1 playing")
	if !row("worker").MatchString(s) || row("late").MatchString(s) {
		t.Errorf("the first message shows worker and not late:\n%s", s)
	}
	tm.keys("Space")
	tm.waitFor("replay 1/3 03:04:05 x1 paused")
	tm.keys("Right")
	s = tm.waitFor("replay 2/3 03:04:35 x1 paused")
	if !row("late").MatchString(s) {
		t.Errorf("the second message adds late:\n%s", s)
	}
	tm.keys("Right", "Right")
	s = tm.waitFor("replay 3/3 03:05:05 x1 paused")
	if row("worker").MatchString(s) || !strings.Contains(s, "dropped 1") {
		t.Errorf("the third message ends worker and drops 1:\n%s", s)
	}
	tm.keys("Left")
	tm.waitFor("replay 2/3 03:04:35 x1 paused")
	tm.keys("+", "+")
	tm.waitFor("x4 paused")
	tm.keys("-")
	tm.waitFor("x2 paused")
	tm.keys("b")
	tm.waitFor("BLOCKING EVENTS")
	tm.keys("Escape", "Enter")
	tm.waitFor("TASK 1 main")
	tm.keys("Escape", "Space")
	tm.waitFor("replay 3/3 03:05:05 x2 end")
	tm.keys("q")
	tm.waitFor("EXIT=0")
}

// TestTopTmuxRecordReplay: what taskdump record writes, top --replay
// plays: the recorded tasks, the position, stepping.
func TestTopTmuxRecordReplay(t *testing.T) {
	p := startProc(t, bins.fixture, "-name", "rec-task")
	name := filepath.Join(t.TempDir(), "fixture.jsonl.gz")
	r := td(t, p.dir, "record", strconv.Itoa(p.pid), "-o", name, "--duration", "2500ms", "--interval", "500ms")
	if r.code != 0 {
		t.Fatalf("taskdump record: exit %d, stderr %q", r.code, r.stderr)
	}
	tm := newTmux(t, 80, 24, nil, bins.taskdump+" top --replay "+name)
	s := tm.wait("the first message", regexp.MustCompile(`replay 1/\d+ `))
	if !row("rec-task").MatchString(s) || !strings.Contains(s, "pid "+strconv.Itoa(p.pid)) {
		t.Errorf("the replay lacks the recorded task or the pid:\n%s", s)
	}
	tm.keys("Space")
	s = tm.wait("the player paused", regexp.MustCompile(`replay \d+/\d+ \S+ x1 paused`))
	pos := regexp.MustCompile(`replay (\d+)/(\d+)`).FindStringSubmatch(s)
	at, _ := strconv.Atoi(pos[1])
	if at > 1 {
		tm.keys("Left")
		tm.waitFor(fmt.Sprintf("replay %d/%s ", at-1, pos[2]))
	} else {
		tm.keys("Right")
		tm.waitFor(fmt.Sprintf("replay 2/%s ", pos[2]))
	}
	tm.keys("q")
	tm.waitFor("EXIT=0")
}

// TestRecordTmuxProgress: on a terminal, record shows its progress on
// standard error while it runs, and clears that line before its summary.
func TestRecordTmuxProgress(t *testing.T) {
	p := startProc(t, bins.fixture)
	out := filepath.Join(t.TempDir(), "progress.jsonl")
	tm := newTmux(t, 200, 10, []string{"TASKDUMP_DIR=" + p.dir}, bins.taskdump+" record "+strconv.Itoa(p.pid)+" -o "+out+" --duration 3s --interval 200ms")
	tm.wait("the progress line", regexp.MustCompile(`recording pid \d+ to \S+progress\.jsonl: \d+ messages?, \d+ tasks, \d+s \(until 3s or Ctrl-C\)`))
	s := tm.wait("the summary", regexp.MustCompile(`(?m)^recorded \d+ messages, \d+ tasks, over 3(\.\d+)?s: wrote `))
	tm.waitFor("EXIT=0")
	if strings.Contains(s, "recording pid") {
		t.Errorf("the progress line is left on screen:\n%s", s)
	}
}

// TestNoTerminalQuestions: a command other than top asks the terminal
// nothing, so it never waits for an answer: Bubble Tea 1 asked for the
// background colour as any command started, and a terminal that never
// answers (the Linux console, script) made each wait 5 s. script(1)
// records what the command writes to its terminal.
func TestNoTerminalQuestions(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script (util-linux) is not installed")
	}
	out := filepath.Join(t.TempDir(), "typescript")
	cmd := exec.Command("script", "-qec", bins.taskdump+" version", out)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "CI=") || strings.HasPrefix(kv, "TMUX=") })
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script taskdump version: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "taskdump") {
		t.Fatalf("taskdump version wrote %q to its terminal, want its version", b)
	}
	if i := strings.IndexAny(string(b), "\x1b\x07"); i >= 0 {
		t.Errorf("taskdump version wrote an escape sequence (a question?) to its terminal: %q", b)
	}
}
