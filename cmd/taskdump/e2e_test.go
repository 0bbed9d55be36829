package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"go.uber.org/goleak"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/internal/syncbuf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// bins holds the binaries built once for the package: taskdump, the
// fixture and the example service.
var bins struct {
	dir, taskdump, fixture, service string
	goroot                          string // go env GOROOT: where the binaries' standard library frames are
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		dir, err := os.MkdirTemp("", "taskdump-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755) // the other-uid test runs taskdump as nobody
		goroot, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "go env GOROOT:", err)
			return 1
		}
		bins.goroot = strings.TrimSpace(string(goroot))
		bins.dir = dir
		bins.taskdump = filepath.Join(dir, "taskdump")
		bins.fixture = filepath.Join(dir, "fixture")
		bins.service = filepath.Join(dir, "service")
		for _, b := range [][2]string{{bins.taskdump, "."}, {bins.fixture, "./testdata/fixture"}, {bins.service, "../../examples/service"}} {
			out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b[1], err, out)
				return 1
			}
		}
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// proc is a target process started by a test.
type proc struct {
	pid  int
	sock string
	dir  string
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
}

// startProc starts bin with args in a fresh socket directory and waits for
// its agent socket to appear. Its stop is registered as a cleanup.
func startProc(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sock")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TASKDUMP_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errBuf syncbuf.Buffer // written by exec's copier, read by the test
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{pid: cmd.Process.Pid, dir: dir, cmd: cmd, out: &errBuf}
	p.sock = filepath.Join(dir, strconv.Itoa(p.pid)+".sock")
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("%s exited before it was ready: %s", filepath.Base(bin), errBuf.String())
		}
		if !strings.Contains(line, p.sock) {
			t.Fatalf("%s says %q, want its socket %s", filepath.Base(bin), line, p.sock)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready after 30s", filepath.Base(bin))
	}
	return p
}

func (p *proc) stop(t testing.TB) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
		t.Errorf("pid %d did not stop on SIGTERM", p.pid)
	}
	if _, err := os.Lstat(p.sock); err == nil {
		t.Errorf("pid %d left its socket %s", p.pid, p.sock)
	}
}

// result is one run of taskdump.
type result struct {
	stdout, stderr string
	code           int
}

// td runs the taskdump binary with the socket directory dir.
func td(t testing.TB, dir string, args ...string) result {
	t.Helper()
	return tdCmd(t, dir, nil, args...)
}

func tdCmd(t testing.TB, dir string, attr *syscall.SysProcAttr, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.taskdump, args...)
	cmd.Env = append(os.Environ(), "TASKDUMP_DIR="+dir)
	cmd.SysProcAttr = attr
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("taskdump %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs taskdump and fails the test unless it exits 0.
func ok(t testing.TB, dir string, args ...string) string {
	t.Helper()
	r := td(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("taskdump %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

var (
	repoRoot, _ = filepath.Abs("../..")
	maskers     = []struct {
		re   *regexp.Regexp
		repl string
	}{
		{regexp.MustCompile(`\b\d+h\d\dm\b|\b\d+m\d\ds\b|\b\d+(\.\d+)?(ms|s|µs|ns)\b`), "<dur>"},
		{regexp.MustCompile(`\b\d\d:\d\d:\d\d\.\d\d\d\b`), "<time>"},
		{regexp.MustCompile(`\.\.\. \d+ frames of`), "... N frames of"},
		{regexp.MustCompile(`(\$(GOROOT|ROOT)/(runtime|src)/[\w/.-]+\.[gs]o?):\d+`), "$1:N"},
	}
)

// mask replaces what changes from run to run: paths, durations, clock
// times, line numbers outside the fixture, the given pids; and collapses
// table padding, which depends on them.
func mask(s string, pids ...int) string {
	s = strings.ReplaceAll(s, repoRoot, "$ROOT")
	s = strings.ReplaceAll(s, bins.goroot, "$GOROOT")
	for _, m := range maskers {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	for _, pid := range pids {
		s = regexp.MustCompile(`\b`+strconv.Itoa(pid)+`\b`).ReplaceAllString(s, "<pid>")
	}
	if strings.HasPrefix(s, "ID  ") || strings.HasPrefix(s, "PID  ") || strings.HasPrefix(s, "COUNT  ") {
		// A table: masked cells change the column widths; align again.
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for line := range strings.Lines(s) {
			tw.Write([]byte(cellSep.ReplaceAllString(line, "\t")))
		}
		tw.Flush()
		s = b.String()
	}
	return s
}

var cellSep = regexp.MustCompile(`  +`)

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// pollJSON runs taskdump until its JSON output satisfies cond.
func pollJSON[T any](t *testing.T, dir, what string, cond func(T) bool, args ...string) T {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v T
		out := ok(t, dir, args...)
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("taskdump %v: bad JSON: %v\n%s", args, err, out)
		}
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last output:\n%s", what, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pidArg(p *proc) string { return strconv.Itoa(p.pid) }

func findTask(ts []wire.Task, name string) (wire.Task, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return wire.Task{}, false
}
