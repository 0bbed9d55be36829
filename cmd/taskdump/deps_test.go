package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLinksNoAgent: taskdump attaches through package inspect/client only,
// so the binary links neither the task runtime, the agent, its profiles
// nor pprof (issue 10, item 7; DESIGN.md's layering).
func TestLinksNoAgent(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/taskdump/taskdump/inspect/client") {
		t.Fatalf("go list -deps . does not list inspect/client:\n%s", out)
	}
	for _, bad := range []string{
		"github.com/taskdump/taskdump/runtime",
		"github.com/taskdump/taskdump/inspect",
		"github.com/taskdump/taskdump/taskprof",
		"github.com/google/pprof/",
	} {
		for _, d := range deps {
			if d == bad || strings.HasSuffix(bad, "/") && strings.HasPrefix(d, bad) {
				t.Errorf("cmd/taskdump links %s; it must attach through inspect/client alone", d)
			}
		}
	}
}

// TestDirFlag: --dir reaches the client as an option: a command finds the
// agent there even when $TASKDUMP_DIR names another directory, and the
// environment is left as it was.
func TestDirFlag(t *testing.T) {
	p := startProc(t, bins.fixture)
	empty := t.TempDir()
	t.Setenv("TASKDUMP_DIR", empty)
	for _, tt := range []struct {
		args []string
		want string // a line of standard output
	}{
		{[]string{"socket", strconv.Itoa(p.pid), "--dir", p.dir}, p.sock},
		{[]string{"ps", "--dir", p.dir}, strconv.Itoa(p.pid) + " "},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, &env{stdout: &out, stderr: &errb, now: time.Now, flush: func() {}})
		if code != 0 || !strings.Contains(out.String(), tt.want) {
			t.Errorf("taskdump %s: exit %d, stdout %q, stderr %q; want %q", strings.Join(tt.args, " "), code, out.String(), errb.String(), tt.want)
		}
		if got := os.Getenv("TASKDUMP_DIR"); got != empty {
			t.Errorf("taskdump %s: TASKDUMP_DIR = %q after the command, want %q left alone", strings.Join(tt.args, " "), got, empty)
		}
	}
	// A --dir that does not exist is refused as $TASKDUMP_DIR is.
	missing := filepath.Join(empty, "missing")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"tasks", strconv.Itoa(p.pid), "--dir", missing}, &env{stdout: &out, stderr: &errb, now: time.Now, flush: func() {}})
	if want := "taskdump: bad socket directory: " + missing + " (from --dir or TASKDUMP_DIR) does not exist\n"; code != 1 || errb.String() != want {
		t.Errorf("tasks --dir %s: exit %d, stderr %q; want %q", missing, code, errb.String(), want)
	}
}
