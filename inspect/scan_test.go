package inspect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/client"
	"github.com/taskdump/taskdump/inspect/inspecttest"
)

// TestPsSilentAgent: one agent that accepts and never answers costs Ps one
// per-agent timeout, not the caller's whole deadline; the healthy agent is
// listed and the silent one marked.
func TestPsSilentAgent(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := privateDir(t)
	healthy := startChild(t, self, "agent", dir, nil)
	inspecttest.SilentAgent(t, SocketPath(dir, os.Getpid()))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	sts, _, err := client.Ps(ctx, dir, 0)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > client.PsTimeout+3*time.Second {
		t.Errorf("Ps took %v, want about client.PsTimeout (%v)", took, client.PsTimeout)
	}
	if len(sts) != 2 {
		t.Fatalf("Ps = %+v, want 2 agents", sts)
	}
	byPID := map[int]client.Status{sts[0].PID: sts[0], sts[1].PID: sts[1]}
	if st := byPID[healthy.pid]; st.Err != nil || st.Process.PID != healthy.pid {
		t.Errorf("healthy agent: %+v, want its process", st)
	}
	if st := byPID[os.Getpid()]; !errors.Is(st.Err, client.ErrTimeout) {
		t.Errorf("silent agent: err = %v, want client.ErrTimeout", st.Err)
	}
}

// TestWhereSearched: when no agent is found, the error says where the
// client looked and how to look elsewhere, since the program may see
// another $XDG_RUNTIME_DIR or $TMPDIR; a $TASKDUMP_DIR that is missing or a
// file is the same clear error for Dial, Scan and Ps.
func TestWhereSearched(t *testing.T) {
	dir := privateDir(t)
	t.Setenv(EnvDir, "")
	t.Setenv("XDG_RUNTIME_DIR", dir)
	_, err := client.Dial(os.Getppid())
	want := "no " + strconv.Itoa(os.Getppid()) + ".sock in " + filepath.Join(dir, "taskdump")
	if !errors.Is(err, client.ErrNoAgent) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--dir or "+EnvDir) {
		t.Errorf("Dial: err = %v, want client.ErrNoAgent saying %q and suggesting --dir or %s", err, want, EnvDir)
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	for _, tt := range []struct {
		env, want string
	}{
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "is not a directory"},
	} {
		t.Setenv(EnvDir, tt.env)
		errs := map[string]error{}
		_, errs["Dial"] = client.Dial(os.Getppid())
		_, _, errs["Scan"] = client.Scan("")
		_, _, errs["Ps"] = client.Ps(context.Background(), "", time.Second)
		wantMsg := "client: bad socket directory: " + tt.env + " (from --dir or " + EnvDir + ") " + tt.want
		for name, err := range errs {
			if !errors.Is(err, ErrBadDir) || err.Error() != wantMsg {
				t.Errorf("%s with %s=%s: err = %v, want %q", name, EnvDir, tt.env, err, wantMsg)
			}
		}
	}
	// The agent says it the same way.
	t.Setenv(EnvDir, file)
	if a, err := Listen(Options{}); !errors.Is(err, ErrBadDir) {
		if a != nil {
			a.Close()
		}
		t.Errorf("Listen with %s=%s: err = %v, want ErrBadDir", EnvDir, file, err)
	}
}
