package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoAgent: the client depends on the wire types only, never on
// the task runtime, the agent (package inspect) or pprof, so a program that
// attaches links none of them.
func TestImportsNoAgent(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		switch {
		case d == "github.com/taskdump/taskdump/runtime",
			d == "github.com/taskdump/taskdump/inspect",
			d == "github.com/taskdump/taskdump/taskprof",
			strings.HasPrefix(d, "github.com/google/pprof/"):
			t.Errorf("inspect/client imports %s", d)
		}
	}
}
