package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/taskdump/taskdump/inspect/wire"
)

// fixtureLine returns the line of the fixture's source that contains text.
func fixtureLine(t *testing.T, text string) int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "fixture", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("no %q in the fixture", text)
	return 0
}

func parseProfileFile(t *testing.T, file string) *profile.Profile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("profile.Parse(%s): %v", file, err)
	}
	return p
}

// pprofTop runs go tool pprof -top -lines on file.
func pprofTop(t *testing.T, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bins.goroot, "bin", "go"), "tool", "pprof", "-top", "-lines", file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top -lines %s: %v\n%s", file, err, out)
	}
	if strings.Contains(string(out), "not available") {
		t.Errorf("go tool pprof complains:\n%s", out)
	}
	return string(out)
}

// sampleOf returns the sample labelled task.name=name.
func sampleOf(p *profile.Profile, name string) *profile.Sample {
	for _, s := range p.Sample {
		if s.HasLabel("task.name", name) {
			return s
		}
	}
	return nil
}

// frames renders a sample's stack as "function file:line", innermost first.
func frames(s *profile.Sample) []string {
	var out []string
	for _, l := range s.Location {
		for _, ln := range l.Line {
			out = append(out, ln.Function.Name+" "+filepath.Base(ln.Function.Filename)+":"+strconv.FormatInt(ln.Line, 10))
		}
	}
	return out
}

