package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if buildDir != "" {
			os.RemoveAll(buildDir)
		}
		os.Exit(code)
	}))
}

// repoRoot is the module's root, where the examples are.
const repoRoot = "../.."

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// taskvetBin builds cmd/taskvet once per test binary and returns its path.
func taskvetBin(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "taskvet-test")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "taskvet")
		out, err := exec.Command(goCmd, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// run runs name with args in the repository's root and returns its
// stdout, stderr and exit code.
func run(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runIn(t, repoRoot, nil, name, args...)
}

// runIn runs name with args in dir, with env added to the environment.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return o.String(), e.String(), code
}

// A finding is one reported line: file (relative to the repository), line
// and message.
type finding struct {
	file string
	line int
	msg  string
}

var findingRE = regexp.MustCompile(`(?m)^(\S+\.go):(\d+):\d+: (.*)$`)

// parseFindings parses "file:line:col: message" lines, with file relative
// to the repository's root.
func parseFindings(t *testing.T, out string) []finding {
	t.Helper()
	return parseFindingsIn(t, repoRoot, out)
}

// parseFindingsIn parses "file:line:col: message" lines, with file
// relative to root.
func parseFindingsIn(t *testing.T, root, out string) []finding {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	var fs []finding
	for _, m := range findingRE.FindAllStringSubmatch(out, -1) {
		file := m[1]
		if rel, err := filepath.Rel(abs, file); err == nil && filepath.IsAbs(file) {
			file = rel
		}
		line, _ := strconv.Atoi(m[2])
		fs = append(fs, finding{filepath.ToSlash(file), line, m[3]})
	}
	return fs
}

// known are the examples' deliberate misuses: what taskvet must find in
// examples/ (required) and may find (the rest is a false positive).
var known = []struct {
	file     string
	msg      *regexp.Regexp
	required bool
}{
	{"examples/blocking/main.go", regexp.MustCompile(`^time\.Sleep blocks the event loop; use runtime\.Sleep\(ctx, d\)$`), true},
	{"examples/service/main.go", regexp.MustCompile(`^blocks the event loop: calls refreshCache \(main\.go:\d+\), which calls time\.Sleep; use runtime\.Sleep\(ctx, d\)$`), true},
	// The jaeger example's "/heavy" page parses with time.Sleep on the
	// loop on purpose, to show a blocked span.
	{"examples/jaeger/main.go", regexp.MustCompile(`^time\.Sleep blocks the event loop`), false},
}

// checkExamples checks findings against known.
func checkExamples(t *testing.T, fs []finding) {
	t.Helper()
	found := make([]bool, len(known))
	for _, f := range fs {
		ok := false
		for i, k := range known {
			if f.file == k.file && k.msg.MatchString(f.msg) {
				found[i], ok = true, true
			}
		}
		if !ok {
			t.Errorf("unexpected finding %s:%d: %s", f.file, f.line, f.msg)
		}
	}
	for i, k := range known {
		if k.required && !found[i] {
			t.Errorf("no finding in %s matching %q; got %v", k.file, k.msg, fs)
		}
	}
}

