package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskdump/taskdump/inspect/wire"
	"github.com/taskdump/taskdump/internal/syncbuf"
)

// scenarios holds the doctor scenario programs (testdata/doctor/<kind>),
// built once for the tests that need them.
var scenarios struct {
	once sync.Once
	dir  string
	err  error
}

func scenario(t *testing.T, kind string) string {
	t.Helper()
	scenarios.once.Do(func() {
		scenarios.dir = filepath.Join(bins.dir, "doctor")
		out, err := exec.Command("go", "build", "-o", scenarios.dir+"/", "./testdata/doctor/...").CombinedOutput()
		if err != nil {
			scenarios.err = fmt.Errorf("building testdata/doctor: %w\n%s", err, out)
		}
	})
	if scenarios.err != nil {
		t.Fatal(scenarios.err)
	}
	return filepath.Join(scenarios.dir, kind)
}

var markRE = regexp.MustCompile(`// doctor:([\w-]+)`)

// marks returns the lines of testdata/doctor/<kind>/main.go marked
// "// doctor:<name>", and the file's absolute path.
func marks(t *testing.T, kind string) (map[string]int, string) {
	t.Helper()
	file := filepath.Join(repoRoot, "cmd", "taskdump", "testdata", "doctor", kind, "main.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for i, l := range strings.Split(string(src), "\n") {
		if s := markRE.FindStringSubmatch(l); s != nil {
			m[s[1]] = i + 1
		}
	}
	return m, file
}

