package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// run is one example program's output.
type run struct {
	stdout, stderr string
}

// TestExamples builds every example program with the go command into a
// temporary directory, runs each binary and checks what it prints.
func TestExamples(t *testing.T) {
	bin := buildExamples(t)
	tests := []struct {
		name  string // binary name: the last element of the package path
		src   string // the program's source, relative to this directory
		check func(t *testing.T, src string, r run)
	}{
		{"simple", "tutorial/simple/main.go", checkSimple},
		{"alltasks", "tutorial/alltasks/main.go", checkAllTasks},
		{"cancel", "tutorial/cancel/main.go", checkCancel},
		{"ascompleted", "tutorial/ascompleted/main.go", checkAsCompleted},
		{"gather", "tutorial/gather/main.go", checkGather},
		{"wait", "tutorial/wait/main.go", checkWait},
		{"blocking", "blocking/main.go", checkBlocking},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runExample(t, filepath.Join(bin, tt.name))
			tt.check(t, tt.src, r)
		})
	}
}

// buildExamples builds every example with one go build into t.TempDir() and
// returns that directory; each binary is named after its package directory.
// Under go test -race the examples are built with -race as well, so a data
// race in the runtime that an example provokes fails the test.
func buildExamples(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("examples: the go command is needed to build the examples: %v", err)
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./tutorial/...", "./blocking")
	out, err := exec.Command(goCmd, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// runExample runs one built example and returns its output. It fails the
// test if the program exits with an error or runs for more than a minute.
func runExample(t *testing.T, path string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(path), err, &stdout, &stderr)
	}
	return run{stdout: stdout.String(), stderr: stderr.String()}
}

// lineOf returns the number of the only line of the source file src that
// contains text, so that expected file:line positions follow edits of the
// examples.
func lineOf(t *testing.T, src, text string) int {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text(), text) {
			if found != 0 {
				t.Fatalf("%s: %q is on lines %d and %d; want it once", src, text, found, n)
			}
			found = n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatalf("%s: no line contains %q", src, text)
	}
	return found
}

// lines splits output into lines, without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// repeat returns n copies of pattern.
func repeat(n int, pattern string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = pattern
	}
	return out
}

// q quotes text for a regular expression.
func q(text string) string { return regexp.QuoteMeta(text) }

// matchLines checks that got has exactly one line per pattern and that each
// line matches its pattern in full. It returns the submatches of each line.
func matchLines(t *testing.T, what, got string, patterns ...[]string) [][]string {
	t.Helper()
	var want []string
	for _, p := range patterns {
		want = append(want, p...)
	}
	gotLines := lines(got)
	if len(gotLines) != len(want) {
		t.Errorf("%s: got %d lines, want %d:\n%s", what, len(gotLines), len(want), got)
	}
	subs := make([][]string, len(gotLines))
	for i := range min(len(gotLines), len(want)) {
		re := regexp.MustCompile("^" + want[i] + "$")
		subs[i] = re.FindStringSubmatch(gotLines[i])
		if subs[i] == nil {
			t.Errorf("%s: line %d:\ngot  %s\nwant %s", what, i+1, gotLines[i], want[i])
		}
	}
	return subs
}

// noStderr checks that an example printed nothing on standard error.
func noStderr(t *testing.T, r run) {
	t.Helper()
	if r.stderr != "" {
		t.Errorf("stderr: got %q, want nothing", r.stderr)
	}
}

func checkSimple(t *testing.T, src string, r run) {
	matchLines(t, "stdout", r.stdout,
		repeat(5, "Processing Task"),
		[]string{"Completed All Tasks"})
	noStderr(t, r)
}

func checkAllTasks(t *testing.T, src string, r run) {
	spawn := lineOf(t, src, "runtime.Spawn(ctx, myTask)")
	sleep := lineOf(t, src, "runtime.Sleep(ctx, time.Second)")
	created := fmt.Sprintf(`<Task pending name=Task-\d+ fn=main\.myTask created at main\.go:%d>`, spawn)
	suspended := fmt.Sprintf(`<Task pending name=Task-\d+ fn=main\.myTask suspended at main\.go:%d awaiting sleep\(1s\)>`, sleep)
	matchLines(t, "stdout", r.stdout,
		[]string{"before their first step:", q("<Task running name=main fn=main.mainTask>")},
		repeat(5, created),
		[]string{"suspended in their first await:", q("<Task running name=main fn=main.mainTask>")},
		repeat(5, suspended),
		repeat(5, "Processing Task"),
		[]string{"Completed All Tasks"})
	noStderr(t, r)
}

