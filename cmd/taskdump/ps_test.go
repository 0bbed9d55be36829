package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/inspecttest"
	"github.com/taskdump/taskdump/inspect/wire"
)

// TestSilentAgent: an agent that accepts and never answers does not hold
// ps up: the healthy process is listed at once and the silent one marked.
// Asked directly, it times out with one line saying what timed out after
// how long.
func TestSilentAgent(t *testing.T) {
	p := startProc(t, bins.fixture)
	// This test process plays the silent agent: its socket carries its own
	// pid, so that the client trusts it.
	inspecttest.SilentAgent(t, filepath.Join(p.dir, strconv.Itoa(os.Getpid())+".sock"))
	start := time.Now()
	r := td(t, p.dir, "ps")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("ps took %v, want about 2s", took)
	}
	if r.code != 0 {
		t.Fatalf("ps: exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], strconv.Itoa(p.pid)+" ") ||
		!strings.HasPrefix(lines[2], strconv.Itoa(os.Getpid())+" ") || !strings.Contains(lines[2], "(no answer within 2s)") {
		t.Errorf("ps output:\n%s\nwant the fixture listed and pid %d marked silent", r.stdout, os.Getpid())
	}
	r = td(t, p.dir, "tasks", strconv.Itoa(os.Getpid()), "--timeout", "500ms")
	want := regexp.MustCompile(`^taskdump: timed out after [0-9.]+m?s waiting for the agent to answer GET /v1/tasks\n$`)
	if r.code != 1 || !want.MatchString(r.stderr) {
		t.Errorf("tasks on the silent agent: exit %d, stderr %q; want it to match %s", r.code, r.stderr, want)
	}
}

// TestNotFoundSaysWhere: when the agent is not where the CLI looks (the
// program may see another XDG_RUNTIME_DIR or TMPDIR), the messages say
// where it looked and how to look elsewhere; a --dir that is missing or a
// file is one clear error for every command.
func TestNotFoundSaysWhere(t *testing.T) {
	p := startProc(t, bins.fixture)
	empty := t.TempDir()
	r := td(t, empty, "tasks", strconv.Itoa(p.pid))
	if r.code != 1 || !strings.Contains(r.stderr, "no "+strconv.Itoa(p.pid)+".sock in "+empty) || !strings.Contains(r.stderr, "--dir or TASKDUMP_DIR") {
		t.Errorf("tasks with the wrong directory: exit %d, stderr %q; want where it looked and --dir", r.code, r.stderr)
	}
	r = td(t, empty, "ps")
	if r.code != 0 || r.stderr != "taskdump: no agent in "+empty+"\n" {
		t.Errorf("ps in an empty directory: exit %d, stderr %q; want it named", r.code, r.stderr)
	}
	file := filepath.Join(empty, "f")
	os.WriteFile(file, nil, 0o600)
	for _, dir := range []string{filepath.Join(empty, "missing"), file} {
		var first string
		for _, args := range [][]string{{"ps"}, {"tasks", strconv.Itoa(p.pid)}, {"tree", strconv.Itoa(p.pid)}} {
			r := td(t, dir, args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "taskdump: bad socket directory: "+dir+" (from --dir or TASKDUMP_DIR)") {
				t.Errorf("%s with dir %s: exit %d, stderr %q", args[0], dir, r.code, r.stderr)
			}
			if first == "" {
				first = r.stderr
			} else if r.stderr != first {
				t.Errorf("%s with dir %s: stderr %q, want the same as ps: %q", args[0], dir, r.stderr, first)
			}
		}
	}
}

// TestUntrustedDirRefused: a socket directory that others may write could
// hold a planted socket: every command refuses it in one line, having sent
// nothing (the cancel's message included), and ps lists nothing from it.
func TestUntrustedDirRefused(t *testing.T) {
	p := startProc(t, bins.fixture)
	if err := os.Chmod(p.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"tasks", pidArg(p)},
		{"cancel", pidArg(p), "7", "--msg", "secret"},
		{"tasks", p.sock},
		{"ps"},
	} {
		r := td(t, p.dir, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "taskdump: untrusted socket") || strings.Count(r.stderr, "\n") != 1 ||
			!strings.Contains(r.stderr, "mode 0777") {
			t.Errorf("%s: exit %d, stderr %q; want one line refusing the 0777 directory", strings.Join(args, " "), r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%s: stdout %q, want nothing", strings.Join(args, " "), r.stdout)
		}
	}
	os.Chmod(p.dir, 0o700)
	ts := pollJSON(t, p.dir, "tasks", func([]wire.Task) bool { return true }, "tasks", pidArg(p), "--json")
	if st, _ := findTask(ts, "stuck-1"); st.State != "pending" {
		t.Errorf("stuck-1 = %q after the refused cancel, want pending", st.State)
	}
}

func TestLoopNames(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"main"}, "main"},
		{[]string{"a", "b", "c"}, "a,b,c"},
		{[]string{"a", "b", "c", "d", "e"}, "a,b,c,+2 more"},
	} {
		if got := loopNames(tc.in); got != tc.want {
			t.Errorf("loopNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