// startScenario starts a scenario and waits until it prints "ready".
func startScenario(t *testing.T, kind string) *proc {
	t.Helper()
	bin := scenario(t, kind)
	dir := filepath.Join(t.TempDir(), "sock")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "TASKDUMP_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errBuf syncbuf.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{pid: cmd.Process.Pid, dir: dir, cmd: cmd, out: &errBuf}
	p.sock = filepath.Join(dir, fmt.Sprint(p.pid)+".sock")
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		close(ready)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case _, ok := <-ready:
		if !ok {
			t.Fatalf("scenario %s exited before it was ready: %s", kind, errBuf.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("scenario %s not ready after 60s", kind)
	}
	return p
}

// doctorJSON runs taskdump doctor --json --stuck-after 1s on p until a
// finding of kind appears (or, for kind "", once, after waiting long
// enough for any fault to show).
func doctorJSON(t *testing.T, p *proc, kind string) (wire.Diagnosis, int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := td(t, p.dir, "doctor", pidArg(p), "--json", "--stuck-after", "1s")
		if r.code != 0 && r.code != exitProblems {
			t.Fatalf("taskdump doctor: exit %d, stderr %q", r.code, r.stderr)
		}
		var d wire.Diagnosis
		if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
			t.Fatalf("taskdump doctor --json: %v\n%s", err, r.stdout)
		}
		if d.Findings == nil {
			t.Fatalf("taskdump doctor --json: no findings array: %s", r.stdout)
		}
		if kind == "" || slices.ContainsFunc(d.Findings, func(f wire.Finding) bool { return f.Kind == kind }) {
			return d, r.code
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s finding after 60s; last answer:\n%s", kind, r.stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wantTask is a task a finding must name, waiting or running at a marked
// line of its scenario.
type wantTask struct {
	name, mark string
}

// pendingMarks are the marks of where a task is when it is suspended
// rather than at its wantTask mark: one that blocks the loop now and then
// waits elsewhere between blocks.
var pendingMarks = map[string]string{"cache-refresh": "waits"}

// TestDoctorScenarios runs taskdump doctor against one scenario program
// per finding kind and checks the kind, severity, tasks and lines, and the
// exit status 3.
func TestDoctorScenarios(t *testing.T) {
	cases := []struct {
		kind     string
		severity string
		tasks    []wantTask
		sites    []string // marks that must be among the sites
	}{
		{wire.KindStuck, wire.SeverityWarning,
			[]wantTask{{"stuck-job-1", "stuck"}, {"stuck-job-2", "stuck"}, {"stuck-job-3", "stuck"}}, nil},
		{wire.KindBlocking, wire.SeverityWarning, []wantTask{{"cache-refresh", "blocking"}}, []string{"blocking"}},
		{wire.KindStalled, wire.SeverityError, []wantTask{{"ping", "ping"}, {"pong", "pong"}}, nil},
		{wire.KindLeak, wire.SeverityWarning, []wantTask{{"handler-1", "leak"}, {"handler-2", "leak"}}, []string{"spawn", "leak"}},
		{wire.KindCancelIgnored, wire.SeverityWarning, []wantTask{{"poller", "polls"}}, []string{"swallowed"}},
		{wire.KindDeadlock, wire.SeverityError, []wantTask{{"transfer", "deadlock"}, {"audit", "deadlock"}}, []string{"accounts", "audit"}},
		{wire.KindHog, wire.SeverityWarning, []wantTask{{"crunch", "hog"}}, []string{"spawn"}},
		{wire.KindUnretrieved, wire.SeverityWarning, []wantTask{{"upload-1", "spawn"}, {"upload-2", "spawn"}, {"upload-3", "spawn"}}, []string{"spawn"}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			lines, file := marks(t, c.kind)
			p := startScenario(t, c.kind)
			d, code := doctorJSON(t, p, c.kind)
			if code != exitProblems {
				t.Errorf("exit %d, want %d", code, exitProblems)
			}
			i := slices.IndexFunc(d.Findings, func(f wire.Finding) bool { return f.Kind == c.kind })
			f := d.Findings[i]
			if f.Severity != c.severity {
				t.Errorf("severity %q, want %q", f.Severity, c.severity)
			}
			if f.Summary == "" || f.Fix == "" {
				t.Errorf("summary %q, fix %q: want both", f.Summary, f.Fix)
			}
			for _, w := range c.tasks {
				j := slices.IndexFunc(f.Tasks, func(ft wire.FindingTask) bool { return ft.Name == w.name })
				if j < 0 {
					t.Errorf("finding names no task %q: %+v", w.name, f)
					continue
				}
				ft := f.Tasks[j]
				if !strings.Contains(f.Summary, w.name) && len(c.tasks) <= 3 {
					t.Errorf("summary %q does not name %q", f.Summary, w.name)
				}
				if w.mark == "" {
					continue
				}
				wantAt := lines[w.mark]
				if m := pendingMarks[w.name]; m != "" && ft.State == "pending" {
					wantAt = lines[m]
				}
				if ft.At.File != file || ft.At.Line != wantAt {
					t.Errorf("task %q (%s) at %s:%d, want %s:%d", w.name, ft.State, ft.At.File, ft.At.Line, file, wantAt)
				}
				if want := fmt.Sprintf("main.go:%d", lines[w.mark]); !strings.Contains(f.Summary, want) {
					t.Errorf("summary %q does not name the line %s", f.Summary, want)
				}
			}
			for _, m := range c.sites {
				if !slices.ContainsFunc(f.Sites, func(s wire.Frame) bool { return s.File == file && s.Line == lines[m] }) {
					t.Errorf("sites %v lack %s:%d (%s)", f.Sites, file, lines[m], m)
				}
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(d, "", "  ")
				t.Logf("diagnosis:\n%s", b)
			}
		})
	}
}

// TestDoctorSaturated: a service's loop that 100 short-stepping workers
// (handed to it from another goroutine) keep busy all the time is a hog
// finding of their spawn site, naming some of them at their await, though
// none is a hog on its own.
func TestDoctorSaturated(t *testing.T) {
	t.Parallel()
	lines, file := marks(t, "saturated")
	p := startScenario(t, "saturated")
	d, code := doctorJSON(t, p, wire.KindHog)
	if code != exitProblems {
		t.Errorf("exit %d, want %d", code, exitProblems)
	}
	f := d.Findings[slices.IndexFunc(d.Findings, func(f wire.Finding) bool { return f.Kind == wire.KindHog })]
	if want := fmt.Sprintf("tasks spawned at main.go:%d took the most", lines["spawn"]); f.Severity != wire.SeverityWarning ||
		!strings.Contains(f.Summary, want) || !strings.Contains(f.Summary, "(100 live tasks)") || !strings.Contains(f.Summary, "more work than it can run") {
		t.Errorf("finding %s %q, want a warning saying %q", f.Severity, f.Summary, want)
	}
	if f.Count != 100 || len(f.Tasks) == 0 || !strings.HasPrefix(f.Tasks[0].Name, "worker-") || f.Tasks[0].At.File != file ||
		f.Tasks[0].At.Line != lines["work"] && f.Tasks[0].State != "running" {
		t.Errorf("count %d, tasks %+v; want 100 workers, named at main.go:%d", f.Count, f.Tasks, lines["work"])
	}
	if !slices.ContainsFunc(f.Sites, func(s wire.Frame) bool { return s.File == file && s.Line == lines["spawn"] }) {
		t.Errorf("sites %v lack the spawn line %d", f.Sites, lines["spawn"])
	}
}

// TestDoctorLoops runs the same stuck job on three loops of one process
// and checks that doctor makes one finding of it, for the three loops, at
// the job's line.
func TestDoctorLoops(t *testing.T) {
	t.Parallel()
	lines, file := marks(t, "loops")
	p := startScenario(t, "loops")
	deadline := time.Now().Add(60 * time.Second)
	var f wire.Finding
	for {
		d, _ := doctorJSON(t, p, wire.KindStuck)
		var stuck []wire.Finding
		for _, x := range d.Findings {
			if x.Kind == wire.KindStuck {
				stuck = append(stuck, x)
			}
		}
		if len(stuck) == 1 && stuck[0].Loops == 3 {
			f = stuck[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one stuck finding for 3 loops; got %+v", stuck)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if f.Count != 3 || len(f.Tasks) != 3 || !strings.HasPrefix(f.Loop, "shard-") {
		t.Errorf("count %d, %d tasks, loop %q; want 3, 3, a shard", f.Count, len(f.Tasks), f.Loop)
	}
	for _, ft := range f.Tasks {
		if ft.Name != "job" || ft.At.File != file || ft.At.Line != lines["stuck"] {
			t.Errorf("task %q at %s:%d, want \"job\" at %s:%d", ft.Name, ft.At.File, ft.At.Line, file, lines["stuck"])
		}
	}
	if !strings.Contains(f.Summary, "The same in loops \"shard-") {
		t.Errorf("summary %q does not name the other loops", f.Summary)
	}
	r := td(t, p.dir, "doctor", pidArg(p), "--stuck-after", "1s")
	if !regexp.MustCompile(`WARNING stuck \(loop shard-\d and 2 more\)`).MatchString(r.stdout) {
		t.Errorf("doctor's human output does not name the loops:\n%s", r.stdout)
	}
}

// TestDoctorHealthy checks that doctor stays silent on a healthy service:
// nothing of severity warning or error, exit 0, several times over.
func TestDoctorHealthy(t *testing.T) {
	t.Parallel()
	p := startScenario(t, "healthy")
	for range 3 {
		d, code := doctorJSON(t, p, "")
		for _, f := range d.Findings {
			if f.Problem() {
				t.Errorf("healthy service: %s %s: %s", f.Severity, f.Kind, f.Summary)
			}
		}
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r := td(t, p.dir, "doctor", pidArg(p), "--stuck-after", "1s")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "no problems found") {
		t.Errorf("doctor on a healthy service: exit %d, output:\n%s", r.code, r.stdout)
	}
}

// TestDoctorEnded checks doctor on a process whose only loop has ended
// (a task failed unretrieved before it did): nothing to read, which the
// human output says instead of "no problems found"; exit 0; the JSON has
// no finding.
func TestDoctorEnded(t *testing.T) {
	t.Parallel()
	p := startScenario(t, "ended")
	d, code := doctorJSON(t, p, "")
	if len(d.Findings) != 0 || code != 0 {
		t.Errorf("doctor --json: exit %d, findings %+v; want 0 and none", code, d.Findings)
	}
	r := td(t, p.dir, "doctor", pidArg(p))
	if want := "no loop is running in this process: nothing to diagnose"; r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("doctor: exit %d, output:\n%s\nwant exit 0 and %q", r.code, r.stdout, want)
	}
}

// TestDoctorLoopsUnanswered: an agent that finds nothing but does not
// answer which loops run (busy) leaves doctor unable to tell "no problems"
// from "nothing to read": it says so on standard error, and exits 0 with
// the usual line. The agent is a stand-in serving two routes, the only
// way to make the real one fail the second request and not the first.
func TestDoctorLoopsUnanswered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sock")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, fmt.Sprint(os.Getpid())+".sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case wire.PathDoctor:
			fmt.Fprint(w, `{"findings":[]}`)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"busy: try again","code":"busy"}`)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r := td(t, dir, "doctor", fmt.Sprint(os.Getpid()))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "no problems found") || !strings.Contains(r.stderr, "could not ask which loops run") {
		t.Errorf("doctor: exit %d, stdout %q, stderr %q; want 0, no problems found, and the unanswered question on stderr", r.code, r.stdout, r.stderr)
	}
}

// TestDoctorHuman checks the human output of a stuck scenario against
// testdata/golden/doctor-stuck.txt (durations and paths masked).
func TestDoctorHuman(t *testing.T) {
	t.Parallel()
	p := startScenario(t, wire.KindStuck)
	doctorJSON(t, p, wire.KindStuck)
	r := td(t, p.dir, "doctor", pidArg(p), "--stuck-after", "1s")
	if r.code != exitProblems {
		t.Errorf("exit %d, want %d; stderr %q", r.code, exitProblems, r.stderr)
	}
	golden(t, "doctor-stuck.txt", mask(r.stdout, p.pid))
}

// TestDoctorAttachError checks that doctor exits 1 when it cannot attach.
func TestDoctorAttachError(t *testing.T) {
	r := td(t, t.TempDir(), "doctor", fmt.Sprint(deadPID(t)))
	if r.code != 1 || r.stderr == "" {
		t.Errorf("doctor on a dead pid: exit %d, stderr %q; want 1 and a reason", r.code, r.stderr)
	}
	if r := td(t, t.TempDir(), "doctor", "1", "--stuck-after", "0s"); r.code != 2 {
		t.Errorf("doctor --stuck-after 0s: exit %d, want 2 (usage)", r.code)
	}
}

// TestRenderDoctor checks the human output of hand-made diagnoses: none
// (with loops running, and with none), notes only, a finding with more
// tasks than the output lists, and one that several loops made.
func TestRenderDoctor(t *testing.T) {
	task := func(id uint64, line int) wire.FindingTask {
		return wire.FindingTask{ID: id, Name: fmt.Sprintf("handler-%d", id), State: "pending",
			At: wire.Frame{Function: "main.handle", File: "/src/app/main.go", Line: line}}
	}
	var many []wire.FindingTask
	for i := range 10 {
		many = append(many, task(uint64(i+2), 43))
	}
	cases := []struct {
		name    string
		d       wire.Diagnosis
		running int // loops running (-1: not known)
	}{
		{"none", wire.Diagnosis{Findings: []wire.Finding{}}, 1},
		{"no loop", wire.Diagnosis{Findings: []wire.Finding{}}, 0},
		{"notes", wire.Diagnosis{Findings: []wire.Finding{{
			Kind: "stuck", Severity: "info", Loop: "main", Count: 1,
			Summary: `Task "consumer" has waited 1m0s at main.go:42 on a queue.get: an idle consumer.`,
			Tasks:   []wire.FindingTask{task(4, 42)}, Fix: "Nothing to do if the queue is idle.",
		}}}, -1},
		{"leak", wire.Diagnosis{Findings: []wire.Finding{{
			Kind: "leak", Severity: "warning", Loop: "main", Count: 150,
			Summary: "150 tasks spawned at main.go:29 pile up\x1b[31m.",
			Tasks:   many,
			Sites:   []wire.Frame{{Function: "main.main", File: "/src/app/main.go", Line: 29}},
			Fix:     "Stop spawning tasks that cannot finish.",
		}}}, -1},
		{"unretrieved", wire.Diagnosis{Findings: []wire.Finding{{
			Kind: "unretrieved", Severity: "warning", Loop: "main", Count: 1,
			Summary: `Task "upload-1" spawned at main.go:18 failed and nobody retrieved the error: "boom".`,
			Tasks: []wire.FindingTask{{ID: 2, Name: "upload-1", State: "failed",
				At: wire.Frame{Function: "main.main.func1", File: "/src/app/main.go", Line: 18}, Loop: "main"}},
			Sites: []wire.Frame{{Function: "main.main.func1", File: "/src/app/main.go", Line: 18}},
			Fix:   "Keep the task and await it.",
		}}}, -1},
		{"loops", wire.Diagnosis{Findings: []wire.Finding{{
			Kind: "stuck", Severity: "warning", Loop: "shard-0", Loops: 8, Count: 8,
			Summary: `Task "job" has waited 1m at main.go:43 on a future, and nothing has resolved it. The same in loops "shard-1", "shard-2", "shard-3" and 4 more.`,
			Tasks: func() []wire.FindingTask {
				ts := slices.Clone(many[:8])
				for i := range ts {
					ts[i].Loop = fmt.Sprintf("shard-%d", i)
				}
				return ts
			}(),
			Fix: "Resolve the future on every path.",
		}}}, -1},
	}
	var b strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&b, "--- %s\n", c.name)
		renderDoctor(&b, c.d, 10*time.Second, c.running)
	}
	golden(t, "doctor-render.txt", b.String())

	b.Reset()
	renderDoctor(&b, cases[3].d, 500*time.Microsecond, -1)
	if !strings.Contains(b.String(), "(waits of 500µs or more count)") {
		t.Errorf("--stuck-after 500µs renders as:\n%s", b.String())
	}
}