// TestExamples runs `taskvet ./examples/...` as CI does: it finds the
// deliberate misuses, at the lines that make them, and nothing else.
func TestExamples(t *testing.T) {
	bin := taskvetBin(t)
	stdout, stderr, code := run(t, bin, "./examples/...")
	if code != 3 {
		t.Fatalf("taskvet ./examples/... exited %d, want 3 (findings)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	fs := parseFindings(t, stderr)
	checkExamples(t, fs)
	for _, f := range fs {
		if f.file != "examples/blocking/main.go" {
			continue
		}
		src, err := os.ReadFile(filepath.Join(repoRoot, f.file))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(src), "\n")
		if f.line < 1 || f.line > len(lines) || !strings.Contains(lines[f.line-1], "time.Sleep(") {
			t.Errorf("finding at %s:%d is not on a time.Sleep line", f.file, f.line)
		}
	}
}

// TestGoVetVettool runs taskvet under go vet, which runs it on every
// package with facts of the dependencies (the unitchecker protocol).
func TestGoVetVettool(t *testing.T) {
	bin := taskvetBin(t)
	stdout, stderr, code := run(t, "go", "vet", "-vettool="+bin, "./examples/...")
	if code == 0 {
		t.Fatalf("go vet -vettool succeeded, want findings\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	checkExamples(t, parseFindings(t, stderr))
}

// TestFlagsForGoVet checks what go vet asks the tool for to pass its
// flags on (go vet -vettool=taskvet -mutex ./...).
func TestFlagsForGoVet(t *testing.T) {
	bin := taskvetBin(t)
	stdout, _, code := run(t, bin, "-flags")
	if code != 0 {
		t.Fatalf("taskvet -flags exited %d", code)
	}
	var flags []struct{ Name string }
	if err := json.Unmarshal([]byte(stdout), &flags); err != nil {
		t.Fatalf("taskvet -flags: %v\n%s", err, stdout)
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Name)
	}
	for _, want := range []string{"mutex", "blocking"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("taskvet -flags = %v, missing %q", names, want)
		}
	}
}

// TestFixDiff checks the time.Sleep fix on examples/blocking as -fix -diff
// prints it, leaving the file alone.
func TestFixDiff(t *testing.T) {
	bin := taskvetBin(t)
	file := filepath.Join(repoRoot, "examples/blocking/main.go")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, bin, "-fix", "-diff", "./examples/blocking")
	if code != 0 && code != 3 {
		t.Fatalf("taskvet -fix -diff exited %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"-\ttime.Sleep(work)",
		"+\tif err := runtime.Sleep(ctx, work); err != nil {",
		"+\t\treturn struct{}{}, err",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("taskvet -fix -diff output lacks %q:\n%s", want, stdout)
		}
	}
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("taskvet -fix -diff changed %s", file)
	}
}

// TestModuleWithRealRuntime runs taskvet, and go vet with it, on
// testdata/mod, a module whose tasks use the real runtime's awaiting
// functions (silent) and call blocking helpers of another package (the
// chain crosses packages by facts, in both drivers). The expected findings
// are the lines marked "// BLOCKS: name".
func TestModuleWithRealRuntime(t *testing.T) {
	bin := taskvetBin(t)
	dir := filepath.Join("testdata", "mod")
	src, err := os.ReadFile(filepath.Join(dir, "app", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[int]string) // line: callee
	for i, l := range strings.Split(string(src), "\n") {
		if _, callee, ok := strings.Cut(l, "// BLOCKS: "); ok {
			want[i+1] = callee
		}
	}
	if len(want) != 2 {
		t.Fatalf("testdata/mod/app/main.go has %d BLOCKS markers, want 2", len(want))
	}
	env := []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}
	for _, tc := range []struct {
		name string
		cmd  string
		args []string
	}{
		{"taskvet", bin, []string{"./..."}},
		{"go vet", "go", []string{"vet", "-vettool=" + bin, "./..."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runIn(t, dir, env, tc.cmd, tc.args...)
			if code == 0 {
				t.Fatalf("%s succeeded, want findings\nstdout:\n%s\nstderr:\n%s", tc.name, stdout, stderr)
			}
			fs := parseFindingsIn(t, dir, stderr)
			got := make(map[int]string)
			for _, f := range fs {
				if !strings.HasSuffix(f.file, "main.go") {
					t.Errorf("finding in %s:%d: %s", f.file, f.line, f.msg)
					continue
				}
				got[f.line] = f.msg
			}
			for line, callee := range want {
				msg, ok := got[line]
				if !ok {
					t.Errorf("no finding at main.go:%d (calls %s); got %v\nstderr:\n%s", line, callee, fs, stderr)
					continue
				}
				if !strings.HasPrefix(msg, "blocks the event loop: calls "+callee+" (lib.go:") {
					t.Errorf("main.go:%d: %q, want the chain through %s", line, msg, callee)
				}
				delete(got, line)
			}
			for line, msg := range got {
				t.Errorf("unexpected finding main.go:%d: %s", line, msg)
			}
		})
	}
}
