package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
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

func TestHelp(t *testing.T) {
	r := td(t, t.TempDir(), "--help")
	if r.code != 0 {
		t.Fatalf("--help: exit %d", r.code)
	}
	golden(t, "help.txt", r.stdout)
	for _, c := range allCommands() {
		t.Run(c.name, func(t *testing.T) {
			r := td(t, t.TempDir(), c.name, "--help")
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("%s --help: exit %d, stderr %q", c.name, r.code, r.stderr)
			}
			golden(t, "help-"+c.name+".txt", r.stdout)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--bogus"}, "unknown flag: --bogus (flags follow the command"},
		{[]string{"--json", "tasks", "1"}, "unknown flag: --json (flags follow the command"},
		{[]string{"tasks"}, "want PID, got 0 arguments"},
		{[]string{"tasks", "abc"}, `bad PID "abc"`},
		{[]string{"tasks", "4294967297"}, `bad PID "4294967297"`}, // 1 in 32 bits: never some other process
		{[]string{"tasks", "1", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"tasks", "1", "--name", "["}, "bad --name pattern"},
		{[]string{"stack", "1"}, "want PID and task ID"},
		{[]string{"stack", "1", "x"}, `bad task id "x"`},
		{[]string{"cancel", "1"}, "want task IDs or --name GLOB"},
		{[]string{"tasks", "1", "--older-than", "soon"}, "invalid argument"},
		{[]string{"profile"}, "want PID, got 0 arguments"},
		{[]string{"profile", "1", "--kind", "heap"}, `bad --kind "heap": want tasks, blocking or cpu`},
		{[]string{"profile", "1", "--duration", "2s"}, "--duration is for --kind cpu: a tasks profile is taken at once"},
		{[]string{"tasks", "1", "--state", "finished"}, `bad --state "finished": tasks lists live tasks (pending, running, cancelling); 'taskdump history' lists the ended ones`},
		{[]string{"tasks", "1", "--state", "pending,asleep"}, `bad --state "asleep": want pending, running or cancelling`},
		{[]string{"tasks", "1", "--older-than", "-5s"}, "bad --older-than -5s: want a positive duration"},
		{[]string{"tasks", "1", "--stacks"}, "--stacks needs --json"},
		{[]string{"tasks", "1", "--timeout", "-1s"}, "bad --timeout -1s"},
		{[]string{"blocking", "1", "-n", "-3"}, "bad -n -3"},
		{[]string{"history", "1", "-n", "x"}, `invalid argument "x" for "-n, --last"`},
		{[]string{"snapshot", "1", "-o", dir}, "-o " + dir + " is a directory: give the name of a file to write"},
		{[]string{"profile", "1", "-o", dir}, "-o " + dir + " is a directory"},
		{[]string{"socket"}, "want PID, got 0 arguments"},
		{[]string{"cancel", "1", "--name", "[x"}, "bad --name pattern"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := td(t, dir, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tt.want)
			}
			// Every usage error ends with where to read the usage.
			if !strings.HasSuffix(r.stderr, "--help' for usage.\n") && !strings.HasPrefix(r.stderr, "taskdump attaches") {
				t.Errorf("stderr %q does not end with the --help hint", r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		r := td(t, t.TempDir(), arg)
		if r.code != 0 || !regexp.MustCompile(`^taskdump \S+.* \(go1\.\d+`).MatchString(r.stdout) || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("taskdump %s: exit %d, stdout %q, stderr %q; want one line with the version", arg, r.code, r.stdout, r.stderr)
		}
	}
}

// TestOutputFile: -o errors name the user's path, never the temporary
// file next to it.
func TestOutputFile(t *testing.T) {
	p := startProc(t, bins.fixture)
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "out.json")
	for _, cmd := range []string{"snapshot", "profile"} {
		r := td(t, p.dir, cmd, pidArg(p), "-o", missing)
		want := "taskdump: " + cmd + ": cannot write " + missing + ": no such file or directory\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("%s -o %s: exit %d, stderr %q; want exit 1, %q", cmd, missing, r.code, r.stderr, want)
		}
	}
	// A file that exists is replaced whole.
	file := filepath.Join(t.TempDir(), "p.pb.gz")
	os.WriteFile(file, []byte("old"), 0o644)
	if out := ok(t, p.dir, "profile", pidArg(p), "-o", file); !strings.HasPrefix(out, "wrote "+file+" (") {
		t.Errorf("profile -o: %q", out)
	}
	if data, _ := os.ReadFile(file); len(data) < 10 || data[0] != 0x1f {
		t.Errorf("profile -o wrote %q, want a gzipped profile", data[:min(len(data), 10)])
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("left temporary files: %v", entries)
	}
}

func TestSocketCommand(t *testing.T) {
	p := startProc(t, bins.fixture)
	if out := ok(t, p.dir, "socket", pidArg(p)); out != p.sock+"\n" {
		t.Errorf("socket = %q, want %q", out, p.sock+"\n")
	}
	r := td(t, p.dir, "socket", strconv.Itoa(os.Getpid()))
	if r.code != 1 || !strings.HasPrefix(r.stderr, "taskdump: no agent in that process") {
		t.Errorf("socket of a process with no agent: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestNameGlobCrossesSlash: in --name, * matches any characters, / too.
func TestNameGlobCrossesSlash(t *testing.T) {
	p := startProc(t, bins.fixture, "-name", "fetch /users/42", "-name", "fetch /orders/7", "-name", "fetcher")
	pid := pidArg(p)
	names := func(args ...string) []string {
		var ts []wire.Task
		if err := json.Unmarshal([]byte(ok(t, p.dir, append(args, "--json")...)), &ts); err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, t := range ts {
			ns = append(ns, t.Name)
		}
		return ns
	}
	for _, tt := range []struct {
		glob string
		want []string
	}{
		{"fetch*", []string{"fetch /users/42", "fetch /orders/7", "fetcher"}},
		{"fetch *", []string{"fetch /users/42", "fetch /orders/7"}},
		{"fetch /users/*", []string{"fetch /users/42"}},
		{"*/42", []string{"fetch /users/42"}},
		{"fetch ?orders?7", []string{"fetch /orders/7"}},
		{"fetch [/]*", []string{"fetch /users/42", "fetch /orders/7"}},
	} {
		if got := names("tasks", pid, "--name", tt.glob); !slices.Equal(got, tt.want) {
			t.Errorf("tasks --name %q = %q, want %q", tt.glob, got, tt.want)
		}
	}
	out := ok(t, p.dir, "cancel", pid, "--name", "fetch *", "--wait")
	if strings.Count(out, "cancel requested") != 2 || strings.Count(out, `": cancelled`) != 2 {
		t.Errorf("cancel --name 'fetch *':\n%s", out)
	}
}

// TestCancelWaitTimeout: cancel --wait of a task that catches its
// cancellations gives up at --timeout with one line that says so, and
// exits 1.
func TestCancelWaitTimeout(t *testing.T) {
	p := startProc(t, bins.fixture, "-stubborn", "stubborn")
	var id string
	for _, line := range strings.Split(ok(t, p.dir, "tasks", pidArg(p), "--name", "stubborn"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "stubborn" {
			id = f[0]
		}
	}
	if id == "" {
		t.Fatal("no task stubborn")
	}
	r := td(t, p.dir, "cancel", pidArg(p), id, "--wait", "--timeout", "1s")
	// (On a busy machine the timeout may come before the first look.)
	re := regexp.MustCompile(`^taskdump: task ` + id + ` "stubborn": not ended when --timeout ran out \((last seen (pending|cancelling)|its state never read)\); a task that catches its cancellations goes on\n$`)
	if r.code != 1 || r.stdout != "task "+id+" \"stubborn\": cancel requested\n" || !re.MatchString(r.stderr) {
		t.Errorf("cancel --wait --timeout 1s: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestCancelEndsProcess: cancelling the task whose end ends the process,
// with --wait, says the process exited and exits 0.
func TestCancelEndsProcess(t *testing.T) {
	p := startProc(t, bins.fixture)
	r := td(t, p.dir, "cancel", pidArg(p), "1", "--wait")
	// Which one depends on how far the process got when the CLI asked:
	// it exited before the cancel's answer, after it, or its loop had
	// closed and its agent not yet.
	ends := []string{
		"task 1: process " + pidArg(p) + " exited after the cancel was sent\n",
		"task 1 \"main\": cancel requested\ntask 1 \"main\": process " + pidArg(p) + " exited before the task's end could be read\n",
		"task 1 \"main\": cancel requested\ntask 1 \"main\": ended; its record is gone (its loop closed, or the history dropped it)\n",
		"task 1 \"main\": cancel requested\ntask 1 \"main\": cancelled: ",
	}
	if r.code != 0 || r.stderr != "" || !slices.ContainsFunc(ends, func(s string) bool { return strings.HasPrefix(r.stdout, s) }) {
		t.Errorf("cancel 1 --wait: exit %d, stdout %q, stderr %q; want exit 0 and the process's exit", r.code, r.stdout, r.stderr)
	}
	t.Logf("%s", r.stdout)
}

// TestCancelNameEndsProcess: cancel --name of many tasks, the first of
// which (main) ends the process. The tasks it matched that end before
// their cancel reaches them (their loop closed) are what the cancel was
// for, not failures: exit 0, nothing on stderr, one line per task.
func TestCancelNameEndsProcess(t *testing.T) {
	p := startProc(t, bins.fixture, "-tasks", "300")
	r := td(t, p.dir, "cancel", pidArg(p), "--name", "*")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	known := regexp.MustCompile(`^task \d+( "[^"]*": (cancel requested|ended before the cancel reached it)|: process \d+ exited after the cancel was sent(; \d+ more tasks? not asked ended with it)?)$`)
	bad := slices.IndexFunc(lines, func(s string) bool { return !known.MatchString(s) })
	// main (task 1) comes first: its cancel is answered, or the process
	// exits before the answer (TestCancelEndsProcess lists the ways).
	if r.code != 0 || r.stderr != "" || bad >= 0 || !strings.HasPrefix(r.stdout, "task 1 ") {
		t.Errorf("cancel --name '*': exit %d, stderr %q, stdout (line %d unexpected):\n%s", r.code, r.stderr, bad, r.stdout)
	}
	t.Logf("last line: %s", lines[len(lines)-1])
}

func TestWaitEndedAgentGone(t *testing.T) {
	// An agent that answers one request, then closes its socket, as a
	// process does when it exits.
	dir := t.TempDir()
	sock := filepath.Join(dir, strconv.Itoa(deadPID(t))+".sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Read(make([]byte, 4096))
			c.Close() // EOF: no answer
		}
		l.Close()
	}()
	c, err := client.DialPath(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = waitEnded(ctx, c, 1)
	if !errors.Is(err, errAgentGone) {
		t.Errorf("waitEnded after the agent went away = %v, want errAgentGone", err)
	}
	if got, want := goneReason(sock), "process "+strings.TrimSuffix(filepath.Base(sock), ".sock")+" exited"; got != want {
		t.Errorf("goneReason = %q, want %q", got, want)
	}
}

// TestNameGivenTwice: a second --name is refused (usage, exit 2), not
// silently put in the first one's place.
func TestNameGivenTwice(t *testing.T) {
	for _, cmd := range []string{"tasks", "history", "cancel"} {
		r := td(t, t.TempDir(), cmd, "1", "--name", "a*", "--name", "b*")
		if want := `invalid argument "b*" for "--name" flag: given twice ("a*", then "b*")`; r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s --name a* --name b*: exit %d, stderr %q; want 2 and %q", cmd, r.code, r.stderr, want)
		}
	}
}

// TestLoopFlag: --loop must name a loop of the process.
func TestLoopFlag(t *testing.T) {
	p := startProc(t, bins.fixture)
	if out := ok(t, p.dir, "tasks", pidArg(p), "--loop", "fixture"); strings.Count(out, "\n") != 11 {
		t.Errorf("tasks --loop fixture:\n%s", out)
	}
	r := td(t, p.dir, "tasks", pidArg(p), "--loop", "nosuch")
	if want := "taskdump: no loop \"nosuch\": the process has fixture (id "; r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("tasks --loop nosuch: exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
}

// TestLastN: history and blocking keep their order (oldest first) and -n
// keeps the last N, header included.
func TestLastN(t *testing.T) {
	p := startProc(t, bins.fixture)
	golden(t, "history-n2.txt", mask(ok(t, p.dir, "history", pidArg(p), "-n", "2")))
	var hist []wire.Task
	json.Unmarshal([]byte(ok(t, p.dir, "history", pidArg(p), "-n", "1", "--json")), &hist)
	if len(hist) != 1 || hist[0].Name != "quick-cancel" {
		t.Errorf("history -n 1 --json = %+v, want quick-cancel", hist)
	}
	if out := ok(t, p.dir, "blocking", pidArg(p), "-n", "1", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("blocking -n 1 --json with nothing blocked = %q", out)
	}
}

// TestHistoryFilters: history --state and --name keep some of the ended
// tasks (the fixture's quick-ok, quick-fail and quick-cancel), -n the last
// of those; a state no ended task has is a usage error.
func TestHistoryFilters(t *testing.T) {
	p := startProc(t, bins.fixture)
	names := func(args ...string) []string {
		var hist []wire.Task
		out := ok(t, p.dir, append([]string{"history", pidArg(p), "--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &hist); err != nil {
			t.Fatalf("history %v: %v", args, err)
		}
		var got []string
		for _, h := range hist {
			if strings.HasPrefix(h.Name, "quick-") {
				got = append(got, h.Name)
			}
		}
		return got
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--state", "failed"}, []string{"quick-fail"}},
		{[]string{"--state", "finished,cancelled"}, []string{"quick-ok", "quick-cancel"}},
		{[]string{"--name", "quick-c*"}, []string{"quick-cancel"}},
		{[]string{"--name", "quick-*", "-n", "2"}, []string{"quick-fail", "quick-cancel"}},
	} {
		if got := names(tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("history %v = %v, want %v", tt.args, got, tt.want)
		}
	}
	if r := td(t, p.dir, "history", pidArg(p), "--state", "pending"); r.code != 2 || !strings.Contains(r.stderr, "history lists ended tasks") {
		t.Errorf("history --state pending: exit %d, %q; want 2 and why", r.code, r.stderr)
	}
}

// deadPID returns a pid with no process.
func deadPID(t *testing.T) int {
	for pid := 4_000_000; pid > 3_000_000; pid -= 7919 {
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			return pid
		}
	}
	t.Fatal("no free pid")
	return 0
}

func TestAttachErrors(t *testing.T) {
	dir := t.TempDir()
	dead := deadPID(t)
	self := os.Getpid()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no such process", []string{"tasks", strconv.Itoa(dead)}, "taskdump: no such process " + strconv.Itoa(dead) + "\n"},
		{"no agent", []string{"tree", strconv.Itoa(self)}, "taskdump: no agent in that process " + strconv.Itoa(self)},
		{"no socket at path", []string{"tasks", filepath.Join(dir, "none.sock")}, "taskdump: no agent in that process (nothing listens on"},
	}
	// The dead process left its socket behind: it goes.
	stale := filepath.Join(dir, strconv.Itoa(dead)+".sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := td(t, dir, tt.args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line starting %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if _, err := os.Lstat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead process's socket is still there (%v): DESIGN says stale sockets are cleaned up", err)
	}
}

func TestFixtureViews(t *testing.T) {
	p := startProc(t, bins.fixture)
	pid := pidArg(p)
	golden(t, "tasks.txt", mask(ok(t, p.dir, "tasks", pid)))
	golden(t, "tasks-filtered.txt", mask(ok(t, p.dir, "tasks", pid, "--state", "pending", "--name", "*-[12]")))
	golden(t, "tasks-none.txt", mask(ok(t, p.dir, "tasks", pid, "--older-than", "1h")))
	golden(t, "tree.txt", mask(ok(t, p.dir, "tree", pid)))
	golden(t, "stack.txt", mask(ok(t, p.dir, "stack", pid, "12")))
	golden(t, "history.txt", mask(ok(t, p.dir, "history", pid)))
	golden(t, "blocking-none.txt", mask(ok(t, p.dir, "blocking", pid)))

	// By socket path as well as by PID.
	if got, want := mask(ok(t, p.dir, "tasks", p.sock)), mask(ok(t, p.dir, "tasks", pid)); got != want {
		t.Errorf("tasks by path =\n%s\nwant the same as by PID:\n%s", got, want)
	}

	// --json: an array of task records with the documented field names.
	out := ok(t, p.dir, "tasks", pid, "--json")
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("tasks --json: %v\n%s", err, out)
	}
	if len(recs) != 10 {
		t.Errorf("tasks --json: %d records, want 10", len(recs))
	}
	for _, k := range []string{"id", "name", "state", "loop", "parent_id", "function", "spawned_at", "suspended_at", "awaiting", "created", "steps", "busy_ns"} {
		if _, ok := recs[0][k]; !ok {
			t.Errorf("task record has no %q: %v", k, recs[0])
		}
	}
	var ts []wire.Task
	json.Unmarshal([]byte(out), &ts)
	api, _ := findTask(ts, "api")
	h1, _ := findTask(ts, "handler-1")
	if h1.ParentID != api.ID || h1.SuspendedAt.IsZero() || !filepath.IsAbs(h1.SuspendedAt.File) ||
		filepath.Base(h1.SuspendedAt.File) != "main.go" || h1.SpawnedAt.Line == 0 || h1.State != "pending" {
		t.Errorf("handler-1 = %+v, want parent api, absolute suspended_at and spawned_at", h1)
	}
	mainTask, _ := findTask(ts, "main")
	if !slices.Equal(mainTask.Awaits, []uint64{api.ID, 6}) {
		t.Errorf("main awaits %v, want [%d 6]", mainTask.Awaits, api.ID)
	}

	var tree wire.Tree
	if err := json.Unmarshal([]byte(ok(t, p.dir, "tree", pid, "--json")), &tree); err != nil || len(tree.Roots) != 1 {
		t.Errorf("tree --json: %v, %d roots", err, len(tree.Roots))
	}
	var st wire.StackResult
	if err := json.Unmarshal([]byte(ok(t, p.dir, "stack", pid, "12", "--json")), &st); err != nil || len(st.Stack) == 0 || st.Task.Name != "handler-1" {
		t.Errorf("stack --json: %v, %+v", err, st)
	}
	if out := ok(t, p.dir, "blocking", pid, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("blocking --json with nothing blocked = %q, want []", out)
	}
	var hist []wire.Task
	if err := json.Unmarshal([]byte(ok(t, p.dir, "history", pid, "--json")), &hist); err != nil || len(hist) != 3 || hist[1].Error != "boom" {
		t.Errorf("history --json: %v, %+v", err, hist)
	}

	// snapshot -o FILE: everything in one JSON document.
	file := filepath.Join(t.TempDir(), "snap.json")
	if out := ok(t, p.dir, "snapshot", pid, "-o", file); !strings.HasPrefix(out, "wrote "+file) {
		t.Errorf("snapshot -o: %q", out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var snap wire.Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatalf("snapshot file: %v", err)
	}
	if snap.Process.PID != p.pid || len(snap.Loops) != 1 || len(snap.Loops[0].TaskList) != 10 ||
		len(snap.Loops[0].History) != 3 || len(snap.Loops[0].TaskList[1].Stack) == 0 {
		t.Errorf("snapshot: pid %d, %d loops; want pid %d, 1 loop with 10 tasks with stacks and 3 ended", snap.Process.PID, len(snap.Loops), p.pid)
	}

	// Unknown and finished tasks.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"stack", pid, "999"}, "taskdump: no such task 999\n"},
		{[]string{"cancel", pid, "999"}, "taskdump: no such task 999\n"},
		{[]string{"cancel", pid, "2"}, "taskdump: task 2 already ended (finished)\n"},
		{[]string{"stack", pid, "3"}, "taskdump: task 3 already ended (failed): it has no stack\n"},
		{[]string{"cancel", pid, "4"}, "taskdump: task 4 already ended (cancelled)\n"},
	} {
		r := td(t, p.dir, tt.args...)
		if r.code != 1 || r.stderr != tt.want {
			t.Errorf("taskdump %v: exit %d, stderr %q; want exit 1, %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

func TestCancel(t *testing.T) {
	p := startProc(t, bins.fixture)
	pid := pidArg(p)
	golden(t, "cancel-wait.txt", ok(t, p.dir, "cancel", pid, "7", "--msg", "stuck for good", "--wait"))
	golden(t, "cancel-name.txt", ok(t, p.dir, "cancel", pid, "--name", "handler-*", "--wait"))
	var hist []wire.Task
	json.Unmarshal([]byte(ok(t, p.dir, "history", pid, "--json")), &hist)
	st, _ := findTask(hist, "stuck-1")
	if st.State != "cancelled" || st.CancelMsg != "stuck for good" || !strings.HasPrefix(st.CancelBy, "taskdump (pid ") {
		t.Errorf("stuck-1 in history = %+v, want cancelled with the message and who asked", st)
	}
	// handler-* were awaited by api's task group: cancelling them ends the
	// group, and api with it, but main keeps awaiting db-pool.
	ts := pollJSON(t, p.dir, "api to end", func(ts []wire.Task) bool {
		_, found := findTask(ts, "api")
		return !found
	}, "tasks", pid, "--json")
	if _, ok := findTask(ts, "db-pool"); !ok {
		t.Errorf("db-pool gone after cancelling the handlers: %v", ts)
	}
	r := td(t, p.dir, "cancel", pid, "--name", "nothing-*")
	if r.code != 1 || r.stderr != "taskdump: no live task matches \"nothing-*\"\n" {
		t.Errorf("cancel --name with no match: exit %d, stderr %q", r.code, r.stderr)
	}
	r = td(t, p.dir, "cancel", pid, "8", "999")
	if r.code != 1 || !strings.Contains(r.stdout, `task 8 "stuck-2": cancel requested`) ||
		r.stderr != "taskdump: no such task 999\ntaskdump: 1 of 2 cancels failed\n" {
		t.Errorf("cancel 8 999: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Ids and a glob that matches nothing: the ids are cancelled, and the
	// glob is pointed out (a typo would go unseen).
	r = td(t, p.dir, "cancel", pid, "9", "--name", "nothing-*")
	if want := "taskdump: no live task matches --name \"nothing-*\"; cancelling the tasks given by id\n"; r.code != 0 || r.stderr != want || !strings.Contains(r.stdout, "task 9 ") {
		t.Errorf("cancel 9 --name nothing-*: exit %d, stdout %q, stderr %q; want 0, task 9 cancelled and %q", r.code, r.stdout, r.stderr, want)
	}
}

func TestReadOnlyAgent(t *testing.T) {
	p := startProc(t, bins.fixture, "-read-only", "-tasks", "50")
	r := td(t, p.dir, "cancel", pidArg(p), "7")
	if r.code != 1 || r.stderr != "taskdump: read-only agent: cancel refused\n" {
		t.Errorf("cancel on a read-only agent: exit %d, stderr %q", r.code, r.stderr)
	}
	// One refusal, not one per task.
	r = td(t, p.dir, "cancel", pidArg(p), "--name", "bulk-*")
	if want := "taskdump: read-only agent: cancel refused (50 tasks not cancelled)\n"; r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Errorf("cancel --name on a read-only agent: exit %d, stdout %q, stderr %q; want exit 1, %q", r.code, r.stdout, r.stderr, want)
	}
	ok(t, p.dir, "tasks", pidArg(p))
}

// TestBlockedLoop lists, shows stacks and cancels while a task blocks the
// fixture's loop with time.Sleep.
func TestBlockedLoop(t *testing.T) {
	p := startProc(t, bins.fixture)
	pid := pidArg(p)
	defer p.cmd.Process.Signal(syscall.SIGUSR2)
	p.cmd.Process.Signal(syscall.SIGUSR1)
	pollJSON(t, p.dir, "an ongoing blocking event", func(evs []wire.BlockEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Ongoing && evs[len(evs)-1].TaskName == "blocker" && len(evs[len(evs)-1].Stack) > 0
	}, "blocking", pid, "--json")
	golden(t, "blocking-now.txt", mask(ok(t, p.dir, "blocking", pid)))
	golden(t, "tasks-blocked.txt", mask(ok(t, p.dir, "tasks", pid, "--state", "running")))
	golden(t, "stack-running.txt", mask(ok(t, p.dir, "stack", pid, "11")))
	golden(t, "cancel-blocked.txt", ok(t, p.dir, "cancel", pid, "8", "--msg", "while blocked"))
	ts := pollJSON(t, p.dir, "tasks", func([]wire.Task) bool { return true }, "tasks", pid, "--json")
	if st, _ := findTask(ts, "stuck-2"); st.State != "cancelling" {
		t.Errorf("stuck-2 while the loop is blocked = %q, want cancelling", st.State)
	}
	// cancel --wait gives up at --timeout saying why: the loop is blocked
	// (by another task, or by the one cancelled), not that the task
	// catches its cancellations.
	for _, c := range []struct{ args, why string }{
		{"--name stuck-1", `loop fixture is blocked by task 11 "blocker" at main\.go:\d+ \(time\.Sleep\): the cancellation reaches the task when the loop regains control`},
		{"11", `it blocks its loop itself, at main\.go:\d+ \(time\.Sleep\): a cancellation reaches it at its next await`},
	} {
		r := td(t, p.dir, append([]string{"cancel", pid, "--wait", "--timeout", "1s"}, strings.Fields(c.args)...)...)
		re := regexp.MustCompile(`^taskdump: task \d+ "[a-z0-9-]+": not ended when --timeout ran out \((last seen \w+|its state never read)\); ` + c.why + "\n$")
		if r.code != 1 || !re.MatchString(r.stderr) {
			t.Errorf("cancel %s --wait while the loop is blocked: exit %d, stderr %q; want exit 1 and %s", c.args, r.code, r.stderr, c.why)
		}
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	hist := pollJSON(t, p.dir, "stuck-2 to end", func(ts []wire.Task) bool {
		_, ok := findTask(ts, "stuck-2")
		return ok
	}, "history", pid, "--json")
	if st, _ := findTask(hist, "stuck-2"); st.State != "cancelled" || st.CancelMsg != "while blocked" {
		t.Errorf("stuck-2 after the loop is released = %+v, want cancelled", st)
	}
	evs := pollJSON(t, p.dir, "the blocking event to end", func(evs []wire.BlockEvent) bool {
		return len(evs) == 1 && !evs[0].Ongoing
	}, "blocking", pid, "--json")
	if ev := evs[0]; ev.At.IsZero() || filepath.Base(ev.At.File) != "main.go" || ev.Call != "time.Sleep" || ev.DurationNS < int64(50*time.Millisecond) {
		t.Errorf("blocking event = %+v, want at main.go calling time.Sleep", ev)
	}
}

func TestOtherUIDRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	p := startProc(t, bins.fixture)
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	// The directory is 0700: the other user cannot even reach the socket.
	for d := filepath.Dir(p.dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	r := tdCmd(t, p.dir, nobody, "tasks", p.sock)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "taskdump: permission denied") {
		t.Errorf("other uid through a 0700 dir: exit %d, stderr %q; want permission denied", r.code, r.stderr)
	}
	// With the file permissions opened, the agent's SO_PEERCRED check refuses.
	os.Chmod(p.dir, 0o755)
	os.Chmod(p.sock, 0o666)
	r = tdCmd(t, p.dir, nobody, "tasks", p.sock)
	want := "taskdump: permission denied: uid 65534 may not inspect a process of uid 0\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("other uid with open permissions: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
	r = tdCmd(t, p.dir, nobody, "cancel", p.sock, "7")
	if r.code != 1 || r.stderr != want {
		t.Errorf("other uid cancel: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
	// Root still gets in, and the task was not cancelled.
	ts := pollJSON(t, p.dir, "tasks", func([]wire.Task) bool { return true }, "tasks", pidArg(p), "--json")
	if st, _ := findTask(ts, "stuck-1"); st.State != "pending" {
		t.Errorf("stuck-1 = %q after refused cancel, want pending", st.State)
	}
}

func TestPsRemovesStaleSockets(t *testing.T) {
	p := startProc(t, bins.fixture)
	stale := filepath.Join(p.dir, strconv.Itoa(deadPID(t))+".sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	r := td(t, p.dir, "ps")
	if r.code != 0 {
		t.Fatalf("ps: exit %d, %q", r.code, r.stderr)
	}
	golden(t, "ps.txt", mask(r.stdout, p.pid))
	if r.stderr != "taskdump: removed stale socket "+stale+"\n" {
		t.Errorf("ps stderr = %q, want the stale socket reported", r.stderr)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale socket still there: %v", err)
	}
	var procs []wire.Process
	if err := json.Unmarshal([]byte(ok(t, p.dir, "ps", "--json")), &procs); err != nil || len(procs) != 1 || procs[0].PID != p.pid {
		t.Errorf("ps --json = %+v, %v", procs, err)
	}
	// Once the process is gone its socket is gone too, and ps lists nothing.
	p.stop(t)
	if out := ok(t, p.dir, "ps"); out != "PID  COMMAND  LOOPS  TASKS\n" {
		t.Errorf("ps after the process stopped = %q", out)
	}
}

// TestBrokenBy: a connection that broke because the process exited is
// said so, not with the transport's error; other errors are left to
// reason.
func TestBrokenBy(t *testing.T) {
	dead := strconv.Itoa(deadPID(t))
	eof := fmt.Errorf("reading tasks: GET /v1/tasks: %w", io.ErrUnexpectedEOF)
	for _, tt := range []struct {
		name string
		err  error
		args []string
		want string
	}{
		{"dead pid", eof, []string{dead}, "process " + dead + " exited before it answered"},
		{"dead socket path", eof, []string{"/tmp/x/" + dead + ".sock"}, "process " + dead + " exited before it answered"},
		{"an answer", &client.APIError{Status: 404, Code: "no_such_task", Message: "no such task 9"}, []string{dead}, ""},
		{"no target", eof, nil, ""},
		{"not a broken connection", errors.New("bad"), []string{dead}, ""},
	} {
		if got, _ := brokenBy(tt.err, tt.args); got != tt.want {
			t.Errorf("%s: brokenBy = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestStoppedProcess: a request to a stopped process times out and says
// why, and how to resume it; a cancel says it may be delivered then.
func TestStoppedProcess(t *testing.T) {
	p := startProc(t, bins.fixture)
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGCONT) })
	resume := fmt.Sprintf("process %d is stopped: kill -CONT %d resumes it", p.pid, p.pid)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tasks", pidArg(p), "--timeout", "500ms"}, resume + "\n"},
		{[]string{"cancel", pidArg(p), "7", "--timeout", "500ms"}, resume + ", and a cancel sent may be delivered then\n"},
	} {
		r := td(t, p.dir, tt.args...)
		if r.code != 1 || !strings.HasSuffix(r.stderr, tt.want) {
			t.Errorf("%q on a stopped process: exit %d, stderr %q; want 1 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// TestBlockedBy: why a cancelled task has not ended, from the loops the
// agent lists: its loop blocked by another task or by itself; nothing
// when the loop is not blocked, or when the task's loop is known only by
// a name two loops share.
func TestBlockedBy(t *testing.T) {
	at := wire.Frame{Function: "main.poll", File: "/src/app/main.go", Line: 41}
	blockedLoop := func(id uint64, name string, by uint64) wire.Loop {
		return wire.Loop{ID: id, Name: name, Blocking: &wire.BlockEvent{TaskID: by, TaskName: "poller", At: at, Call: "time.Sleep", Ongoing: true}}
	}
	for _, tc := range []struct {
		name   string
		loops  []wire.Loop
		id     uint64
		loopID uint64
		loop   string
		want   string
	}{
		{"by another task", []wire.Loop{blockedLoop(1, "w", 2)}, 3, 1, "w",
			`loop w is blocked by task 2 "poller" at main.go:41 (time.Sleep): the cancellation reaches the task when the loop regains control`},
		{"by itself", []wire.Loop{blockedLoop(1, "w", 3)}, 3, 1, "w",
			"it blocks its loop itself, at main.go:41 (time.Sleep): a cancellation reaches it at its next await"},
		{"by name", []wire.Loop{{ID: 1, Name: "a"}, blockedLoop(2, "w", 2)}, 3, 0, "w",
			`loop w is blocked by task 2 "poller" at main.go:41 (time.Sleep): the cancellation reaches the task when the loop regains control`},
		{"a name two loops share", []wire.Loop{{ID: 1, Name: "w"}, blockedLoop(2, "w", 2)}, 3, 0, "w", ""},
		{"not blocked", []wire.Loop{{ID: 1, Name: "w"}}, 3, 1, "w", ""},
		{"another loop blocked", []wire.Loop{{ID: 1, Name: "w"}, blockedLoop(2, "x", 2)}, 3, 1, "w", ""},
		{"no answer", nil, 3, 1, "w", ""},
	} {
		if got := blockedBy(tc.loops, tc.id, tc.loopID, tc.loop); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