// TestProfile writes both profiles of the fixture through the CLI, parses
// them and reads them with go tool pprof.
func TestProfile(t *testing.T) {
	p := startProc(t, bins.fixture)
	pid := pidArg(p)
	dir := t.TempDir()
	awaitLine := fixtureLine(t, "runtime.Sleep(ctx, time.Hour)")
	sleepLine := fixtureLine(t, "time.Sleep(10 * time.Millisecond)")

	// tasks, the default kind: one sample per live task.
	tasksFile := filepath.Join(dir, "tasks.pb.gz")
	if out := ok(t, p.dir, "profile", pid, "-o", tasksFile); !strings.HasPrefix(out, "wrote "+tasksFile+" (") {
		t.Errorf("profile -o: stdout %q, want wrote %s (N bytes)", out, tasksFile)
	}
	tp := parseProfileFile(t, tasksFile)
	if len(tp.SampleType) != 2 || tp.SampleType[0].Type != "tasks" || tp.SampleType[1].Type != "suspended" || tp.SampleType[1].Unit != "nanoseconds" {
		t.Errorf("tasks sample types = %v, want tasks/count and suspended/nanoseconds", tp.SampleType)
	}
	if len(tp.Sample) != 10 {
		t.Errorf("tasks profile: %d samples, want 10 (one per live task)", len(tp.Sample))
	}
	for _, s := range tp.Sample {
		if s.Value[0] != 1 || len(s.Label["task.name"]) != 1 || len(s.Label["state"]) != 1 || len(s.Location) == 0 {
			t.Errorf("sample %v %v: want value 1, a task name, a state and a stack", s.Value, s.Label)
		}
	}
	for _, tt := range []struct{ name, state, awaiting string }{
		{"handler-1", "pending", "sleep"},
		{"handler-2", "pending", "sleep"},
	} {
		s := sampleOf(tp, tt.name)
		if s == nil {
			t.Errorf("no sample for %s", tt.name)
			continue
		}
		if !s.HasLabel("state", tt.state) || !s.HasLabel("loop", "fixture") || !strings.HasPrefix(strings.Join(s.Label["awaiting"], ""), tt.awaiting) {
			t.Errorf("%s labels = %v, want state %s, loop fixture, awaiting %s...", tt.name, s.Label, tt.state, tt.awaiting)
		}
		if s.Value[1] <= 0 {
			t.Errorf("%s suspended for %d ns, want > 0", tt.name, s.Value[1])
		}
		if got, want := frames(s)[0], "main.sleepHour main.go:"+strconv.Itoa(awaitLine); got != want {
			t.Errorf("%s top frame = %q, want the user's await %q; stack %q", tt.name, got, want, frames(s))
		}
	}
	if top := pprofTop(t, tasksFile); !strings.Contains(top, "main.sleepHour") || !strings.Contains(top, "main.go:"+strconv.Itoa(awaitLine)) {
		t.Errorf("go tool pprof -top -lines on the tasks profile has no main.sleepHour at main.go:%d:\n%s", awaitLine, top)
	}

	// blocking: block the loop with the fixture's time.Sleep, release it,
	// then profile the ended event.
	defer p.cmd.Process.Signal(syscall.SIGUSR2)
	p.cmd.Process.Signal(syscall.SIGUSR1)
	pollJSON(t, p.dir, "an ongoing blocking event", func(evs []wire.BlockEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Ongoing && len(evs[len(evs)-1].Stack) > 0
	}, "blocking", pid, "--json")
	p.cmd.Process.Signal(syscall.SIGUSR2)
	evs := pollJSON(t, p.dir, "the blocking event to end", func(evs []wire.BlockEvent) bool {
		return len(evs) == 1 && !evs[0].Ongoing
	}, "blocking", pid, "--json")
	blockFile := filepath.Join(dir, "blocking.pb.gz")
	if out := ok(t, p.dir, "profile", pid, "--kind", "blocking", "-o", blockFile); !strings.HasPrefix(out, "wrote "+blockFile+" (") {
		t.Errorf("profile --kind blocking -o: stdout %q, want wrote %s (N bytes)", out, blockFile)
	}
	bp := parseProfileFile(t, blockFile)
	if len(bp.SampleType) != 2 || bp.SampleType[0].Type != "blocked" || bp.SampleType[0].Unit != "nanoseconds" || bp.SampleType[1].Type != "events" {
		t.Errorf("blocking sample types = %v, want blocked/nanoseconds and events/count", bp.SampleType)
	}
	if len(bp.Sample) != 1 {
		t.Fatalf("blocking profile: %d samples, want 1", len(bp.Sample))
	}
	s := bp.Sample[0]
	if s.Value[0] != evs[0].DurationNS || s.Value[0] < int64(50*time.Millisecond) || s.Value[1] != 1 ||
		!s.HasLabel("task.name", "blocker") || !s.HasLabel("loop", "fixture") || s.Label["ongoing"] != nil {
		t.Errorf("blocking sample: values %v, labels %v; want [%d 1], task.name blocker, loop fixture, ended", s.Value, s.Label, evs[0].DurationNS)
	}
	st := frames(s)
	sleepAt := -1
	for i, f := range st {
		if strings.HasPrefix(f, "time.Sleep ") && sleepAt < 0 {
			sleepAt = i
		}
	}
	userAt := -1
	for i, f := range st {
		if strings.HasSuffix(f, " main.go:"+strconv.Itoa(sleepLine)) && strings.HasPrefix(f, "main.fixture.") {
			userAt = i
		}
	}
	if sleepAt < 0 || userAt != sleepAt+1 {
		t.Errorf("blocking stack %q: want time.Sleep called by the task at main.go:%d", st, sleepLine)
	}
	if top := pprofTop(t, blockFile); !strings.Contains(top, "time.Sleep") || !strings.Contains(top, "main.go:"+strconv.Itoa(sleepLine)) {
		t.Errorf("go tool pprof -top -lines on the blocking profile has no time.Sleep or main.go:%d:\n%s", sleepLine, top)
	}

	// Standard output, when it is not a terminal: the same profile.
	r := td(t, p.dir, "profile", pid, "--kind", "blocking")
	if r.code != 0 {
		t.Fatalf("profile to stdout: exit %d, stderr %q", r.code, r.stderr)
	}
	if sp, err := profile.ParseData([]byte(r.stdout)); err != nil || len(sp.Sample) != 1 || sp.Sample[0].Value[0] != s.Value[0] {
		t.Errorf("profile to stdout: %v; want the blocking profile", err)
	}

	// A terminal is refused, before anything is asked of the agent.
	r = tdTerminal(t, p.dir, "profile", pid, "-o", "-")
	want := "taskdump profile: refusing to write a binary profile to a terminal: use -o FILE or redirect standard output\n"
	if r.code != 2 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("profile to a terminal: exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, want)
	}
	r = td(t, p.dir, "profile", filepath.Join(dir, "none.sock"), "-o", filepath.Join(dir, "x.pb.gz"))
	if _, err := os.Stat(filepath.Join(dir, "x.pb.gz")); r.code != 1 || !os.IsNotExist(err) {
		t.Errorf("profile of no agent: exit %d, file %v; want exit 1 and no file", r.code, err)
	}
}

// tdTerminal runs taskdump with its standard output on a pseudo-terminal.
func tdTerminal(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ptmx, tty := openPTY(t)
	defer ptmx.Close()
	defer tty.Close()
	if !isTerminal(tty) {
		t.Fatalf("isTerminal(%s) = false", tty.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.taskdump, args...)
	cmd.Env = append(os.Environ(), "TASKDUMP_DIR="+dir)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = tty, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("taskdump %v: %v", args, err)
	}
	return result{"", errb.String(), code}
}

func TestIsTerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tt := range []struct {
		f    *os.File
		want bool
	}{{devNull, false}, {w, false}, {f, false}} {
		if got := isTerminal(tt.f); got != tt.want {
			t.Errorf("isTerminal(%s) = %v, want %v", tt.f.Name(), got, tt.want)
		}
	}
}

// TestProfileCPU takes the fixture's CPU profile through the CLI: a pprof
// CPU profile over --duration (the request outlives a shorter --timeout),
// and --duration is checked before anything is asked.
func TestProfileCPU(t *testing.T) {
	p := startProc(t, bins.fixture)
	file := filepath.Join(t.TempDir(), "cpu.pb.gz")
	out := ok(t, p.dir, "profile", pidArg(p), "--kind", "cpu", "--duration", "2s", "--timeout", "1s", "-o", file)
	if !strings.HasPrefix(out, "wrote "+file+" (") {
		t.Errorf("profile --kind cpu: stdout %q, want wrote %s (N bytes)", out, file)
	}
	cp := parseProfileFile(t, file)
	if st := cp.SampleType[len(cp.SampleType)-1]; st.Type != "cpu" || cp.DurationNanos < int64(time.Second) {
		t.Errorf("profile: sample type %v over %s, want cpu over about 2s", st, time.Duration(cp.DurationNanos))
	}
	// The line after "wrote" counts what pprof reads in the file.
	var want cpuSummary
	ids := map[string]bool{}
	for _, s := range cp.Sample {
		want.samples += s.Value[0]
		if id := s.Label["task.id"]; len(id) > 0 {
			want.inTasks += s.Value[0]
			ids[id[0]] = true
		}
	}
	want.tasks = len(ids)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || lines[1] != want.String() {
		t.Errorf("profile --kind cpu: stdout %q; want its second line %q", out, want.String())
	}
	r := td(t, p.dir, "profile", pidArg(p), "--kind", "cpu", "--duration", "1s")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "cpu profile: ") || !strings.Contains(r.stderr, "sample") {
		t.Errorf("profile --kind cpu to stdout: exit %d, stderr %q; want 0 and what it holds on stderr", r.code, r.stderr)
	}
	for _, d := range []string{"500ms", "31s", "1.5s"} {
		r := td(t, p.dir, "profile", pidArg(p), "--kind", "cpu", "--duration", d, "-o", file)
		if r.code != 2 || !strings.Contains(r.stderr, "bad --duration "+d) {
			t.Errorf("--duration %s: exit %d, stderr %q; want 2 and the bad duration named", d, r.code, r.stderr)
		}
	}
}

// TestProfileCPUStepBeganBefore: a step already running when the CPU
// profile begins is not labelled with its task (the task's goroutine
// sets its labels as a step begins): profile says which task that was,
// rather than let its samples pass for other goroutines'.
func TestProfileCPUStepBeganBefore(t *testing.T) {
	p := startProc(t, bins.fixture)
	pid := pidArg(p)
	defer p.cmd.Process.Signal(syscall.SIGUSR2)
	p.cmd.Process.Signal(syscall.SIGUSR1) // the blocker blocks the loop until SIGUSR2
	pollJSON(t, p.dir, "an ongoing blocking event", func(evs []wire.BlockEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Ongoing && evs[len(evs)-1].TaskName == "blocker"
	}, "blocking", pid, "--json")
	file := filepath.Join(t.TempDir(), "cpu.pb.gz")
	out := ok(t, p.dir, "profile", pid, "--kind", "cpu", "--duration", "1s", "-o", file)
	want := regexp.MustCompile(`(?m)^task \d+ "blocker" was in a step that began before the profile \(it blocked the loop [0-9.]+m?s\): its samples carry no task labels; taskdump blocking ` + pid + ` shows where it runs$`)
	if !want.MatchString(out) {
		t.Errorf("profile --kind cpu while a step blocks: stdout %q; want a line matching %s", out, want)
	}
	r := td(t, p.dir, "profile", pid, "--kind", "cpu", "--duration", "1s")
	if !strings.Contains(r.stderr, "cpu profile: task ") || !strings.Contains(r.stderr, `"blocker" was in a step that began before`) {
		t.Errorf("to standard output: stderr %q; want the note there", r.stderr)
	}
}