func checkCancel(t *testing.T, src string, r run) {
	sleep := lineOf(t, src, "runtime.Sleep(ctx, time.Second)")
	// Between the cancel and the task's next step, the task is still
	// suspended in runtime.Sleep; whether its repr still says what it
	// awaits, once the sleep's time has passed, is the runtime's choice.
	at := fmt.Sprintf(`fn=main\.myTask suspended at main\.go:%d(?: awaiting sleep\(1s\))?>`, sleep)
	var before []string
	for range 4 {
		before = append(before,
			`<Task pending name=(Task-\d+) `+at,
			`<Task cancelling name=(Task-\d+) `+at)
	}
	subs := matchLines(t, "stdout", r.stdout,
		[]string{"Processing Task"},
		before,
		[]string{`<Task finished name=(Task-\d+) fn=main\.myTask>`},
		repeat(4, `<Task cancelled name=(Task-\d+) fn=main\.myTask>`),
		[]string{"Completed All Tasks"})
	if t.Failed() {
		return
	}
	// Each task goes from pending to cancelling, then ends cancelled; the
	// canceller, which ran first, finishes.
	name := func(i int) string { return subs[i][1] }
	for i := 0; i < 4; i++ {
		pending, cancelling, ended := name(1+2*i), name(2+2*i), name(10+i)
		if pending != cancelling || cancelling != ended {
			t.Errorf("task %d: printed pending as %s, cancelling as %s, cancelled as %s; want one task", i+1, pending, cancelling, ended)
		}
	}
	if finished := name(9); finished == name(1) {
		t.Errorf("the canceller %s also cancelled itself", finished)
	}
	noStderr(t, r)
}

func checkAsCompleted(t *testing.T, src string, r run) {
	matchLines(t, "stdout", r.stdout, repeat(5, "2"))
	noStderr(t, r)
}

func checkGather(t *testing.T, src string, r run) {
	matchLines(t, "stdout", r.stdout,
		repeat(5, "Hello World"),
		[]string{q("results in argument order: [0 1 2 3 4]")})
	noStderr(t, r)
}

func checkWait(t *testing.T, src string, r run) {
	matchLines(t, "stdout", r.stdout,
		repeat(5, "Hello World"),
		[]string{"done: 5, pending: 0"})
	noStderr(t, r)
}

// checkBlocking checks that the watchdog reported each sleepy task, with the
// file:line of its time.Sleep, once in the log and once in Loop.Blocking,
// and never a task that used runtime.ToThread.
func checkBlocking(t *testing.T, src string, r run) {
	site := fmt.Sprintf("main.go:%d", lineOf(t, src, "time.Sleep(work) // the misuse"))
	dur := `([0-9.]+(?:ms|s))`
	var events []string
	for i := 1; i <= 3; i++ {
		events = append(events, fmt.Sprintf(`  task "sleepy-%d" blocked the loop for %s at %s \(time\.Sleep\)`, i, dur, q(site)))
	}
	subs := matchLines(t, "stdout", r.stdout,
		[]string{
			q("time.Sleep inside tasks blocks the loop:"),
			`3 sleepy tasks took [0-9.]+m?s`,
			q("runtime.ToThread keeps it free:"),
			`3 thread tasks took [0-9.]+m?s`,
			q(`3 blocking events on loop "blocking-example":`),
		},
		events)
	for i, s := range subs[min(5, len(subs)):] {
		if s == nil {
			continue
		}
		// time.Sleep(300ms) blocks for at least 300ms; the example rounds
		// to 10ms.
		if d, err := time.ParseDuration(s[1]); err != nil || d < 290*time.Millisecond {
			t.Errorf("event %d: blocked for %q, want at least 300ms", i+1, s[1])
		}
	}

	// The log: one slog warning per sleepy task, none for the others, and
	// nothing else.
	warnings := lines(r.stderr)
	if len(warnings) != 3 {
		t.Fatalf("stderr: got %d lines, want 3 blocking warnings:\n%s", len(warnings), r.stderr)
	}
	for i, w := range warnings {
		want := regexp.MustCompile(fmt.Sprintf(`WARN task "sleepy-%d" blocked the loop for %s at %s \(time\.Sleep\); move blocking work to runtime\.ToThread`, i+1, dur, q(site)))
		if !want.MatchString(w) {
			t.Errorf("stderr: warning %d:\ngot  %s\nwant %s", i+1, w, want)
		}
	}
}
